"""Serving the app: uvicorn worker processes, each with its own listening socket.

uvicorn's ``--workers`` share one listening socket, and the worker that wakes first accepts
every connection waiting. Keep-alive clients that connect together — a proxy's pool, a load
test — then land on one worker: the bench saw all 16 of its connections on one of two
workers, half the machine idle and latency doubled. Here each worker listens on a socket of
its own bound to the same port with ``SO_REUSEPORT``, and the kernel spreads new connections
over them.

The kernel spreads connections by a hash, so a few long-lived connections can still fall
unevenly (12 and 4 of 16: one worker's requests wait three times as long). Each worker
publishes its open connections in a slot of an array shared with the others; :class:`Rebalance`
asks a client to reconnect (``Connection: close`` on a response — every HTTP/1.1 client
reconnects) when its worker holds more than one connection above the least loaded one, at most
once per 50 ms, so the connections even out over a second or so of load and stay put once
they are even.

The supervising process holds the port (bound, not listening, so it never receives a
connection), starts the workers (``spawn``: a clean interpreter each), restarts one that dies
(at most once a second; one that exits before its app has started — another would fail alike —
stops the server with its exit code instead), and stops them all on SIGINT/SIGTERM; workers
also exit if the supervisor is killed. A worker that is alive but stuck — its event loop no
longer runs, so it answers no one, yet the kernel keeps giving it connections — is found by
its heartbeat: the loop writes the time into shared memory every ``JURISGRID_WORKER_HEARTBEAT_S``
(2 s), and after ``JURISGRID_WORKER_MISSED_HEARTBEATS`` (5) missed beats the supervisor kills it
(SIGKILL) and starts another. (Probing each worker's socket would not do: they share the port.)
One worker, or a platform without ``SO_REUSEPORT``, is served by plain uvicorn.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

APP = "jurisgrid.app:create_app"


def _server_setting(name: str) -> Any:
    from jurisgrid.config import get_settings

    return getattr(get_settings().server, name)


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    log_level: str = "info"
    access_log: bool = False
    # a worker's event loop beats this often; one that misses this many beats is replaced
    heartbeat_s: float = field(default_factory=lambda: float(_server_setting("worker_heartbeat_s")))
    missed_heartbeats: int = field(
        default_factory=lambda: int(_server_setting("worker_missed_heartbeats")))


def serve(options: ServeOptions) -> None:
    import uvicorn

    if options.workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, factory=True, host=options.host, port=options.port,
                    workers=options.workers, log_level=options.log_level,
                    access_log=options.access_log)
        return
    supervisor = Supervisor(options)
    supervisor.run()
    if supervisor.exitcode:
        raise SystemExit(supervisor.exitcode)


def _say(message: str) -> None:
    print(f"jurisgrid: {message}", file=sys.stderr, flush=True)


def _address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[object, ...]]:
    family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    return family, addr


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) with SO_REUSEPORT (not listening yet)."""
    family, addr = _address(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(addr)
    except OSError:
        sock.close()
        raise
    return sock


class Rebalance:
    """ASGI middleware of a worker: at each HTTP request, publish this worker's open connections
    (``connections()``) in ``loads[index]``, and close a keep-alive connection after its
    response while this worker has more than ``margin`` connections above the least loaded
    worker (at most once per ``every_s``). Also sets ``ready[index]`` once the app has started,
    and from then on writes the time into ``beats[index]`` every ``heartbeat_s`` from the event
    loop: a loop that stops running (a request that never yields, SIGSTOP) stops the beats.

    Connections, not requests in flight: a worker's event loop runs one request at a time to
    its end, so its requests in flight say nothing about how many clients wait on it."""

    def __init__(self, app: Any, index: int, loads: Any, connections: Callable[[], int],
                 ready: Any = None, *, margin: int = 1, every_s: float = 0.05,
                 beats: Any = None, heartbeat_s: float = 2.0) -> None:
        self.app, self.index, self.loads, self.ready = app, index, loads, ready
        self.connections = connections
        self.margin, self.every_s = margin, every_s
        self._next = 0.0
        self.beats, self.heartbeat_s = beats, heartbeat_s
        self._beating: asyncio.Task[None] | None = None

    def _shed(self) -> bool:
        loads = self.loads
        mine = loads[self.index] = self.connections()  # only this worker writes its slot
        if mine - min(loads) <= self.margin:
            return False
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.every_s
        return True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._noting_startup(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_maybe_closing(message: Any) -> None:
            if message["type"] == "http.response.start" and self._shed():
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_maybe_closing)

    def _noting_startup(self, send: Any) -> Any:
        async def noting(message: Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                if self.beats is not None:
                    self.beats[self.index] = time.monotonic()
                    self._beating = asyncio.get_running_loop().create_task(self._beat())
                if self.ready is not None:
                    self.ready[self.index] = 1
            elif message["type"] == "lifespan.shutdown.complete" and self._beating is not None:
                self._beating.cancel()
            await send(message)

        return noting

    async def _beat(self) -> None:
        """The heartbeat: CLOCK_MONOTONIC is one clock for all processes of the machine."""
        while True:
            await asyncio.sleep(self.heartbeat_s)
            self.beats[self.index] = time.monotonic()


def _worker(options: ServeOptions, index: int, loads: Any, ready: Any,
            beats: Any) -> None:  # pragma: no cover
    import uvicorn

    from jurisgrid.app import create_app

    _exit_with_parent()

    # bound, not yet listening: uvicorn listens once the app has started, so no connection
    # waits in the queue of a worker that is still starting (or restarting)
    sock = reuseport_socket(options.host, options.port)
    server: uvicorn.Server | None = None

    def connections() -> int:
        return len(server.server_state.connections) if server is not None else 0

    config = uvicorn.Config(lambda: Rebalance(create_app(), index, loads, connections, ready,
                                              beats=beats, heartbeat_s=options.heartbeat_s),
                            factory=True, host=options.host, port=options.port,
                            log_level=options.log_level, access_log=options.access_log,
                            lifespan="on")
    server = uvicorn.Server(config)
    server.run(sockets=[sock])


def _exit_with_parent() -> None:  # pragma: no cover - runs in the worker process
    """Linux: have the kernel send this worker SIGTERM when the supervisor dies, even by
    SIGKILL — no worker is left serving (and holding the port) without it."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the supervisor died before the call
        raise SystemExit(0)


class Supervisor:
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self._stopping = False
        self.exitcode = 0
        self._ctx = multiprocessing.get_context("spawn")
        # open connections per worker (Rebalance); each slot written by its worker only
        self._loads = self._ctx.Array("i", options.workers, lock=False)
        self._ready = self._ctx.Array("i", options.workers, lock=False)  # app started, per worker
        # each worker's last heartbeat (time.monotonic()), written by its event loop
        self._beats = self._ctx.Array("d", options.workers, lock=False)

    def _start(self, index: int) -> BaseProcess:
        self._loads[index] = 0  # a replaced worker's requests are gone with it
        self._ready[index] = 0
        self._beats[index] = 0.0
        proc = self._ctx.Process(target=_worker,
                                 args=(self.options, index, self._loads, self._ready, self._beats),
                                 name=f"jurisgrid-worker-{index}")
        proc.start()
        return proc

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _stuck(self, index: int) -> bool:
        """A started worker whose event loop has not beaten for ``missed_heartbeats`` beats."""
        last = self._beats[index]
        if not self._ready[index] or last <= 0:
            return False
        o = self.options
        return time.monotonic() - last > o.heartbeat_s * o.missed_heartbeats

    def run(self) -> None:
        o = self.options
        try:
            holder = reuseport_socket(o.host, o.port)  # fails now if the port is taken
        except OSError as exc:
            _say(f"cannot listen on {o.host}:{o.port}: {exc.strerror or exc}")
            self.exitcode = 1
            return
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        _say(f"serving on http://{o.host}:{o.port} with {o.workers} workers, one socket each")
        workers = [self._start(i) for i in range(o.workers)]
        last_restart = 0.0
        try:
            while not self._stopping:
                time.sleep(0.2)
                for i, proc in enumerate(workers):
                    if self._stopping:
                        break
                    if proc.is_alive() and self._stuck(i):
                        _say(f"worker {proc.pid} missed {o.missed_heartbeats} heartbeats: killing it")
                        proc.kill()  # SIGKILL: also ends a stopped process; then replaced below
                        proc.join(5)
                    if proc.is_alive():
                        continue
                    if not self._ready[i]:  # it could not start the app: another would fail alike
                        _say(f"worker {proc.pid} exited with {proc.exitcode} while starting: stopping")
                        self.exitcode = proc.exitcode or 1
                        self._stopping = True
                        break
                    wait = last_restart + 1.0 - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    _say(f"worker {proc.pid} exited with {proc.exitcode}: starting another")
                    workers[i] = self._start(i)
                    last_restart = time.monotonic()
        finally:
            for proc in workers:
                if proc.is_alive():
                    proc.terminate()  # uvicorn shuts down gracefully on SIGTERM
            deadline = time.monotonic() + 15
            for proc in workers:
                proc.join(max(0.0, deadline - time.monotonic()))
                if proc.is_alive():
                    proc.kill()
                    proc.join()
            holder.close()
            for s, handler in previous.items():
                signal.signal(s, handler)

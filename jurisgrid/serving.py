"""Serving the app: uvicorn worker processes, each with its own listening socket.

uvicorn's ``--workers`` share one listening socket, and the worker that wakes first accepts
every connection waiting. Keep-alive clients that connect together — a proxy's pool, a load
test — then land on one worker: the bench saw all 16 of its connections on one of two
workers, half the machine idle and latency doubled. Here each worker listens on a socket of
its own bound to the same port with ``SO_REUSEPORT``, and the kernel spreads new connections
over them.

The supervising process holds the port (bound, not listening, so it never receives a
connection), starts the workers (``spawn``: a clean interpreter each), restarts one that dies
(at most once a second), and stops them all on SIGINT/SIGTERM. One worker, or a platform
without ``SO_REUSEPORT``, is served by plain uvicorn.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import FrameType

APP = "jurisgrid.app:create_app"


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    log_level: str = "info"
    access_log: bool = False


def serve(options: ServeOptions) -> None:
    import uvicorn

    if options.workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, factory=True, host=options.host, port=options.port,
                    workers=options.workers, log_level=options.log_level,
                    access_log=options.access_log)
        return
    Supervisor(options).run()


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


def _worker(options: ServeOptions) -> None:  # pragma: no cover - runs in the worker process
    import uvicorn

    # bound, not yet listening: uvicorn listens once the app has started, so no connection
    # waits in the queue of a worker that is still starting (or restarting)
    sock = reuseport_socket(options.host, options.port)
    config = uvicorn.Config(APP, factory=True, host=options.host, port=options.port,
                            log_level=options.log_level, access_log=options.access_log)
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self._stopping = False
        self._ctx = multiprocessing.get_context("spawn")

    def _start(self) -> BaseProcess:
        proc = self._ctx.Process(target=_worker, args=(self.options,), name="jurisgrid-worker")
        proc.start()
        return proc

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def run(self) -> None:
        o = self.options
        holder = reuseport_socket(o.host, o.port)  # fails now if the port is taken
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        _say(f"serving on http://{o.host}:{o.port} with {o.workers} workers, one socket each")
        workers = [self._start() for _ in range(o.workers)]
        last_restart = 0.0
        try:
            while not self._stopping:
                time.sleep(0.2)
                for i, proc in enumerate(workers):
                    if proc.is_alive() or self._stopping:
                        continue
                    wait = last_restart + 1.0 - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    _say(f"worker {proc.pid} exited with {proc.exitcode}: starting another")
                    workers[i] = self._start()
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

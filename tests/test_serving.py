"""``jurisgrid serve --workers N`` (jurisgrid/serving.py): N uvicorn workers, each listening on
its own SO_REUSEPORT socket on the one port; a worker that dies is replaced; SIGTERM stops all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from jurisgrid.serving import Rebalance, ServeOptions, reuseport_socket, serve
from tests.server import free_port


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    except FileNotFoundError:  # exiting
        pass
    return out


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on 127.0.0.1:port (state 0A in /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[1] == f"0100007F:{port:04X}" and f[3] == "0A":
            found.add(f[9])
    return found


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:  # the process is gone (a killed worker)
        return out
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def _workers(pid: int, port: int) -> set[int]:
    """The children of ``pid`` that hold a socket listening on ``port``."""
    listening = _listening_inodes(port)
    return {c for c in _children(pid) if _socket_inodes(c) & listening}


def _replaced(pid: int, port: int, victim: int) -> bool:
    """Two workers listen and ``victim`` is not one of them — judged on one look at /proc.
    (Two looks raced: the first could still count the dying victim among two, the second no
    longer see it, and the test stopped the server before the supervisor had replaced it.)"""
    now = _workers(pid, port)
    return len(now) == 2 and victim not in now


# starting two workers took 25 s on the shared 2-core machine under load
def _wait(predicate, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc")
def test_workers_listen_on_own_sockets_and_a_dead_one_is_replaced(database_url: str, engine,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "JURISGRID_DATABASE_URL": database_url}
    # the server's output goes to a file, not a pipe nobody reads while we wait: on a slow
    # machine the health polls' access-log lines filled the 64 KiB pipe and blocked the workers
    log = tmp_path / "serve.log"
    with log.open("w") as out_file:
        proc = subprocess.Popen([sys.executable, "-m", "jurisgrid.cli", "serve", "--port",
                                 str(port), "--workers", "2"], env=env, stdout=out_file,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            _wait(lambda: _healthy(base) and len(_workers(proc.pid, port)) == 2)
            assert len(_listening_inodes(port)) == 2  # two sockets, one per worker
            first = _workers(proc.pid, port)
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            _wait(lambda: _replaced(proc.pid, port, victim))
            assert _healthy(base)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        except AssertionError as exc:
            raise AssertionError(f"{exc}; server output:\n{log.read_text()}") from None
        assert not _listening_inodes(port)  # every worker stopped
        out = log.read_text()
        assert f"worker {victim} exited" in out and "with 2 workers" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc")
def test_a_stuck_worker_is_replaced_and_requests_keep_being_answered(database_url: str, engine,  # type: ignore[no-untyped-def]
                                                                     tmp_path: Path) -> None:
    """A worker alive but not running (SIGSTOP: like a request that never yields its event loop)
    stops its heartbeat; the supervisor kills it and starts another."""
    port = free_port()
    env = {**os.environ, "JURISGRID_DATABASE_URL": database_url,
           "JURISGRID_WORKER_HEARTBEAT_S": "1", "JURISGRID_WORKER_MISSED_HEARTBEATS": "5"}
    log = tmp_path / "serve.log"
    with log.open("w") as out_file:
        proc = subprocess.Popen([sys.executable, "-m", "jurisgrid.cli", "serve", "--port",
                                 str(port), "--workers", "2"], env=env, stdout=out_file,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    victim = 0
    try:
        try:
            _wait(lambda: _healthy(base) and len(_workers(proc.pid, port)) == 2)
            victim = min(_workers(proc.pid, port))
            os.kill(victim, signal.SIGSTOP)
            t0 = time.monotonic()
            _wait(lambda: _replaced(proc.pid, port, victim))
            replaced_s = time.monotonic() - t0
            _wait(lambda: _healthy(base))
        except AssertionError as exc:
            raise AssertionError(f"{exc}; server output:\n{log.read_text()}") from None
        assert replaced_s < 60, replaced_s
        # new connections land on either worker's socket: every one is answered
        for _ in range(20):
            r = httpx.post(f"{base}/graphql", json={"query": "{ currentRevision }"}, timeout=10,
                           headers={"connection": "close"})
            assert r.status_code == 200 and r.json()["data"]["currentRevision"] >= 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert f"worker {victim} missed 5 heartbeats" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if victim:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)


def test_a_port_taken_without_reuseport_is_refused_at_once(capsys) -> None:  # type: ignore[no-untyped-def]
    plain = socket.socket()
    try:
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        port = plain.getsockname()[1]
        with pytest.raises(OSError):
            reuseport_socket("127.0.0.1", port)
        with pytest.raises(SystemExit) as stopped:  # no worker started, a clear message
            serve(ServeOptions(host="127.0.0.1", port=port, workers=2))
        assert stopped.value.code == 1
        assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    finally:
        plain.close()


def _respond_through(balancer: Rebalance) -> list[tuple[bytes, bytes]]:
    """One HTTP request through the middleware; the response headers sent."""
    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x", b"1")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: Any) -> None:
        sent.append(message)

    balancer.app = app
    asyncio.run(balancer({"type": "http"}, None, send))
    return list(sent[0]["headers"])


CLOSE = (b"connection", b"close")


def test_rebalance_closes_connections_only_of_a_worker_holding_clearly_more() -> None:
    loads = [0, 0]
    mine = {"n": 8}
    worker0 = Rebalance(None, 0, loads, lambda: mine["n"], margin=1, every_s=60)
    loads[1] = 8
    assert CLOSE not in _respond_through(worker0)   # 8 and 8: even
    assert loads[0] == 8                            # and it published its count
    loads[1] = 7
    assert CLOSE not in _respond_through(worker0)   # 8 and 7: within the margin

    loads[1] = 4
    mine["n"] = 12                                  # 12 and 4
    assert _respond_through(worker0)[-1] == CLOSE
    assert CLOSE not in _respond_through(worker0)   # once per every_s at most
    worker1 = Rebalance(None, 1, loads, lambda: 4, margin=1, every_s=0)
    assert CLOSE not in _respond_through(worker1)   # the one holding fewer keeps its own


def test_a_worker_is_marked_ready_once_its_app_has_started() -> None:
    ready = [0, 0]
    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert ready[1] == 0
        await send({"type": "lifespan.startup.complete"})

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(Rebalance(app, 1, [0, 0], lambda: 0, ready)({"type": "lifespan"}, None, send))
    assert ready == [0, 1] and sent == [{"type": "lifespan.startup.complete"}]


def test_the_event_loop_beats_once_the_app_has_started() -> None:
    beats = [0.0, 0.0]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "lifespan.startup.complete"})
        first = beats[1]
        assert first > 0
        await asyncio.sleep(0.05)
        assert beats[1] > first  # beating every heartbeat_s
        await send({"type": "lifespan.shutdown.complete"})

    async def send(message: Any) -> None:
        pass

    asyncio.run(Rebalance(app, 1, [0, 0], lambda: 0, beats=beats, heartbeat_s=0.01)(
        {"type": "lifespan"}, None, send))
    assert beats[0] == 0.0


def test_workers_exit_when_the_supervisor_is_killed(database_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**os.environ, "JURISGRID_DATABASE_URL": database_url}
    proc = subprocess.Popen([sys.executable, "-m", "jurisgrid.cli", "serve", "--port", str(port),
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: len(_workers(proc.pid, port)) == 2)
        workers = _workers(proc.pid, port)
        proc.kill()  # SIGKILL: the supervisor cannot stop them itself
        proc.wait()
        _wait(lambda: not any(Path(f"/proc/{w}").exists() for w in workers))
        assert not _listening_inodes(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

"""The real server for end-to-end tests: ``jurisgrid serve`` (uvicorn) in a subprocess on a free
local port, waited on until /healthz answers, and stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (as of now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(database_url: str, *, workers: int | None = None,
                   env: Mapping[str, str] | None = None, startup_timeout: float = 60,
                   stop_timeout: float = 10) -> Iterator[str]:
    """Run ``jurisgrid serve`` on ``database_url`` and yield its base URL once it is healthy.

    ``workers``: passed as ``--workers`` and ``JURISGRID_WORKERS``; None leaves both to the
    defaults. ``env``: more environment variables for the server. The server must answer
    /healthz within ``startup_timeout`` seconds (else RuntimeError, with its output); it is
    terminated on the way out and given ``stop_timeout`` seconds to stop.

    The server's output goes to a temporary file (a pipe nobody reads while the test runs could
    fill and block the server). After a clean stop it must hold no "Exception ignored" line:
    the hardening probe once counted 1,299 of them (``KeyError: '__import__'`` from coroutines
    collected at interpreter shutdown) — every end-to-end test checks that they stay gone.
    """
    port = free_port()
    full_env = {**os.environ, "JURISGRID_DATABASE_URL": database_url, **(env or {})}
    args = [sys.executable, "-m", "jurisgrid.cli", "serve", "--port", str(port)]
    if workers is not None:
        full_env["JURISGRID_WORKERS"] = str(workers)
        args += ["--workers", str(workers)]
    log = tempfile.TemporaryFile(mode="w+", prefix="jurisgrid-serve-")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(args, env=full_env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"

    def output() -> str:
        log.flush()
        log.seek(0)
        return log.read()

    stopped_cleanly = False
    try:
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {output()}")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"server did not become healthy in {startup_timeout:g} s; "
                               f"its output:\n{output()}")
        yield base
        stopped_cleanly = True
    finally:
        proc.terminate()
        proc.wait(timeout=stop_timeout)
        text = output()
        log.close()
    if stopped_cleanly:
        ignored = [line for line in text.splitlines() if "Exception ignored" in line]
        assert not ignored, f"the server printed {len(ignored)} 'Exception ignored' lines:\n{text[-4000:]}"

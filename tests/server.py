"""The real server for end-to-end tests: ``jurisgrid serve`` (uvicorn) in a subprocess on a free
local port, waited on until /healthz answers, and stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
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
                   env: Mapping[str, str] | None = None, startup_timeout: float = 30,
                   stop_timeout: float = 10) -> Iterator[str]:
    """Run ``jurisgrid serve`` on ``database_url`` and yield its base URL once it is healthy.

    ``workers``: passed as ``--workers`` and ``JURISGRID_WORKERS``; None leaves both to the
    defaults. ``env``: more environment variables for the server. The server must answer
    /healthz within ``startup_timeout`` seconds (else RuntimeError, with its output if it
    exited); it is terminated on the way out and given ``stop_timeout`` seconds to stop.
    """
    port = free_port()
    full_env = {**os.environ, "JURISGRID_DATABASE_URL": database_url, **(env or {})}
    args = [sys.executable, "-m", "jurisgrid.cli", "serve", "--port", str(port)]
    if workers is not None:
        full_env["JURISGRID_WORKERS"] = str(workers)
        args += ["--workers", str(workers)]
    proc = subprocess.Popen(args, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"server did not become healthy in {startup_timeout:g} s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=stop_timeout)

"""The server's background task that applies due scheduled edits (editing/schedule.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from jurisgrid.editing.schedule import apply_due, seconds_to_next_due

log = logging.getLogger("jurisgrid.editing")


def start_apply_due(app: Any) -> Callable[[], None]:
    """Start the periodic task; returns the function that stops it."""
    settings = app.state.settings.edit
    interval = settings.edit_apply_due_interval_s

    async def loop() -> None:
        while True:
            wait = interval
            try:
                await run_in_threadpool(apply_due, app.state.engine, settings=settings)
                # wake at the next scheduled instant rather than up to an interval late
                nxt = await run_in_threadpool(seconds_to_next_due, app.state.engine)
                if nxt is not None:
                    wait = min(interval, max(nxt, 0.0) + 0.05)
            except Exception:  # keep the loop alive; the next round retries
                log.exception("applying due scheduled edits failed")
            await asyncio.sleep(wait)

    task = asyncio.get_running_loop().create_task(loop()) if interval > 0 else None

    def stop() -> None:
        if task is not None:
            task.cancel()

    return stop

"""A cancel that an `asyncio.timeout` swallowed, honoured at the top of a background loop.

On Python 3.11, when a task is cancelled just as an `asyncio.timeout` inside it expires, the TimeoutError
raised can stand for both; a loop that catches it (a Redis call that may time out) goes on, and the
`task.cancel(); await task` of its owner's shutdown then waits for ever. The cancel is still on record
(`Task.cancelling()`), so a loop that checks it once per turn stops as asked.
"""
from __future__ import annotations

import asyncio


def raise_if_cancelled() -> None:
    """Raises CancelledError when the current task was asked to cancel and something swallowed it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError

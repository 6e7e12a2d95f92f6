"""Stopping blocking work from another thread, promptly.

The bench, the tool-call load and the engine comparison each run their own asyncio loop in a
worker thread. A flag checked between requests is not enough to stop them: one request can
stream for minutes, and the process cannot exit while the thread runs (quitting the TUI left a
blank terminal until the requests in flight had finished). :func:`run_coroutine` runs the loop
beside a watcher that cancels the work as soon as the event is set, so every stream is closed
(the server sees the client go) within a fraction of a second.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable, TypeVar

T = TypeVar("T")

POLL_S = 0.05  # how often the watcher looks at the event: well inside the 1 s a quit may take


class Cancelled(Exception):
    """The work was cancelled by whoever started it (Esc, quit): not a failure to report."""

    def __init__(self, what: str = "cancelled") -> None:
        super().__init__(what)


def raise_if_set(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


async def until_cancelled(work: Awaitable[T], cancel: threading.Event | None) -> T:
    """Await ``work``; when ``cancel`` is set, cancel it (its ``async with`` blocks close their
    connections) and raise :class:`Cancelled`."""
    task = asyncio.ensure_future(work)
    if cancel is None:
        return await task
    while not task.done():
        if cancel.is_set():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # noqa: BLE001 - the work failed while being cancelled: cancelled wins
                pass
            raise Cancelled()
        await asyncio.wait({task}, timeout=POLL_S)
    return task.result()


def run_coroutine(work: Awaitable[T], cancel: threading.Event | None = None,
                  loop_factory: Callable[[], Any] | None = None) -> T:
    """Run ``work`` on a fresh event loop in this thread (never a global policy: the TUI calls
    this from a worker beside Textual's loop); :class:`Cancelled` once ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        if asyncio.iscoroutine(work):
            work.close()  # never started: no "never awaited" warning
        raise Cancelled()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(until_cancelled(work, cancel))

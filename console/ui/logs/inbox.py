"""What a log feed has published that the Logs view has not taken yet.

The feed's thread puts items in; the view takes them all at once, at most a few dozen times a
second (a flood arrives as a few large takes, k9s style), in order: chunks, run markers,
outages, the end. A chunk is one read of the log (thousands of lines in a flood): kept as
it is, not copied into a merged list. At most one "come and take" message is pending at a
time — but the end asks again, so that it is taken at once and not at the lines' pace —
and a reader that gets too far ahead waits (memory stays bounded while the view catches up).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from console.logs.follow import Ended, FollowItem, LogChunk

HIGH_WATER = 200_000  # lines waiting for the view before the feed's thread waits


class Inbox:
    def __init__(self, source: str, notify: Callable[["Inbox"], None]) -> None:
        self.source = source  # what the pane follows, as it names it ("container 3f2a9c…")
        self._notify = notify  # called (in the feed's thread) when a take is due
        self._items: list[FollowItem] = []
        self._lines = 0
        self._pending = False  # a take is due and not done yet
        self.final = False  # the source's end is waiting: take it now, not at the ingest pace
        self._cond = threading.Condition()
        self.stopped = threading.Event()
        self.unsubscribe: Callable[[], None] | None = None

    def put(self, item: FollowItem) -> None:
        """The feed's sink (thread-safe; waits while the view is far behind)."""
        with self._cond:
            if isinstance(item, LogChunk):
                while self._lines > HIGH_WATER and not self.stopped.is_set():
                    self._cond.wait(0.1)
                self._lines += len(item.lines)
            self._items.append(item)  # shared with the feed's history: read, never changed
            if self.stopped.is_set():
                return
            if isinstance(item, Ended):
                self.final = True  # asked again below even while a take is due (it may be paced)
            elif self._pending:
                return
            self._pending = True
        self._notify(self)

    def take(self) -> list[FollowItem]:
        with self._cond:
            items, self._items = self._items, []
            self._lines = 0
            self._pending = self.final = False
            self._cond.notify_all()
            return items

    def stop(self) -> None:
        """No more items are wanted: a waiting put returns, the feed forgets this sink."""
        self.stopped.set()
        with self._cond:
            self._cond.notify_all()
        if self.unsubscribe is not None:
            self.unsubscribe()

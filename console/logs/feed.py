"""One log source run in a thread and shared: the follower's items fanned out to subscribers.

A :class:`LogFeed` runs a :class:`~console.logs.follow.LogFollower` (or a
:class:`~console.logs.follow.LogFile`) in its own thread and hands every item, in order, to
each subscriber. It keeps a bounded history (the last :data:`KEEP_LINES` lines, run markers
and the current state), so a subscriber that comes late — the Logs area opened after the
Launch area attached — first gets what came before, then the live items, nothing twice.

:class:`LogHub` holds one feed per container for the whole TUI: the launch monitor, the Logs
area and the Metrics timeline subscribe to the same one, so a log is read and scanned once.

Sinks run in the feed's thread (and, for the replay, in the subscriber's): they must be quick
or hand over to another thread, and ``subscribe`` belongs off the UI thread (a sink may wait
for its reader to catch up, which is how a flood stays bounded in memory).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from console.logs.follow import Ended, FollowItem, LogChunk, LogFollower, Publish, Resumed, Retrying, RunStarted

KEEP_LINES = 100_000  # history for late subscribers (the Logs view keeps as many)

Sink = Callable[[FollowItem], None]


class Source(Protocol):
    def run(self, publish: Publish) -> None: ...

    def stop(self) -> None: ...


@dataclass(eq=False)
class _Subscriber:
    sink: Sink
    active: bool = True


class LogFeed:
    def __init__(self, source: Source, *, name: str = "log", keep_lines: int = KEEP_LINES) -> None:
        self.source = source
        self.name = name
        self.keep_lines = keep_lines
        self._lock = threading.Lock()  # publishing: history and delivery in order (held while sinks run)
        self._subs_lock = threading.Lock()  # the subscriber list only (never held while a sink runs)
        self._start_lock = threading.Lock()
        self._subs: list[_Subscriber] = []
        self._history: deque[LogChunk | RunStarted] = deque()
        self._lines = 0
        self._state: Retrying | Ended | None = None  # replayed after the history
        self._thread: threading.Thread | None = None
        self.closed = False  # stopped on purpose: never started again

    # ── subscribers ─────────────────────────────────────────────────────────
    def subscribe(self, sink: Sink, *, replay: bool = True) -> Callable[[], None]:
        """Add ``sink``; with ``replay`` it first gets the history. Returns the unsubscribe
        function (safe from any thread, never blocks). When the last subscriber leaves, the
        feed stops."""
        sub = _Subscriber(sink)
        with self._lock:  # no item can be published between the replay and the first live one
            if replay:
                for item in self._history:
                    sink(item)
                if self._state is not None:
                    sink(self._state)
            with self._subs_lock:
                if not self.closed:  # a closed feed takes nobody (LogHub.subscribe makes a new one)
                    self._subs.append(sub)
        return lambda: self._unsubscribe(sub)

    def _unsubscribe(self, sub: _Subscriber) -> None:
        with self._subs_lock:
            sub.active = False
            idle = not self.closed and not any(s.active for s in self._subs)
            if idle:
                self.closed = True  # decided with the list in hand: no subscriber slips in now
        if idle:
            self.source.stop()

    # ── running ─────────────────────────────────────────────────────────────
    def start(self) -> "LogFeed":
        """Run the source (idempotent). A source that finished runs again: a follower then
        resumes after its last line (a restarted container's new run follows)."""
        with self._start_lock:  # not the publishing lock: a slow sink must not hold this caller
            if self.closed or (self._thread is not None and self._thread.is_alive()):
                return self
            self._state = None  # no thread publishes now
            self._thread = threading.Thread(target=self.source.run, args=(self._publish,),
                                            name=f"log-feed-{self.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the source for good (from any thread)."""
        self.closed = True
        self.source.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _publish(self, item: FollowItem) -> None:
        with self._lock:
            if isinstance(item, (LogChunk, RunStarted)):
                self._history.append(item)
                if isinstance(item, LogChunk):
                    self._lines += len(item.lines)
                    while self._lines > self.keep_lines and len(self._history) > 1:
                        old = self._history.popleft()
                        if isinstance(old, LogChunk):
                            self._lines -= len(old.lines)
            elif isinstance(item, (Retrying, Ended)):
                self._state = item
            elif isinstance(item, Resumed):
                self._state = None
            with self._subs_lock:
                live = self._subs = [s for s in self._subs if s.active]
            for sub in live:
                if sub.active:  # one that left meanwhile gets nothing more
                    sub.sink(item)


class LogHub:
    """One shared follower per container (the TUI's, held by the app). ``scanners`` (the engine's
    scanner by the container's label), ``client`` (tests) or ``connect`` (the console: the
    runtime's pinned client) and ``hold`` go to every follower (see
    :class:`~console.logs.follow.LogFollower`)."""

    def __init__(self, *, scanners: Callable[[str | None], Any], client: Any = None,
                 connect: Callable[[], Any] | None = None, hold: Callable[[dict], Any] | None = None) -> None:
        self._client = client
        self._connect = connect
        self._hold = hold
        self._scanners = scanners  # engine name → scanner, for each follower (the label picks the engine)
        self._feeds: dict[str, LogFeed] = {}
        self._lock = threading.Lock()

    def feed(self, container_id: str) -> LogFeed:
        """The container's feed — its whole log, then live — started (or resumed) if needed."""
        with self._lock:
            feed = self._feeds.get(container_id)
            if feed is None or feed.closed:
                follower = LogFollower(container_id, client=self._client, connect=self._connect, hold=self._hold,
                                       scanners=self._scanners)
                feed = self._feeds[container_id] = LogFeed(follower, name=container_id[:12])
        return feed.start()

    def subscribe(self, container_id: str, sink: Sink, *, replay: bool = True) -> tuple[LogFeed, Callable[[], None]]:
        """Subscribe ``sink`` to the container's feed: (the feed, its unsubscribe). A feed whose
        last subscriber left just then (it stops for good) is replaced by a fresh one."""
        while True:
            feed = self.feed(container_id)
            unsubscribe = feed.subscribe(sink, replay=replay)
            if not feed.closed:
                return feed, unsubscribe
            unsubscribe()

    def close(self) -> None:
        with self._lock:
            feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            feed.stop()

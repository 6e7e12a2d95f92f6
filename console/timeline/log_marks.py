"""What a server's log says, as marks on the timeline: each failure the log's scanner diagnosed
(once per kind per run), beside Docker's lifecycle marks. A sink for a log feed
(:mod:`console.logs.feed`): the Metrics area subscribes it to the watched container's feed,
the same one the Launch and Logs areas read."""

from __future__ import annotations

from console.logs.events import Failure
from console.logs.follow import FollowItem, LogChunk, RunStarted
from console.timeline.timeline import Timeline

KIND = "failure"


class LogMarks:
    def __init__(self, timeline: Timeline, name: str) -> None:
        self.timeline = timeline
        self.name = name
        self._seen: set[str] = set()  # diagnosis codes marked in this run

    def __call__(self, item: FollowItem) -> None:
        if isinstance(item, RunStarted):
            self._seen.clear()
        elif isinstance(item, LogChunk):
            for i, ev in item.events:
                if isinstance(ev, Failure) and ev.diagnosis.code not in self._seen:
                    self._seen.add(ev.diagnosis.code)
                    self.timeline.add_event(KIND, f"{self.name}: {ev.diagnosis.title}", item.time_of(i),
                                            source=self.name)

"""A line scanner for engines whose interesting lines carry literal anchors.

``feed(lines)`` returns engine-neutral events (:mod:`console.engines.events`) in line
order. A batch without any anchor costs one C-level search per anchor over the joined
text; only lines that carry one are parsed. Periodic statistics lines are summarised:
only the newest one of a batch becomes a :class:`Serving` event. An engine subclasses
it with its anchors, its statistics marker and ``parse(msg, time)``.
"""

from __future__ import annotations

from console.engines.events import Event, Failure, Serving
from console.engines.rules import Rule, anchors_of, diagnose


class AnchorScanner:
    ANCHORS: tuple[str, ...] = ()  # substrings of the start-up lines parse() understands
    RULES: tuple[Rule, ...] = ()
    STATS: str | None = None  # substring of the periodic statistics line (only the newest is parsed)
    GENERIC: frozenset[str] = frozenset()  # codes that only say "see the cause above": listed last

    def __init__(self) -> None:
        self._anchors = tuple(self.ANCHORS) + anchors_of(self.RULES)
        self.counts = {"lines": 0, "stats": 0}

    # -- what an engine provides ------------------------------------------------------
    def split(self, line: str) -> tuple[str | None, str]:
        """(timestamp as logged or None, message without the engine's prefix)."""
        return None, line

    def parse(self, msg: str, time: str | None) -> Event | list[Event] | None:
        """A start-up line → its event(s) (failures are matched by the rules afterwards)."""
        return None

    def parse_stats(self, msg: str, time: str | None) -> Serving | None:
        return None

    # -- the scan ---------------------------------------------------------------------
    def feed(self, lines: list[str]) -> list[Event]:
        return [ev for _, ev in self.feed_indexed(lines)]

    def feed_indexed(self, lines: list[str]) -> list[tuple[int, Event]]:
        """Like :meth:`feed`, each event with the index of the line that carries it."""
        if not lines:
            return []
        self.counts["lines"] += len(lines)
        text = "\n".join(lines)
        events: list[tuple[int, Event]] = []
        if any(a in text for a in self._anchors):
            for i, line in enumerate(lines):
                if any(a in line for a in self._anchors):
                    events.extend((i, ev) for ev in self.events_of(line))
        if self.STATS and self.STATS in text:
            self.counts["stats"] += text.count(self.STATS)
            for i in range(len(lines) - 1, -1, -1):
                if self.STATS in lines[i]:
                    time, msg = self.split(lines[i].rstrip("\r\n"))
                    stats = self.parse_stats(msg, time)
                    if stats is not None:
                        events.append((i, stats))
                    break
        events.sort(key=lambda pair: pair[0])
        return events

    def events_of(self, line: str) -> list[Event]:
        """One line → what it reports: a start-up step, a failure, or both (a KV budget
        logged as a negative number is a capacity line and the reason start-up stops)."""
        time, msg = self.split(line.rstrip("\r\n"))
        out: list[Event] = []
        ev = self.parse(msg, time)
        if isinstance(ev, list):
            out.extend(ev)
        elif ev is not None:
            out.append(ev)
        diag = diagnose(self.RULES, msg)
        if diag is not None:
            out.append(Failure(diag, line))
        return out

    def diagnoses(self, lines: list[str]) -> list:
        """Distinct diagnoses in a whole log, in order of first sight, a specific cause before
        the generic line it produced (stdout and stderr interleave in any order in a log)."""
        seen: dict[str, object] = {}
        for ev in self.feed(lines):
            if isinstance(ev, Failure):
                seen.setdefault(ev.diagnosis.code, ev.diagnosis)
        found = list(seen.values())
        return [d for d in found if d.code not in self.GENERIC] + [d for d in found if d.code in self.GENERIC]

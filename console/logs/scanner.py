"""The seam between an engine's log format and everything that reads logs.

A :class:`Scanner` turns batches of one engine's raw lines into the events of
:mod:`console.logs.events`, each with the index of the line that carries it (so a reader that
has per-line timestamps can date every event exactly). The follower
(:mod:`console.logs.follow`) runs exactly one scanner per log; its consumers never parse.

Every engine's scanner lives with its engine (console/engines, SGLang's included): the engines
depend on this package and not the other way round, so whoever builds a follower hands it
``scanners`` — ``console.engines.follow.scanner_for``, engine name (or None: no label) → a
fresh scanner.
"""

from __future__ import annotations

from typing import Protocol

from console.logs.events import Diagnosis, Event, Failure


class Scanner(Protocol):
    """Stateful (a traceback may span batches): one instance per log, fed in order."""

    def scan(self, lines: list[str]) -> list[tuple[int, Event]]:
        """Events found in ``lines``, as ``(index in lines, event)`` in line order."""
        ...


# The container label naming the engine whose log it is (the runtime sets it at launch).
ENGINE_LABEL = "org.gpt-oss-console.engine"


def engine_of(attrs: dict) -> str | None:
    """A container's engine from its ``docker inspect``; None when it has no label (containers
    from before the label: the scanners' default engine reads them)."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return labels.get(ENGINE_LABEL) or None


def diagnoses_of(events: list[Event], known: list[Diagnosis] | None = None) -> list[Diagnosis]:
    """The distinct diagnoses among ``events`` added to ``known`` (order of first sight);
    a specific cause goes before the generic traceback it produced."""
    seen = {d.code: d for d in known or []}
    for ev in events:
        if isinstance(ev, Failure) and ev.diagnosis.code not in seen:
            seen[ev.diagnosis.code] = ev.diagnosis
    out = list(seen.values())
    if len(out) > 1:
        out = [d for d in out if d.code != "exception"] + [d for d in out if d.code == "exception"]
    return out

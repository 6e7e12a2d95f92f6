"""The seam between an engine's log format and everything that reads logs.

A :class:`Scanner` turns batches of one engine's raw lines into the engine-neutral events of
:mod:`console.logs.events`, each with the index of the line that carries it (so a reader that
has per-line timestamps can date every event exactly). The follower
(:mod:`console.logs.follow`) runs exactly one scanner per log; its consumers never parse.

The other engines' scanners live with them (console/engines); the follower is handed
``console.engines.follow.scanner_for`` by whoever builds it, since the engines depend on this
package and not the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE
from console.logs.events import Diagnosis, Event, Failure
from console.logs.sglang import SGLangScanner


class Scanner(Protocol):
    """Stateful (a traceback may span batches): one instance per log, fed in order."""

    engine: str

    def scan(self, lines: list[str]) -> list[tuple[int, Event]]:
        """Events found in ``lines``, as ``(index in lines, event)`` in line order."""
        ...


# engine name → scanner class; the name is the one settings and labels use.
SCANNERS: dict[str, Callable[[], Scanner]] = {
    SGLangScanner.engine: SGLangScanner,
}
DEFAULT_ENGINE = SGLangScanner.engine
# The container label naming the engine whose log it is (the runtime sets it at launch).
ENGINE_LABEL = "org.gpt-oss-console.engine"


def engine_of(attrs: dict) -> str:
    """A container's engine from its ``docker inspect`` (no label: SGLang, the only engine before it)."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return labels.get(ENGINE_LABEL) or DEFAULT_ENGINE


def scanner_for(engine: str = DEFAULT_ENGINE) -> Scanner:
    try:
        return SCANNERS[engine]()
    except KeyError:
        raise ConsoleError(f"no log scanner for engine {engine!r}", f"known: {', '.join(SCANNERS)}",
                           exit_code=EXIT_USAGE) from None


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


def diagnose_lines(lines: list[str], engine: str = DEFAULT_ENGINE) -> list[Diagnosis]:
    """All distinct diagnoses in a log (post-mortem, crash bundles). Order of first sight."""
    return diagnoses_of([ev for _, ev in scanner_for(engine).scan(lines)])

"""What fleet operations report while they run: one typed event per step.

The CLI prints them as lines; the TUI's worker posts each as a Textual message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable


@dataclass(frozen=True)
class FleetEvent:
    step: str  # gpus, plan, router, launch, phase, ready, register, deregister, drain, stop, remove, failed, kept
    text: str  # one line for a person
    host: str | None = None
    worker: str | None = None
    ok: bool | None = None  # None: in progress; True done; False failed

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        where = self.worker or self.host
        mark = {True: "✓", False: "✗", None: "·"}[self.ok]
        return f"{mark} {where + ': ' if where else ''}{self.text}"


Listener = Callable[[FleetEvent], None]


def quiet(_: FleetEvent) -> None:
    pass

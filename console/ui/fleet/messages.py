"""Messages the Fleet area's workers post to it (the core's objects, carried to the UI thread)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class FleetPolled(Message):
    """One status poll (a ``console.fleet.status.FleetStatus``)."""

    def __init__(self, status: Any) -> None:
        super().__init__()
        self.status = status


class FleetProblem(Message):
    """The poll could not start (a bad hosts file, no key yet): a sentence and what to do."""

    def __init__(self, message: str, hint: str | None) -> None:
        super().__init__()
        self.message = message
        self.hint = hint


class FleetProgress(Message):
    """A step of up / drain / down (a ``console.fleet.events.FleetEvent``)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class FleetOpDone(Message):
    """An operation ended: ``ok`` and one line for the operator."""

    def __init__(self, kind: str, ok: bool, text: str) -> None:
        super().__init__()
        self.kind = kind
        self.ok = ok
        self.text = text


class FleetText(Message):
    """Text fetched for a viewer (a worker's or the router's log, the plan)."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title = title
        self.text = text

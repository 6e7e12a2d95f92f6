"""Messages that cross from one pane to another (posted to the app).

Messages a worker posts to its own pane live next to that pane.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from console.secret import Secret


class PlanChosen(Message):
    """The operator picked a planner recommendation: carry it to the launch form."""

    def __init__(self, values: dict[str, Any], source: str = "planner", plan: Any = None) -> None:
        super().__init__()
        self.values = values
        self.source = source
        self.plan = plan  # the console.planner Plan behind the values, when a planner sent them


class EndpointChanged(Message):
    """A server became ready (or went away): chat, smoke and metrics follow it."""

    def __init__(self, base_url: str | None, api_key: Secret | None = None, model: str | None = None) -> None:
        super().__init__()
        self.base_url = base_url
        self.api_key = api_key
        self.model = model


class ContainerWatched(Message):
    """A container whose log the areas should follow: just launched, restarted, or re-attached."""

    def __init__(self, container_id: str, name: str = "") -> None:
        super().__init__()
        self.container_id = container_id
        self.name = name

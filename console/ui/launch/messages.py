"""Messages the Launch area's workers post to the Launch pane (cross-area ones: console.ui.messages)."""

from __future__ import annotations

from textual.message import Message

from console.errors import ConsoleError


class Progress(Message):
    def __init__(self, snap) -> None:
        super().__init__()
        self.snap = snap  # console.runtime.monitor.Snapshot


class Pulled(Message):
    def __init__(self, progress, elapsed_s: float) -> None:
        super().__init__()
        self.progress = progress  # console.runtime.lifecycle.LayerProgress
        self.elapsed_s = elapsed_s


class Attached(Message):
    """A container to watch: just launched, restarted, or found running at start."""

    def __init__(self, container_id: str, name: str, base_url: str | None, api_key: str | None, model: str | None,
                 drift: bool | None = None, profile: str = "", settings_hash: str = "",
                 running: dict | None = None) -> None:
        super().__init__()
        self.running = running  # the settings it runs with, read back (a server found, not launched here)
        self.settings_hash = settings_hash  # what the container runs with: drift against the form
        self.container_id = container_id
        self.name = name
        self.base_url = base_url
        self.api_key = api_key
        self.model = model
        self.drift = drift
        self.profile = profile


class Failed(Message):
    def __init__(self, error: ConsoleError, action: str) -> None:
        super().__init__()
        self.error = error
        self.action = action


class Recovered(Message):
    """Docker answers again after the pane said it did not."""


class Choose(Message):
    """Several running console servers could be the one to watch: the operator picks."""

    def __init__(self, infos: list, why: str, ask: bool = True) -> None:
        super().__init__()
        self.infos = infos
        self.why = why
        self.ask = ask  # False: only say so (F4 asks); servers of other profiles are no reason to interrupt

"""Messages the GPUs area's background work posts to its pane."""

from __future__ import annotations

from textual.message import Message


class GpusOpened(Message):
    """NVML answered (or did not): the inventory, possibly with ``error`` set."""

    def __init__(self, inventory) -> None:
        super().__init__()
        self.inventory = inventory


class GpusSampled(Message):
    """One sampler tick (``console.gpu.Snapshot``), posted from the sampling thread, with the
    host at that moment (``console.host.HostSample``, its GPU processes' ``ProcInfo`` by PID)."""

    def __init__(self, snapshot, host=None, processes=None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.host = host
        self.processes = processes


class ContainersResolved(Message):
    """PID → container name, from the app's ``container_lookup``."""

    def __init__(self, containers: dict[int, str]) -> None:
        super().__init__()
        self.containers = containers

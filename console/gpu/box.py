"""The detected GPUs as the planner sees them: which card, how many, and what is free now.

Core, no Textual. Used by ``plan``, the fit lines of ``gpus`` and the GPUs screen's
planner, so the three plan the same box from the same memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable

from console.gpu.sampler import Sampler
from console.planner.catalog import GpuSpec, gpu_from_nvml
from console.planner.memory import MemoryAtLoad, detected_memory


@dataclass(frozen=True)
class DetectedBox:
    spec: GpuSpec  # the most common card (TP runs at the pace and memory of the smallest of them)
    count: int
    indices: tuple[int, ...]  # NVML indices of those cards
    memory: MemoryAtLoad | None  # None until a sample says what is free

    @property
    def label(self) -> str:
        return f"{self.count}× {self.spec.name}"


def detected_box(inventory, snapshot=None, containers: dict[int, str] | None = None) -> DetectedBox | None:
    """The planner's view of ``inventory`` (with ``snapshot``'s free memory and processes,
    ``containers``: PID → container name), or None when no GPU has a known memory size."""
    # A card of less than 1 GiB is a misread (or a hand-made recording), not something to plan
    # for; a card lost in this sample serves nothing.
    lost = {s.index for s in snapshot.samples if s.lost} if snapshot is not None else set()
    usable = [g for g in inventory.gpus if (g.memory_total or 0) >= 1 << 30 and g.index not in lost]
    if not usable:
        return None
    name, _ = Counter(g.name for g in usable).most_common(1)[0]
    same = [g for g in usable if g.name == name]
    first = same[0]
    spec = gpu_from_nvml(first.name, min(g.memory_total for g in same), first.compute_capability)
    indices = tuple(g.index for g in same)
    memory = None
    if snapshot is not None:
        samples = [s for s in (snapshot.get(i) for i in indices) if s is not None]
        if len(samples) == len(indices):
            memory = detected_memory(spec, samples, containers)
    return DetectedBox(spec, len(same), indices, memory)


def read_box(backend=None, *, containers: Callable[[list[int]], dict[int, str]] | None = None):
    """(DetectedBox | None, Inventory) from one NVML sample (or a replay); ``containers`` names
    the container of each GPU process (PIDs → names). Never raises for a missing driver."""
    sampler = Sampler(backend)
    inv = sampler.open()
    try:
        snap = sampler.tick() if inv.gpus else None
    finally:
        sampler.stop()
    names: dict[int, str] = {}
    if containers is not None and snap is not None:
        pids = [p.pid for s in snap.samples for p in s.processes]
        if pids:
            names = containers(pids)
    return detected_box(inv, snap, names), inv

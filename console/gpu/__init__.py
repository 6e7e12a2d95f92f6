"""GPU discovery and live telemetry through NVML (nvidia-ml-py, imported lazily).

Public API::

    Sampler(backend=None, *, interval=1.0, history_seconds=600, clock=time.time)
        .start() -> Inventory   .stop()   .tick() -> Snapshot   .snapshot
        .history(index) -> tuple[GpuSample, ...]   .subscribe(cb) -> unsubscribe
        .interval (settable)    .inventory
    open_backend(replay=None)   # real NVML, or GPT_OSS_CONSOLE_NVML_REPLAY=<file.json>
    read_inventory(backend=None) -> Inventory          # one-shot, no thread
    snapshot(backend=None) -> dict     # inventory + one sample per GPU, JSON-ready
                                       # (what `gpus --json` prints; crash bundles use it)
    GpuInfo, GpuSample, GpuProcess, Snapshot, Inventory  (console.gpu.data)
    plan_gpus(inventory) -> (GpuSpec, count) | None    # for the planner
"""

from __future__ import annotations

from console.gpu.data import GpuInfo, GpuProcess, GpuSample, Inventory, Snapshot  # noqa: F401
from console.gpu.nvml import REPLAY_ENV, open_backend  # noqa: F401
from console.gpu.sampler import Sampler  # noqa: F401


def read_inventory(backend=None) -> Inventory:
    """What GPUs are here (no sampling thread). Never raises for a missing driver."""
    from console.gpu.telemetry import open_inventory

    b = backend if backend is not None else open_backend()
    inv, devices = open_inventory(b)
    if devices:
        try:
            b.shutdown()
        except Exception:
            pass
    return inv


def document(inv: Inventory, snap: Snapshot | None) -> dict:
    """Inventory as a dict, each GPU with its sample under ``"sample"``."""
    d = inv.to_dict()
    for g in d["gpus"]:
        s = snap.get(g["index"]) if snap else None
        g["sample"] = s.to_dict() if s else None
    return d


def snapshot(backend=None) -> dict:
    """The GPUs right now, JSON-ready. Never raises for a missing driver."""
    sampler = Sampler(backend)
    inv = sampler.open()
    try:
        snap = sampler.tick() if inv.gpus else None
    finally:
        sampler.stop()
    return document(inv, snap)


def plan_gpus(inventory: Inventory):
    """The planner's view of the detected GPUs: ``(GpuSpec, count)`` of the most
    common card, or None when there is none. Mixed boxes plan the common card."""
    from collections import Counter

    from console.planner.catalog import gpu_from_nvml

    usable = [g for g in inventory.gpus if g.memory_total]
    if not usable:
        return None
    name, _ = Counter(g.name for g in usable).most_common(1)[0]
    same = [g for g in usable if g.name == name]
    first = same[0]
    # TP runs at the pace (and memory) of the smallest card of the set.
    mem = min(g.memory_total for g in same)
    return gpu_from_nvml(first.name, mem, first.compute_capability), len(same)

"""What memory the server finds free when it loads, per GPU.

Standard library only (the image entrypoint imports the planner).

SGLang sizes its KV pool from the memory free just before the weights load
(``pre_model_load_memory``: ``torch.cuda.mem_get_info`` after its CUDA context
exists), not from the card's size. That is the card minus:

* the driver's reserve (NVML memory v2 ``reserved``): 480 MiB on an H100 80GB,
  615 MiB on an H200 (tests/data/nvml/h100-real-idle.json, h200-real.json);
* a CUDA context: 527 MiB, measured with tests/data/nvml/cuda_hold.py on the H100
  (driver 580);
* whatever other processes already hold — on a detected box NVML says how much,
  and which processes (the console names their containers where it can).

A catalog GPU is planned from the whole card; the detected box from what is free
now. Public API::

    CUDA_CONTEXT                                   # bytes
    card_overhead(gpu) -> Overhead                 # reserve + context, measured or estimated
    catalog_memory(gpu, count=1) -> MemoryAtLoad   # the whole card
    detected_memory(gpu, samples, containers=None) -> MemoryAtLoad
    Holder, MemoryAtLoad (.free_for(tp) -> (bytes, indices), .to_dict())
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.planner.catalog import GiB, MiB, GpuSpec

# A CUDA context as torch creates it (tests/data/nvml/cuda_hold.py on an H100, driver 580).
CUDA_CONTEXT = 527 * MiB

# Driver reserve (NVML v2 "reserved") measured per card, MiB, with where it was measured.
MEASURED_RESERVE_MIB = {
    "H100-80GB": (480, "tests/data/nvml/h100-real-idle.json"),
    "H200-141GB": (615, "an H200 recording (gpus --record, driver 580.159.04)"),
}
# Unmeasured cards: the two measurements are 303 MiB + 0.217 % of the card; a guess, said so.
_ESTIMATE_BASE_MIB, _ESTIMATE_SLOPE = 303, (615 - 480) / (143771 - 81559)

# SGLang refuses to start TP when one GPU has less than 90 % of another's free memory
# (distributed/bootstrap.py: _check_tp_memory_balance, SGLANG_ENABLE_TP_MEMORY_INBALANCE_CHECK).
BALANCE_RATIO = 0.9


@dataclass(frozen=True)
class Overhead:
    reserved: int  # bytes the driver keeps
    context: int  # bytes a CUDA context takes
    measured: bool
    source: str

    @property
    def total(self) -> int:
        return self.reserved + self.context


def card_overhead(gpu: GpuSpec) -> Overhead:
    """Driver reserve + CUDA context of one card: measured where we have it, else estimated."""
    if gpu.name in MEASURED_RESERVE_MIB:
        mib, where = MEASURED_RESERVE_MIB[gpu.name]
        return Overhead(mib * MiB, CUDA_CONTEXT, True, f"measured ({where})")
    mib = round(_ESTIMATE_BASE_MIB + _ESTIMATE_SLOPE * gpu.memory_total / MiB)
    return Overhead(mib * MiB, CUDA_CONTEXT, False, "estimated from the H100 and H200 measurements")


@dataclass(frozen=True)
class Holder:
    """A process holding memory on a GPU, before the server starts."""

    gpu: int
    pid: int
    name: str | None
    used: int | None  # bytes; None when NVML cannot say (some containers)
    container: str | None = None

    def words(self) -> str:
        who = self.name or f"pid {self.pid}"
        if self.name:
            who += f" (pid {self.pid})"
        if self.container:
            who += f" in container {self.container}"
        amount = "an unknown amount" if self.used is None else f"{self.used / GiB:.1f} GiB"
        return f"{who} holds {amount} on GPU {self.gpu}"

    def to_dict(self) -> dict:
        return {"gpu": self.gpu, "pid": self.pid, "name": self.name, "used": self.used, "container": self.container}


@dataclass(frozen=True)
class MemoryAtLoad:
    """Memory per GPU as the server will find it. ``free`` is per GPU, in the GPUs' order."""

    total: int  # bytes per card (what SGLang's mem_fraction_static rule reads)
    overhead: Overhead
    free: tuple[int, ...]  # bytes free at load on each GPU
    indices: tuple[int, ...]  # NVML index of each GPU; () for a catalog GPU
    source: str  # "catalog" (the whole card) or "detected" (free now)
    holders: tuple[Holder, ...] = field(default=())

    @property
    def detected(self) -> bool:
        return self.source == "detected"

    def free_for(self, tp: int) -> tuple[int, tuple[int, ...]]:
        """Memory the server sees with ``tp`` GPUs (the least free of them: SGLang takes the
        minimum over ranks) and which GPUs: those with the most free memory."""
        order = sorted(range(len(self.free)), key=lambda i: (-self.free[i], i))[:tp]
        chosen = sorted(order)
        free = min(self.free[i] for i in chosen) if chosen else 0
        return free, tuple(self.indices[i] for i in chosen) if self.indices else ()

    def unbalanced(self, tp: int) -> bool:
        """Would SGLang refuse the chosen GPUs as unbalanced (one has < 90 % of another's free)?"""
        _, indices = self.free_for(tp)
        if len(indices) < 2:
            return False
        frees = [self.free[self.indices.index(i)] for i in indices]
        return min(frees) < BALANCE_RATIO * max(frees)

    def held_on(self, indices) -> int:
        """Bytes other processes hold on these GPUs (what a clean card would have on top)."""
        clean = self.total - self.overhead.total
        return sum(max(0, clean - self.free[self.indices.index(i)]) for i in indices)

    def only(self, indices) -> MemoryAtLoad:
        """The same box narrowed to these GPU indices (the ones a container is given)."""
        keep = [i for i, index in enumerate(self.indices) if index in set(indices)]
        return MemoryAtLoad(self.total, self.overhead, tuple(self.free[i] for i in keep),
                            tuple(self.indices[i] for i in keep), self.source,
                            tuple(h for h in self.holders if h.gpu in set(indices)))

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "total": self.total,
            "driver_reserved": self.overhead.reserved,
            "cuda_context": self.overhead.context,
            "overhead_measured": self.overhead.measured,
            "overhead_source": self.overhead.source,
            "free_at_load": list(self.free),
            "gpu_indices": list(self.indices),
            "holders": [h.to_dict() for h in self.holders],
        }


def catalog_memory(gpu: GpuSpec, count: int = 1) -> MemoryAtLoad:
    """A clean card: total − driver reserve − CUDA context, on each of ``count`` GPUs."""
    over = card_overhead(gpu)
    free = max(0, gpu.memory_total - over.total)
    return MemoryAtLoad(gpu.memory_total, over, (free,) * max(1, count), (), "catalog")


def free_memory(gpu: GpuSpec, free: dict[int, int]) -> MemoryAtLoad:
    """What ``nvidia-smi`` says is free (bytes, by GPU index: total − used − driver reserve),
    minus the CUDA context the server will create. The image's entrypoint sees no host PIDs,
    so it names no holders."""
    over = card_overhead(gpu)
    indices = tuple(sorted(free))
    return MemoryAtLoad(gpu.memory_total, over, tuple(max(0, free[i] - CUDA_CONTEXT) for i in indices),
                        indices, "detected")


def detected_memory(gpu: GpuSpec, samples, containers: dict[int, str] | None = None) -> MemoryAtLoad:
    """Free now on each sampled GPU (``GpuSample``-like: index, memory_free, memory_reserved,
    processes), minus the CUDA context the server will create."""
    samples = [s for s in samples if not getattr(s, "lost", False)]
    over = card_overhead(gpu)
    reserved = [s.memory_reserved for s in samples if s.memory_reserved is not None]
    if reserved:  # what this driver reports beats the table
        over = Overhead(max(reserved), CUDA_CONTEXT, True, "NVML (this box)")
    free = []
    for s in samples:
        if s.memory_free is None:
            free.append(max(0, gpu.memory_total - over.total))
        else:
            free.append(max(0, s.memory_free - CUDA_CONTEXT))
    containers = containers or {}
    holders = tuple(
        Holder(s.index, p.pid, p.name, p.used_memory, containers.get(p.pid))
        for s in samples for p in (s.processes or ())
    )
    return MemoryAtLoad(gpu.memory_total, over, tuple(free), tuple(s.index for s in samples), "detected", holders)

"""What the console knows about GPUs: static facts, per-tick samples, the inventory.

Every measured field may be ``None``: NVML answered NotSupported (or the GPU
is lost) and the UI shows "n/a".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """Facts that do not change while the console runs."""

    index: int
    name: str
    uuid: str | None
    arch: str
    compute_capability: tuple[int, int] | None
    memory_total: int | None  # bytes
    power_limit_w: float | None
    pcie_gen: int | None  # current link generation
    pcie_gen_max: int | None  # best the card and slot can do

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.compute_capability is not None:
            d["compute_capability"] = f"{self.compute_capability[0]}.{self.compute_capability[1]}"
        return d


@dataclass(frozen=True, slots=True)
class GpuProcess:
    pid: int
    used_memory: int | None  # bytes; None when NVML cannot say (e.g. some containers)
    name: str | None  # None: the process ended before its name was read
    sm_util: int | None = None  # % of the GPU's SMs this process kept busy (None: NVML cannot say)
    mem_util: int | None = None  # % of memory bandwidth

    def to_dict(self) -> dict:
        return {"pid": self.pid, "used_memory": self.used_memory, "name": self.name,
                "sm_util": self.sm_util, "mem_util": self.mem_util}


class GpuSample(NamedTuple):
    """One reading of one GPU.

    A NamedTuple, not a frozen dataclass: it is built once per GPU per tick and
    a tuple is several times cheaper to create (the telemetry budget is µs).
    """

    index: int
    time: float
    memory_total: int | None = None
    memory_used: int | None = None  # v2: excludes driver-reserved memory
    memory_free: int | None = None
    memory_reserved: int | None = None  # None when only the v1 query answered
    util_gpu: int | None = None  # percent
    util_memory: int | None = None  # percent
    temperature: int | None = None  # °C
    power_w: float | None = None
    sm_clock_mhz: int | None = None
    fan_percent: int | None = None
    processes: tuple[GpuProcess, ...] = ()
    lost: bool = False
    error: str | None = None

    @property
    def memory_used_fraction(self) -> float | None:
        if self.memory_used is None or not self.memory_total:
            return None
        return self.memory_used / self.memory_total

    def to_dict(self) -> dict:
        d = self._asdict()
        d["processes"] = [p.to_dict() for p in self.processes]
        return d


class Snapshot(NamedTuple):
    """All GPUs at one tick; immutable so readers never wait on the sampler."""

    seq: int
    time: float
    samples: tuple[GpuSample, ...]

    def get(self, index: int) -> GpuSample | None:
        for s in self.samples:
            if s.index == index:
                return s
        return None


@dataclass(frozen=True)
class Inventory:
    """The GPUs found, the driver, and — when there is nothing to show — why."""

    gpus: tuple[GpuInfo, ...] = ()
    driver_version: str | None = None
    cuda_version: str | None = None  # "13.0", the newest CUDA the driver supports
    nvml_version: str | None = None
    error: str | None = None
    source: str = "nvml"  # "nvml" or "replay:<file>"
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {
            "gpus": [g.to_dict() for g in self.gpus],
            "driver_version": self.driver_version,
            "cuda_version": self.cuda_version,
            "nvml_version": self.nvml_version,
            "error": self.error,
            "source": self.source,
            "warnings": list(self.warnings),
        }

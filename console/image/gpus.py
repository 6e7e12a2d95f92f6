"""GPUs as seen from inside the container, through ``nvidia-smi`` (stdlib only).

NVML's Python bindings are not in SGLang's image and the entrypoint runs once,
so one ``nvidia-smi --query-gpu`` call (≈25 ms) is the simplest reliable source.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

QUERY = ["nvidia-smi", "--query-gpu=index,name,memory.total,compute_cap", "--format=csv,noheader,nounits"]
# Asked apart: a driver that does not know a field fails the whole query, and free memory is a bonus.
FREE_QUERY = ["nvidia-smi", "--query-gpu=index,memory.free", "--format=csv,noheader,nounits"]


class GpuDetectError(RuntimeError):
    """nvidia-smi exists but does not report usable GPUs (driver or runtime problem)."""


@dataclass(frozen=True)
class DetectedGpu:
    index: int
    name: str
    memory_mib: int
    compute_cap: tuple[int, int]
    memory_free_mib: int | None = None  # free now (total − used − driver reserve); None: not asked

    @property
    def memory_total(self) -> int:
        return self.memory_mib * 1024 * 1024

    @property
    def compute_cap_text(self) -> str:
        return f"{self.compute_cap[0]}.{self.compute_cap[1]}"


def parse_query(text: str) -> list[DetectedGpu]:
    gpus: list[DetectedGpu] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 4:
            raise GpuDetectError(f"unexpected nvidia-smi output: {line!r}")
        index, name, mem, cap = parts[0], ", ".join(parts[1:-2]), parts[-2], parts[-1]
        try:
            major, _, minor = cap.partition(".")
            gpus.append(DetectedGpu(int(index), name, int(float(mem)), (int(major), int(minor or 0))))
        except ValueError:
            raise GpuDetectError(f"unexpected nvidia-smi output: {line!r}") from None
    return gpus


def visible(gpus: list[DetectedGpu], cuda_visible_devices: str | None) -> list[DetectedGpu]:
    """The GPUs CUDA will use: nvidia-smi lists every GPU the container got, but
    ``CUDA_VISIBLE_DEVICES`` (indices) may narrow that down for SGLang."""
    if cuda_visible_devices is None or cuda_visible_devices.strip() == "":
        return gpus
    wanted = [p.strip() for p in cuda_visible_devices.split(",") if p.strip()]
    if not all(p.isdigit() for p in wanted):
        return gpus  # UUIDs or MIG names: leave it to CUDA
    by_index = {g.index: g for g in gpus}
    return [by_index[int(p)] for p in wanted if int(p) in by_index]


def detect(timeout: float = 20.0) -> list[DetectedGpu] | None:
    """The visible GPUs; None when there is no ``nvidia-smi`` (e.g. an AMD/ROCm base image)."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        proc = subprocess.run(QUERY, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GpuDetectError(f"nvidia-smi failed: {exc}") from None
    if proc.returncode != 0:
        said = (proc.stdout.strip() or proc.stderr.strip() or f"exit {proc.returncode}").splitlines()[0]
        raise GpuDetectError(f"nvidia-smi sees no usable GPU ({said})")
    import os

    gpus = visible(parse_query(proc.stdout), os.environ.get("CUDA_VISIBLE_DEVICES"))
    if not gpus:
        raise GpuDetectError("nvidia-smi lists no GPU (or none that CUDA_VISIBLE_DEVICES selects)")
    return with_free_memory(gpus, timeout)


def parse_free(text: str) -> dict[int, int]:
    """``index, free MiB`` lines → {index: MiB}; lines that do not parse are left out."""
    out: dict[int, int] = {}
    for line in text.splitlines():
        index, _, free = (p.strip() for p in line.partition(","))
        if index.isdigit():
            try:
                out[int(index)] = int(float(free))
            except ValueError:
                pass
    return out


def with_free_memory(gpus: list[DetectedGpu], timeout: float = 20.0) -> list[DetectedGpu]:
    """The GPUs with what nvidia-smi says is free on each (unchanged when it will not say)."""
    from dataclasses import replace

    try:
        proc = subprocess.run(FREE_QUERY, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return gpus
    free = parse_free(proc.stdout) if proc.returncode == 0 else {}
    return [replace(g, memory_free_mib=free.get(g.index)) for g in gpus]

"""The seam between the console and NVML.

A backend answers the handful of NVML questions the console asks, with plain
Python values. Failures raise ``backend.Error``; ``backend.kind(exc)`` names
them with NVML's own error names ("NOT_SUPPORTED", "GPU_IS_LOST",
"LIBRARY_NOT_FOUND", ...). Two backends exist:

- ``RealNvml``: nvidia-ml-py (``import pynvml``), imported when first used.
- ``console.gpu.replay.RecordedNvml``: replays answers recorded in JSON
  (``tests/data/nvml/*.json``); ``GPT_OSS_CONSOLE_NVML_REPLAY=<file>`` makes
  the app and the CLI use one.

Backend methods (``h`` is whatever ``handle(index)`` returned)::

    init(); shutdown()
    driver_version() -> str; cuda_version() -> int (12080); nvml_version() -> str
    device_count() -> int; handle(index)
    name(h) -> str; uuid(h) -> str; compute_capability(h) -> (major, minor)
    memory_total(h) -> bytes
    memory(h) -> (total, used, free, reserved | None)   # v2 query, v1 fallback
    utilization(h) -> (gpu %, memory %); temperature(h) -> °C
    power_usage(h) -> mW; power_limit(h) -> mW; sm_clock(h) -> MHz; fan_speed(h) -> %
    pcie_gen(h) -> int; pcie_gen_max(h) -> int
    processes(h) -> [(pid, used bytes | None)]; process_name(pid) -> str
    process_utilization(h) -> [(pid, sm %, memory %)]   # since the last call; [] when none ran
"""

from __future__ import annotations

import os

from console.gpu.errors import LOST_KINDS, NvmlError, lost_message, unavailable_message  # noqa: F401 (re-exported)
from console.gpu.replay import RecordedNvml

REPLAY_ENV = "GPT_OSS_CONSOLE_NVML_REPLAY"

class RealNvml:
    """nvidia-ml-py, with error kinds and the v2 → v1 memory fallback."""

    source = "nvml"

    def __init__(self) -> None:
        import pynvml  # lazily: ≈26 ms, and absent on some machines

        self._n = pynvml
        self.Error = pynvml.NVMLError
        self._kinds = {
            getattr(pynvml, k): k[len("NVML_ERROR_"):]
            for k in dir(pynvml)
            if k.startswith("NVML_ERROR_")
        }
        self._mem_v2 = getattr(pynvml, "nvmlMemory_v2", None)
        # Bound once: attribute look-ups on the module cost per call.
        self._get_mem = pynvml.nvmlDeviceGetMemoryInfo
        self._get_util = pynvml.nvmlDeviceGetUtilizationRates
        self._get_temp = pynvml.nvmlDeviceGetTemperature
        self._get_power = pynvml.nvmlDeviceGetPowerUsage
        self._get_clock = pynvml.nvmlDeviceGetClockInfo
        self._get_fan = pynvml.nvmlDeviceGetFanSpeed
        self._get_procs = pynvml.nvmlDeviceGetComputeRunningProcesses
        self._TEMP_GPU = pynvml.NVML_TEMPERATURE_GPU
        self._CLOCK_SM = pynvml.NVML_CLOCK_SM
        self._seen: dict[int, int] = {}  # id(handle) -> newest process-utilisation stamp read (µs)

    def kind(self, exc: BaseException) -> str:
        return self._kinds.get(getattr(exc, "value", None), "UNKNOWN")

    def init(self) -> None:
        self._n.nvmlInit()

    def shutdown(self) -> None:
        self._n.nvmlShutdown()

    def driver_version(self) -> str:
        return _text(self._n.nvmlSystemGetDriverVersion())

    def cuda_version(self) -> int:
        return self._n.nvmlSystemGetCudaDriverVersion()

    def nvml_version(self) -> str:
        return _text(self._n.nvmlSystemGetNVMLVersion())

    def device_count(self) -> int:
        return self._n.nvmlDeviceGetCount()

    def handle(self, index: int):
        return self._n.nvmlDeviceGetHandleByIndex(index)

    def name(self, h) -> str:
        return _text(self._n.nvmlDeviceGetName(h))

    def uuid(self, h) -> str:
        return _text(self._n.nvmlDeviceGetUUID(h))

    def compute_capability(self, h) -> tuple[int, int]:
        major, minor = self._n.nvmlDeviceGetCudaComputeCapability(h)
        return int(major), int(minor)

    def memory(self, h):
        if self._mem_v2 is not None:
            try:
                m = self._get_mem(h, self._mem_v2)
                return m.total, m.used, m.free, m.reserved
            except self.Error as exc:
                # Old drivers: no _v2 entry point or version mismatch. The v1
                # "used" then includes driver-reserved memory.
                if self.kind(exc) not in ("FUNCTION_NOT_FOUND", "NOT_SUPPORTED", "ARGUMENT_VERSION_MISMATCH"):
                    raise
                self._mem_v2 = None
        m = self._get_mem(h)
        return m.total, m.used, m.free, None

    def memory_total(self, h) -> int:
        return self._get_mem(h).total

    def utilization(self, h) -> tuple[int, int]:
        u = self._get_util(h)
        return u.gpu, u.memory

    def temperature(self, h) -> int:
        return self._get_temp(h, self._TEMP_GPU)

    def power_usage(self, h) -> int:
        return self._get_power(h)

    def power_limit(self, h) -> int:
        return self._n.nvmlDeviceGetEnforcedPowerLimit(h)

    def sm_clock(self, h) -> int:
        return self._get_clock(h, self._CLOCK_SM)

    def fan_speed(self, h) -> int:
        return self._get_fan(h)

    def pcie_gen(self, h) -> int:
        return self._n.nvmlDeviceGetCurrPcieLinkGeneration(h)

    def pcie_gen_max(self, h) -> int:
        return self._n.nvmlDeviceGetMaxPcieLinkGeneration(h)

    def processes(self, h) -> list[tuple[int, int | None]]:
        return [(p.pid, p.usedGpuMemory) for p in self._get_procs(h)]

    def process_name(self, pid: int) -> str:
        return _text(self._n.nvmlSystemGetProcessName(pid))

    def process_utilization(self, h) -> list[tuple[int, int, int]]:
        """Each process's SM and memory utilisation from the samples the driver took since the
        last call on this GPU (the newest per process). NOT_FOUND means no process ran: []."""
        key = id(h)
        since = self._seen.get(key, 0)
        try:
            samples = self._n.nvmlDeviceGetProcessUtilization(h, since)
        except self.Error as exc:
            if self.kind(exc) == "NOT_FOUND":
                return []
            raise
        newest: dict[int, tuple[int, int, int]] = {}
        for s in samples:
            if s.pid not in newest or s.timeStamp > newest[s.pid][0]:
                newest[s.pid] = (s.timeStamp, s.smUtil, s.memUtil)
        if newest:
            self._seen[key] = max(t for t, _, _ in newest.values())
        return [(pid, sm, mu) for pid, (_, sm, mu) in newest.items()]


def _text(v) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


class _Unavailable:
    """Stands in for a backend that cannot start (nvidia-ml-py not installed, a
    recording that cannot be read): ``init()`` fails with ``kind``, so every
    reader shows it in words like any other missing driver."""

    Error = NvmlError

    def __init__(self, kind: str, detail: str = "", source: str = "nvml") -> None:
        self._error = (kind, detail)
        self.source = source

    def kind(self, exc: BaseException) -> str:
        return getattr(exc, "kind", "UNKNOWN")

    def init(self) -> None:
        raise NvmlError(*self._error)

    def shutdown(self) -> None:
        pass


def open_backend(replay: str | None = None):
    """The backend to use: a replay file (argument or ``GPT_OSS_CONSOLE_NVML_REPLAY``),
    else real NVML. Never raises: a missing library shows up at ``init()``."""
    path = replay or os.environ.get(REPLAY_ENV)
    if path:
        try:
            return RecordedNvml.load(path)
        except (OSError, ValueError) as exc:  # missing file, bad JSON, not a recording
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            return _Unavailable("REPLAY_UNREADABLE", f"{path}: {why}", source=f"replay:{path}")
    try:
        return RealNvml()
    except ImportError:
        return _Unavailable("PYNVML_MISSING")

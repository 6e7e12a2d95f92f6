"""Recorded NVML answers: replay them (tests, demos, snapshots) or record them.

A recording is JSON::

    {"format": "gpt-oss-console/nvml/1",
     "source": "where it came from",
     "init": null,                       # or {"error": "LIBRARY_NOT_FOUND"}
     "driver_version": "580.159.04", "cuda_version": 13000, "nvml_version": "13.580.159.04",
     "device_count": 1,
     "devices": [
       {"static": {"handle": null, "name": ..., "uuid": ..., "compute_capability": [9, 0],
                   "memory_total": 85520809984, "power_limit": 700000,
                   "pcie_gen": 5, "pcie_gen_max": 5},
        "ticks": [{"memory": [total, used, free, reserved], "utilization": [gpu, mem],
                   "temperature": 31, "power_usage": 71000, "sm_clock": 1980,
                   "fan_speed": {"error": "NOT_SUPPORTED"},
                   "processes": [[pid, used]], "process_name": {"pid": "name"},
                   "process_utilization": [[pid, sm %, memory %]]},
                  {"error": "GPU_IS_LOST"}]}],
     "process_names": {"4242": "python3"}}

Any answer may be ``{"error": KIND}`` (NVML's error name). A tick that is
``{"error": KIND}`` answers every field with it. Ticks advance when a field
already read in the current tick is asked again (one sampling round reads each
field once); after the last tick the last one repeats, so replays are
deterministic. ``process_name`` answers come from the tick, then from the
top-level ``process_names``, else NOT_FOUND (the process is gone).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from console.gpu.errors import NvmlError

FORMAT = "gpt-oss-console/nvml/1"

STATIC_FIELDS = ("name", "uuid", "compute_capability", "memory_total", "power_limit", "pcie_gen", "pcie_gen_max")
TICK_FIELDS = ("memory", "utilization", "temperature", "power_usage", "sm_clock", "fan_speed", "processes",
               "process_utilization")


def _answer(value: Any):
    if isinstance(value, dict) and "error" in value and len(value) == 1:
        raise NvmlError(value["error"])
    return value


class RecordedNvml:
    """A backend that replays a recording."""

    Error = NvmlError

    def __init__(self, data: dict, source: str = "replay") -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"not an NVML recording ({FORMAT}): {source}")
        self.data = data
        self.source = source
        self._devices = data.get("devices", [])
        self._tick = [0] * len(self._devices)
        self._seen: list[set[str]] = [set() for _ in self._devices]
        self._last_names: dict[str, Any] = {}

    @classmethod
    def load(cls, path: str | Path) -> "RecordedNvml":
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh), f"replay:{path}")

    def kind(self, exc: BaseException) -> str:
        return getattr(exc, "kind", "UNKNOWN")

    # -- system
    def init(self) -> None:
        _answer(self.data.get("init") or None)

    def shutdown(self) -> None:
        pass

    def driver_version(self) -> str:
        return _answer(self.data.get("driver_version", {"error": "NOT_SUPPORTED"}))

    def cuda_version(self) -> int:
        return _answer(self.data.get("cuda_version", {"error": "NOT_SUPPORTED"}))

    def nvml_version(self) -> str:
        return _answer(self.data.get("nvml_version", {"error": "NOT_SUPPORTED"}))

    def device_count(self) -> int:
        return _answer(self.data.get("device_count", len(self._devices)))

    def handle(self, index: int) -> int:
        if not 0 <= index < len(self._devices):
            raise NvmlError("INVALID_ARGUMENT")
        _answer(self._devices[index].get("static", {}).get("handle"))
        return index

    # -- static
    def _static(self, h: int, name: str):
        return _answer(self._devices[h].get("static", {}).get(name, {"error": "NOT_SUPPORTED"}))

    def name(self, h):
        return self._static(h, "name")

    def uuid(self, h):
        return self._static(h, "uuid")

    def compute_capability(self, h):
        return tuple(self._static(h, "compute_capability"))

    def power_limit(self, h):
        return self._static(h, "power_limit")

    def pcie_gen(self, h):
        return self._static(h, "pcie_gen")

    def pcie_gen_max(self, h):
        return self._static(h, "pcie_gen_max")

    def memory_total(self, h):
        static = self._devices[h].get("static", {})
        if "memory_total" in static:
            return _answer(static["memory_total"])
        first = (self._devices[h].get("ticks") or [{}])[0].get("memory")
        if isinstance(first, list):
            return first[0]
        raise NvmlError("NOT_SUPPORTED")

    # -- per tick
    def _field(self, h: int, name: str):
        ticks = self._devices[h].get("ticks") or [{}]
        seen = self._seen[h]
        if name in seen:
            seen.clear()
            self._tick[h] = min(self._tick[h] + 1, len(ticks) - 1)
        seen.add(name)
        tick = ticks[self._tick[h]]
        if "error" in tick and len(tick) == 1:
            raise NvmlError(tick["error"])
        self._last_names = tick.get("process_name", {})
        return _answer(tick.get(name, {"error": "NOT_SUPPORTED"}))

    def memory(self, h):
        total, used, free, reserved = self._field(h, "memory")
        return total, used, free, reserved

    def utilization(self, h):
        return tuple(self._field(h, "utilization"))

    def temperature(self, h):
        return self._field(h, "temperature")

    def power_usage(self, h):
        return self._field(h, "power_usage")

    def sm_clock(self, h):
        return self._field(h, "sm_clock")

    def fan_speed(self, h):
        return self._field(h, "fan_speed")

    def processes(self, h):
        return [(int(pid), used) for pid, used in self._field(h, "processes")]

    def process_utilization(self, h):
        return [(int(pid), sm, mu) for pid, sm, mu in self._field(h, "process_utilization")]

    def process_name(self, pid: int) -> str:
        key = str(pid)
        if key in self._last_names:
            return _answer(self._last_names[key])
        names = self.data.get("process_names", {})
        if key in names:
            return _answer(names[key])
        raise NvmlError("NOT_FOUND")


class RecordingNvml:
    """Wraps a real backend and writes down every answer (for ``gpus --record``)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.Error = inner.Error
        self.source = getattr(inner, "source", "nvml")
        self.data: dict[str, Any] = {
            "format": FORMAT,
            "source": "recorded from real NVML by `gpt-oss-console gpus --record` on "
            + time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "init": None,
            "devices": [],
        }
        self._index: dict[int, int] = {}  # id(handle) -> device index
        self._handles: list[Any] = []
        self._seen: list[set[str]] = []

    def kind(self, exc):
        return self.inner.kind(exc)

    def _call(self, fn, *args):
        """(answer, None) or ({"error": KIND}, the exception to re-raise)."""
        try:
            return fn(*args), None
        except self.Error as exc:
            return {"error": self.inner.kind(exc)}, exc

    def _sys(self, key: str, fn):
        value, exc = self._call(fn)
        self.data[key] = value
        if exc is not None:
            raise exc
        return value

    def init(self):
        value, exc = self._call(self.inner.init)
        self.data["init"] = None if exc is None else value
        if exc is not None:
            raise exc

    def shutdown(self):
        self.inner.shutdown()

    def driver_version(self):
        return self._sys("driver_version", self.inner.driver_version)

    def cuda_version(self):
        return self._sys("cuda_version", self.inner.cuda_version)

    def nvml_version(self):
        return self._sys("nvml_version", self.inner.nvml_version)

    def device_count(self):
        return self._sys("device_count", self.inner.device_count)

    def handle(self, index):
        while len(self.data["devices"]) <= index:
            self.data["devices"].append({"static": {}, "ticks": []})
            self._seen.append(set())
        value, exc = self._call(self.inner.handle, index)
        self.data["devices"][index]["static"]["handle"] = None if exc is None else value
        if exc is not None:
            raise exc
        self._index[id(value)] = index
        self._handles.append(value)  # keep it alive so id() stays unique
        return value

    def _static(self, name, h):
        dev = self.data["devices"][self._index[id(h)]]
        value, exc = self._call(getattr(self.inner, name), h)
        dev["static"][name] = list(value) if isinstance(value, tuple) else value
        if exc is not None:
            raise exc
        return value

    def name(self, h):
        return self._static("name", h)

    def uuid(self, h):
        return self._static("uuid", h)

    def compute_capability(self, h):
        return self._static("compute_capability", h)

    def power_limit(self, h):
        return self._static("power_limit", h)

    def pcie_gen(self, h):
        return self._static("pcie_gen", h)

    def pcie_gen_max(self, h):
        return self._static("pcie_gen_max", h)

    def memory_total(self, h):
        return self._static("memory_total", h)

    def _tick(self, name, h):
        i = self._index[id(h)]
        dev = self.data["devices"][i]
        if name in self._seen[i] or not dev["ticks"]:
            self._seen[i].clear()
            dev["ticks"].append({})
        self._seen[i].add(name)
        value, exc = self._call(getattr(self.inner, name), h)
        if isinstance(value, tuple):
            value = list(value)
        elif exc is None and name in ("processes", "process_utilization"):
            value = [list(p) for p in value]
        dev["ticks"][-1][name] = value
        self._last_tick = dev["ticks"][-1]
        if exc is not None:
            raise exc
        return value

    def memory(self, h):
        return tuple(self._tick("memory", h))

    def utilization(self, h):
        return tuple(self._tick("utilization", h))

    def temperature(self, h):
        return self._tick("temperature", h)

    def power_usage(self, h):
        return self._tick("power_usage", h)

    def sm_clock(self, h):
        return self._tick("sm_clock", h)

    def fan_speed(self, h):
        return self._tick("fan_speed", h)

    def processes(self, h):
        return [tuple(p) for p in self._tick("processes", h)]

    def process_utilization(self, h):
        return [tuple(p) for p in self._tick("process_utilization", h)]

    def process_name(self, pid):
        value, exc = self._call(self.inner.process_name, pid)
        tick = getattr(self, "_last_tick", None)
        if tick is not None:
            tick.setdefault("process_name", {})[str(pid)] = value
        if exc is not None:
            raise exc
        return value

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.data, indent=1) + "\n", encoding="utf-8")

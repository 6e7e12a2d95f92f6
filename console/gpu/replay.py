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


def _is_error(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("error"), str)


def _number(v: Any) -> bool:
    # JSON reads NaN and Infinity too: a reading is a finite number
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _numbers(n: int, *, counts: int = 0) -> Any:
    """A list of ``n`` numbers, the first ``counts`` of them whole and not negative (PIDs, bytes)."""
    return lambda v: isinstance(v, list) and len(v) == n and all(
        _count(x) if i < counts else _number(x) for i, x in enumerate(v))


def _names(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(n, str) or _is_error(n) for n in v.values())


_SHAPES: dict[str, tuple[Any, str]] = {  # field → (check, what it must be, in words)
    "driver_version": (lambda v: isinstance(v, str), "a string"),
    "cuda_version": (_count, "a whole number such as 13000"),
    "nvml_version": (lambda v: isinstance(v, str), "a string"),
    "device_count": (_count, "a whole number"),
    "name": (lambda v: isinstance(v, str), "a string"),
    "uuid": (lambda v: isinstance(v, str), "a string"),
    "compute_capability": (_numbers(2, counts=2), "[major, minor]"),
    "memory_total": (_count, "bytes, a whole number"),
    "power_limit": (lambda v: _number(v) and v >= 0, "milliwatts, a number"),
    "pcie_gen": (_count, "a whole number"),
    "pcie_gen_max": (_count, "a whole number"),
    "handle": (lambda v: v is None, "null"),
    "memory": (lambda v: isinstance(v, list) and len(v) == 4 and all(_count(x) for x in v[:3])
               and (v[3] is None or _count(v[3])),  # reserved: null where only memory v1 answers
               "[total, used, free, reserved] in bytes (reserved may be null)"),
    "utilization": (_numbers(2), "[gpu %, memory %]"),
    "temperature": (_number, "a number (°C)"),
    "power_usage": (_number, "a number (mW)"),
    "sm_clock": (_number, "a number (MHz)"),
    "fan_speed": (_number, "a number (%)"),
    "processes": (lambda v: isinstance(v, list) and all(
        isinstance(p, list) and len(p) == 2 and _count(p[0]) and (p[1] is None or _count(p[1])) for p in v),
        "a list of [pid, bytes used]"),
    "process_utilization": (lambda v: isinstance(v, list) and all(_numbers(3, counts=1)(p) for p in v),
                            "a list of [pid, sm %, memory %]"),
    "process_name": (_names, "an object of pid → name"),
}


def check_tick(where: str, tick: Any) -> None:
    """Raise ValueError naming the answer of ``tick`` that has the wrong shape."""
    if not isinstance(tick, dict):
        raise ValueError(f"{where} must be an object of readings or {{\"error\": \"KIND\"}}")
    if "error" in tick and not _is_error(tick):
        raise ValueError(f"{where}.error must be a string, alone in its tick")
    for name, value in tick.items():
        if name in _SHAPES and not _is_error(value) and not _SHAPES[name][0](value):
            raise ValueError(f"{where}.{name} must be {_SHAPES[name][1]} or {{\"error\": \"KIND\"}}")


def check_recording(data: Any, *, ticks: int | None = None) -> None:
    """Raise ValueError naming the first answer of the wrong shape (a hand-edited or truncated
    recording), so a replay fails once, in words, instead of at some later NVML call.
    ``ticks``: check only each device's first ticks (the rest when they are read: an hour's
    recording is checked in ~20 ms, which start-up should not wait for)."""
    def bad(where: str, what: str) -> ValueError:
        return ValueError(f"{where} must be {what}")

    def field(where: str, name: str, value: Any) -> None:
        if name in _SHAPES and not _is_error(value) and not _SHAPES[name][0](value):
            raise bad(where, _SHAPES[name][1] + ' or {"error": "KIND"}')

    limit = ticks
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not an NVML recording: its \"format\" must be \"{FORMAT}\"")
    init = data.get("init")
    if init is not None and not _is_error(init):
        raise bad("init", 'null or {"error": "KIND"}')
    for name in ("driver_version", "cuda_version", "nvml_version", "device_count"):
        if name in data:
            field(name, name, data[name])
    if "process_names" in data and not _names(data["process_names"]):
        raise bad("process_names", "an object of pid → name")
    devices = data.get("devices", [])
    if not isinstance(devices, list):
        raise bad("devices", "a list")
    for i, dev in enumerate(devices):
        if not isinstance(dev, dict):
            raise bad(f"devices[{i}]", "an object with static and ticks")
        static = dev.get("static", {})
        if not isinstance(static, dict):
            raise bad(f"devices[{i}].static", "an object")
        for name, value in static.items():
            field(f"devices[{i}].static.{name}", name, value)
        readings = dev.get("ticks", [])
        if not isinstance(readings, list):
            raise bad(f"devices[{i}].ticks", "a list")
        for j, tick in enumerate(readings if limit is None else readings[:limit]):
            check_tick(f"devices[{i}].ticks[{j}]", tick)


def _answer(value: Any):
    if isinstance(value, dict) and "error" in value and len(value) == 1:
        raise NvmlError(value["error"])
    return value


class RecordedNvml:
    """A backend that replays a recording."""

    Error = NvmlError

    def __init__(self, data: dict, source: str = "replay") -> None:
        check_recording(data, ticks=1)  # later ticks: when they are read (_field)
        self.data = data
        self.source = source
        self._devices = data.get("devices", [])
        self._tick = [0] * len(self._devices)
        self._seen: list[set[str]] = [set() for _ in self._devices]
        self._checked: list[set[int]] = [{0} for _ in self._devices]  # ticks whose shape was checked
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
        if self._tick[h] not in self._checked[h]:
            try:
                check_tick(f"devices[{h}].ticks[{self._tick[h]}]", tick)
            except ValueError as exc:
                raise NvmlError("REPLAY_MALFORMED", str(exc)) from None
            self._checked[h].add(self._tick[h])
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

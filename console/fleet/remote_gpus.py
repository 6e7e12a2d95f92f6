"""A host's GPUs over its transport, in the same data model as local NVML.

One remote command: the console's own ``gpus --json`` when it is installed there,
else ``nvidia-smi --query-gpu=… --format=csv,noheader,nounits`` (present wherever the
driver is). Older drivers that lack a field get a second, basic query in the same
shell. Every field may be ``[N/A]`` / ``[Not Supported]``: it becomes ``None``, as an
NVML NotSupported does locally.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from console.gpu.data import GpuInfo, GpuSample, Inventory
from console.planner.catalog import arch_name

MiB = 1024 * 1024
FULL = ("index", "name", "uuid", "memory.total", "memory.used", "memory.free", "utilization.gpu",
        "utilization.memory", "temperature.gpu", "power.draw", "power.limit", "clocks.sm", "compute_cap",
        "pcie.link.gen.current", "pcie.link.gen.max", "driver_version")
BASIC = ("index", "name", "uuid", "memory.total", "memory.used", "memory.free", "driver_version")
LOST = "[GPU is lost]"


def _smi(fields: tuple[str, ...]) -> str:
    return f"nvidia-smi --query-gpu={','.join(fields)} --format=csv,noheader,nounits"


# One round trip: the console if installed, else nvidia-smi (the basic query when the full one is refused).
COMMAND = (
    "if command -v gpt-oss-console >/dev/null 2>&1; then gpt-oss-console gpus --json; "
    f"else {_smi(FULL)} || {_smi(BASIC)}; fi"
)


@dataclass
class HostGpus:
    inventory: Inventory
    samples: tuple[GpuSample, ...] = ()
    via: str = "nvidia-smi"  # or "gpt-oss-console"
    elapsed_s: float = 0.0
    raw_error: str | None = None

    def to_dict(self) -> dict:
        d = self.inventory.to_dict()
        by_index = {s.index: s for s in self.samples}
        for g in d["gpus"]:
            s = by_index.get(g["index"])
            g["sample"] = s.to_dict() if s else None
        d["via"] = self.via
        return d


def query(transport, *, timeout: float) -> HostGpus:
    """Ask the host; transport errors (unreachable) propagate, everything else lands in ``inventory.error``."""
    started = time.monotonic()
    res = transport.run(COMMAND, timeout=timeout)
    out = parse_output(res.stdout, res.stderr, res.code, host=transport.host.name)
    out.elapsed_s = time.monotonic() - started
    return out


def parse_output(stdout: str, stderr: str, code: int, *, host: str, now: float | None = None) -> HostGpus:
    now = time.time() if now is None else now
    text = stdout.strip()
    if text.startswith("{"):
        try:
            return from_console_json(json.loads(text), host=host, now=now)
        except (ValueError, KeyError, TypeError) as exc:
            return HostGpus(Inventory(error=f"{host}: gpt-oss-console gpus --json gave unreadable output ({exc})",
                                      source=f"gpt-oss-console on {host}"), via="gpt-oss-console")
    source = f"nvidia-smi on {host}"
    rows = [r for r in (_split(line) for line in stdout.splitlines()) if len(r) in (len(FULL), len(BASIC))]
    if not rows:
        both = f"{stdout}\n{stderr}".strip()
        low = both.lower()
        if code == 127 or "not found" in low:
            why = f"{host} has no nvidia-smi: no NVIDIA driver installed there"
        elif "no devices were found" in low:
            why = f"{host}: the NVIDIA driver sees no GPU"
        elif "couldn't communicate with the nvidia driver" in low or "driver/library version mismatch" in low:
            why = f"{host}: nvidia-smi cannot talk to the driver ({_first(both)})"
        elif code == 124:
            why = f"{host}: nvidia-smi did not answer in time"
        else:
            why = f"{host}: nvidia-smi failed ({_first(both) or f'exit {code}'})"
        return HostGpus(Inventory(error=why, source=source), raw_error=both or None)
    infos: list[GpuInfo] = []
    samples: list[GpuSample] = []
    driver = None
    for row in rows:
        cols = FULL if len(row) == len(FULL) else BASIC
        v = dict(zip(cols, row))
        index = _int(v.get("index"))
        if index is None:
            continue
        driver = driver or _text(v.get("driver_version"))
        cc = _cc(v.get("compute_cap"))
        total = _mib(v.get("memory.total"))
        infos.append(GpuInfo(
            index=index, name=_text(v.get("name")) or f"GPU {index}", uuid=_text(v.get("uuid")),
            arch=arch_name(cc), compute_capability=cc, memory_total=total,
            power_limit_w=_float(v.get("power.limit")), pcie_gen=_int(v.get("pcie.link.gen.current")),
            pcie_gen_max=_int(v.get("pcie.link.gen.max")),
        ))
        lost = any(c.strip() == LOST for c in row)
        samples.append(GpuSample(
            index=index, time=now, memory_total=total, memory_used=_mib(v.get("memory.used")),
            memory_free=_mib(v.get("memory.free")), util_gpu=_int(v.get("utilization.gpu")),
            util_memory=_int(v.get("utilization.memory")), temperature=_int(v.get("temperature.gpu")),
            power_w=_float(v.get("power.draw")), sm_clock_mhz=_int(v.get("clocks.sm")),
            lost=lost, error="the GPU is lost (nvidia-smi)" if lost else None,
        ))
    inv = Inventory(gpus=tuple(infos), driver_version=driver, source=source)
    return HostGpus(inv, tuple(samples))


def from_console_json(doc: dict, *, host: str, now: float) -> HostGpus:
    """The console's own ``gpus --json`` document (inventory + one sample per GPU)."""
    infos, samples = [], []
    for g in doc.get("gpus") or []:
        cc = _cc(g.get("compute_capability"))
        infos.append(GpuInfo(
            index=int(g["index"]), name=str(g.get("name") or ""), uuid=g.get("uuid"), arch=g.get("arch") or arch_name(cc),
            compute_capability=cc, memory_total=g.get("memory_total"), power_limit_w=g.get("power_limit_w"),
            pcie_gen=g.get("pcie_gen"), pcie_gen_max=g.get("pcie_gen_max"),
        ))
        s = g.get("sample")
        if isinstance(s, dict):
            fields = {k: s.get(k) for k in GpuSample._fields if k not in ("processes", "time", "index")}
            samples.append(GpuSample(index=int(g["index"]), time=now, **fields))
    inv = Inventory(gpus=tuple(infos), driver_version=doc.get("driver_version"), cuda_version=doc.get("cuda_version"),
                    nvml_version=doc.get("nvml_version"), error=doc.get("error"),
                    source=f"gpt-oss-console on {host}", warnings=tuple(doc.get("warnings") or ()))
    return HostGpus(inv, tuple(samples), via="gpt-oss-console")


# -- N/A-safe readers ------------------------------------------------------------------------------


def _split(line: str) -> list[str]:
    return [c.strip() for c in line.split(",")] if line.strip() else []


def _na(text: str | None) -> bool:
    t = (text or "").strip()
    return not t or (t.startswith("[") and t.endswith("]")) or t.upper() in ("N/A", "NA")


def _text(text: str | None) -> str | None:
    return None if _na(text) else text.strip()


def _float(text: str | None) -> float | None:
    if _na(text):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    f = _float(text)
    return None if f is None else int(f)


def _mib(text: str | None) -> int | None:
    f = _float(text)
    return None if f is None else int(f * MiB)


def _cc(text) -> tuple[int, int] | None:
    if isinstance(text, (list, tuple)) and len(text) == 2:
        return int(text[0]), int(text[1])
    if _na(text if isinstance(text, str) else None):
        return None
    major, _, minor = str(text).partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return None


def _first(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""

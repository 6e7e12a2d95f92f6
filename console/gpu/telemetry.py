"""Reading GPUs through a backend: the inventory once, then cheap samples.

A sample is a handful of NVML calls per GPU. A field that answers
NotSupported is dropped from that GPU's list of calls (it will not start
answering), so an unsupported fan costs one exception, not one per tick. A
GPU that answers GPU_IS_LOST is marked lost and never asked again; the
others carry on.
"""

from __future__ import annotations

from console.gpu.data import GpuInfo, GpuProcess, GpuSample, Inventory
from console.gpu.errors import LOST_KINDS, lost_message, unavailable_message
from console.planner.catalog import arch_name

# Per-tick NVML calls, in the order they are made.
SAMPLE_FIELDS = ("memory", "utilization", "temperature", "power_usage", "sm_clock", "fan_speed", "processes",
                 "process_utilization")


class Device:
    """One GPU as the sampler tracks it (mutable, owned by the sampling thread)."""

    __slots__ = ("index", "handle", "info", "calls", "lost", "error", "names")

    def __init__(self, index: int, handle, info: GpuInfo, backend) -> None:
        self.index = index
        self.handle = handle
        self.info = info
        # (position in SAMPLE_FIELDS, bound backend method)
        self.calls = [(i, getattr(backend, f)) for i, f in enumerate(SAMPLE_FIELDS)]
        self.lost = handle is None
        self.error: str | None = None
        self.names: dict[int, str | None] = {}  # pid -> process name, read once per pid

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(SAMPLE_FIELDS[i] for i, _ in self.calls)


def _opt(backend, fn, *args):
    """An optional fact: None when NVML cannot say."""
    try:
        return fn(*args)
    except backend.Error:
        return None


def open_inventory(backend) -> tuple[Inventory, list[Device]]:
    """Initialise NVML and read what does not change. Never raises for NVML errors:
    with no driver or no GPU the inventory carries ``error`` and no devices."""
    source = getattr(backend, "source", "nvml")
    try:
        backend.init()
    except backend.Error as exc:
        kind = backend.kind(exc)
        return Inventory(error=unavailable_message(kind, str(exc)), source=source), []
    driver = _opt(backend, backend.driver_version)
    cuda = _opt(backend, backend.cuda_version)
    cuda_text = f"{cuda // 1000}.{cuda % 1000 // 10}" if isinstance(cuda, int) else None
    nvml_version = _opt(backend, backend.nvml_version)
    try:
        count = backend.device_count()
    except backend.Error as exc:
        return (
            Inventory(driver_version=driver, cuda_version=cuda_text, nvml_version=nvml_version,
                      error=unavailable_message(backend.kind(exc), str(exc)), source=source),
            [],
        )
    devices: list[Device] = []
    infos: list[GpuInfo] = []
    warnings: list[str] = []
    for i in range(count):
        try:
            h = backend.handle(i)
        except backend.Error as exc:
            kind = backend.kind(exc)
            info = GpuInfo(i, f"GPU {i}", None, "unknown", None, None, None, None, None)
            dev = Device(i, None, info, backend)
            dev.error = lost_message(kind) if kind in LOST_KINDS else f"GPU {i} did not answer: {kind}"
            warnings.append(f"GPU {i}: {dev.error}")
            devices.append(dev)
            infos.append(info)
            continue
        cc = _opt(backend, backend.compute_capability, h)
        cc = tuple(cc) if cc else None
        total = _opt(backend, backend.memory_total, h)
        limit = _opt(backend, backend.power_limit, h)
        info = GpuInfo(
            index=i,
            name=_opt(backend, backend.name, h) or f"GPU {i}",
            uuid=_opt(backend, backend.uuid, h),
            arch=arch_name(cc),
            compute_capability=cc,
            memory_total=total,
            power_limit_w=limit / 1000 if limit is not None else None,
            pcie_gen=_opt(backend, backend.pcie_gen, h),
            pcie_gen_max=_opt(backend, backend.pcie_gen_max, h),
        )
        devices.append(Device(i, h, info, backend))
        infos.append(info)
    error = None
    if not count:
        error = unavailable_message("NO_GPUS")
        try:
            backend.shutdown()  # nothing to sample: release NVML now
        except backend.Error:
            pass
    inv = Inventory(
        gpus=tuple(infos),
        driver_version=driver,
        cuda_version=cuda_text,
        nvml_version=nvml_version,
        error=error,
        source=source,
        warnings=tuple(warnings),
    )
    return inv, devices


def read_sample(backend, dev: Device, now: float) -> GpuSample:
    """One reading of one GPU. Never raises for NVML errors."""
    if dev.lost:
        return GpuSample(dev.index, now, lost=True, error=dev.error)
    h = dev.handle
    err = backend.Error
    values = [None] * len(SAMPLE_FIELDS)
    for i, call in dev.calls:
        if i == _PUTIL and not values[_PROCS]:
            continue  # no process, no per-process utilisation: that call costs ~2 ms on an H200
        try:
            values[i] = call(h)
        except err as exc:
            kind = backend.kind(exc)
            if kind in LOST_KINDS:
                dev.lost = True
                dev.error = lost_message(kind, str(exc))
                return GpuSample(dev.index, now, lost=True, error=dev.error)
            if kind == "NOT_SUPPORTED" or kind == "FUNCTION_NOT_FOUND":
                dev.calls = [c for c in dev.calls if c[0] != i]
            # Anything else (a timeout, a busy driver) is n/a for this tick only.
    mem, util, temp, power, clock, fan, procs, proc_util = values
    processes: tuple[GpuProcess, ...] = ()
    if procs:
        names = dev.names
        # Per-process utilisation where the card reports it: a process with no sample since the
        # last read did not run (0 %); None where the card cannot say.
        busy = {pid: (sm, mu) for pid, sm, mu in proc_util} if proc_util is not None else None
        out = []
        for pid, used in procs:
            if pid not in names:
                try:
                    names[pid] = backend.process_name(pid)
                except err:
                    names[pid] = None  # it ended between the two calls
            sm, mu = (None, None) if busy is None else busy.get(pid, (0, 0))
            out.append(GpuProcess(pid, used, names[pid], sm, mu))
        processes = tuple(out)
        if len(names) > 4 * len(out) + 64:  # forget long-gone PIDs
            live = {p.pid for p in out}
            dev.names = {p: n for p, n in names.items() if p in live}
    # Positional tuple construction: the fastest way to build the NamedTuple.
    if mem is not None:
        total, used, free, reserved = mem
    else:
        total = used = free = reserved = None
    return _new(GpuSample, (
        dev.index, now, total, used, free, reserved,
        util[0] if util else None, util[1] if util else None,
        temp, power / 1000 if power is not None else None, clock, fan,
        processes, False, None,
    ))


_new = tuple.__new__
_PROCS, _PUTIL = SAMPLE_FIELDS.index("processes"), SAMPLE_FIELDS.index("process_utilization")

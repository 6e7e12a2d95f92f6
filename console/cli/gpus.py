"""``gpus``: the GPUs on this machine, live telemetry, and NVML recordings."""

from __future__ import annotations

import json
import sys
import time

from console.cli.common import EXIT_OK, EXIT_USAGE, add_json_flag, emit
from console.errors import ConsoleError

HELP = "list GPUs with memory, utilisation, power and processes (--watch streams, --record saves NVML answers)"
ORDER = 10

GiB = 1024**3


def register(parser) -> None:
    add_json_flag(parser)
    parser.add_argument("--watch", action="store_true", help="keep sampling and print each tick (JSON: one line per tick)")
    parser.add_argument("--interval", type=float, default=1.0, metavar="S", help="seconds between samples (default 1)")
    parser.add_argument("--count", type=int, default=None, metavar="N", help="stop after N samples (--watch, --record)")
    parser.add_argument("--record", metavar="FILE", help="write real NVML answers to FILE (a recording for tests and replays)")
    parser.add_argument("--replay", metavar="FILE", help="read a recording instead of NVML (also: GPT_OSS_CONSOLE_NVML_REPLAY)")
    parser.add_argument("--record-history", action="store_true",
                        help="with --watch: also keep every sample in the history database (what the TUI charts "
                             "and `history` read; run it as a service to record without the TUI)")
    parser.add_argument("--history-db", metavar="FILE", help="the history database (default: the XDG state dir's)")
    parser.set_defaults(func=run)


# -- formatting --------------------------------------------------------------------------


def _na(v, fmt="{}"):
    return "n/a" if v is None else fmt.format(v)


def _gib(v) -> str:
    return "n/a" if v is None else f"{v / GiB:.1f}"


def _mem(s, total) -> str:
    total = s.memory_total or total
    text = f"{_gib(s.memory_used)}/{_gib(total)} GiB"
    if s.memory_reserved:
        text += f" +{s.memory_reserved / GiB:.1f} rsv"
    return text


def _power(s, limit) -> str:
    if s.power_w is None:
        return "n/a"
    return f"{s.power_w:.0f}/{limit:.0f} W" if limit else f"{s.power_w:.0f} W"


def _sample_line(info, s) -> str:
    if s is None:
        return "no sample"
    if s.lost:
        return f"LOST — {s.error}"
    bits = [
        _mem(s, info.memory_total),
        f"util {_na(s.util_gpu, '{}%')}",
        f"mem-bw {_na(s.util_memory, '{}%')}",
        _na(s.temperature, "{}°C"),
        _power(s, info.power_limit_w),
        f"SM {_na(s.sm_clock_mhz, '{} MHz')}",
    ]
    if s.fan_percent is not None:
        bits.append(f"fan {s.fan_percent}%")
    return "  ".join(bits)


def _proc_lines(s) -> list[str]:
    out = []
    for p in s.processes if s is not None else ():
        used = "n/a" if p.used_memory is None else f"{p.used_memory / GiB:.1f} GiB"
        out.append(f"     pid {p.pid:<8} {used:>9}  {p.name or '(ended)'}")
    return out


def human_table(inv, snap, fit_lines=()) -> str:
    if inv.error and not inv.gpus:
        return inv.error
    head = " · ".join(
        x for x in (
            inv.driver_version and f"driver {inv.driver_version}",
            inv.cuda_version and f"CUDA {inv.cuda_version}",
            inv.source != "nvml" and inv.source,
        ) if x
    )
    lines = [head] if head else []
    for g in inv.gpus:
        s = snap.get(g.index) if snap else None
        pcie = "" if g.pcie_gen is None else f" PCIe {g.pcie_gen}/{_na(g.pcie_gen_max)}"
        cc = "" if g.compute_capability is None else f" sm{g.compute_capability[0]}{g.compute_capability[1]}"
        lines.append(f"[{g.index}] {g.name}  {g.arch}{cc}{pcie}  {g.uuid or ''}".rstrip())
        lines.append(f"    {_sample_line(g, s)}")
        lines.extend(_proc_lines(s))
    lines.extend(inv.warnings)
    lines.extend(fit_lines)
    return "\n".join(lines)


def _fit(inv, snap) -> list[dict]:
    """What each model does on the detected GPUs with the memory free now (the planner's matrix)."""
    from console.gpu.box import detected_box
    from console.planner.fit import matrix

    box = detected_box(inv, snap, _container_names(snap))
    if box is None:
        return []
    return [
        {
            "model": p.model,
            "verdict": p.verdict,
            "tp": p.tp,
            "max_context": p.max_context,
            "max_total_num_tokens": p.max_total_num_tokens,
            "gpu": p.gpu,
            "gpu_count": box.count,
            "gpu_indices": list(p.gpu_indices),
            "free_at_load_bytes": p.free_at_load_bytes,
            "held_bytes": p.held_bytes,
            "clean_card_tokens": p.clean_card_tokens,
            "planned_for": p.planned_for,
            "warnings": [w for w in p.warnings if "already held" in w],
        }
        for p in matrix(box.spec, box.count, memory=box.memory)
    ]


def _container_names(snap) -> dict[int, str]:
    pids = [p.pid for s in snap.samples for p in s.processes] if snap is not None else []
    if not pids:
        return {}
    from console.cli.plan import container_names_or_empty as names

    return names(pids)


def _fit_lines(rows) -> list[str]:
    if not rows:
        return []
    r0 = rows[0]
    free = "" if not r0["free_at_load_bytes"] else f", {r0['free_at_load_bytes'] / GiB:.1f} GiB free now per GPU"
    out = [f"gpt-oss on {r0['gpu_count']}× {r0['gpu']}{free}, {r0['planned_for']} (see `plan` for details):"]
    for r in rows:
        verdict = r["verdict"].replace("-", " ")
        extra = f"TP={r['tp']}, context up to {r['max_context']:,}" if r["max_context"] else ""
        out.append(f"  {r['model']:<13} {verdict:<22} {extra}".rstrip())
    held = next((r for r in rows if r["warnings"]), None)
    if held is not None:
        out.append(f"  ! {held['warnings'][0]}")
    return out


# -- commands ------------------------------------------------------------------------


def run(args) -> int:
    from console.gpu import Sampler, open_backend

    if not 0 < args.interval < float("inf") or (args.count is not None and args.count < 1):  # nan fails too
        raise ConsoleError("--interval must be > 0 and --count ≥ 1", exit_code=EXIT_USAGE)
    if args.record_history and not args.watch:
        raise ConsoleError("--record-history records while watching", "add --watch", exit_code=EXIT_USAGE)
    backend = open_backend(args.replay)
    if args.record:
        return _record(args, backend)
    sampler = Sampler(backend, interval=args.interval)
    if args.watch:
        return _watch(args, sampler)
    inv = sampler.open()
    try:
        snap = sampler.tick() if inv.gpus else None
    finally:
        sampler.stop()
    from console.gpu import document

    doc = document(inv, snap)
    doc["fit"] = _fit(inv, snap)
    emit(doc, args.json, lambda _: human_table(inv, snap, _fit_lines(doc["fit"])))
    return EXIT_OK


def _watch(args, sampler) -> int:
    import queue

    ticks: queue.Queue = queue.Queue()
    inv = sampler.open()
    if not inv.gpus:
        emit({**inv.to_dict()}, args.json, lambda _: inv.error)
        return EXIT_OK
    if args.json:
        print(json.dumps({"inventory": inv.to_dict()}), flush=True)
    else:
        print(human_table(inv, None).split("\n", 1)[0], flush=True)
    unsubscribe = sampler.subscribe(ticks.put)
    recorder = _history(args, sampler, inv) if args.record_history else None
    if recorder is not None:
        import signal

        def stop(signum, frame):  # systemctl stop: leave through `finally`, writing what is held
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
    sampler.start()  # takes the first sample at once
    shown = 0
    try:
        while args.count is None or shown < args.count:
            snap = ticks.get()
            shown += 1
            if args.json:
                print(json.dumps({"seq": snap.seq, "time": snap.time,
                                  "samples": [s.to_dict() for s in snap.samples]}), flush=True)
                continue
            stamp = time.strftime("%H:%M:%S", time.localtime(snap.time))
            for g in inv.gpus:
                s = snap.get(g.index)
                procs = f"  {len(s.processes)} proc" if s and s.processes else ""
                print(f"{stamp} [{g.index}] {_sample_line(g, s)}{procs}", flush=True)
    finally:
        unsubscribe()
        sampler.stop()
        if recorder is not None:
            recorder.close()  # writes what is left
            if recorder.problem:
                print(recorder.problem, file=sys.stderr)
    return EXIT_OK


def _history(args, sampler, inv):
    """A history recorder subscribed to ``sampler`` (its problems, if any, on stderr at once)."""
    from pathlib import Path

    from console.history import default_path, retention_from_env
    from console.history.recorder import Recorder

    path = Path(args.history_db).expanduser() if args.history_db else default_path()
    recorder = Recorder(path, retention_from_env(), on_problem=lambda why: print(why, file=sys.stderr, flush=True))
    recorder.inventory(inv)
    sampler.subscribe(recorder.gpu_snapshot)
    recorder.start()
    return recorder


def _record(args, backend) -> int:
    from console.gpu import Sampler
    from console.gpu.replay import RecordingNvml

    rec = RecordingNvml(backend)
    sampler = Sampler(rec, interval=args.interval)
    inv = sampler.open()
    count = args.count or 5
    try:
        for i in range(count if inv.gpus else 0):
            if i:
                time.sleep(args.interval)
            sampler.tick()
    finally:
        sampler.stop()
    rec.write(args.record)
    summary = {
        "recorded": args.record,
        "ticks": count if inv.gpus else 0,
        "gpus": [g.name for g in inv.gpus],
        "error": inv.error,
    }
    emit(summary, args.json, lambda d: (
        f"wrote {d['recorded']}: {d['ticks']} tick(s) of {len(d['gpus'])} GPU(s)"
        + (f" — {d['error']}" if d["error"] else "")
    ))
    return EXIT_OK

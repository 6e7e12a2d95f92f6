"""``plan``: will gpt-oss fit, and with which SGLang settings? Works with no GPU present."""

from __future__ import annotations

from console.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, add_json_flag, emit, finite
from console.errors import ConsoleError

HELP = "plan gpt-oss on a GPU set: TP, memory split, KV-pool tokens, max context, verdict"
ORDER = 11

GiB = 1024**3


def register(parser) -> None:
    parser.add_argument("--model", help="gpt-oss-20b or gpt-oss-120b (default: both)")
    parser.add_argument("--gpu", help="catalog GPU name, e.g. H100-80GB, L40S, 'NVIDIA A100-SXM4-80GB' (default: the detected GPUs)")
    parser.add_argument("--count", type=int, help="number of GPUs (default: detected, else 1)")
    parser.add_argument("--tp", type=int, help="tensor-parallel size (default: chosen for you)")
    parser.add_argument("--context-length", type=int, help="context to plan for (default 131072)")
    parser.add_argument("--concurrency", type=int, help="concurrent requests at that context (default 1)")
    parser.add_argument("--mem-fraction-static", type=finite, help="SGLang's weights+KV share of GPU memory (default: SGLang's rule)")
    parser.add_argument("--engine", default="sglang",
                        help="plan for this engine's memory rules: sglang (default), vllm or llamacpp; "
                             "all: each engine's verdict side by side")
    parser.add_argument("--engine-version", help="the engine release whose rules to apply (vllm: 0.10 or 0.34; "
                        "default: the release its stock image pins)")
    parser.add_argument("--list-gpus", action="store_true", help="list the GPU catalog and exit")
    parser.add_argument("--seed-table", action="store_true", help="print the seed README's examples re-planned (Markdown)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _kib(b: float) -> str:
    return f"{b / 1024:.1f} KiB"


def _gib(b: float) -> str:
    return f"{b / GiB:.1f} GiB"


def memory_line(p) -> str:
    """Where the plan's free memory comes from, in one line."""
    overhead = (f"{_gib(p.driver_reserved_bytes)} driver reserve, {_gib(p.cuda_context_bytes)} CUDA context"
                + ("" if p.overhead_measured else " (estimated: not measured on this card)"))
    if p.memory_source == "detected":
        gpus = ", ".join(str(i) for i in p.gpu_indices)
        # Per GPU, like the rest of the line: the least-free GPU of the plan sets the pool.
        per_gpu_held = p.gpu_memory_total - p.driver_reserved_bytes - p.cuda_context_bytes - p.free_at_load_bytes
        held = f"{_gib(per_gpu_held)} held by other processes, " if p.held_bytes else ""
        return (f"{_gib(p.free_at_load_bytes)} free now on GPU {gpus} (of {_gib(p.gpu_memory_total)}: "
                f"{held}{overhead})")
    return f"{_gib(p.free_at_load_bytes)} per GPU = {_gib(p.gpu_memory_total)} − {overhead}"


def format_plan(p) -> str:
    gpus = p.gpu if p.gpu_count == 1 else f"{p.gpu_count}× {p.gpu}"
    cc = f"sm{p.compute_capability[0]}{p.compute_capability[1]}"
    fraction = ("given" if p.mem_fraction_source == "given"
                else f"{p.planned_for} default: keeps {p.reserved_mib / 1024:.1f} GiB for activations and CUDA graphs")
    rows = [
        f"{p.model} on {gpus} ({p.arch}, {cc}, {p.gpu_memory_total / GiB:.1f} GiB): {p.verdict_text.upper()}",
        f"  planned for     {p.planned_for} (image {p.image})",
        f"  TP              {p.tp}  ({p.tp_reason})",
        f"  memory at load  {memory_line(p)}",
        f"  weights         {p.weight_bytes_per_gpu / GiB:.1f} GiB per GPU",
        f"  mem fraction    {p.mem_fraction_static} ({fraction})",
    ]
    if p.fits:
        rows += [
            f"  KV pool         {p.kv_pool_bytes_per_gpu / GiB:.1f} GiB per GPU = {p.max_total_num_tokens:,} tokens "
            f"({p.engine_label} logs max_total_num_tokens), {_kib(p.kv_bytes_per_token_per_gpu)}/token/GPU",
            f"  max context     {p.max_context:,} tokens for one request",
            f"  concurrency     {p.concurrency} at {p.context_length:,} tokens · "
            f"{p.concurrency_at(8192)} at 8k · {p.concurrency_at(32768)} at 32k",
        ]
    rows.append(
        f"  engine          attention {p.attention_backend} · MoE {p.moe_backend} · chunked prefill "
        f"{p.chunked_prefill_size} · CUDA graphs ≤ {p.cuda_graph_max_bs} · page {p.page_size}"
    )
    rows += [f"  why             {r}" if i == 0 else f"                  {r}" for i, r in enumerate(p.reasons)]
    rows += [f"  warning         {w}" for w in p.warnings]
    if p.fits:
        flags = " ".join(f"--{k} {v}" for k, v in p.launch_args.items())
        rows.append(f"  launch with     {flags}")
        if "gpus" in p.settings:
            gpus = p.settings["gpus"]
            rows.append(f"  on GPUs         {gpus} (gpt-oss-console launch --gpus {gpus}, or GPT_OSS_GPUS={gpus})")
    return "\n".join(rows)


def container_names_or_empty(pids) -> dict[int, str]:
    """PID → container, or {} when the Docker Engine does not answer: the plan still names
    the processes, their containers are a bonus."""
    from console.errors import ConsoleError

    try:
        from console.runtime.vram import container_names

        return container_names(pids)
    except (ConsoleError, ImportError, OSError):
        return {}


def _detected():
    """(DetectedBox or None, Inventory) from NVML (or a replay): the inventory says why when
    nothing can be planned for."""
    from console.gpu.box import read_box

    return read_box(containers=container_names_or_empty)


def run(args) -> int:
    from console.planner import catalog
    from console.planner.fit import PlanError, plan

    if args.list_gpus:
        rows = [
            {"name": g.name, "memory_total": g.memory_total, "arch": g.arch,
             "compute_capability": f"{g.compute_capability[0]}.{g.compute_capability[1]}",
             "nvml_names": list(g.nvml_names)}
            for g in catalog.GPUS
        ]
        emit({"gpus": rows}, args.json, lambda d: "\n".join(
            f"{r['name']:<15} {r['memory_total'] / GiB:6.1f} GiB  {r['arch']:<21} sm{r['compute_capability'].replace('.', '')}"
            for r in d["gpus"]))
        return EXIT_OK
    if args.seed_table:
        from console.planner.seed import seed_rows, seed_table_markdown

        emit({"rows": seed_rows()}, args.json, lambda _: seed_table_markdown())
        return EXIT_OK

    if args.count is not None and args.count < 1:
        raise ConsoleError("--count must be at least 1", exit_code=EXIT_USAGE)
    if args.gpu:
        try:
            gpu = catalog.lookup_gpu(args.gpu)
        except catalog.UnknownName as exc:
            raise ConsoleError(str(exc), "pass one of the names above with --gpu", exit_code=EXIT_USAGE) from None
        count = args.count or 1
        memory = None
    else:
        box, inv = _detected()
        if box is None:
            reason = inv.error or "no GPU with a known memory size was detected"
            raise ConsoleError(
                f"no GPU to plan for: {reason}",
                f"name one: --gpu NAME (known: {', '.join(catalog.gpu_names())})",
                exit_code=EXIT_UNAVAILABLE,
            )
        gpu, memory = box.spec, box.memory
        count = args.count or box.count
        if count > box.count:
            raise ConsoleError(f"--count {count}: this box has {box.count}× {gpu.name}",
                               f"plan for up to {box.count}, or name a catalog GPU with --gpu", exit_code=EXIT_USAGE)

    if (args.engine or "").lower() == "all":
        return _run_all_engines(args, gpu, count, memory)
    if (args.engine or "sglang") != "sglang" or args.engine_version:
        return _run_engine(args, gpu, count)
    try:
        models = [catalog.lookup_model(args.model).name] if args.model else list(catalog.MODELS)
        plans = [
            plan(m, gpu, count, tp=args.tp, context_length=args.context_length,
                 concurrency=args.concurrency, mem_fraction_static=args.mem_fraction_static,
                 memory=memory)
            for m in models
        ]
    except (PlanError, catalog.UnknownName) as exc:
        raise ConsoleError(str(exc), exit_code=EXIT_USAGE) from None

    doc = {"planned_for": plans[0].planned_for, "plans": [p.to_dict() for p in plans]}
    emit(doc, args.json, lambda _: "\n\n".join(format_plan(p) for p in plans))
    # One model asked: "no" when it does not fit. Both: "no" when neither does.
    return EXIT_OK if any(p.fits for p in plans) else EXIT_FAILED


def _run_all_engines(args, gpu, count: int, memory) -> int:
    """Each engine's verdict for each model (console.engines.verdicts), with its first fix."""
    from console import engines
    from console.planner import catalog
    from console.planner.fit import PlanError

    settings = {"tensor_parallel_size": args.tp, "max_model_len": args.context_length,
                "mem_fraction_static": args.mem_fraction_static}
    settings = {k: v for k, v in settings.items() if v is not None}
    try:
        models = [catalog.lookup_model(args.model).name] if args.model else list(catalog.MODELS)
        rows = [(m, engines.verdicts(m, gpu, count, memory=memory, **settings)) for m in models]
    except (PlanError, catalog.UnknownName) as exc:
        raise ConsoleError(str(exc), exit_code=EXIT_USAGE) from None
    doc = {"models": [{"model": m, "engines": [
        {"engine": e.name, "version": p.engine_version if p else e.version, "problem": problem or None,
         "plan": p.to_dict() if p else None} for e, p, problem in found]} for m, found in rows]}

    def text(_) -> str:
        out = []
        for m, found in rows:
            out.append(f"{m} on {count}× {gpu.name}:")
            for e, p, problem in found:
                if p is None:
                    out.append(f"  {e.label:10} cannot plan: {problem}")
                    continue
                line = f"  {e.label:10} {p.verdict_text}"
                if p.fits:
                    line += f" (TP={p.tp}, context {p.max_context:,}, {p.concurrency:g}× concurrent)"
                if p.fixes:
                    line += f" → {p.fixes[0]}"
                out.append(line)
        return "\n".join(out)

    emit(doc, args.json, text)
    return EXIT_OK if any(p is not None and p.fits for _, found in rows for _, p, _ in found) else EXIT_FAILED


def _run_engine(args, gpu, count: int) -> int:
    """Another engine's plan (console.engines): its own budget rule, arithmetic and fixes."""
    from console import engines
    from console.planner import catalog
    from console.planner.fit import PlanError

    engine = engines.get(args.engine)
    if args.engine_version and engine.name != "vllm":
        raise ConsoleError(f"--engine-version selects vLLM's rules; {engine.label} has one rule set",
                           "drop --engine-version", exit_code=EXIT_USAGE)
    settings = {"tensor_parallel_size": args.tp, "max_model_len": args.context_length,
                "mem_fraction_static": args.mem_fraction_static, "engine_version": args.engine_version}
    try:
        models = [catalog.lookup_model(args.model).name] if args.model else list(catalog.MODELS)
        plans = [engine.plan(m, gpu, count, **{k: v for k, v in settings.items() if v is not None}) for m in models]
    except (PlanError, catalog.UnknownName) as exc:
        raise ConsoleError(str(exc), exit_code=EXIT_USAGE) from None
    emit({"engine": engine.name, "plans": [p.to_dict() for p in plans]}, args.json,
         lambda _: "\n\n".join("\n".join(p.explain()) for p in plans))
    return EXIT_OK if any(p.fits for p in plans) else EXIT_FAILED

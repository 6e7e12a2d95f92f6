"""SGLang's plan (console.planner.fit with its SGLang rules) in the engine-neutral EnginePlan form."""

from __future__ import annotations

from console.engines.plan import EnginePlan, gib, tokens
from console.planner import fit


def plan(model, gpu, count: int = 1, *, tensor_parallel_size: int | None = None, max_model_len: int | None = None,
         mem_fraction_static: float | None = None, max_running_requests: int | None = None,
         memory=None, **_ignored) -> EnginePlan:
    """``memory``: the detected box's memory free now (console.planner.memory), as fit.plan takes it."""
    p = fit.plan(model, gpu, count, tp=tensor_parallel_size, context_length=max_model_len,
                 mem_fraction_static=mem_fraction_static, memory=memory)
    budget = int(p.free_at_load_bytes * p.mem_fraction_static)
    arithmetic = (
        f"budget = mem_fraction_static {p.mem_fraction_static} × {gib(p.free_at_load_bytes)} free at load "
        f"= {gib(budget)} per GPU for weights + KV",
        f"KV pool = {gib(budget)} − weights {gib(p.weight_bytes_per_gpu)} = {gib(p.kv_pool_bytes_per_gpu)} "
        f"= {tokens(p.max_total_num_tokens)} tokens (max_total_num_tokens)",
    )
    fixes: tuple[str, ...] = ()
    fix_settings: dict = {}
    if p.verdict != fit.FITS and p.recommended_context_length:
        fixes = (f"--context-length {p.recommended_context_length}",)
        fix_settings = {"max_model_len": p.recommended_context_length}
    return EnginePlan(
        engine="sglang", engine_version=p.engine_version, model=p.model, gpu=p.gpu, gpu_count=p.gpu_count, tp=p.tp,
        verdict=p.verdict, budget_bytes=budget, weights_bytes=p.weight_bytes_per_gpu,
        overhead_bytes=p.free_at_load_bytes - budget, kv_bytes=p.kv_pool_bytes_per_gpu,
        kv_tokens=p.max_total_num_tokens, context_length=p.context_length, max_context=p.max_context,
        concurrency=float(p.concurrency),
        settings={"tensor_parallel_size": p.tp, "mem_fraction_static": p.mem_fraction_static,
                  "max_model_len": p.recommended_context_length or p.context_length,
                  "max_running_requests": max_running_requests},
        arithmetic=arithmetic, reasons=p.reasons, fixes=fixes, warnings=p.warnings, fix_settings=fix_settings,
    )

"""llama.cpp's memory plan for gpt-oss: the GGUF's weights plus a KV cache for ``-c`` tokens.

llama-server allocates exactly what its settings ask for, no budget fraction
(llama.cpp src/llama-kv-cache-iswa.cpp, llama-context.cpp):

* weights: the GGUF as stored, all layers on the GPUs with ``-ngl 99`` (split by layers
  over several GPUs). ggml-org's gpt-oss GGUFs keep the experts in MXFP4 (17 bytes per 32
  values) and the other tensors in Q8_0 (34 bytes per 32): 12.07 GB for 20b against the
  published 12.1 GB file, 63.2 GB for 120b (three shards);
* KV cache, f16: the full-attention layers get ``-c`` cells, the sliding-window layers
  ``pad256(min(c, 128 × slots + n_ubatch))`` cells (the SWA cache, unless ``--swa-full``);
  a cell costs 2 × 8 KV heads × 64 × 2 B = 2 KiB per layer. With the unified KV cache (the
  default with automatic slots) all slots share the ``-c`` cells;
* a compute buffer for one micro-batch, dominated by its logits: n_ubatch × vocab × 4 B
  (llama.cpp logs the real figure as ``CUDA0 compute buffer size``);
* the driver's reserve and a CUDA context (console.planner.memory.card_overhead: measured on
  H100 and H200, estimated elsewhere).
"""

from __future__ import annotations

from console.engines.plan import DOES_NOT_FIT, FITS, FITS_SHORTER, EnginePlan, PlanError, gib, resolve, tokens
from console.planner.catalog import GiB, ModelSpec
from console.planner.memory import card_overhead

MXFP4_BYTES = 17 / 32  # 16 bytes of 4-bit values + one scale byte per 32 values
Q8_0_BYTES = 34 / 32  # 32 int8 values + an f16 scale
KV_CELL_LAYER = 2 * 64 * 2  # per KV head: K and V × head_dim × f16
N_UBATCH = 512  # llama.cpp's default physical batch
AUTO_SLOTS = 4  # llama-server's slot count when --parallel is auto (-1)
MIN_FIT_CTX = 4096  # --fit never shrinks the context below this (common.h fit_params_min_ctx)


def gguf_bytes(model: ModelSpec) -> int:
    """The ggml-org MXFP4 GGUF's size: experts in MXFP4, the rest in Q8_0."""
    return int(model.expert_params * MXFP4_BYTES + model.dense_params * Q8_0_BYTES)


def swa_cells(model: ModelSpec, ctx: int, slots: int) -> int:
    cells = min(ctx, model.sliding_window * slots + N_UBATCH)
    return -(-cells // 256) * 256


def kv_bytes(model: ModelSpec, ctx: int, slots: int) -> int:
    cell = KV_CELL_LAYER * model.kv_heads
    return model.full_layers * ctx * cell + model.sliding_layers * swa_cells(model, ctx, slots) * cell


def compute_bytes(model: ModelSpec) -> int:
    return N_UBATCH * model.vocab * 4


def plan(model, gpu, count: int = 1, *, ctx_size: int | None = None, parallel: int | None = None,
         context_length: int | None = None, version: str = "") -> EnginePlan:
    """Plan a GGUF gpt-oss under llama-server with ``-c ctx_size`` (default: the model's 131,072)
    and ``-np parallel`` slots; ``context_length`` is the request length asked about."""
    m, g = resolve(model, gpu)
    if count < 1:
        raise PlanError("GPU count must be at least 1")
    if ctx_size is not None and not 0 <= ctx_size <= m.max_context:
        raise PlanError(f"-c must be 0..{m.max_context} for {m.name} (0 = the model's {m.max_context})")
    if parallel is not None and parallel < 1:
        raise PlanError("parallel slots must be at least 1")
    ctx = ctx_size or m.max_context
    slots = parallel or AUTO_SLOTS
    length = min(context_length or ctx, ctx)
    weights = gguf_bytes(m)
    overhead = card_overhead(g)
    budget = g.memory_total - overhead.total
    kv = kv_bytes(m, ctx, slots)
    compute = compute_bytes(m)
    per_gpu = -(-(weights + kv) // count) + compute
    spare = budget - per_gpu

    arithmetic = [
        f"weights (GGUF: experts MXFP4, rest Q8_0) {gib(weights)}"
        + (f" split by layers over {count} GPUs" if count > 1 else ""),
        f"KV cache f16 = {m.full_layers} full layers × {tokens(ctx)} cells × 2 KiB + {m.sliding_layers} "
        f"sliding layers × {tokens(swa_cells(m, ctx, slots))} cells × 2 KiB = {gib(kv)}",
        f"compute buffer ≈ {N_UBATCH} × {tokens(m.vocab)} vocab × 4 B = {gib(compute)} per GPU",
        f"per GPU {gib(per_gpu)} of {gib(budget)} usable ({g.name} less {gib(overhead.total)} driver reserve "
        f"and CUDA context, {'measured' if overhead.measured else 'estimated'})",
    ]
    reasons: list[str] = []
    fixes: list[str] = []
    fix_settings: dict = {}
    if spare >= 0:
        verdict = FITS
        max_ctx = ctx
        reasons.append(f"{gib(spare)} per GPU to spare; {slots} slots share {tokens(ctx)} KV cells (unified KV cache)")
    else:
        fixed = -(-weights // count) + compute + -(-(m.sliding_layers * swa_cells(m, m.max_context, slots)
                                                      * KV_CELL_LAYER * m.kv_heads) // count)
        per_token = m.full_layers * KV_CELL_LAYER * m.kv_heads / count
        room = budget - fixed
        max_ctx = int(room // per_token) if room > 0 else 0
        max_ctx = min(max_ctx - max_ctx % 256, m.max_context)
        if max_ctx >= MIN_FIT_CTX:
            verdict = FITS_SHORTER
            reasons.append(f"{tokens(ctx)} cells need {gib(-spare)} more than the card has; at most "
                           f"{tokens(max_ctx)} cells fit (llama-server's --fit, on by default, would shrink "
                           "an unset -c to that)")
            fixes.append(f"-c {max_ctx}: the KV cache for {tokens(max_ctx)} tokens fits beside the weights")
            fix_settings = {"max_model_len": max_ctx}
        else:
            verdict = DOES_NOT_FIT
            max_ctx = 0
            reasons.append(f"the weights alone ({gib(-(-weights // count))} per GPU) leave no room for a "
                           f"{tokens(MIN_FIT_CTX)}-token KV cache on {count}× {g.name}")
            fixes.append("keep the expert layers in host RAM with --n-cpu-moe N (extra args; slower), or use "
                         "more or bigger GPUs")
    concurrency = round(ctx / length, 2) if verdict == FITS and length else 0.0
    return EnginePlan(
        engine="llamacpp", engine_version=version, model=m.name, gpu=g.name, gpu_count=count, tp=1,
        verdict=verdict, budget_bytes=budget, weights_bytes=-(-weights // count), overhead_bytes=compute,
        kv_bytes=-(-kv // count), kv_tokens=ctx if verdict == FITS else max_ctx, context_length=length,
        max_context=max_ctx, concurrency=min(concurrency, float(slots)) if concurrency else 0.0,
        settings={"max_model_len": ctx, "max_running_requests": slots},
        arithmetic=tuple(arithmetic), reasons=tuple(reasons), fixes=tuple(fixes),
        warnings=("llama.cpp splits layers, not tensors, over several GPUs: TP does not apply",) if count > 1 else (),
        fix_settings=fix_settings,
    )


__all__ = ["plan", "gguf_bytes", "kv_bytes", "GiB"]

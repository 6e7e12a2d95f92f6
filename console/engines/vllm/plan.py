"""vLLM's memory plan for gpt-oss: one budget for everything, KV gets what is left.

vLLM sizes its KV cache as (read from vllm/v1/worker/gpu_worker.py and
vllm/v1/core/kv_cache_planning.py)::

    requested  = gpu_memory_utilization × total   (total = what CUDA reports: the card − the driver's reserve,
                                                 console.planner.memory.card_overhead)
    KV memory  = requested − weights − activation peak − non-torch memory (− CUDA graphs, 0.21+)

and logs ``Available KV cache memory: X GiB``; X ≤ 0 stops start-up with "No available memory
for the cache blocks", and X below what one request of ``max_model_len`` needs stops it with
"To serve at least one request with the model's max seq len …". gpt-oss's KV cache has two
groups of layers, full attention and a 128-token sliding window, drawing blocks of 16 tokens
from one pool: a block holds 16 tokens of one layer per group, so a pool block costs
``page × layers-per-group`` and a request of L tokens needs ``⌈L/16⌉`` full-attention blocks
plus ``⌈min(127 + in-flight tokens, L)/16⌉ + 1`` sliding-window blocks
(vllm/v1/kv_cache_interface.py SlidingWindowSpec). ``GPU KV cache size`` is
``blocks / blocks-per-request × max_model_len`` tokens (kv_cache_utils.get_kv_cache_capacity).

Activations and runtime memory are one calibrated number, not a model of the profiler:
120b on one H100 at vLLM 0.10.1's default utilization 0.90 logged "Available KV cache
memory: -2.14 GiB" (vllm issue 23278). With CUDA's total 79.18 GiB (81,559 − 480 MiB) and the
weights this planner computes (64.55 GiB; that release logged 65.97, v0.14.1 logged 64.38),
the rest is 0.90 × 79.18 + 2.14 − 64.55 = 8.85 GiB. The same number is used for other models,
GPUs and releases, and every plan says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from console.engines.plan import DOES_NOT_FIT, FITS, FITS_SHORTER, EnginePlan, PlanError, gib, resolve, tokens
from console.planner.catalog import GiB, MiB, GpuSpec, ModelSpec
from console.planner.fit import valid_tp_sizes, weight_bytes_per_gpu
from console.planner.memory import card_overhead

# Calibration card: an H100 80GB, 81,559 MiB with a measured 480 MiB driver reserve
# (console.planner.memory), so CUDA reports 79.18 GiB.
# 0.90 × 79.18 GiB + 2.14 GiB − 64.55 GiB = 8.85 GiB (see the module docstring).
CALIBRATED_OVERHEAD = round((0.90 * (81559 - 480) * MiB + 2.14 * GiB - 69309753984) / MiB) * MiB
BLOCK_SIZE = 16  # tokens per KV block (vLLM's default for these attention backends)
KV_DTYPE_BYTES = {"auto": 2, "bfloat16": 2, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}


@dataclass(frozen=True)
class Rules:
    """What changes between vLLM releases for this plan."""

    version: str
    default_utilization: float
    utilization_note: str
    in_flight_batches: int  # batches scheduled but not settled: 2 with async scheduling
    overhead_bytes: int = CALIBRATED_OVERHEAD


# vLLM 0.10.1 (the gpt-oss launch release; issue 23278): a fixed 0.90 budget.
V0_10 = Rules("0.10.1", 0.90, "vLLM 0.10.1's default", 1)
# vLLM 0.34.0 (the pinned image): the extensible KV cache is the default on CUDA and sizes the
# cache from memory measured after warm-up, with gpu_memory_utilization defaulting to 1.0
# (vllm/config/cache.py resolved_gpu_memory_utilization); async scheduling is on.
V0_34 = Rules("0.34.0", 1.0, "vLLM 0.34.0's default with the extensible KV cache", 2)
PINNED = V0_34
RULES = {r.version: r for r in (V0_10, V0_34)}


def rules_for(version: str | None) -> Rules:
    if version is None:
        return PINNED
    for key, rules in RULES.items():
        if key == version or key.startswith(version.rstrip(".") + "."):
            return rules
    raise PlanError(f"no vLLM planning rules for version {version!r}; known: {', '.join(RULES)}")


def cuda_total(gpu: GpuSpec) -> int:
    """What CUDA (and so vLLM's budget) sees: the card less the driver's reserve."""
    return gpu.memory_total - card_overhead(gpu).reserved


def max_num_batched_tokens_default(gpu: GpuSpec) -> int:
    """vllm/engine/arg_utils.py: 16384 on ≥ 160 GiB cards, 8192 on ≥ 70 GiB (not A100), else 2048."""
    if gpu.memory_total >= 160 * GiB:
        return 16384
    if gpu.memory_total >= 70 * GiB and "A100" not in gpu.name:
        return 8192
    return 2048


def page_bytes(model: ModelSpec, tp: int, kv_dtype: str = "auto") -> int:
    """One block of one layer: 16 tokens × K and V × KV heads on this GPU × head dim × dtype."""
    return BLOCK_SIZE * 2 * max(1, model.kv_heads // tp) * model.head_dim * KV_DTYPE_BYTES.get(kv_dtype, 2)


def block_bytes(model: ModelSpec, tp: int, kv_dtype: str = "auto") -> int:
    """A pool block: one page for each layer of a group (gpt-oss: as many full as sliding layers)."""
    return page_bytes(model, tp, kv_dtype) * max(model.full_layers, model.sliding_layers)


def blocks_per_request(model: ModelSpec, length: int, in_flight_tokens: int) -> int:
    full = ceil(length / BLOCK_SIZE)
    window = ceil(min(model.sliding_window - 1 + in_flight_tokens, length) / BLOCK_SIZE) + 1
    return full + window


def longest_context(model: ModelSpec, kv: int, bb: int, in_flight: int) -> int:
    """The longest max_model_len whose one request fits in ``kv`` bytes (vLLM's own estimate
    searches the same way), at most the model's."""
    lo, hi = 0, model.max_context
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if blocks_per_request(model, mid, in_flight) * bb <= kv:
            lo = mid
        else:
            hi = mid - 1
    return lo


def plan(model, gpu, count: int = 1, *, tp: int | None = None, max_model_len: int | None = None,
         gpu_memory_utilization: float | None = None, max_num_seqs: int | None = None,
         max_num_batched_tokens: int | None = None, kv_cache_dtype: str = "auto",
         version: str | None = None) -> EnginePlan:
    """Plan gpt-oss on ``count`` × ``gpu`` under vLLM's rules for ``version`` (default: the pinned one)."""
    m, g = resolve(model, gpu)
    rules = rules_for(version)
    if count < 1:
        raise PlanError("GPU count must be at least 1")
    valid = valid_tp_sizes(m, count)
    if tp is None:
        tp = 1 if count == 1 else valid[-1]
    elif tp not in valid:
        raise PlanError(f"TP={tp} is not valid for {m.name} on {count} GPU(s): use one of {valid}")
    if max_model_len is not None and not 1 <= max_model_len <= m.max_context:
        raise PlanError(f"max_model_len must be 1..{m.max_context} for {m.name}")
    if gpu_memory_utilization is not None and not 0 < gpu_memory_utilization <= 1:
        raise PlanError("gpu_memory_utilization must be > 0 and ≤ 1")
    if kv_cache_dtype not in KV_DTYPE_BYTES:
        raise PlanError(f"kv_cache_dtype must be one of {', '.join(KV_DTYPE_BYTES)}")

    util = rules.default_utilization if gpu_memory_utilization is None else gpu_memory_utilization
    length = max_model_len or m.max_context
    batched = max_num_batched_tokens or max_num_batched_tokens_default(g)
    in_flight = batched * rules.in_flight_batches
    total = cuda_total(g)
    budget = int(util * total)
    weights = weight_bytes_per_gpu(m, tp)
    overhead = rules.overhead_bytes
    kv = budget - weights - overhead
    bb = block_bytes(m, tp, kv_cache_dtype)
    per_req = blocks_per_request(m, length, in_flight)
    need = per_req * bb
    blocks = max(0, kv // bb)
    concurrency = blocks / per_req if per_req else 0.0
    seqs = max_num_seqs or 1024

    util_words = f"{util} ({rules.utilization_note})" if gpu_memory_utilization is None else f"{util} (given)"
    arithmetic = [
        f"budget = gpu_memory_utilization {util} × CUDA total {gib(total)} = {gib(budget)} per GPU",
        f"KV memory = {gib(budget)} − weights {gib(weights)} (TP={tp}) − activations and runtime "
        f"{gib(overhead)} = {gib(kv)}",
        f"KV block = 16 tokens × 2 × {max(1, m.kv_heads // tp)} KV heads × {m.head_dim} × "
        f"{KV_DTYPE_BYTES[kv_cache_dtype]} B × {max(m.full_layers, m.sliding_layers)} layers per group = "
        f"{bb:,} B; one {tokens(length)}-token request needs ⌈{length}/16⌉ + "
        f"(⌈min({m.sliding_window - 1} + {tokens(in_flight)} in flight, {length})/16⌉ + 1) = {per_req:,} blocks "
        f"= {gib(need)}",
    ]
    reasons: list[str] = []
    fixes: list[str] = []
    fix_settings: dict = {}
    warnings: list[str] = [
        f"activations and runtime ({gib(overhead)}) are calibrated on 120b / one H100 / vLLM 0.10.1 "
        "(issue 23278) and used as-is here"
    ]
    if kv <= 0:
        verdict = DOES_NOT_FIT
        max_ctx = 0
        kv_tokens = 0
        reasons.append(f"vLLM would log 'Available KV cache memory: {kv / GiB:.2f} GiB' and stop with 'No "
                       f"available memory for the cache blocks': {util_words} leaves no room after the weights")
    elif need > kv:
        verdict = FITS_SHORTER
        max_ctx = longest_context(m, kv, bb, in_flight)
        kv_tokens = int(blocks / blocks_per_request(m, max_ctx, in_flight) * max_ctx) if max_ctx else 0
        reasons.append(f"vLLM would log 'Available KV cache memory: {kv / GiB:.2f} GiB' and stop: one request "
                       f"of max_model_len {tokens(length)} needs {gib(need)} of KV cache")
        if max_ctx < 1024:
            verdict = DOES_NOT_FIT
    else:
        verdict = FITS
        max_ctx = longest_context(m, kv, bb, in_flight)
        kv_tokens = int(concurrency * length)
        arithmetic.append(f"{gib(kv)} // {bb:,} B = {blocks:,} blocks; {blocks:,} / {per_req:,} = "
                          f"{concurrency:.2f} requests of {tokens(length)} tokens = {tokens(kv_tokens)} tokens "
                          "(vLLM's 'GPU KV cache size')")
        reasons.append(f"KV cache {gib(kv)} per GPU holds {concurrency:.2f} requests of {tokens(length)} tokens "
                       f"(vLLM logs 'Maximum concurrency for {tokens(length)} tokens per request: {concurrency:.2f}x')")
        if concurrency > seqs:
            reasons.append(f"max_num_seqs {seqs} caps concurrency below what the KV cache holds")

    if verdict != FITS:
        # 1) more of the card; 2) a shorter context; 3) more GPUs.
        need_util = ceil((weights + overhead + need) / total * 100) / 100
        if need_util <= 1.0 and need_util > util:
            headroom = total - int(need_util * total)
            fixes.append(f"--gpu-memory-utilization {need_util}: {gib(int(need_util * total))} budget leaves "
                         f"{gib(need)} for one {tokens(length)}-token request ({gib(headroom)} of the card stays "
                         "outside vLLM)")
            fix_settings = {"mem_fraction_static": need_util}
        for u in sorted({min(0.95, max(util, 0.95)), 1.0}):
            kv_u = int(u * total) - weights - overhead
            ctx = longest_context(m, kv_u, bb, in_flight) if kv_u > 0 else 0
            if ctx >= 1024 and u >= util:
                shorter = ctx - ctx % 1024
                fixes.append(f"--gpu-memory-utilization {u} --max-model-len {shorter}: "
                             f"{gib(kv_u)} of KV cache holds one request of {tokens(shorter)} tokens")
                fix_settings = fix_settings or {"mem_fraction_static": u, "max_model_len": shorter}
                break
        bigger = [t for t in (2, 4, 8) if t > tp and m.kv_heads % t == 0]
        if bigger:
            t = bigger[0]
            kv_t = budget - weight_bytes_per_gpu(m, t) - overhead
            fixes.append(f"TP={t} over {t} GPUs: weights {gib(weight_bytes_per_gpu(m, t))} per GPU leave "
                         f"{gib(kv_t)} of KV cache per GPU at utilization {util}"
                         + ("" if count >= t else f" (this box has {count} GPU{'s' if count > 1 else ''})"))
            if not fix_settings and count >= t:
                fix_settings = {"tensor_parallel_size": t}
    if rules is not V0_10 and gpu_memory_utilization is None and version is None:
        old = plan(m, g, count, tp=tp, max_model_len=max_model_len, max_num_seqs=max_num_seqs,
                   max_num_batched_tokens=max_num_batched_tokens, kv_cache_dtype=kv_cache_dtype, version=V0_10.version)
        if old.verdict != FITS:
            reasons.append(f"on vLLM {V0_10.version}, whose default budget was a fixed 0.90, the same launch "
                           f"{'stops' if old.verdict == DOES_NOT_FIT else 'needs a shorter context'}: "
                           f"{old.reasons[0]}; there {old.fixes[0] if old.fixes else 'more GPUs'} fixes it")
    if g.compute_capability[0] < 8:
        verdict = DOES_NOT_FIT
        reasons.insert(0, f"{g.name} ({g.sm}) is below MXFP4's minimum capability 80 in vLLM: it stops with "
                       "'The quantization method mxfp4 is not supported for the current GPU'")
    if count > tp:
        warnings.append(f"{count - tp} of {count} GPUs unused by one replica (TP={tp})")

    return EnginePlan(
        engine="vllm", engine_version=rules.version, model=m.name, gpu=g.name, gpu_count=count, tp=tp,
        verdict=verdict, budget_bytes=budget, weights_bytes=weights, overhead_bytes=overhead, kv_bytes=kv,
        kv_tokens=kv_tokens, context_length=length, max_context=max_ctx,
        concurrency=round(min(concurrency, seqs), 2) if verdict == FITS else 0.0,
        settings={"tensor_parallel_size": tp, "mem_fraction_static": util, "max_model_len": length,
                  "max_running_requests": seqs, "max_num_batched_tokens": batched},
        arithmetic=tuple(arithmetic), reasons=tuple(reasons), fixes=tuple(fixes), warnings=tuple(warnings),
        fix_settings=fix_settings,
    )

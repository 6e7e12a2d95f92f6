"""Will gpt-oss fit on these GPUs under SGLang, and with what settings?

Pure functions over the catalog, standard library only (the image entrypoint
imports this in a bare ``python3``). Every number follows what SGLang does at
start-up, so the plan can be checked against its log:

1. ``mem_fraction_static`` (weights + KV pool share of each GPU) is SGLang's
   default rule unless given: reserved = 2.8 + tp/10 GiB below 35 GiB cards,
   9.5 + tp/2 below 90 GiB, 12 + tp/2 below 160 GiB, else 32 GiB;
   fraction = round((total − reserved) / total, 3) with total in MiB as NVML
   reports it.
2. KV pool bytes per GPU = free memory at start × fraction − weights per GPU
   (SGLang's ``profile_max_num_token``; free at start ≈ NVML total − driver
   reserve − CUDA context, ``RUNTIME_OVERHEAD``).
3. Tokens: SGLang first divides the pool by a cell of all layers
   (2 × KV heads/TP × head_dim × 2 bytes per layer), then, for gpt-oss's
   sliding-window layers, splits it into a full-attention pool and a
   sliding-window pool of ``SWA_FULL_TOKENS_RATIO`` × its size. The full pool's
   size is what it logs as ``max_total_num_tokens``; one request of N tokens
   needs N of them, so that is the longest context at concurrency 1.

Weights per GPU are computed from the model's shapes: MoE experts in MXFP4
(4.25 bits/param, padded 2880→3072 by the MoE kernels), the rest bf16, all
sharded by TP except router and norms. That gives 64.5 GiB for 120b (vLLM
reports 64–66 GiB loaded on H100) and 13.4 GiB for 20b.

Public API (used by the GPUs screen, ``plan`` CLI, image entrypoint and the
launch helper)::

    plan(model, gpu, count=1, *, tp=None, context_length=None, concurrency=None,
         mem_fraction_static=None, hybrid_swa_pool=True) -> Plan
        model: "gpt-oss-120b" / "120b" / ModelSpec; gpu: catalog name or GpuSpec.
        tp=None picks one (choose_tp). Raises PlanError (a ValueError) on bad input.
    recommend(model, gpu, count=1) -> Plan        # largest TP that fits; 20b prefers TP=1
    choose_tp(model, gpu, count, requested=None) -> (tp, reason)
    valid_tp_sizes(model, count) -> list[int]
    weight_bytes_per_gpu(model, tp) -> int
    kv_bytes_per_token_per_gpu(model, tp) -> float    # pool cost per token (SGLang accounting)
    default_mem_fraction_static(gpu_memory_total, tp) -> float
    kv_pool_tokens(model, gpu, tp, mem_fraction_static) -> int   # max_total_num_tokens
    attention_backend(compute_capability) -> str
    chunked_prefill_default(gpu_memory_total) -> int

``Plan`` is a frozen dataclass: ``verdict`` ("fits" | "fits-shorter-context"
| "does-not-fit"), ``reasons`` and ``warnings`` in words, the numbers above,
``concurrency_at(context)``, ``launch_args`` (SGLang flag → value) and
``to_dict()``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from console.planner.catalog import (
    BF16,
    GiB,
    MiB,
    MXFP4_BYTES_PER_PARAM,
    GpuSpec,
    ModelSpec,
    UnknownName,
    lookup_gpu,
    lookup_model,
)

FITS = "fits"
FITS_SHORTER = "fits-shorter-context"
DOES_NOT_FIT = "does-not-fit"

# GPU memory SGLang cannot use: driver-reserved memory plus the CUDA context.
# Measured on an H100 80GB (driver 580): NVML v2 reserved 480 MiB, a bare CUDA
# context 527 MiB -> free at start = total - 0.98 GiB (tests/data/nvml/cuda_hold.py).
RUNTIME_OVERHEAD = 1 * GiB
# The MXFP4 MoE kernels pad the 2880-wide expert matrices to a multiple of 256.
EXPERT_PAD = 3072 / 2880
# SGLang's --swa-full-tokens-ratio default: the sliding-window pool is this
# fraction of the full-attention pool.
SWA_FULL_TOKENS_RATIO = 0.8
# A pool smaller than this cannot hold a Harmony prompt and an answer.
MIN_USEFUL_TOKENS = 4096
TP_CHOICES = (1, 2, 4, 8)
# The gpt-oss recipe's --mem-fraction-static for 120b on one H100/H200.
RECIPE_MEM_FRACTION = 0.95


class PlanError(ValueError):
    """Bad planner input (invalid TP, context beyond the model's, ...)."""


# -- building blocks -----------------------------------------------------------


def _model(model: str | ModelSpec) -> ModelSpec:
    return model if isinstance(model, ModelSpec) else lookup_model(model)


def _gpu(gpu: str | GpuSpec) -> GpuSpec:
    return gpu if isinstance(gpu, GpuSpec) else lookup_gpu(gpu)


def valid_tp_sizes(model: str | ModelSpec, count: int) -> list[int]:
    """TP sizes that divide the query and KV heads and use at most ``count`` GPUs."""
    m = _model(model)
    return [
        t for t in TP_CHOICES if t <= count and m.q_heads % t == 0 and m.kv_heads % t == 0
    ]


def weight_bytes_total(model: str | ModelSpec) -> int:
    """Weights as loaded on the GPU(s), all ranks together."""
    return weight_bytes_per_gpu(model, 1)


def weight_bytes_per_gpu(model: str | ModelSpec, tp: int) -> int:
    m = _model(model)
    experts = m.expert_params * MXFP4_BYTES_PER_PARAM * EXPERT_PAD
    # Router and norms are replicated on every rank; all else is split by TP.
    replicated = (m.hidden * m.experts + m.experts + 2 * m.hidden) * m.layers + m.hidden
    sharded = experts + (m.dense_params - replicated) * BF16
    return int(sharded / tp + replicated * BF16)


def kv_bytes_per_token_layer(model: str | ModelSpec, tp: int) -> int:
    """K and V of one token in one layer on one GPU (bf16; TP shards KV heads)."""
    m = _model(model)
    heads = max(1, m.kv_heads // tp)
    return 2 * heads * m.head_dim * BF16


def kv_bytes_per_token_per_gpu(model: str | ModelSpec, tp: int, *, hybrid_swa_pool: bool = True) -> float:
    """Pool memory per token of ``max_total_num_tokens`` on one GPU.

    SGLang's hybrid pool gives every full-attention layer one slot per token
    and every sliding-window layer ``SWA_FULL_TOKENS_RATIO`` slots.
    """
    m = _model(model)
    per_layer = kv_bytes_per_token_layer(m, tp)
    if not hybrid_swa_pool:
        return float(per_layer * m.layers)
    return per_layer * (m.full_layers + SWA_FULL_TOKENS_RATIO * m.sliding_layers)


def kv_bytes_long_context(model: str | ModelSpec, tp: int, tokens: int) -> int:
    """What one sequence of ``tokens`` really needs on one GPU: every token in the
    full layers, at most one window in the sliding layers."""
    m = _model(model)
    per_layer = kv_bytes_per_token_layer(m, tp)
    return per_layer * (m.full_layers * tokens + m.sliding_layers * min(tokens, m.sliding_window))


def sglang_reserved_mib(gpu_memory_total: int, tp: int) -> float:
    """SGLang's reserve for activations and CUDA graphs (server_args.py)."""
    mib = gpu_memory_total / MiB
    if mib < 35 * 1024:
        return (2.8 + tp / 10) * 1024
    if mib < 90 * 1024:
        return (9.5 + tp / 2) * 1024
    if mib < 160 * 1024:
        return (12 + tp / 2) * 1024
    return 32 * 1024


def default_mem_fraction_static(gpu_memory_total: int, tp: int) -> float:
    mib = gpu_memory_total / MiB
    return round((mib - sglang_reserved_mib(gpu_memory_total, tp)) / mib, 3)


def chunked_prefill_default(gpu_memory_total: int) -> int:
    mib = gpu_memory_total / MiB
    if mib < 35 * 1024:
        return 2048
    if mib < 60 * 1024:
        return 4096
    if mib < 160 * 1024:
        return 8192
    return 16384


def attention_backend(compute_capability: tuple[int, int] | None) -> str:
    """The backend SGLang picks for gpt-oss: trtllm_mha on sm100, fa3 on sm90, else triton."""
    major = compute_capability[0] if compute_capability else 0
    if major == 10:
        return "trtllm_mha"
    if major == 9:
        return "fa3"
    return "triton"


def moe_backend(compute_capability: tuple[int, int] | None) -> str:
    major = compute_capability[0] if compute_capability else 0
    return "flashinfer_mxfp4" if major == 10 else "triton_kernels"


def kv_pool_bytes(model, gpu, tp: int, mem_fraction_static: float) -> int:
    """Bytes per GPU left for the KV pool (negative: the weights do not fit)."""
    g = _gpu(gpu)
    free_at_start = g.memory_total - RUNTIME_OVERHEAD
    return int(free_at_start * mem_fraction_static) - weight_bytes_per_gpu(model, tp)


def kv_pool_tokens(model, gpu, tp: int, mem_fraction_static: float, *, hybrid_swa_pool: bool = True) -> int:
    """``max_total_num_tokens`` as SGLang computes and logs it (0 when nothing fits)."""
    m = _model(model)
    pool = kv_pool_bytes(m, gpu, tp, mem_fraction_static)
    if pool <= 0:
        return 0
    cell = kv_bytes_per_token_layer(m, tp) * m.layers
    tokens = pool // cell
    if not hybrid_swa_pool:
        return int(tokens)
    return int(tokens * m.layers / (SWA_FULL_TOKENS_RATIO * m.sliding_layers + m.full_layers))


# -- the plan ------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    model: str
    hf_id: str
    gpu: str
    gpu_count: int
    gpu_memory_total: int  # bytes per GPU
    arch: str
    compute_capability: tuple[int, int]
    tp: int
    tp_reason: str
    valid_tp: tuple[int, ...]
    weight_bytes_per_gpu: int
    kv_bytes_per_token_per_gpu: float  # pool cost per max_total_num_tokens token (SGLang's accounting)
    kv_bytes_per_token_full_layers: int  # what a long context really costs per token: full layers only
    kv_bytes_sliding_per_request: int  # sliding-window layers: one window per request, whatever its length
    hybrid_swa_pool: bool
    mem_fraction_static: float
    mem_fraction_source: str  # "sglang-default" or "given"
    kv_pool_bytes_per_gpu: int
    max_total_num_tokens: int
    max_context: int  # longest context at concurrency 1 (≤ model max)
    context_length: int  # the context asked about (default: model max)
    concurrency: int  # requests of ``context_length`` the pool holds at once
    requested_concurrency: int | None
    recommended_context_length: int  # what to pass as --context-length
    attention_backend: str
    moe_backend: str
    chunked_prefill_size: int
    verdict: str
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def fits(self) -> bool:
        return self.verdict != DOES_NOT_FIT

    @property
    def verdict_text(self) -> str:
        return {
            FITS: "fits",
            FITS_SHORTER: "fits with a shorter context",
            DOES_NOT_FIT: "does not fit",
        }[self.verdict]

    def concurrency_at(self, context: int) -> int:
        """Requests of ``context`` tokens that fit in the KV pool at once."""
        if self.verdict == DOES_NOT_FIT or context <= 0:
            return 0
        return self.max_total_num_tokens // context

    @property
    def launch_args(self) -> dict:
        """SGLang settings this plan recommends (keys = flag names without ``--``)."""
        args = {
            "model-path": self.hf_id,
            "tp": self.tp,
            "context-length": self.recommended_context_length,
            "attention-backend": self.attention_backend,
            "chunked-prefill-size": self.chunked_prefill_size,
        }
        if self.mem_fraction_source == "given":
            args["mem-fraction-static"] = self.mem_fraction_static
        return args

    def to_dict(self) -> dict:
        d = asdict(self)
        d["compute_capability"] = list(self.compute_capability)
        d["valid_tp"] = list(self.valid_tp)
        d["reasons"] = list(self.reasons)
        d["warnings"] = list(self.warnings)
        d["verdict_text"] = self.verdict_text
        d["weight_gib_per_gpu"] = round(self.weight_bytes_per_gpu / GiB, 2)
        d["kv_pool_gib_per_gpu"] = round(self.kv_pool_bytes_per_gpu / GiB, 2)
        d["launch_args"] = self.launch_args
        return d


def _gib(n: float) -> str:
    return f"{n / GiB:.1f} GiB"


def _tokens(n: int) -> str:
    return f"{n:,}"


def _floor_k(n: int) -> int:
    """Round a context down to a multiple of 1024 (at least 1024 when n ≥ 1024)."""
    return n - n % 1024 if n >= 1024 else n


def choose_tp(model, gpu, count: int, requested: int | None = None) -> tuple[int, str]:
    """The TP size to use, and why. ``requested`` is validated, not second-guessed."""
    m, g = _model(model), _gpu(gpu)
    if count < 1:
        raise PlanError("GPU count must be at least 1")
    valid = valid_tp_sizes(m, count)
    if requested is not None:
        if requested not in TP_CHOICES or m.q_heads % requested or m.kv_heads % requested:
            raise PlanError(
                f"TP={requested} is not valid for {m.name}: it must divide "
                f"{m.q_heads} query heads and {m.kv_heads} KV heads (1, 2, 4 or 8)"
            )
        if requested > count:
            raise PlanError(f"TP={requested} needs {requested} GPUs, only {count} given")
        return requested, f"TP={requested} as requested"
    largest = valid[-1]
    if count == 1:
        return 1, "one GPU: TP=1"
    odd = (
        f"; {count} is not a valid TP (must divide {m.q_heads} query and {m.kv_heads} KV heads), "
        f"{count - largest} GPU(s) stay idle"
        if count not in TP_CHOICES
        else ""
    )
    if m.name == "gpt-oss-20b":
        for t in valid:
            if _pool_ok(m, g, t):
                if t == 1:  # count > 1 here: one GPU was answered above
                    return 1, (
                        "20b fits on one GPU: TP=1 avoids all-reduce traffic; "
                        f"use the other {count - 1} GPU(s) for more replicas (--dp)"
                    )
                return t, f"20b needs TP={t}: its weights do not fit a smaller split"
        return largest, f"largest valid TP ≤ {count} GPUs{odd}"
    for t in reversed(valid):
        if _pool_ok(m, g, t):
            return t, f"largest valid TP ≤ {count} GPUs: more GPUs per replica = bigger KV pool{odd}"
    return largest, f"largest valid TP ≤ {count} GPUs{odd}"


def _pool_ok(m: ModelSpec, g: GpuSpec, tp: int) -> bool:
    f = default_mem_fraction_static(g.memory_total, tp)
    return kv_pool_tokens(m, g, tp, f) >= MIN_USEFUL_TOKENS


def plan(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    count: int = 1,
    *,
    tp: int | None = None,
    context_length: int | None = None,
    concurrency: int | None = None,
    mem_fraction_static: float | None = None,
    hybrid_swa_pool: bool = True,
) -> Plan:
    """Plan ``model`` on ``count`` × ``gpu``. Raises ``PlanError`` on bad input.

    ``hybrid_swa_pool=False`` plans for SGLang builds (or ``--disable-hybrid-swa-memory``)
    that give sliding-window layers a slot for every token.
    """
    try:
        m, g = _model(model), _gpu(gpu)
    except UnknownName as exc:
        raise PlanError(str(exc)) from exc
    tp, tp_reason = choose_tp(m, g, count, tp)
    if context_length is not None and not 1 <= context_length <= m.max_context:
        raise PlanError(f"context length must be 1..{m.max_context} for {m.name}")
    if concurrency is not None and concurrency < 1:
        raise PlanError("concurrency must be at least 1")
    if mem_fraction_static is not None and not 0 < mem_fraction_static < 1:
        raise PlanError("mem_fraction_static must be between 0 and 1")

    if mem_fraction_static is None:
        fraction, source = default_mem_fraction_static(g.memory_total, tp), "sglang-default"
    else:
        fraction, source = mem_fraction_static, "given"
    weights = weight_bytes_per_gpu(m, tp)
    pool = kv_pool_bytes(m, g, tp, fraction)
    tokens = kv_pool_tokens(m, g, tp, fraction, hybrid_swa_pool=hybrid_swa_pool)
    ctx = context_length or m.max_context
    conc_wanted = concurrency or 1
    max_ctx = min(tokens, m.max_context)
    conc = tokens // ctx if tokens else 0
    budget = int((g.memory_total - RUNTIME_OVERHEAD) * fraction)

    reasons: list[str] = []
    warnings: list[str] = []
    fraction_words = f"mem_fraction_static {fraction} ({'given' if source == 'given' else 'SGLang default'})"
    if pool <= 0:
        verdict = DOES_NOT_FIT
        reasons.append(
            f"weights need {_gib(weights)} per GPU at TP={tp}, but {fraction_words} leaves "
            f"{_gib(budget)} for weights + KV cache on a {g.name}: SGLang would stop with "
            "'Not enough memory'"
        )
    elif tokens < MIN_USEFUL_TOKENS:
        verdict = DOES_NOT_FIT
        reasons.append(
            f"after {_gib(weights)} of weights per GPU only {_gib(pool)} is left for the KV "
            f"cache: {_tokens(tokens)} tokens, below the {_tokens(MIN_USEFUL_TOKENS)} a request needs"
        )
    else:
        need = ctx * conc_wanted
        reasons.append(
            f"weights {_gib(weights)} per GPU at TP={tp}; {fraction_words} leaves a "
            f"{_gib(pool)} KV pool per GPU = {_tokens(tokens)} tokens (max_total_num_tokens)"
        )
        if tokens >= need:
            verdict = FITS
            reasons.append(
                f"holds {_tokens(conc)} concurrent request(s) at {_tokens(ctx)} tokens of context"
            )
        else:
            verdict = FITS_SHORTER
            shorter = _floor_k(tokens // conc_wanted)
            who = "one request" if conc_wanted == 1 else f"{conc_wanted} concurrent requests"
            reasons.append(
                f"{who} at {_tokens(ctx)} tokens {'needs' if conc_wanted == 1 else 'need'} "
                f"{_tokens(need)} pool tokens; "
                f"use --context-length {shorter} (or fewer concurrent requests)"
            )
    if verdict != FITS and source == "sglang-default" and tp == 1 and m.name == "gpt-oss-120b":
        alt = kv_pool_tokens(m, g, tp, RECIPE_MEM_FRACTION, hybrid_swa_pool=hybrid_swa_pool)
        if alt > tokens:
            reasons.append(
                f"the gpt-oss recipe's --mem-fraction-static {RECIPE_MEM_FRACTION} would give "
                f"{_tokens(alt)} tokens, leaving less room for activations and CUDA graphs"
            )

    if verdict == FITS:
        rec_ctx = ctx
    elif verdict == FITS_SHORTER:
        rec_ctx = max(1, min(ctx, _floor_k(tokens // conc_wanted)))
    else:
        rec_ctx = 0

    major = g.compute_capability[0]
    if major not in (9, 10):
        warnings.append(
            f"{g.arch} ({g.sm}) is not among the GPUs gpt-oss's MXFP4 support in SGLang was "
            "verified on (Hopper, Blackwell); it runs through the triton kernels if at all: "
            "check the first launch's log"
        )
    if not g.known:
        warnings.append(f"{g.name} is not in the catalog: planned from NVML's memory total")
    if source == "given" and fraction > default_mem_fraction_static(g.memory_total, tp) + 0.05:
        headroom = (g.memory_total - RUNTIME_OVERHEAD) * (1 - fraction)
        warnings.append(
            f"mem_fraction_static {fraction} leaves {_gib(headroom)} per GPU for activations "
            "and CUDA graphs: watch for CUDA out of memory under load"
        )
    if count > tp:
        warnings.append(f"{count - tp} of {count} GPUs unused by one replica (TP={tp})")

    return Plan(
        model=m.name,
        hf_id=m.hf_id,
        gpu=g.name,
        gpu_count=count,
        gpu_memory_total=g.memory_total,
        arch=g.arch,
        compute_capability=tuple(g.compute_capability),
        tp=tp,
        tp_reason=tp_reason,
        valid_tp=tuple(valid_tp_sizes(m, count)),
        weight_bytes_per_gpu=weights,
        kv_bytes_per_token_per_gpu=kv_bytes_per_token_per_gpu(m, tp, hybrid_swa_pool=hybrid_swa_pool),
        kv_bytes_per_token_full_layers=kv_bytes_per_token_layer(m, tp) * m.full_layers,
        kv_bytes_sliding_per_request=kv_bytes_per_token_layer(m, tp) * m.sliding_layers * m.sliding_window,
        hybrid_swa_pool=hybrid_swa_pool,
        mem_fraction_static=fraction,
        mem_fraction_source=source,
        kv_pool_bytes_per_gpu=pool,
        max_total_num_tokens=tokens,
        max_context=max_ctx if verdict != DOES_NOT_FIT else 0,
        context_length=ctx,
        concurrency=conc if verdict != DOES_NOT_FIT else 0,
        requested_concurrency=concurrency,
        recommended_context_length=rec_ctx,
        attention_backend=attention_backend(g.compute_capability),
        moe_backend=moe_backend(g.compute_capability),
        chunked_prefill_size=chunked_prefill_default(g.memory_total),
        verdict=verdict,
        reasons=tuple(reasons),
        warnings=tuple(warnings),
    )


def recommend(model: str | ModelSpec, gpu: str | GpuSpec, count: int = 1) -> Plan:
    """The settings to launch with: TP from ``choose_tp``, SGLang's default memory split,
    the longest context the pool holds."""
    return plan(model, gpu, count)


def matrix(gpu: str | GpuSpec, count: int) -> list[Plan]:
    """The recommended plan for each model on this GPU set (the GPUs screen's matrix)."""
    from console.planner.catalog import MODELS

    return [recommend(m, gpu, count) for m in MODELS.values()]

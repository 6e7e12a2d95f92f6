"""Will gpt-oss fit on these GPUs, and with what settings? The engine-neutral part of the plan.

Pure functions over the catalog, standard library only (the image entrypoint
imports this in a bare ``python3``). The numbers an engine computes at start-up
come from its rules (:mod:`console.planner.engine`; SGLang's, for the version
the image pins, in :mod:`console.planner.sglang`); this module adds what any
engine needs:

1. Weights per GPU, from the model's shapes: MoE experts in MXFP4 (4.25
   bits/param, padded 2880→3072 by the MoE kernels), the rest bf16, all sharded
   by TP except router and norms: 64.5 GiB for 120b (vLLM reports 64–66 GiB
   loaded on H100), 13.4 GiB for 20b.
2. The memory free when the server loads (:mod:`console.planner.memory`): a
   catalog card minus the driver's reserve and a CUDA context, or on the
   detected box what is free now — other processes' memory included.
3. TP: it must divide 64 query and 8 KV heads (1, 2, 4, 8); 20b prefers TP=1
   (replicas beat all-reduce), 120b the largest TP the GPUs allow.
4. The verdict at a context length and concurrency, and what to change when it
   does not fit.

Public API (the GPUs screen, ``plan``, ``gpus``, the image entrypoint, the launch)::

    plan(model, gpu, count=1, *, tp=None, context_length=None, concurrency=None,
         mem_fraction_static=None, chunked_prefill_size=None, hybrid_swa_pool=True,
         memory=None, engine=SGLANG) -> Plan
        model: "gpt-oss-120b" / "120b" / ModelSpec; gpu: catalog name or GpuSpec;
        memory: a MemoryAtLoad (default: clean catalog cards). Raises PlanError.
    recommend(model, gpu, count=1, memory=None) -> Plan   # TP chosen, engine defaults
    matrix(gpu, count, memory=None) -> [Plan]             # one per model
    choose_tp(model, gpu, count, requested=None, memory=None) -> (tp, reason)
    valid_tp_sizes(model, count) -> list[int]
    weight_bytes_per_gpu(model, tp) -> int
    kv_bytes_per_token_per_gpu(model, tp) -> float    # pool cost per token (engine accounting)
    default_mem_fraction_static(gpu_memory_total, tp) -> float   # the engine's default
    attention_backend(compute_capability) -> str; chunked_prefill_default(gpu_memory_total) -> int

``Plan`` is a frozen dataclass: ``verdict`` ("fits" | "fits-shorter-context"
| "does-not-fit"), ``reasons`` and ``warnings`` in words, the numbers above, the
engine and version it was planned for, ``concurrency_at(context)``,
``settings`` (launch setting key → value, :mod:`console.planner.settings_map`),
``launch_args`` (engine flag → value) and ``to_dict()``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from console.planner.catalog import (
    BF16,
    GiB,
    MXFP4_BYTES_PER_PARAM,
    GpuSpec,
    ModelSpec,
    UnknownName,
    lookup_gpu,
    lookup_model,
)
from console.planner.engine import EngineRules
from console.planner.memory import MemoryAtLoad, catalog_memory
from console.planner.settings_map import plan_flags, plan_settings
from console.planner.sglang import SGLANG

FITS = "fits"
FITS_SHORTER = "fits-shorter-context"
DOES_NOT_FIT = "does-not-fit"

# The MXFP4 MoE kernels pad the 2880-wide expert matrices to a multiple of 256.
EXPERT_PAD = 3072 / 2880
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


def kv_bytes_per_token_per_gpu(model: str | ModelSpec, tp: int, *, hybrid_swa_pool: bool = True,
                               engine: EngineRules = SGLANG) -> float:
    """Pool memory per token of the pool size the engine logs, on one GPU."""
    return engine.kv_bytes_per_token(_model(model), tp, hybrid_swa_pool=hybrid_swa_pool)


def kv_bytes_long_context(model: str | ModelSpec, tp: int, tokens: int) -> int:
    """What one sequence of ``tokens`` really needs on one GPU: every token in the
    full layers, at most one window in the sliding layers."""
    m = _model(model)
    per_layer = kv_bytes_per_token_layer(m, tp)
    return per_layer * (m.full_layers * tokens + m.sliding_layers * min(tokens, m.sliding_window))


def default_mem_fraction_static(gpu_memory_total: int, tp: int, *, engine: EngineRules = SGLANG) -> float:
    """The engine's default weights + KV share for a card of ``gpu_memory_total`` bytes."""
    return engine.defaults(_card(gpu_memory_total), tp).mem_fraction_static


def chunked_prefill_default(gpu_memory_total: int, *, engine: EngineRules = SGLANG) -> int:
    return engine.defaults(_card(gpu_memory_total), 1).chunked_prefill_size


def attention_backend(compute_capability: tuple[int, int] | None, *, engine: EngineRules = SGLANG) -> str:
    return engine.defaults(_card(80 * GiB, compute_capability), 1).attention_backend


def _card(memory_total: int, compute_capability: tuple[int, int] | None = None) -> GpuSpec:
    return GpuSpec("card", (), memory_total, tuple(compute_capability or (0, 0)), known=False)


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
    engine: str  # "sglang"
    engine_label: str  # "SGLang"
    engine_version: str  # the version the rules mirror and the image pins
    image: str  # the stock image of that version for this GPU
    tp: int
    tp_reason: str
    valid_tp: tuple[int, ...]
    memory_source: str  # "catalog": a clean card; "detected": what is free on this box now
    gpu_indices: tuple[int, ...]  # detected GPUs the plan runs on (() for a catalog GPU)
    free_at_load_bytes: int  # per GPU, what the server finds free when it loads (least of its GPUs)
    driver_reserved_bytes: int
    cuda_context_bytes: int
    overhead_measured: bool
    held_bytes: int  # memory other processes hold on the plan's GPUs, all together
    holders: tuple  # console.planner.memory.Holder, on the plan's GPUs
    clean_card_tokens: int | None  # with holders: the pool the same GPUs would give empty
    weight_bytes_per_gpu: int
    kv_bytes_per_token_per_gpu: float  # pool cost per max_total_num_tokens token (engine accounting)
    kv_bytes_per_token_full_layers: int  # what a long context really costs per token: full layers only
    kv_bytes_sliding_per_request: int  # sliding-window layers: one window per request, whatever its length
    hybrid_swa_pool: bool
    mem_fraction_static: float
    mem_fraction_source: str  # "sglang-default" (the engine's rule) or "given"
    reserved_mib: float  # what the engine's default fraction keeps for activations and graphs
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
    cuda_graph_max_bs: int
    page_size: int
    verdict: str
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def fits(self) -> bool:
        return self.verdict != DOES_NOT_FIT

    @property
    def planned_for(self) -> str:
        """``SGLang 0.5.23``: what every plan names."""
        return f"{self.engine_label} {self.engine_version}"

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
    def settings(self) -> dict:
        """The launch settings this plan recommends, keyed by the settings' names."""
        return plan_settings(self)

    @property
    def launch_args(self) -> dict:
        """The same settings as engine flags (keys = flag names without ``--``)."""
        return plan_flags(self)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["compute_capability"] = list(self.compute_capability)
        d["valid_tp"] = list(self.valid_tp)
        d["gpu_indices"] = list(self.gpu_indices)
        d["holders"] = [h.to_dict() for h in self.holders]
        d["reasons"] = list(self.reasons)
        d["warnings"] = list(self.warnings)
        d["verdict_text"] = self.verdict_text
        d["planned_for"] = self.planned_for
        d["weight_gib_per_gpu"] = round(self.weight_bytes_per_gpu / GiB, 2)
        d["kv_pool_gib_per_gpu"] = round(self.kv_pool_bytes_per_gpu / GiB, 2)
        d["free_at_load_gib"] = round(self.free_at_load_bytes / GiB, 2)
        d["settings"] = self.settings
        d["launch_args"] = self.launch_args
        return d


def _gib(n: float) -> str:
    return f"{n / GiB:.1f} GiB"


def _tokens(n: int) -> str:
    return f"{n:,}"


def _floor_k(n: int) -> int:
    """Round a context down to a multiple of 1024 (at least 1024 when n ≥ 1024)."""
    return n - n % 1024 if n >= 1024 else n


def _pool(m: ModelSpec, g: GpuSpec, tp: int, mem: MemoryAtLoad, engine: EngineRules, *,
          fraction: float | None = None, chunked: int | None = None, hybrid: bool = True,
          free: int | None = None) -> tuple[int, int]:
    """(KV budget bytes, pool tokens) per GPU for ``tp`` GPUs of ``mem``."""
    d = engine.defaults(g, tp, mem_fraction_static=fraction, chunked_prefill_size=chunked)
    if free is None:
        free, _ = mem.free_for(tp)
    budget = engine.kv_budget(free, d.mem_fraction_static, weight_bytes_per_gpu(m, tp))
    return budget, engine.pool_tokens(m, tp, budget, d.page_size, hybrid_swa_pool=hybrid)


def choose_tp(model, gpu, count: int, requested: int | None = None, *, memory: MemoryAtLoad | None = None,
              engine: EngineRules = SGLANG) -> tuple[int, str]:
    """The TP size to use, and why. ``requested`` is validated, not second-guessed."""
    m, g = _model(model), _gpu(gpu)
    if count < 1:
        raise PlanError("GPU count must be at least 1")
    mem = memory or catalog_memory(g, count)
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

    def pool_ok(t: int) -> bool:
        return _pool(m, g, t, mem, engine)[1] >= MIN_USEFUL_TOKENS

    if m.name == "gpt-oss-20b":
        for t in valid:
            if pool_ok(t):
                if t == 1:  # count > 1 here: one GPU was answered above
                    return 1, (
                        "20b fits on one GPU: TP=1 avoids all-reduce traffic; "
                        f"use the other {count - 1} GPU(s) for more replicas (--dp)"
                    )
                room = " in the memory free now" if mem.detected else ""
                return t, f"20b needs TP={t}: its weights do not fit a smaller split{room}"
        return largest, f"largest valid TP ≤ {count} GPUs{odd}"
    for t in reversed(valid):
        if pool_ok(t):
            return t, f"largest valid TP ≤ {count} GPUs: more GPUs per replica = bigger KV pool{odd}"
    return largest, f"largest valid TP ≤ {count} GPUs{odd}"


def plan(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    count: int = 1,
    *,
    tp: int | None = None,
    context_length: int | None = None,
    concurrency: int | None = None,
    mem_fraction_static: float | None = None,
    chunked_prefill_size: int | None = None,
    hybrid_swa_pool: bool = True,
    memory: MemoryAtLoad | None = None,
    engine: EngineRules = SGLANG,
) -> Plan:
    """Plan ``model`` on ``count`` × ``gpu``. Raises ``PlanError`` on bad input.

    ``memory``: what the server will find free (default: clean catalog cards);
    ``hybrid_swa_pool=False`` plans for ``--disable-hybrid-swa-memory``, which gives
    sliding-window layers a slot for every token.
    """
    try:
        m, g = _model(model), _gpu(gpu)
    except UnknownName as exc:
        raise PlanError(str(exc)) from exc
    if count < 1:
        raise PlanError("GPU count must be at least 1")
    mem = memory or catalog_memory(g, count)
    if len(mem.free) < count:
        raise PlanError(f"{count} GPUs asked for, {len(mem.free)} detected")
    tp, tp_reason = choose_tp(m, g, count, tp, memory=mem, engine=engine)
    if context_length is not None and not 1 <= context_length <= m.max_context:
        raise PlanError(f"context length must be 1..{m.max_context} for {m.name}")
    if concurrency is not None and concurrency < 1:
        raise PlanError("concurrency must be at least 1")
    if mem_fraction_static is not None and not 0 < mem_fraction_static < 1:
        raise PlanError("mem_fraction_static must be between 0 and 1")
    if chunked_prefill_size is not None and chunked_prefill_size == 0:
        raise PlanError("chunked prefill size must be positive, or -1 to turn chunking off")

    d = engine.defaults(g, tp, mem_fraction_static=mem_fraction_static, chunked_prefill_size=chunked_prefill_size)
    fraction = d.mem_fraction_static
    source = "given" if d.mem_fraction_source == "given" else f"{engine.name}-default"
    free, indices = mem.free_for(tp)
    weights = weight_bytes_per_gpu(m, tp)
    pool = engine.kv_budget(free, fraction, weights)
    tokens = engine.pool_tokens(m, tp, pool, d.page_size, hybrid_swa_pool=hybrid_swa_pool)
    ctx = context_length or m.max_context
    conc_wanted = concurrency or 1
    conc = tokens // ctx if tokens else 0
    budget = int(free * fraction)
    version = f"{engine.label} {engine.version}"
    where = f"{g.name}" if not indices else f"GPU {', '.join(map(str, indices))} ({g.name})"

    reasons: list[str] = []
    warnings: list[str] = []
    fraction_words = (
        f"mem_fraction_static {fraction} (given)" if source == "given"
        else f"{version}'s default mem_fraction_static {fraction}"
    )
    unbalanced = mem.unbalanced(tp)
    if unbalanced:
        verdict = DOES_NOT_FIT
        frees = ", ".join(f"GPU {i} {_gib(mem.free[mem.indices.index(i)])}" for i in indices)
        reasons.append(
            f"{version} refuses TP={tp} over GPUs whose free memory differs by more than 10 % "
            f"('The memory capacity is unbalanced'): free now {frees}; free the busy GPU or plan "
            "on fewer GPUs"
        )
    elif pool <= 0:
        verdict = DOES_NOT_FIT
        reasons.append(
            f"weights need {_gib(weights)} per GPU at TP={tp}, but {fraction_words} of the "
            f"{_gib(free)} free at load leaves {_gib(budget)} for weights + KV cache on {where}: "
            f"{engine.label} would stop with 'Not enough memory'"
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
            f"weights {_gib(weights)} per GPU at TP={tp}; {fraction_words} of the {_gib(free)} "
            f"free at load leaves a {_gib(pool)} KV pool per GPU = {_tokens(tokens)} tokens "
            "(max_total_num_tokens)"
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
    if (not unbalanced and verdict != FITS and source != "given" and tp == 1
            and m.name == "gpt-oss-120b" and fraction < RECIPE_MEM_FRACTION):
        _, alt = _pool(m, g, tp, mem, engine, fraction=RECIPE_MEM_FRACTION, chunked=chunked_prefill_size,
                       hybrid=hybrid_swa_pool)
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

    held = mem.held_on(indices) if mem.detected else 0
    holders = tuple(h for h in mem.holders if h.gpu in indices)
    clean_tokens = None
    if mem.detected and held >= 256 * 1024**2:
        clean_free = max(0, g.memory_total - mem.overhead.total)  # these cards with nothing else on them
        _, clean_tokens = _pool(m, g, tp, mem, engine, fraction=mem_fraction_static, chunked=chunked_prefill_size,
                                hybrid=hybrid_swa_pool, free=clean_free)
        who = "; ".join(h.words() for h in holders) or "by the driver or processes not listed here"
        warnings.append(
            f"{_gib(held)} of {where} is already held ({who}): planned from the {_gib(free)} free now"
            + (f"; with that memory free the pool would be {_tokens(clean_tokens)} tokens" if clean_tokens else "")
        )
    if mem.detected and len(mem.free) > tp and indices != tuple(sorted(mem.indices)[:tp]):
        busy = [i for i in sorted(mem.indices)[:tp] if i not in indices]
        if busy:
            tp_reason += f"; runs on GPU {', '.join(map(str, indices))}: GPU {', '.join(map(str, busy))} " \
                         "has less memory free"

    major = g.compute_capability[0]
    if major not in (9, 10):
        warnings.append(
            f"{g.arch} ({g.sm}) is not among the GPUs gpt-oss's MXFP4 support in SGLang was "
            "verified on (Hopper, Blackwell); it runs through the triton kernels if at all: "
            "check the first launch's log"
        )
    if not g.known:
        warnings.append(f"{g.name} is not in the catalog: planned from NVML's memory total")
    if source == "given":
        default = engine.defaults(g, tp, chunked_prefill_size=chunked_prefill_size).mem_fraction_static
        if fraction > default + 0.05:
            headroom = free * (1 - fraction)
            warnings.append(
                f"mem_fraction_static {fraction} leaves {_gib(headroom)} per GPU for activations "
                f"and CUDA graphs ({version}'s default keeps {d.reserved_mib / 1024:.1f} GiB of the card): "
                "watch for CUDA out of memory under load"
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
        engine=engine.name,
        engine_label=engine.label,
        engine_version=engine.version,
        image=engine.image(g),
        tp=tp,
        tp_reason=tp_reason,
        valid_tp=tuple(valid_tp_sizes(m, count)),
        memory_source=mem.source,
        gpu_indices=indices,
        free_at_load_bytes=free,
        driver_reserved_bytes=mem.overhead.reserved,
        cuda_context_bytes=mem.overhead.context,
        overhead_measured=mem.overhead.measured,
        held_bytes=held,
        holders=holders,
        clean_card_tokens=clean_tokens,
        weight_bytes_per_gpu=weights,
        kv_bytes_per_token_per_gpu=engine.kv_bytes_per_token(m, tp, hybrid_swa_pool=hybrid_swa_pool),
        kv_bytes_per_token_full_layers=kv_bytes_per_token_layer(m, tp) * m.full_layers,
        kv_bytes_sliding_per_request=kv_bytes_per_token_layer(m, tp) * m.sliding_layers * m.sliding_window,
        hybrid_swa_pool=hybrid_swa_pool,
        mem_fraction_static=fraction,
        mem_fraction_source=source,
        reserved_mib=d.reserved_mib,
        kv_pool_bytes_per_gpu=pool,
        max_total_num_tokens=0 if unbalanced else tokens,
        max_context=min(tokens, m.max_context) if verdict != DOES_NOT_FIT else 0,
        context_length=ctx,
        concurrency=conc if verdict != DOES_NOT_FIT else 0,
        requested_concurrency=concurrency,
        recommended_context_length=rec_ctx,
        attention_backend=d.attention_backend,
        moe_backend=d.moe_backend,
        chunked_prefill_size=d.chunked_prefill_size,
        cuda_graph_max_bs=d.cuda_graph_max_bs,
        page_size=d.page_size,
        verdict=verdict,
        reasons=tuple(reasons),
        warnings=tuple(warnings),
    )


def recommend(model: str | ModelSpec, gpu: str | GpuSpec, count: int = 1, *,
              memory: MemoryAtLoad | None = None) -> Plan:
    """The settings to launch with: TP from ``choose_tp``, the engine's default memory split,
    the longest context the pool holds."""
    return plan(model, gpu, count, memory=memory)


def matrix(gpu: str | GpuSpec, count: int, *, memory: MemoryAtLoad | None = None) -> list[Plan]:
    """The recommended plan for each model on this GPU set (the GPUs screen's matrix)."""
    from console.planner.catalog import MODELS

    return [recommend(m, gpu, count, memory=memory) for m in MODELS.values()]

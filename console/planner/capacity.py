"""A plan against what the server logged: predicted vs actual KV pool, and which input was off.

Standard library only. The launch records a :class:`Prediction` (the plan's
inputs and its pool size) on the container; when the server logs
``max_total_num_tokens=…`` (or ``KV Cache is allocated. #tokens: …``),
:func:`check_capacity` compares. Beyond :data:`TOLERANCE` it redoes the
engine's arithmetic with the numbers the server logged itself — the memory
free when the weights began loading, what the weights took, the chunked
prefill size — to say which input was off, and by how much.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from console.planner.catalog import GiB, GpuSpec, lookup_model
from console.planner.engine import EngineRules
from console.planner.sglang import SGLANG

TOLERANCE = 0.05
ENGINES: dict[str, EngineRules] = {SGLANG.name: SGLANG}


@dataclass(frozen=True)
class Prediction:
    """What the console planned for one launch: enough to redo the pool with other inputs."""

    engine: str
    version: str
    model: str
    gpu: str
    gpu_memory_total: int
    compute_capability: tuple[int, int]
    tp: int
    free_at_load: int  # bytes per GPU the plan counted on
    weights: int  # bytes per GPU
    mem_fraction_static: float
    mem_fraction_given: bool
    chunked_prefill_size: int
    hybrid_swa_pool: bool
    max_total_num_tokens: int

    @classmethod
    def from_plan(cls, plan) -> Prediction:
        return cls(
            engine=plan.engine, version=plan.engine_version, model=plan.model, gpu=plan.gpu,
            gpu_memory_total=plan.gpu_memory_total, compute_capability=tuple(plan.compute_capability),
            tp=plan.tp, free_at_load=plan.free_at_load_bytes, weights=plan.weight_bytes_per_gpu,
            mem_fraction_static=plan.mem_fraction_static, mem_fraction_given=plan.mem_fraction_source == "given",
            chunked_prefill_size=plan.chunked_prefill_size, hybrid_swa_pool=plan.hybrid_swa_pool,
            max_total_num_tokens=plan.max_total_num_tokens,
        )

    @property
    def planned_for(self) -> str:
        rules = ENGINES.get(self.engine)
        return f"{rules.label if rules else self.engine} {self.version}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["compute_capability"] = list(self.compute_capability)
        return d

    def to_label(self) -> str:
        """Compact JSON for a container label."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_label(cls, text: str | None) -> Prediction | None:
        """The prediction a label holds; None when absent or not one (an older console's container)."""
        if not text:
            return None
        try:
            d = json.loads(text)
            d["compute_capability"] = tuple(d["compute_capability"])
            return cls(**d)
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True)
class Observed:
    """What the server logged about its pool and the inputs behind it (None: not logged)."""

    max_total_num_tokens: int
    free_at_load: int | None = None  # "Load weight begin. avail mem=… GB"
    weights: int | None = None  # "Load weight end. … mem usage=… GB"
    chunked_prefill_size: int | None = None  # the capacity line's chunked_prefill_size


@dataclass(frozen=True)
class CapacityCheck:
    predicted: int
    actual: int
    planned_for: str
    causes: tuple[str, ...] = ()  # which inputs were off, in words (empty when as planned)

    @property
    def delta(self) -> float:
        """(actual − predicted) / predicted."""
        return (self.actual - self.predicted) / self.predicted if self.predicted else 0.0

    @property
    def within(self) -> bool:
        return abs(self.delta) <= TOLERANCE

    @property
    def summary(self) -> str:
        head = f"KV pool {self.actual:,} tokens, planned {self.predicted:,} ({self.planned_for})"
        if self.within:
            return f"{head}: as planned ({self.delta * 100:+.1f} %)"
        return f"{head}: {self.delta * 100:+.1f} %, beyond {TOLERANCE:.0%} — " + "; ".join(self.causes)

    def to_dict(self) -> dict:
        return {
            "predicted": self.predicted, "actual": self.actual, "delta": round(self.delta, 4),
            "within": self.within, "planned_for": self.planned_for, "causes": list(self.causes),
            "summary": self.summary,
        }


def _gib(n: float) -> str:
    return f"{n / GiB:.1f} GiB"


def _pool(pred: Prediction, rules: EngineRules, *, free: int, weights: int, chunked: int) -> tuple[int, float]:
    """(tokens, fraction) for the prediction's model and GPU with these inputs."""
    gpu = GpuSpec(pred.gpu, (), pred.gpu_memory_total, tuple(pred.compute_capability), known=False)
    d = rules.defaults(gpu, pred.tp, chunked_prefill_size=chunked,
                       mem_fraction_static=pred.mem_fraction_static if pred.mem_fraction_given else None)
    budget = rules.kv_budget(free, d.mem_fraction_static, weights)
    model = lookup_model(pred.model)
    return rules.pool_tokens(model, pred.tp, budget, d.page_size, hybrid_swa_pool=pred.hybrid_swa_pool), \
        d.mem_fraction_static


def check_capacity(pred: Prediction, obs: Observed) -> CapacityCheck:
    """Predicted vs actual; beyond 5 % the inputs that explain the difference, or that none does."""
    check = CapacityCheck(pred.max_total_num_tokens, obs.max_total_num_tokens, pred.planned_for)
    if check.within or pred.max_total_num_tokens <= 0:
        return check
    rules = ENGINES.get(pred.engine)
    if rules is None:
        return CapacityCheck(check.predicted, check.actual, check.planned_for,
                             (f"the console has no rules for {pred.engine} to say why",))
    base = dict(free=pred.free_at_load, weights=pred.weights, chunked=pred.chunked_prefill_size)
    seen = {
        "free": obs.free_at_load, "weights": obs.weights,
        # SGLang logs the size it used; -1 (off) and the default both show there.
        "chunked": obs.chunked_prefill_size if obs.chunked_prefill_size not in (None, 0) else None,
    }
    logged = {k: v for k, v in seen.items() if v is not None}
    everything, _ = _pool(pred, rules, **{**base, **logged})
    causes: list[tuple[int, str]] = []
    for key, value in logged.items():
        if value == base[key]:
            continue
        tokens, fraction = _pool(pred, rules, **{**base, key: value})
        moved = tokens - pred.max_total_num_tokens
        if abs(moved) < 0.01 * max(1, pred.max_total_num_tokens):
            continue
        if key == "free":
            more = value < base["free"]
            why = (f"other processes held {_gib(base['free'] - value)} of it, or this box's driver and CUDA "
                   "overhead is larger" if more else "less was in use than when the plan was made")
            words = (f"{_gib(value)} was free when the weights began loading, the plan counted "
                     f"{_gib(base['free'])} ({why})")
        elif key == "weights":
            words = f"the weights took {_gib(value)} per GPU, the plan counted {_gib(base['weights'])}"
        else:
            words = (f"chunked prefill {value} (the plan: {base['chunked']}) moves {pred.planned_for}'s "
                     f"default memory split to {fraction}")
        causes.append((abs(moved), f"{words}: {moved:+,} tokens"))
    causes.sort(key=lambda c: -c[0])
    words = [c[1] for c in causes]
    if abs(everything - obs.max_total_num_tokens) > TOLERANCE * max(1, obs.max_total_num_tokens):
        inputs = ", ".join(
            name for name, key in (("free memory at load", "free"), ("weights", "weights"),
                                   ("chunked prefill", "chunked")) if key in logged
        ) or "no inputs"
        words.append(
            f"the server's own figures ({inputs}) give {everything:,} tokens with {pred.planned_for}'s "
            f"arithmetic, not {obs.max_total_num_tokens:,}: its memory split or pool differs — is the image "
            f"{pred.planned_for}, and were --mem-fraction-static or --max-total-tokens passed?"
        )
    return CapacityCheck(check.predicted, check.actual, check.planned_for, tuple(words))

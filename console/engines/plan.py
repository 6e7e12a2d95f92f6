"""An engine's memory plan, in the same words for every engine.

Each engine computes its own budget (SGLang: ``mem_fraction_static`` of free memory for
weights + KV; vLLM: ``gpu_memory_utilization`` of the card for weights, activations and
KV; llama.cpp: the weights plus a KV cache for exactly ``-c`` tokens). What comes out is
an :class:`EnginePlan`: the verdict, the numbers, the arithmetic as lines a person can
check, and the settings that fix a plan that does not fit. Stdlib only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from console.planner.catalog import GiB, GpuSpec, ModelSpec, UnknownName, lookup_gpu, lookup_model
from console.planner.fit import DOES_NOT_FIT, FITS, FITS_SHORTER, PlanError

__all__ = ["EnginePlan", "DOES_NOT_FIT", "FITS", "FITS_SHORTER", "PlanError", "resolve", "gib", "tokens"]


@dataclass(frozen=True)
class EnginePlan:
    engine: str
    engine_version: str  # the release whose rules were applied
    model: str
    gpu: str
    gpu_count: int
    tp: int
    verdict: str  # FITS | FITS_SHORTER | DOES_NOT_FIT
    budget_bytes: int  # per GPU, what the engine lets itself use
    weights_bytes: int  # per GPU
    overhead_bytes: int  # per GPU: activations, graphs, runtime (not weights, not KV)
    kv_bytes: int  # per GPU left for the KV cache (negative: none)
    kv_tokens: int  # tokens the KV cache holds (as the engine will log them)
    context_length: int  # the context asked about
    max_context: int  # the longest request the KV cache holds (≤ the model's)
    concurrency: float  # requests of context_length held at once
    settings: dict[str, Any]  # common setting key → value this plan assumes
    arithmetic: tuple[str, ...]  # each step, with its numbers
    reasons: tuple[str, ...]
    fixes: tuple[str, ...] = ()  # settings that make a failing plan fit, in words
    warnings: tuple[str, ...] = ()
    fix_settings: dict[str, Any] = field(default_factory=dict)  # the first fix as setting values

    @property
    def fits(self) -> bool:
        return self.verdict != DOES_NOT_FIT

    @property
    def verdict_text(self) -> str:
        return {FITS: "fits", FITS_SHORTER: "fits with a shorter context", DOES_NOT_FIT: "does not fit"}[self.verdict]

    def explain(self) -> list[str]:
        """The plan as lines: verdict, arithmetic, reasons, fixes, warnings."""
        head = (f"{self.model} on {self.gpu_count}× {self.gpu} with {self.engine} {self.engine_version} "
                f"(TP={self.tp}): {self.verdict_text}")
        lines = [head]
        lines += [f"  {a}" for a in self.arithmetic]
        lines += [f"• {r}" for r in self.reasons]
        lines += [f"→ {f}" for f in self.fixes]
        lines += [f"! {w}" for w in self.warnings]
        return lines

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("arithmetic", "reasons", "fixes", "warnings"):
            d[k] = list(d[k])
        d["verdict_text"] = self.verdict_text
        d["weights_gib"] = round(self.weights_bytes / GiB, 2)
        d["kv_gib"] = round(self.kv_bytes / GiB, 2)
        d["budget_gib"] = round(self.budget_bytes / GiB, 2)
        return d


def resolve(model: str | ModelSpec, gpu: str | GpuSpec) -> tuple[ModelSpec, GpuSpec]:
    try:
        m = model if isinstance(model, ModelSpec) else lookup_model(model)
        g = gpu if isinstance(gpu, GpuSpec) else lookup_gpu(gpu)
    except UnknownName as exc:
        raise PlanError(str(exc)) from exc
    return m, g


def gib(n: float) -> str:
    return f"{n / GiB:.2f} GiB"


def tokens(n: float) -> str:
    return f"{int(n):,}"

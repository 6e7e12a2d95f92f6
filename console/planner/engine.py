"""What an inference engine's planner rules supply, so the fit planner can ask any engine.

Standard library only. :mod:`console.planner.fit` owns the generic part (TP
choice, verdicts, words, the memory free at load); an engine owns the numbers
its server computes at start-up. SGLang's are :data:`console.planner.sglang.SGLANG`;
a vLLM or llama.cpp planner implements the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from console.planner.catalog import GpuSpec, ModelSpec


@dataclass(frozen=True)
class EngineDefaults:
    """The values an engine picks at start-up for one GPU and TP (its defaults, or what was given)."""

    mem_fraction_static: float  # weights + KV pool share of the memory free at load
    mem_fraction_source: str  # "engine default" or "given"
    reserved_mib: float  # what the default fraction leaves for activations and graphs
    chunked_prefill_size: int
    cuda_graph_max_bs: int
    attention_backend: str
    moe_backend: str
    page_size: int


class EngineRules(Protocol):
    name: str  # "sglang"
    label: str  # "SGLang"
    version: str  # the version these rules mirror, the one the image pins

    def defaults(self, gpu: GpuSpec, tp: int, *, mem_fraction_static: float | None = None,
                 chunked_prefill_size: int | None = None) -> EngineDefaults: ...

    def kv_budget(self, free_at_load: int, fraction: float, weights: int) -> int:
        """Bytes per GPU the KV pool gets (≤ 0: the weights do not fit)."""

    def pool_tokens(self, model: ModelSpec, tp: int, budget: int, page_size: int, *,
                    hybrid_swa_pool: bool = True) -> int:
        """The pool size the server logs (SGLang: ``max_total_num_tokens``)."""

    def kv_bytes_per_token(self, model: ModelSpec, tp: int, *, hybrid_swa_pool: bool = True) -> float: ...

    def image(self, gpu: GpuSpec | None = None) -> str:
        """The stock image tag for this GPU's architecture, pinned to :attr:`version`."""

"""What every engine's log scanner reports, in engine-neutral words.

The phase names are those of :class:`console.logs.events.Phase`, so the launch tracker's
``from_log_phase`` (which maps by name) follows any engine unchanged. Stdlib only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from console.logs.diagnosis import Diagnosis


class Phase(enum.IntEnum):
    """Start-up steps in the order a healthy server passes them (same names as SGLang's)."""

    PULLING = 0  # reported by the lifecycle (image pull), never by a log
    STARTING = 1
    LOADING_WEIGHTS = 2
    WEIGHTS_LOADED = 3
    KV_POOL = 4
    CUDA_GRAPH = 5  # warming up: graph capture, compilation
    CUDA_GRAPH_DONE = 6
    CAPACITY_KNOWN = 7  # a milestone: engines log it before or after the graphs
    HTTP_UP = 8  # the HTTP server answers (possibly still loading)
    READY = 9

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Phase.PULLING: "pulling image",
    Phase.STARTING: "starting",
    Phase.LOADING_WEIGHTS: "loading weights",
    Phase.WEIGHTS_LOADED: "weights loaded",
    Phase.KV_POOL: "KV cache allocated",
    Phase.CUDA_GRAPH: "warming up (CUDA graphs)",
    Phase.CUDA_GRAPH_DONE: "warm-up done",
    Phase.CAPACITY_KNOWN: "capacity known",
    Phase.HTTP_UP: "HTTP up",
    Phase.READY: "ready",
}


@dataclass(frozen=True, slots=True)
class PhaseReached:
    phase: Phase
    time: str | None = None  # as the engine logged it (its own clock and format)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Capacity:
    """What the engine said about memory and how much it can hold; absent fields are None."""

    weights_gib: float | None = None  # weights as loaded, per GPU
    kv_memory_gib: float | None = None  # memory given to the KV cache, per GPU (negative: none left)
    kv_tokens: int | None = None  # tokens the KV cache holds
    context_len: int | None = None  # longest request the server accepts
    max_concurrency: float | None = None  # requests of context_len held at once
    slots: int | None = None  # llama.cpp: parallel sequences
    time: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    diagnosis: Diagnosis
    line: str


@dataclass(frozen=True, slots=True)
class Serving:
    """A periodic statistics line once the server is serving; absent fields are None."""

    running: int | None = None
    queued: int | None = None
    gen_throughput: float | None = None  # tokens/s
    prompt_throughput: float | None = None  # tokens/s
    kv_usage: float | None = None  # 0..1
    time: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


Event = PhaseReached | Capacity | Failure | Serving


def phase_of(event: Event) -> Phase | None:
    """The start-up step an event proves (a Capacity line proves CAPACITY_KNOWN)."""
    if isinstance(event, PhaseReached):
        return event.phase
    if isinstance(event, Capacity) and (event.kv_tokens is not None or event.max_concurrency is not None):
        return Phase.CAPACITY_KNOWN
    return None

"""What a server's log says, as engine-neutral typed events (pure data, no parsing here).

A scanner (``console.logs.scanner``) turns an engine's lines into these; everything
downstream — the live panel's :class:`~console.logs.stats.LogStats`, the launch tracker,
``status``, crash bundles, the Metrics timeline — reads only these types, so a second
engine needs a scanner, not a second copy of its consumers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Phase(enum.IntEnum):
    """Start-up phases in the order a healthy server passes them."""

    PULLING = 0  # reported by the lifecycle (image pull), never by the log
    STARTING = 1  # server arguments printed / process up
    LOADING_WEIGHTS = 2
    WEIGHTS_LOADED = 3
    KV_POOL = 4
    # SGLang logs the capacity line after the graphs are captured (the scheduler prints it
    # once its model worker is built), or right after the KV pool with graphs disabled.
    CUDA_GRAPH = 5
    CUDA_GRAPH_DONE = 6
    CAPACITY_KNOWN = 7
    HTTP_UP = 8
    READY = 9

    @property
    def label(self) -> str:
        return _PHASE_LABELS[self]


_PHASE_LABELS = {
    Phase.PULLING: "pulling image",
    Phase.STARTING: "starting",
    Phase.LOADING_WEIGHTS: "loading weights",
    Phase.WEIGHTS_LOADED: "weights loaded",
    Phase.KV_POOL: "KV pool allocated",
    Phase.CAPACITY_KNOWN: "capacity known",
    Phase.CUDA_GRAPH: "capturing CUDA graphs",
    Phase.CUDA_GRAPH_DONE: "CUDA graphs captured",
    Phase.HTTP_UP: "HTTP up (warming up)",
    Phase.READY: "ready",
}


@dataclass(frozen=True, slots=True)
class Diagnosis:
    code: str  # stable identifier: "not_enough_memory", "cuda_oom", ...
    title: str  # what went wrong, in plain words
    fix: str  # what to change, naming the setting
    line: str = ""  # the log line (message part) that proved it

    def with_line(self, line: str) -> "Diagnosis":
        return Diagnosis(self.code, self.title, self.fix, line[:500])


@dataclass(frozen=True, slots=True)
class LinePrefix:
    time: str | None  # "2026-01-05 14:31:10" as logged (server-local clock)
    ranks: dict[str, int]  # {"TP": 0, "DP": 1, ...}; empty for the main process


@dataclass(frozen=True, slots=True)
class PhaseChange:
    phase: Phase
    time: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class WeightLoadBegin:
    avail_mem_gb: float | None
    time: str | None = None


@dataclass(frozen=True, slots=True)
class WeightLoadProgress:
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class WeightsLoaded:
    elapsed_s: float | None
    model_type: str | None
    dtype: str | None  # "torch.bfloat16" or, in newest builds, a quantization string
    avail_mem_gb: float | None
    mem_usage_gb: float | None
    time: str | None = None


@dataclass(frozen=True, slots=True)
class KVPoolAllocated:
    tokens: int | None
    k_size_gb: float | None
    v_size_gb: float | None
    time: str | None = None


@dataclass(frozen=True, slots=True)
class SlidingWindowPool:
    full_layer_tokens: int | None
    swa_layer_tokens: int | None


@dataclass(frozen=True, slots=True)
class Capacity:
    max_total_num_tokens: int | None
    chunked_prefill_size: int | None
    max_prefill_tokens: int | None
    max_running_requests: int | None
    context_len: int | None
    available_gpu_mem_gb: float | None
    time: str | None = None


@dataclass(frozen=True, slots=True)
class CudaGraphBegin:
    avail_mem_gb: float | None
    time: str | None = None


@dataclass(frozen=True, slots=True)
class CudaGraphEnd:
    elapsed_s: float | None
    mem_usage_gb: float | None
    avail_mem_gb: float | None
    time: str | None = None


@dataclass(frozen=True, slots=True)
class HttpUp:
    url: str
    port: int | None
    time: str | None = None


@dataclass(frozen=True, slots=True)
class Ready:
    time: str | None = None


@dataclass(frozen=True, slots=True)
class BatchStats:
    """One batch-statistics line (SGLang: ``Prefill batch`` / ``Decode batch``); absent fields are ``None``."""

    kind: str  # "prefill" | "decode"
    time: str | None = None
    ranks: dict[str, int] = field(default_factory=dict)
    new_seq: int | None = None
    new_token: int | None = None
    cached_token: int | None = None
    token: int | None = None  # decode: tokens held (full-attention pool in SWA mode)
    token_usage: float | None = None  # full-attention pool in SWA mode
    swa_token: int | None = None
    swa_token_usage: float | None = None
    running_req: int | None = None
    queue_req: int | None = None
    gen_throughput: float | None = None  # token/s
    input_throughput: float | None = None
    cuda_graph: bool | None = None
    accept_len: float | None = None
    iteration: str | None = None  # the optional "[iter]" tag, verbatim
    extra: dict[str, str] = field(default_factory=dict)  # fields the scanner does not know


@dataclass(frozen=True, slots=True)
class Failure:
    diagnosis: Diagnosis
    line: str


Event = (
    PhaseChange
    | WeightLoadBegin
    | WeightLoadProgress
    | WeightsLoaded
    | KVPoolAllocated
    | SlidingWindowPool
    | Capacity
    | CudaGraphBegin
    | CudaGraphEnd
    | HttpUp
    | Ready
    | BatchStats
    | Failure
)


def phase_of(event: Event) -> Phase | None:
    """The start-up phase an event proves the server has reached."""
    return _EVENT_PHASE.get(type(event)) if not isinstance(event, PhaseChange) else event.phase


_EVENT_PHASE: dict[type, Phase] = {
    WeightLoadBegin: Phase.LOADING_WEIGHTS,
    WeightLoadProgress: Phase.LOADING_WEIGHTS,
    WeightsLoaded: Phase.WEIGHTS_LOADED,
    KVPoolAllocated: Phase.KV_POOL,
    SlidingWindowPool: Phase.KV_POOL,
    Capacity: Phase.CAPACITY_KNOWN,
    CudaGraphBegin: Phase.CUDA_GRAPH,
    CudaGraphEnd: Phase.CUDA_GRAPH_DONE,
    HttpUp: Phase.HTTP_UP,
    Ready: Phase.READY,
}

"""LogStats: what the live panel shows, accumulated from parser events."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from console.logs.events import (
    BatchStats,
    Capacity,
    CudaGraphEnd,
    Diagnosis,
    Event,
    Failure,
    HttpUp,
    KVPoolAllocated,
    Phase,
    SlidingWindowPool,
    WeightLoadProgress,
    WeightsLoaded,
    phase_of,
)


@dataclass
class LogStats:
    phase: Phase | None = None  # furthest step reached (never goes back; CAPACITY_KNOWN is a milestone)
    phase_times: dict[Phase, str | None] = field(default_factory=dict)
    weights: WeightsLoaded | None = None
    weight_progress: tuple[int, int] | None = None
    kv_pool: KVPoolAllocated | None = None
    swa_pool: SlidingWindowPool | None = None
    capacity: Capacity | None = None
    cuda_graph: CudaGraphEnd | None = None
    http: HttpUp | None = None
    last_prefill: BatchStats | None = None
    last_decode: BatchStats | None = None
    diagnoses: list[Diagnosis] = field(default_factory=list)
    failures: int = 0
    _throughput: deque[float] = field(default_factory=lambda: deque(maxlen=16))

    def apply(self, events: list[Event]) -> list[Phase]:
        """Fold events in; return the phases newly reached, in order."""
        reached: list[Phase] = []
        for ev in events:
            ph = phase_of(ev)
            if ph is Phase.CAPACITY_KNOWN:
                # A milestone, not a step: SGLang logs capacity after the CUDA graphs (or
                # right after the KV pool when graphs are off); other builds before them.
                if ph not in self.phase_times:
                    self.phase_times[ph] = getattr(ev, "time", None)
                    reached.append(ph)
            elif ph is not None and (self.phase is None or ph > self.phase):
                self.phase = ph
                self.phase_times[ph] = getattr(ev, "time", None)
                reached.append(ph)
            if isinstance(ev, BatchStats):
                if ev.kind == "decode":
                    self.last_decode = ev
                    if ev.gen_throughput is not None:
                        self._throughput.append(ev.gen_throughput)
                else:
                    self.last_prefill = ev
            elif isinstance(ev, Failure):
                self.failures += 1
                if all(d.code != ev.diagnosis.code for d in self.diagnoses):
                    self.diagnoses.append(ev.diagnosis)
            elif isinstance(ev, WeightLoadProgress):
                self.weight_progress = (ev.done, ev.total)
            elif isinstance(ev, WeightsLoaded):
                self.weights = ev
            elif isinstance(ev, KVPoolAllocated):
                self.kv_pool = ev
            elif isinstance(ev, SlidingWindowPool):
                self.swa_pool = ev
            elif isinstance(ev, Capacity):
                self.capacity = ev
            elif isinstance(ev, CudaGraphEnd):
                self.cuda_graph = ev
            elif isinstance(ev, HttpUp):
                self.http = ev
        return reached

    @property
    def throughput(self) -> float | None:
        """Rolling mean of the recent decode throughputs (token/s)."""
        return sum(self._throughput) / len(self._throughput) if self._throughput else None

    @property
    def latest(self) -> BatchStats | None:
        """The newest batch line of either kind (running/queued/token usage come from it)."""
        a, b = self.last_decode, self.last_prefill
        if a is None or b is None:
            return a or b
        return a if (a.time or "") >= (b.time or "") else b

"""SGLang's scanner (console.engines.sglang.scanner.SGLangScanner, unchanged and as fast) with its
events translated into the engine-neutral ones of console.engines.events."""

from __future__ import annotations

from console.engines import events as ev
from console.engines.sglang import scanner as s
from console.logs import events as le


def translate(event) -> list[ev.Event]:
    if isinstance(event, le.BatchStats):
        return [ev.Serving(running=event.running_req, queued=event.queue_req, gen_throughput=event.gen_throughput,
                           prompt_throughput=event.input_throughput, kv_usage=event.token_usage, time=event.time)]
    if isinstance(event, le.Failure):
        return [ev.Failure(event.diagnosis, event.line)]
    if isinstance(event, le.WeightsLoaded):
        return [ev.PhaseReached(ev.Phase.WEIGHTS_LOADED, event.time),
                ev.Capacity(weights_gib=event.mem_usage_gb, time=event.time)]
    if isinstance(event, le.KVPoolAllocated):
        kv = (event.k_size_gb or 0) + (event.v_size_gb or 0) if event.k_size_gb is not None else None
        return [ev.PhaseReached(ev.Phase.KV_POOL, event.time), ev.Capacity(kv_memory_gib=kv, time=event.time)]
    if isinstance(event, le.Capacity):
        conc = (event.max_total_num_tokens / event.context_len
                if event.max_total_num_tokens and event.context_len else None)
        return [ev.Capacity(kv_tokens=event.max_total_num_tokens, context_len=event.context_len,
                            max_concurrency=round(conc, 2) if conc is not None else None, time=event.time)]
    if isinstance(event, le.WeightLoadProgress):
        return [ev.PhaseReached(ev.Phase.LOADING_WEIGHTS, None, f"{event.done}/{event.total} shards")]
    if isinstance(event, le.HttpUp):
        return [ev.PhaseReached(ev.Phase.HTTP_UP, event.time, event.url)]
    phase = le.phase_of(event)
    if phase is None:
        return []
    return [ev.PhaseReached(ev.Phase[phase.name], getattr(event, "time", None),
                            getattr(event, "detail", "") or "")]


class SglangScanner:
    def __init__(self) -> None:
        self._scanner = s.SGLangScanner()

    @property
    def counts(self) -> dict[str, int]:
        return self._scanner.counts

    def feed(self, lines: list[str]) -> list[ev.Event]:
        out: list[ev.Event] = []
        for event in self._scanner.feed(lines):
            out.extend(translate(event))
        return out

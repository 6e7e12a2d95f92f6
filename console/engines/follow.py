"""An engine's scanner as the log follower's :class:`console.logs.scanner.Scanner`.

The follower (console.logs.follow) and everything behind it — the monitor's phases, the live
statistics, ``status``, crash bundles — read the events of :mod:`console.logs.events`. SGLang's
scanner speaks them already; the other engines' scanners speak :mod:`console.engines.events`,
which :func:`to_log_events` translates here, line index kept, so their lines date their events.
The follower is handed :func:`scanner_for` by whoever builds it (the logs package knows no engine);
:func:`diagnose_lines` reads a whole log by its engine's rules.
"""

from __future__ import annotations

from console.engines import events as ev
from console.logs import events as le
from console.logs.diagnosis import Diagnosis
from console.logs.scanner import diagnoses_of


def to_log_events(event: ev.Event) -> list[le.Event]:
    """One engine-neutral event → the follower's events (a weights- or memory-only Capacity
    line says nothing the follower's consumers read: it rides on its PhaseReached)."""
    if isinstance(event, ev.PhaseReached):
        return [le.PhaseChange(le.Phase[event.phase.name], event.time, event.detail)]
    if isinstance(event, ev.Failure):
        return [le.Failure(event.diagnosis, event.line)]
    if isinstance(event, ev.Serving):
        return [le.BatchStats("decode", time=event.time, running_req=event.running, queue_req=event.queued,
                              gen_throughput=event.gen_throughput, input_throughput=event.prompt_throughput,
                              token_usage=event.kv_usage, extra=dict(event.extra))]
    if isinstance(event, ev.Capacity) and ev.phase_of(event) is not None:
        running = event.slots
        if running is None and event.max_concurrency is not None:
            running = int(event.max_concurrency)
        return [le.Capacity(max_total_num_tokens=event.kv_tokens, chunked_prefill_size=None, max_prefill_tokens=None,
                            max_running_requests=running, context_len=event.context_len,
                            available_gpu_mem_gb=event.kv_memory_gib, time=event.time)]
    return []


class FollowerScanner:
    """``scan(lines) -> [(index, console.logs event)]`` over an engine's own scanner."""

    def __init__(self, engine) -> None:
        self.engine = engine.name
        self._scanner = engine.scanner()

    def scan(self, lines: list[str]) -> list[tuple[int, le.Event]]:
        out: list[tuple[int, le.Event]] = []
        for i, event in self._scanner.feed_indexed(lines):
            out.extend((i, e) for e in to_log_events(event))
        return out


def scanner_for(name: str | None = None):
    """The follower's scanner for the engine called ``name`` (a container's ``engine`` label;
    None or empty: SGLang, whose containers from before the label have none). An unknown name
    is a ConsoleError that lists the known ones."""
    from console import engines
    from console.engines.sglang.scanner import ENGINE as SGLANG, SGLangScanner

    engine = engines.get(name or None)
    if engine.name == SGLANG:
        return SGLangScanner()
    return FollowerScanner(engine)


def diagnose_lines(lines: list[str], engine: str | None = None) -> list[Diagnosis]:
    """All distinct diagnoses in a log (post-mortem, crash bundles), by the rules of the engine
    whose log it is (None: SGLang). Order of first sight, a specific cause before the generic
    traceback it produced."""
    return diagnoses_of([ev for _, ev in scanner_for(engine).scan(lines)])

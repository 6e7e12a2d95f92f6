"""SGLang behind the Engine protocol: the existing parser's events in neutral form, the existing
planner as an EnginePlan, the existing metric names as a name map — nothing changed underneath."""

from __future__ import annotations

from pathlib import Path

import pytest

from console import engines
from console.engines.events import Capacity, Failure, Phase, Serving, phase_of
from console.engines.follow import diagnose_lines
from console.planner import fit
from console.runtime.phases import PhaseTracker, RunPhase, from_log_phase

LOGS = Path(__file__).parent / "data" / "logs"
SGLANG = engines.get("sglang")


def test_healthy_log_reaches_ready_with_capacity():
    lines = (LOGS / "healthy_120b_tp2_newer.log").read_text().splitlines()
    events = SGLANG.scanner().feed(lines)
    phases = [phase_of(e) for e in events if phase_of(e) is not None]
    assert phases[0] is Phase.STARTING and phases[-1] is Phase.READY
    assert {Phase.LOADING_WEIGHTS, Phase.WEIGHTS_LOADED, Phase.KV_POOL, Phase.CUDA_GRAPH, Phase.CUDA_GRAPH_DONE,
            Phase.CAPACITY_KNOWN, Phase.HTTP_UP} <= set(phases)
    cap = next(e for e in events if isinstance(e, Capacity) and e.kv_tokens)
    assert cap.context_len and cap.max_concurrency == round(cap.kv_tokens / cap.context_len, 2)
    weights = next(e for e in events if isinstance(e, Capacity) and e.weights_gib)
    assert weights.weights_gib == 30.88
    kv = next(e for e in events if isinstance(e, Capacity) and e.kv_memory_gib)
    assert kv.kv_memory_gib == pytest.approx(38.64)
    assert any(isinstance(e, Serving) and e.running is not None for e in events)


def test_neutral_phases_drive_the_launch_tracker_unchanged():
    """The tracker maps log phases by name, so neutral events move it like SGLang's own did."""
    lines = (LOGS / "healthy_20b.log").read_text().splitlines()
    t = PhaseTracker(clock=lambda: 0.0)
    for e in SGLANG.scanner().feed(lines):
        ph = phase_of(e)
        if ph is not None and from_log_phase(ph) is not None:
            t.advance(from_log_phase(ph), ph.label, at=0.0)
    assert t.phase is RunPhase.READY
    assert [p for p in t.seen()] == [RunPhase.CREATED, RunPhase.STARTING, RunPhase.LOADING_WEIGHTS,
                                     RunPhase.KV_POOL, RunPhase.CUDA_GRAPHS, RunPhase.READY]


@pytest.mark.parametrize("log", sorted(p.name for p in LOGS.glob("fail_*.log")))
def test_failures_are_the_existing_diagnoses(log):
    lines = (LOGS / log).read_text().splitlines()
    neutral = [e.diagnosis.code for e in SGLANG.scanner().feed(lines) if isinstance(e, Failure)]
    assert neutral and set(neutral) == {d.code for d in diagnose_lines(lines)}


def test_plan_is_the_planners():
    p = SGLANG.plan("gpt-oss-120b", "H100-80GB")
    f = fit.plan("gpt-oss-120b", "H100-80GB")
    assert (p.verdict, p.kv_tokens, p.weights_bytes, p.kv_bytes, p.tp) == (
        f.verdict, f.max_total_num_tokens, f.weight_bytes_per_gpu, f.kv_pool_bytes_per_gpu, f.tp)
    assert p.engine == "sglang" and p.engine_version == SGLANG.version
    assert p.fix_settings == {"max_model_len": f.recommended_context_length}
    two = SGLANG.plan("gpt-oss-120b", "H100-80GB", 2, max_model_len=32768)
    assert two.verdict == fit.FITS and two.tp == 2 and two.context_length == 32768


def test_metric_names_are_the_metrics_modules():
    from console.server.metrics import parse

    text = (Path(__file__).parent / "data" / "sglang_metrics_tp2.txt").read_text()
    assert parse(text, names=SGLANG.metric_names).gauges == parse(text).gauges
    assert SGLANG.metric_names.full("running") == "sglang:num_running_reqs"


def test_own_settings_are_the_sglang_only_ones():
    assert {s.key for s in SGLANG.settings} == {"chunked_prefill", "attention_backend", "enable_cache_report"}

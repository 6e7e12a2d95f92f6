"""What the phase tracker line says in each state (pure rendering, no app)."""

from __future__ import annotations

from console.runtime.monitor import Snapshot
from console.runtime.phases import RunPhase
from console.ui.launch.tracker import render_tracker


def snap(phase, **kw):
    base = dict(container_id="c", name="n", phase=phase, detail="", elapsed_s=12.3, time_to_ready_s=None,
                stalled_s=None, docker_error=None, exit_code=None, oom_killed=False)
    base.update(kw)
    return Snapshot(**base)


def test_idle_says_how_to_start():
    assert "F5 launches" in render_tracker(None).plain


def test_steps_and_elapsed_while_loading():
    text = render_tracker(snap(RunPhase.KV_POOL, detail="capacity known")).plain
    assert text.startswith("created › pull › start › weights › KV pool › graphs › ready")
    assert "12.3s" in text and "capacity known" in text


def test_ready_exit_oom_unhealthy_stall_and_docker_loss_in_words():
    assert "ready at http://h:1 in 4.5s" in render_tracker(
        snap(RunPhase.READY, base_url="http://h:1", time_to_ready_s=4.5)).plain
    assert "exited (code 137, OOM-killed)" in render_tracker(snap(RunPhase.EXITED, exit_code=137,
                                                                  oom_killed=True)).plain
    assert "unhealthy" in render_tracker(snap(RunPhase.UNHEALTHY)).plain
    assert "no progress for 200s: stalled?" in render_tracker(snap(RunPhase.LOADING_WEIGHTS, stalled_s=200.0)).plain
    lost = render_tracker(snap(RunPhase.STARTING, docker_error="the Docker daemon is not answering")).plain
    assert "Docker: the Docker daemon is not answering" in lost
    assert "2/3 layers" in render_tracker(snap(RunPhase.PULLING), "2/3 layers").plain


def test_progress_within_a_phase_is_shown_with_its_eta():
    text = render_tracker(snap(RunPhase.LOADING_WEIGHTS, detail="loading weights", progress="2/8 shards, ~30 s left")).plain
    assert "loading weights · 2/8 shards, ~30 s left" in text

"""What `launch` and `restart` print while they follow a server (pure: snapshots in, lines out)."""

from __future__ import annotations

from console.cli.launch import ProgressPrinter
from console.runtime.monitor import Snapshot
from console.runtime.phases import RunPhase


def snap(phase: RunPhase, detail: str, elapsed: float, **kw) -> Snapshot:
    base = dict(container_id="c", name="n", phase=phase, detail=detail, elapsed_s=elapsed, time_to_ready_s=None,
                stalled_s=None, docker_error=None, exit_code=None, oom_killed=False)
    base.update(kw)
    return Snapshot(**base)


def printed(capsys, *snaps: Snapshot) -> list[str]:
    p = ProgressPrinter()
    for s in snaps:
        p(s)
    return [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]


def test_a_phase_is_named_once_and_its_later_words_go_under_it(capsys) -> None:
    """Issue 19: "loading weights" was printed twice in a row (the phase, then the phase again
    with the detail "weights loaded")."""
    lines = printed(
        capsys,
        snap(RunPhase.STARTING, "starting", 0.9),
        snap(RunPhase.LOADING_WEIGHTS, "loading weights", 1.9),
        snap(RunPhase.LOADING_WEIGHTS, "weights loaded", 2.9),
        snap(RunPhase.LOADING_WEIGHTS, "weights loaded", 3.0),  # nothing new: nothing printed
        snap(RunPhase.KV_POOL, "capacity known", 3.8),
        snap(RunPhase.READY, "answering /health and /v1/models", 6.9),
    )
    assert lines == ["starting", "loading weights", "  weights loaded", "KV pool — capacity known",
                     "ready — answering /health and /v1/models"]
    assert sum("loading weights" in line for line in lines) == 1


def test_a_stall_and_a_lost_engine_are_said_once_each(capsys) -> None:
    lines = printed(
        capsys,
        snap(RunPhase.LOADING_WEIGHTS, "loading weights", 1.0),
        snap(RunPhase.LOADING_WEIGHTS, "loading weights", 200.0, stalled_s=199.0),
        snap(RunPhase.LOADING_WEIGHTS, "loading weights", 201.0, stalled_s=200.0),
        snap(RunPhase.LOADING_WEIGHTS, "loading weights", 202.0, docker_error="the Docker daemon is not answering"),
        snap(RunPhase.LOADING_WEIGHTS, "loading weights", 203.0, docker_error="the Docker daemon is not answering"),
    )
    assert lines == ["loading weights", "loading weights  (no progress for 199s: stalled?)",
                     "Docker: the Docker daemon is not answering"]

"""The launch phase tracker: created → pulling → starting → loading weights → KV pool →
CUDA graphs → ready, or unhealthy / exited.

Fed by three sources, none of which it talks to itself: parsed log events (the
log parser's ``phase_of``), HTTP probes (/health + /v1/models) and the
container's state. Phases only move forward, except into unhealthy / exited.
Pure and clock-injected, so the CLI, the TUI and the tests share it.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from console.logs.events import WeightLoadProgress, phase_of
from console.settings.spec import BY_KEY


class RunPhase(enum.IntEnum):
    CREATED = 0
    PULLING = 1
    STARTING = 2
    LOADING_WEIGHTS = 3
    KV_POOL = 4
    CUDA_GRAPHS = 5
    READY = 6
    UNHEALTHY = 7
    EXITED = 8

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ").replace("kv", "KV").replace("cuda", "CUDA")

    @property
    def terminal(self) -> bool:
        return self is RunPhase.EXITED


# The start-up path, in order (what the tracker draws as steps).
STEPS = (
    RunPhase.CREATED,
    RunPhase.PULLING,
    RunPhase.STARTING,
    RunPhase.LOADING_WEIGHTS,
    RunPhase.KV_POOL,
    RunPhase.CUDA_GRAPHS,
    RunPhase.READY,
)

DEFAULT_STALL_S = float(BY_KEY["stall_after"].default)  # the setting's default (the form, --stall-after)


def from_log_phase(log_phase: Any) -> RunPhase | None:
    """The log parser's fine-grained phase → the tracker's step."""
    name = getattr(log_phase, "name", str(log_phase))
    return {
        "PULLING": RunPhase.PULLING,
        "STARTING": RunPhase.STARTING,
        "LOADING_WEIGHTS": RunPhase.LOADING_WEIGHTS,
        "WEIGHTS_LOADED": RunPhase.LOADING_WEIGHTS,
        "KV_POOL": RunPhase.KV_POOL,
        "CAPACITY_KNOWN": RunPhase.KV_POOL,
        "CUDA_GRAPH": RunPhase.CUDA_GRAPHS,
        "CUDA_GRAPH_DONE": RunPhase.CUDA_GRAPHS,
        "HTTP_UP": RunPhase.CUDA_GRAPHS,  # uvicorn is up, warmup still running
        "READY": RunPhase.READY,
    }.get(name)


@dataclass
class Progress:
    """Measured progress inside a phase: weight shards loaded, or bytes downloaded into the HF
    cache. The ETA extrapolates the rate since the first sample (None until it means something)."""

    what: str  # "shards" | "downloaded"
    done: float
    total: float
    first_at: float  # when the first sample came
    first_done: float
    at: float  # the latest sample

    @property
    def eta_s(self) -> float | None:
        moved, took = self.done - self.first_done, self.at - self.first_at
        if moved <= 0 or took < 2.0 or self.done >= self.total:
            return None
        return (self.total - self.done) * took / moved

    def text(self) -> str:
        if self.what == "shards":
            part = f"{int(self.done)}/{int(self.total)} shards"
        else:
            part = f"{self.done / 2**30:.1f} of {self.total / 2**30:.1f} GiB {self.what}"
        eta = self.eta_s
        return part + (f", ~{_duration(eta)} left" if eta is not None else "")

    def step(self) -> tuple[str, int]:
        """What counts as news for a line-per-change reader: each shard, each tenth of a download."""
        return self.what, int(self.done) if self.what == "shards" else int(10 * self.done / max(self.total, 1))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class Transition:
    phase: RunPhase
    at: float  # wall-clock seconds
    detail: str = ""


@dataclass
class PhaseTracker:
    stall_after: float = DEFAULT_STALL_S
    clock: Callable[[], float] = time.time  # wall clock: log timestamps feed it
    phase: RunPhase = RunPhase.CREATED
    detail: str = ""
    history: list[Transition] = field(default_factory=list)
    started_at: float = 0.0
    last_progress: float = 0.0
    ready_at: float | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    health_failures: int = 0
    unhealthy_after: int = 3  # consecutive failed probes after ready
    progress: Progress | None = None  # within the current phase (shards, download), with an ETA

    def __post_init__(self) -> None:
        now = self.clock()
        self.started_at = self.started_at or now
        self.last_progress = now
        if not self.history:
            self.history.append(Transition(self.phase, self.started_at, self.detail))

    # -- inputs -----------------------------------------------------------
    def advance(self, phase: RunPhase, detail: str = "", at: float | None = None) -> bool:
        """Move forward to ``phase`` (never back during start-up). True if it changed.

        ``at``: when it happened (a log line's timestamp), default now.
        """
        now = self.clock() if at is None else at
        if self.phase is RunPhase.EXITED:
            return False
        if phase <= self.phase and not (self.phase is RunPhase.UNHEALTHY and phase is RunPhase.READY):
            if phase == self.phase and detail and detail != self.detail:
                self.detail = detail
                self.last_progress = now
            return False
        self.phase = phase
        self.detail = detail
        self.progress = None  # the next phase measures its own
        self.history.append(Transition(phase, now, detail))
        self.last_progress = max(self.last_progress, now)
        if phase is RunPhase.READY and self.ready_at is None:
            self.ready_at = now
        return True

    def activity(self, at: float | None = None) -> None:
        """Something happened (a log line, a pull byte): not stalled."""
        at = self.clock() if at is None else at
        self.last_progress = max(self.last_progress, at)

    def measure(self, what: str, done: float, total: float, at: float | None = None) -> bool:
        """Progress inside the current phase (``what``: "shards", "downloaded"). True when it
        moved; moving counts as activity (no stall while bytes or shards come)."""
        now = self.clock() if at is None else at
        p = self.progress
        if total <= 0 or self.phase >= RunPhase.READY:
            return False
        if p is None or p.what != what or done < p.done:
            self.progress = Progress(what, done, total, now, done, now)
            self.activity(now)
            return True
        if done == p.done:
            return False
        p.done, p.total, p.at = done, total, now
        self.activity(now)
        return True

    def log_event(self, event: Any, at: float | None = None) -> bool:
        """Feed one parsed log event; returns True when the phase changed."""
        log_phase = phase_of(event)
        step = from_log_phase(log_phase) if log_phase is not None else None
        self.activity(at)
        if step is None:
            return False
        changed = self.advance(step, getattr(log_phase, "label", ""), at)
        if isinstance(event, WeightLoadProgress) and self.phase is RunPhase.LOADING_WEIGHTS:
            self.measure("shards", event.done, event.total, at)
        return changed

    def probe(self, healthy: bool, models_ok: bool) -> bool:
        """An HTTP probe result. Ready = healthy /health + a /v1/models answer."""
        if healthy and models_ok:
            self.health_failures = 0
            if self.phase < RunPhase.READY or self.phase is RunPhase.UNHEALTHY:
                return self.advance(RunPhase.READY, "answering /health and /v1/models")
            return False
        if self.phase is RunPhase.READY:
            self.health_failures += 1
            if self.health_failures >= self.unhealthy_after:
                return self.advance(RunPhase.UNHEALTHY, "/health or /v1/models stopped answering")
        return False

    def exited(self, exit_code: int | None, oom_killed: bool = False, detail: str = "") -> bool:
        self.exit_code = exit_code
        self.oom_killed = oom_killed
        words = detail or (f"exit code {exit_code}" + (", OOM-killed" if oom_killed else ""))
        return self.advance(RunPhase.EXITED, words)

    # -- outputs ----------------------------------------------------------
    @property
    def elapsed(self) -> float:
        end = self.ready_at if self.ready_at is not None else self.clock()
        return end - self.started_at

    @property
    def time_to_ready(self) -> float | None:
        return None if self.ready_at is None else self.ready_at - self.started_at

    def stalled_for(self) -> float | None:
        """Seconds without progress when over the limit during start-up, else None."""
        if self.phase >= RunPhase.READY:
            return None
        idle = self.clock() - self.last_progress
        return idle if idle >= self.stall_after else None

    def seen(self) -> list[RunPhase]:
        return [t.phase for t in self.history]

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.label,
            "detail": self.detail,
            "elapsed_s": round(self.elapsed, 2),
            "time_to_ready_s": None if self.time_to_ready is None else round(self.time_to_ready, 2),
            "stalled_s": None if self.stalled_for() is None else round(self.stalled_for() or 0, 1),
            "progress": None if self.progress is None else self.progress.text(),
            "exit_code": self.exit_code,
            "oom_killed": self.oom_killed,
            "history": [
                {"phase": t.phase.label, "at_s": round(t.at - self.started_at, 2), "detail": t.detail}
                for t in self.history
            ],
        }

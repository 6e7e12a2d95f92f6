"""The phase line over the Launch form: created › pull › start › weights › KV pool › graphs › ready.

It draws a :class:`console.runtime.monitor.Snapshot` (whose phases the core's
:class:`~console.runtime.phases.PhaseTracker` keeps); it tracks nothing itself.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.runtime.phases import STEPS, RunPhase

SHORT = {
    RunPhase.CREATED: "created",
    RunPhase.PULLING: "pull",
    RunPhase.STARTING: "start",
    RunPhase.LOADING_WEIGHTS: "weights",
    RunPhase.KV_POOL: "KV pool",
    RunPhase.CUDA_GRAPHS: "graphs",
    RunPhase.READY: "ready",
}


def render_tracker(snap, pull_text: str = "") -> Text:
    """One or two lines: the steps (done / current / to come), elapsed time, stall and Docker state."""
    text = Text()
    if snap is None:
        text.append("No server running. ", style="bold")
        text.append("Fill the form, then F5 launches (Tab moves between fields).", style="dim")
        return text
    phase = snap.phase
    current = phase if phase in STEPS else None
    reached = max((s for s in STEPS if s <= phase), default=RunPhase.CREATED) if current is None else current
    for i, step in enumerate(STEPS):
        if i:
            text.append(" › ", style="dim")
        if step < reached or (step == reached and current is None):
            text.append(SHORT[step], style="green")
        elif step == current:
            text.append(SHORT[step], style="bold reverse" if step is not RunPhase.READY else "bold green reverse")
        else:
            text.append(SHORT[step], style="dim")
    text.append(f"  {snap.elapsed_s:5.1f}s")
    if phase is RunPhase.EXITED:
        code = snap.exit_code
        text.append(f"\nexited (code {code}{', OOM-killed' if snap.oom_killed else ''})", style="bold red")
    elif phase is RunPhase.UNHEALTHY:
        text.append("\nunhealthy: /health or /v1/models stopped answering", style="bold red")
    elif phase is RunPhase.READY:
        text.append(f"\nready at {snap.base_url} in {snap.time_to_ready_s:.1f}s", style="green")
    elif snap.detail or snap.progress:
        text.append(f"\n{snap.detail}", style="dim")
        if snap.progress:
            text.append(f"{' · ' if snap.detail else ''}{snap.progress}", style="cyan")
    if pull_text and phase <= RunPhase.PULLING:
        text.append(f"  {pull_text}", style="cyan")
    if snap.stalled_s is not None:
        text.append(f"  ⚠ no progress for {snap.stalled_s:.0f}s: stalled?", style="bold yellow")
    if snap.docker_error:
        text.append(f"\nDocker: {snap.docker_error}", style="bold yellow")
    return text


class PhaseSteps(Static):
    def show(self, snap, pull_text: str = "") -> None:
        self.update(render_tracker(snap, pull_text))

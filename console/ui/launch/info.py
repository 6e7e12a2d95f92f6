"""What the Launch area's side panel says (pure rendering): the watched container, the image
pull per layer, the capacity SGLang logged, diagnoses and the crash bundle; the docker run
preview with the problems that stop a launch."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from console.errors import ConsoleError

PULL_DONE = ("Pull complete", "Already exists", "Download complete")


def layer_line(p) -> Text:
    """``a1b2c3d4e5f6 ██████░░░░  60% Downloading`` — one image layer's pull."""
    width = 10
    frac = 1.0 if p.status.startswith(PULL_DONE) else (p.fraction or 0)
    filled = int(round(frac * width))
    line = Text(f"{p.layer[:12]} ")
    line.append("█" * filled, style="green")
    line.append("░" * (width - filled), style="dim")
    line.append(f" {frac:4.0%} {p.status}")
    return line


def home_short(path: str) -> str:
    """``~/…`` for a path under the home folder: a row shorter at 80 columns, and still a path a shell takes."""
    import os

    home = os.path.expanduser("~").rstrip("/")
    return "~" + path[len(home):] if home and home != "~" and path.startswith(home + "/") else path


def info_text(*, name: str | None, endpoint: tuple | None, drift: bool | None, profile: str,
              pull_layers: dict[str, Any], snap, form_drift: bool | None = None) -> Text:
    text = Text()
    if name:
        text.append(name, style="bold")
        if endpoint and endpoint[0]:
            text.append(f"  {endpoint[0]}")
        if form_drift:
            text.append("\n⚠ the form differs from the running server: shift+F5 replaces it", style="yellow")
        elif form_drift is False:
            text.append("\n✓ the form is what this server runs", style="dim")
        if drift:
            text.append(f"\n⚠ drift: running settings differ from profile {profile!r}", style="yellow")
    if pull_layers and (snap is None or snap.phase.label in ("created", "pulling")):
        for p in list(pull_layers.values())[-6:]:
            text.append("\n" if text else "")
            text.append(layer_line(p))
    check = snap.capacity_check if snap is not None else None
    if check is not None:  # the launch's plan against what the server logged
        text.append("\n" if text else "")
        text.append(check.summary, style="cyan" if check.within else "yellow")
    elif snap is not None and snap.capacity is not None and snap.capacity.max_total_num_tokens:
        cap = snap.capacity
        text.append("\n" if text else "")
        text.append(f"KV pool {cap.max_total_num_tokens:,} tokens", style="cyan")
        if cap.context_len:
            text.append(f" · context {cap.context_len:,}")
        if cap.max_running_requests:
            text.append(f" · ≤{cap.max_running_requests} requests")
    if snap is not None:
        # The bundle's path before the diagnoses: a long fix must never push it out of sight.
        if snap.bundle:
            text.append("\n" if text else "")
            text.append(f"crash bundle: {home_short(snap.bundle)}")
        for d in snap.diagnoses:
            text.append("\n" if text else "")
            text.append(f"✗ {d.title}", style="bold red")
            text.append(f"\n  fix: {d.fix}")
    return text


def preview_text(spec, spec_error: ConsoleError | None, errors: list[Any]) -> Text:
    text = Text()
    if spec_error is not None:
        text.append(spec_error.message, style="bold red")
        if spec_error.hint:
            text.append(f"\n→ {spec_error.hint}", style="red")
    elif errors:
        text.append(f"{len(errors)} setting(s) to fix before launching", style="bold red")
    if spec is not None:
        if text:
            text.append("\n\n")
        for w in spec.warnings:
            text.append(f"⚠ {w}\n", style="yellow")
        text.append(spec.docker_run(), style="")
    text.no_wrap = True  # one option per line, scrolled sideways rather than broken mid-word
    return text

"""What the CLI and the Launch pane both do: resolve values, check them, launch, report status.

The two front ends differ only in how they show progress; the rules (value
precedence, which problems stop a launch, drift, re-attach) live here once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from console.errors import ConsoleError
from console.engines.follow import scanner_for
from console.logs import docker_time
from console.logs.diagnosis import diagnose_exit
from console.logs.feed import LogHub
from console.logs.follow import Ended, LogChunk, LogFollower
from console.logs.scanner import diagnoses_of
from console.planner.capacity import Prediction
from console.runtime import bundle as B
from console.runtime.capacity import CapacityWatch
from console.runtime import profiles
from console.runtime.build import hashed, secret_keys
from console.runtime.lifecycle import ContainerInfo, LayerProgress, Runtime, api_key_of, info_from_attrs
from console.runtime.errors import explain
from console.runtime.monitor import Monitor
from console.runtime.phases import DEFAULT_STALL_S, PhaseTracker, RunPhase
from console.runtime.spec import LABEL_PLAN, LaunchSpec, settings_hash
from console.server.client import ServerClient
from console.settings import parse_value, resolve, validate
from console.settings.spec import BY_KEY

PLANNER = "planner"


@dataclass
class Values:
    """Resolved setting values with the source of each (default/profile/planner/env/cli/form)."""

    values: dict[str, Any]
    sources: dict[str, str]
    problems: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Any]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Any]:
        return [p for p in self.problems if not p.is_error]


def check(values: Mapping[str, Any]) -> list[Any]:
    """The declaration's validation (GPUS=none, no GPU request, is part of it)."""
    return validate(values)


def resolve_values(
    *,
    profile: str | None = None,
    planner: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Values:
    """default < profile < planner < env < cli, with problems from the declaration."""
    prof_values = profiles.load(profile).values if profile else {}
    res = resolve(os.environ if env is None else env, profile=prof_values, cli=cli)
    notes = list(res.notes)
    if planner:
        for key, raw in planner.items():
            if key not in BY_KEY or res.sources.get(key) not in ("default", "profile"):
                continue  # env and CLI still win over a recommendation
            try:
                value, _ = parse_value(BY_KEY[key], raw)
            except ValueError as exc:
                notes.append(f"planner value for {key} ignored: {exc}")
                continue
            res.values[key] = value
            res.sources[key] = PLANNER
    problems = list(res.problems) + check(res.values)
    own, own_sources, own_problems = engine_values(res.values, prof_values, os.environ if env is None else env,
                                                   cli or {}, notes)
    return Values(dict(res.values) | own, dict(res.sources) | own_sources, problems + own_problems, notes)


def engine_values(values: Mapping[str, Any], profile: Mapping[str, Any], env: Mapping[str, str],
                  cli: Mapping[str, Any], notes: list[str]) -> tuple[dict, dict, list]:
    """The engines' own settings (llama.cpp's N_GPU_LAYERS, vLLM's KV_CACHE_DTYPE…), declared in
    their packages: profile < env < CLI, parsed by the same rules as the common ones. Another
    engine's setting given on the command line is refused; in a profile or the environment it is
    left out with a note (a profile saved for llama.cpp, launched with --engine vllm)."""
    from console import engines
    from console.settings import Problem

    try:
        chosen = engines.get(values.get("engine") or None)
    except ConsoleError:
        return {}, {}, []  # the spec builder says which engines exist
    out: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[Any] = []
    for engine in engines.all_engines():
        for s in engine.settings:
            if s.key in BY_KEY:
                continue  # SGLang's own are in the common declaration
            for source, raw in (("cli", cli.get(s.key)), ("env", env.get(s.env)), ("profile", profile.get(s.key))):
                if raw is not None and raw != "":
                    break
            else:
                continue
            if engine is not chosen:
                if source == "cli":
                    problems.append(Problem(s.key, f"{s.cli_flag} is a {engine.label} setting, and this launch is "
                                                   f"{chosen.label}'s: add --engine {engine.name}, or drop it"))
                elif source == "profile":
                    notes.append(f"{s.key} left out: a {engine.label} setting, and this launch is {chosen.label}'s")
                continue
            try:
                value, note = parse_value(s, raw)
            except ValueError as exc:
                problems.append(Problem(s.key, str(exc)))
                continue
            low, high = s.minimum, s.maximum
            if (s.choices and value not in s.choices) or (low is not None and value < low) \
                    or (high is not None and value > high):
                problems.append(Problem(s.key, f"{s.env}={raw!r} is not allowed: use {s.allowed_text()}"))
                continue
            out[s.key] = value
            sources[s.key] = source
            if note:
                notes.append(note)
    return out, sources, problems


def profile_hash(name: str) -> str | None:
    """The settings hash the saved profile would launch with (env ignored), or None."""
    try:
        prof = profiles.load(name)
    except ConsoleError:
        return None
    values = resolve({}, profile=prof.values).values
    values |= engine_values(values, prof.values, {}, {}, [])[0]  # the engine's own settings hash too
    return settings_hash(hashed(values), secret_keys())


def drift(info: ContainerInfo) -> bool | None:
    """True when a console container's settings differ from its saved profile (None: no profile)."""
    expected = profile_hash(info.profile) if info.profile else None
    if expected is None or not info.settings_hash:
        return None
    return expected != info.settings_hash


def replay(runtime: Runtime, info: ContainerInfo, *, probe: bool = True, tracker: PhaseTracker | None = None,
           stall_after: float = DEFAULT_STALL_S, watch: CapacityWatch | None = None) -> PhaseTracker:
    """Rebuild a container's phase from the log of its current run (and one HTTP probe);
    ``watch`` (the launch's plan against the log) sees the same events.

    The log is read with Docker's timestamps: each phase is dated by its own line (not by
    whatever line ended the batch it came in). Reading stops at the ready line: no later line
    moves the tracker (only probes and the container's state do), and a server up for days
    has millions of lines after it. ``tracker``: one to bring up to date (a launch's, which
    holds the image pull), else a new one from the run's start.
    """
    started = docker_time.parse(info.started_at)
    if tracker is None:
        tracker = PhaseTracker(stall_after=stall_after, started_at=started or 0.0)
    if info.status not in ("created",):
        follower = LogFollower(info.id, client=runtime.client, follow=False, current_run=True, timestamps=True,
                               scanners=scanner_for)
        problems: list[Any] = []

        def on_item(item) -> None:
            if isinstance(item, LogChunk):
                for i, ev in item.events:
                    tracker.log_event(ev, item.time_of(i))
                    if watch is not None:
                        watch.feed(ev)
                if tracker.phase >= RunPhase.READY:
                    follower.stop()
            elif isinstance(item, Ended) and item.error is not None:
                problems.append(item.error)

        follower.run(on_item)
        if problems:  # the phase stays what the log showed so far: say why
            tracker.detail = f"log unreadable: {problems[0].message}"
    if info.running and probe and info.base_url:
        healthy, models_ok = _probe(info, runtime)
        tracker.probe(healthy, models_ok)
    if not info.running and info.status in ("exited", "dead"):
        tracker.exited(info.exit_code, info.oom_killed)
    return tracker


def _probe(info: ContainerInfo, runtime: Runtime) -> tuple[bool, bool]:
    try:
        key = api_key_of(runtime.client.api.inspect_container(info.id))
        with ServerClient(info.base_url or "", api_key=key, timeout=2.0) as client:
            if not client.health().ready:
                return False, False
            return True, bool(client.models())
    except Exception:
        return False, False


def status(
    runtime: Runtime, *, write_bundles: bool = True, only: Callable[[ContainerInfo], bool] | None = None
) -> list[dict[str, Any]]:
    """Every console container (``only``: those it accepts) with its phase, drift and (for
    crashed ones) a crash bundle. Filter here, not after: each row replays a log."""
    out = []
    for info in runtime.owned():
        if only is not None and not only(info):
            continue
        watch = CapacityWatch(Prediction.from_label(info.labels.get(LABEL_PLAN)))
        tracker = replay(runtime, info, watch=watch)
        row = info.to_dict()
        row.update(
            phase=tracker.phase.label,
            phase_detail=tracker.detail,
            time_to_ready_s=None if tracker.time_to_ready is None else round(tracker.time_to_ready, 2),
            drift=drift(info),
            crash_bundle=None,
            capacity_check=None if watch.check is None else watch.check.to_dict(),
        )
        crashed = info.status in ("exited", "dead") and ((info.exit_code or 0) != 0 or info.oom_killed)
        if crashed:
            lines, diagnoses = _tail(runtime, info)
            row["diagnoses"] = [B.diagnosis_dict(d) for d in diagnoses]
            path = B.bundle_path(info.name, info.id, info.finished_at)
            if write_bundles and not path.exists():  # it died while no console watched it
                attrs = runtime.client.api.inspect_container(info.id)
                B.write_bundle(attrs, lines, phases=tracker.to_dict(), diagnoses=diagnoses)
            row["crash_bundle"] = str(path) if path.exists() else None
        out.append(row)
    return out


def _tail(runtime: Runtime, info: ContainerInfo, n: int = 300) -> tuple[list[str], list[Any]]:
    """The last ``n`` lines of an exited container's log and what they and its exit state say."""
    lines: list[str] = []
    events: list[Any] = []

    def on_item(item) -> None:
        if isinstance(item, LogChunk):
            lines.extend(item.lines)
            events.extend(ev for _, ev in item.events)

    LogFollower(info.id, client=runtime.client, follow=False, tail=n, scanners=scanner_for).run(on_item)
    diagnoses = diagnoses_of(events)
    how = diagnose_exit(info.exit_code, info.oom_killed)
    if how is not None:
        diagnoses.append(how)
    return lines, diagnoses


def launch(runtime: Runtime, spec: LaunchSpec, on_progress: Callable[[LayerProgress], None] | None = None, *,
           replace: bool = False) -> ContainerInfo:
    """Pull if needed, create and start; the started container as the console describes it."""
    container = runtime.launch(spec, on_progress=on_progress, replace=replace)
    return info_from_attrs(container.attrs)


def monitor_for(runtime: Runtime, info: ContainerInfo, *, hub: LogHub | None = None,
                tracker: PhaseTracker | None = None, stall_after: float = DEFAULT_STALL_S, **kwargs) -> Monitor:
    """A Monitor of a container's current run: just launched (``tracker``: the launch's), just
    restarted, or found running (re-attach after a console restart). Its phases so far come
    from the run's log, each dated by its own line; ``hub``: the shared log feeds (the TUI's),
    else the monitor follows the run itself."""
    try:
        attrs = runtime.client.api.inspect_container(info.id)
    except Exception as exc:  # removed meanwhile, or the engine went away
        raise explain(exc) from exc
    tracker = replay(runtime, info, probe=False, tracker=tracker, stall_after=stall_after)
    return Monitor(runtime, info.id, base_url=info.base_url, api_key=api_key_of(attrs), stall_after=stall_after,
                   tracker=tracker, hub=hub, **kwargs)


def is_ready(row: Mapping[str, Any]) -> bool:
    return row.get("phase") == RunPhase.READY.label


__all__ = ["Values", "check", "drift", "info_from_attrs", "launch", "monitor_for", "replay", "resolve_values", "status"]

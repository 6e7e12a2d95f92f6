"""What the CLI and the Launch pane both do: resolve values, check them, launch, report status.

The two front ends differ only in how they show progress; the rules (value
precedence, which problems stop a launch, drift, re-attach) live here once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from console.errors import ConsoleError
from console.runtime import profiles
from console.runtime.lifecycle import ContainerInfo, Runtime, api_key_of, info_from_attrs
from console.runtime.phases import PhaseTracker, RunPhase
from console.runtime.spec import settings_hash

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
    from console.settings import validate

    return validate(values)


def resolve_values(
    *,
    profile: str | None = None,
    planner: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Values:
    """default < profile < planner < env < cli, with problems from the declaration."""
    from console.settings import parse_value, resolve
    from console.settings.spec import BY_KEY

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
    return Values(dict(res.values), dict(res.sources), problems, notes)


def profile_hash(name: str) -> str | None:
    """The settings hash the saved profile would launch with (env ignored), or None."""
    from console.settings import resolve

    from console.runtime.build import secret_keys

    try:
        prof = profiles.load(name)
    except ConsoleError:
        return None
    values = resolve({}, profile=prof.values).values
    return settings_hash(values, secret_keys())


def drift(info: ContainerInfo) -> bool | None:
    """True when a console container's settings differ from its saved profile (None: no profile)."""
    expected = profile_hash(info.profile) if info.profile else None
    if expected is None or not info.settings_hash:
        return None
    return expected != info.settings_hash


def replay(runtime: Runtime, info: ContainerInfo, *, probe: bool = True, watch=None) -> PhaseTracker:
    """Rebuild a container's phase from its log since it started (and one HTTP probe);
    ``watch`` (a :class:`console.runtime.capacity.CapacityWatch`) sees the same events.

    Reading stops at the ready line: no later log line moves the tracker (only probes and
    the container's state do), and a server up for days has millions of lines after it.
    """
    from console.logs.sglang import LogScanner

    from console.runtime.monitor import open_reader, parse_docker_time, split_timestamp

    started = parse_docker_time(info.started_at) or None
    tracker = PhaseTracker(started_at=started or 0.0)
    scanner = LogScanner()
    if info.status not in ("created",):
        reader = None
        try:
            reader = open_reader(runtime.client, info.id, follow=False, since=(started - 0.001) if started else None)
            for batch in reader:
                pairs = [split_timestamp(t) for t in batch.lines]
                at = parse_docker_time(pairs[-1][0]) if pairs else None
                for ev in scanner.feed([line for _, line in pairs]):
                    tracker.log_event(ev, at)
                    if watch is not None:
                        watch.feed(ev)
                if tracker.phase >= RunPhase.READY:
                    break
        except ConsoleError as exc:  # the phase stays what the log showed so far: say why
            tracker.detail = f"log unreadable: {exc.message}"
        finally:
            if reader is not None:
                reader.close()
    if info.running and probe and info.base_url:
        healthy, models_ok = _probe(info, runtime)
        tracker.probe(healthy, models_ok)
    if not info.running and info.status in ("exited", "dead"):
        tracker.exited(info.exit_code, info.oom_killed)
    return tracker


def _probe(info: ContainerInfo, runtime: Runtime) -> tuple[bool, bool]:
    from console.server.client import ServerClient

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
    from console.runtime import bundle as B

    out = []
    for info in runtime.owned():
        if only is not None and not only(info):
            continue
        from console.runtime.capacity import CapacityWatch
        from console.runtime.spec import LABEL_PLAN

        from console.planner.capacity import Prediction

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
            from console.logs.diagnosis import diagnose_lines

            lines = _tail(runtime, info.id)
            diagnoses = diagnose_lines(lines)
            row["diagnoses"] = [B.diagnosis_dict(d) for d in diagnoses]
            path = B.bundle_path(info.name, info.id, info.finished_at)
            if write_bundles and not path.exists():  # it died while no console watched it
                attrs = runtime.client.api.inspect_container(info.id)
                B.write_bundle(attrs, lines, phases=tracker.to_dict(), diagnoses=diagnoses)
            row["crash_bundle"] = str(path) if path.exists() else None
        out.append(row)
    return out


def _tail(runtime: Runtime, container_id: str, n: int = 300) -> list[str]:
    from console.runtime.monitor import open_reader

    lines: list[str] = []
    try:
        for batch in open_reader(runtime.client, container_id, follow=False, tail=n):
            lines += [t.partition(" ")[2] if t[:1].isdigit() else t for t in batch.lines]
    except ConsoleError:
        pass
    return lines


def monitor_for(runtime: Runtime, info: ContainerInfo, **kwargs):
    """A Monitor attached to an existing container (re-attach after a console restart)."""
    from console.runtime.monitor import Monitor

    attrs = runtime.client.api.inspect_container(info.id)
    return Monitor(runtime, info.id, base_url=info.base_url, api_key=api_key_of(attrs), **kwargs)


def is_ready(row: Mapping[str, Any]) -> bool:
    return row.get("phase") == RunPhase.READY.label


__all__ = ["Values", "check", "drift", "info_from_attrs", "monitor_for", "replay", "resolve_values", "status"]

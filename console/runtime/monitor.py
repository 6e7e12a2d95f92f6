"""Watching one container come up and run: logs + HTTP probes + container state → phases.

A :class:`Monitor` owns a log-following thread and a polling loop (run it in a
worker thread or the CLI's main thread). It survives the Docker daemon going
away: the state says so in words, and when the daemon answers again the
monitor re-attaches to the same container and resumes the log where it was
(docker's own timestamps mark the place). On exit it diagnoses the log and
writes a crash bundle.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from console.errors import ConsoleError
from console.runtime.errors import DockerUnavailable, explain
from console.runtime.phases import DEFAULT_STALL_S, PhaseTracker, RunPhase


@dataclass
class Snapshot:
    """What the monitor knows now (posted to the UI, printed by the CLI)."""

    container_id: str
    name: str
    phase: RunPhase
    detail: str
    elapsed_s: float
    time_to_ready_s: float | None
    stalled_s: float | None
    docker_error: str | None
    exit_code: int | None
    oom_killed: bool
    diagnoses: list[Any] = field(default_factory=list)
    capacity: Any = None
    capacity_check: Any = None  # console.planner.capacity.CapacityCheck: the launch's plan vs the log
    stats: Any = None
    bundle: str | None = None
    base_url: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # phases seen, seconds from start

    def to_dict(self) -> dict[str, Any]:
        from console.runtime.bundle import diagnosis_dict

        return {
            "container_id": self.container_id,
            "name": self.name,
            "phase": self.phase.label,
            "detail": self.detail,
            "elapsed_s": round(self.elapsed_s, 2),
            "time_to_ready_s": None if self.time_to_ready_s is None else round(self.time_to_ready_s, 2),
            "stalled_s": self.stalled_s,
            "docker_error": self.docker_error,
            "exit_code": self.exit_code,
            "oom_killed": self.oom_killed,
            "diagnoses": [diagnosis_dict(d) for d in self.diagnoses],
            "capacity": None if self.capacity is None else dataclasses.asdict(self.capacity),
            "capacity_check": None if self.capacity_check is None else self.capacity_check.to_dict(),
            "crash_bundle": self.bundle,
            "base_url": self.base_url,
            "history": self.history,
        }


def parse_docker_time(text: str) -> float | None:
    """``2026-11-26T11:30:00.123456789Z`` → epoch seconds (Docker's RFC 3339 with nanoseconds)."""
    if not text or text.startswith("0001-"):
        return None
    try:
        head, _, frac = text.rstrip("Z").partition(".")
        base = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
        return base + (float("0." + frac[:9]) if frac else 0.0)
    except ValueError:
        return None


def split_timestamp(text: str) -> tuple[str, str]:
    """``"2026-…Z line"`` (docker ``timestamps=1``) → (timestamp, line)."""
    ts, sep, line = text.partition(" ")
    return (ts, line) if sep and ts.endswith("Z") else ("", text)


def open_reader(client, container_id: str, *, follow: bool, since: float | None = None, tail: int | str = "all"):
    """The log parser's fast chunked reader, with docker timestamps to resume from."""
    from console.logs.docker_reader import DockerLogReader

    return DockerLogReader(container_id, client=client, follow=follow, since=since, tail=tail, timestamps=True)


class Monitor:
    def __init__(
        self,
        runtime,
        container_id: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        stall_after: float = DEFAULT_STALL_S,
        keep_lines: int = 2000,
        on_update: Callable[[Snapshot], None] | None = None,
        on_lines: Callable[[list[str]], None] | None = None,
        settings: dict[str, Any] | None = None,
        write_bundle: bool = True,
        started_at: float | None = None,
        tracker: PhaseTracker | None = None,
    ):
        from console.logs.sglang import LogScanner

        self.runtime = runtime
        self.container_id = container_id
        self.base_url = base_url
        self.api_key = api_key
        self.on_update = on_update
        self.on_lines = on_lines
        self.settings = settings
        self.write_bundle = write_bundle
        # A tracker from the launch carries the phases before the container existed (pulling).
        self.tracker = tracker or PhaseTracker(stall_after=stall_after, started_at=started_at or 0.0)
        self.lines: deque[str] = deque(maxlen=keep_lines)
        self.diagnoses: list[Any] = []
        self.capacity = None
        self.stats = None
        self.watch = None  # console.runtime.capacity.CapacityWatch, once the container's plan label is read
        self.bundle: str | None = None
        self.docker_error: str | None = None
        self.name = container_id[:12]
        self._scanner = LogScanner()
        self._lock = threading.RLock()
        self._last_ts: str = ""
        self._log_thread: threading.Thread | None = None
        self._reader = None
        self._since: float | None = None  # the container's start: earlier runs' lines are not ours
        self._log_done = threading.Event()
        self._log_failed: BaseException | None = None
        self._stop = threading.Event()
        self.stopping = False  # set when the operator asked for the stop: not a crash
        self._last_sent: tuple | None = None

    # -- log side -----------------------------------------------------------
    def _follow(self) -> None:
        since = parse_docker_time(self._last_ts) if self._last_ts else self._since
        try:
            self._reader = open_reader(self.runtime.client, self.container_id, follow=True, since=since)
            for batch in self._reader:
                if self._stop.is_set():
                    return
                pairs = [split_timestamp(t) for t in batch.lines]
                # Resuming with ``since`` repeats the lines of the last second: drop what was seen.
                fresh = [(ts, line) for ts, line in pairs if not self._last_ts or ts > self._last_ts]
                if fresh:
                    self._ingest(fresh)
        except Exception as exc:
            self._log_failed = exc
        finally:
            self._log_done.set()

    def _ingest(self, batch: list[tuple[str, str]]) -> None:
        from console.logs.sglang import BatchStats, Capacity, Failure

        lines = [line for _, line in batch]
        with self._lock:
            self._last_ts = batch[-1][0] or self._last_ts
            self.lines.extend(lines)
            events = self._scanner.feed(lines)
            changed = False
            # Events do not carry their line index; the batch's last timestamp is close enough
            # for phase timing (batches are a few ms of log).
            at = parse_docker_time(batch[-1][0])
            self.tracker.activity(at)
            for ev in events:
                if isinstance(ev, Failure):
                    if all(d.code != ev.diagnosis.code for d in self.diagnoses):
                        self.diagnoses.append(ev.diagnosis)
                        changed = True
                elif isinstance(ev, Capacity):
                    self.capacity = ev
                if self.watch is not None and self.watch.feed(ev):
                    changed = True
                elif isinstance(ev, BatchStats):
                    self.stats = ev
                changed = self.tracker.log_event(ev, at) or changed
        if self.on_lines:
            self.on_lines(lines)
        if changed:
            self._emit(force=True)

    def _read_exited_log(self) -> None:
        """The follow stream saw nothing (a container killed within milliseconds of starting,
        or a loaded machine where the stream lagged): read the stored log of this run once."""
        try:
            reader = open_reader(self.runtime.client, self.container_id, follow=False, since=self._since)
            pairs = [split_timestamp(t) for batch in reader for t in batch.lines]
        except Exception:
            return  # the bundle is still written, with what we have
        if pairs and not self.lines:
            self._ingest(pairs)

    def _start_follow(self) -> None:
        self._log_done.clear()
        self._log_failed = None
        self._log_thread = threading.Thread(target=self._follow, name=f"logs-{self.name}", daemon=True)
        self._log_thread.start()

    # -- probes ---------------------------------------------------------------
    def _probe(self) -> None:
        if not self.base_url:
            return
        from console.server.client import ServerClient

        healthy = models_ok = False
        try:
            with ServerClient(self.base_url, api_key=self.api_key, timeout=2.0) as client:
                healthy = client.health().ready
                if healthy:
                    models_ok = bool(client.models())
        except ConsoleError:
            pass
        with self._lock:
            if self.tracker.probe(healthy, models_ok):
                self._emit(force=True)

    # -- state ---------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        with self._lock:
            t = self.tracker
            stalled = t.stalled_for()
            return Snapshot(
                container_id=self.container_id,
                name=self.name,
                phase=t.phase,
                detail=t.detail,
                elapsed_s=t.elapsed,
                time_to_ready_s=t.time_to_ready,
                stalled_s=None if stalled is None else round(stalled, 1),
                docker_error=self.docker_error,
                exit_code=t.exit_code,
                oom_killed=t.oom_killed,
                diagnoses=list(self.diagnoses),
                capacity=self.capacity,
                capacity_check=self.watch.check if self.watch is not None else None,
                stats=self.stats,
                bundle=self.bundle,
                history=t.to_dict()["history"],
                base_url=self.base_url,
            )

    def _emit(self, force: bool = False) -> None:
        if not self.on_update:
            return
        snap = self.snapshot()
        key = (snap.phase, snap.detail, snap.docker_error, snap.stalled_s is not None, len(snap.diagnoses))
        if force or key != self._last_sent:
            self._last_sent = key
            self.on_update(snap)

    def stop(self) -> None:
        self._stop.set()
        reader = self._reader
        if reader is not None:
            reader.close()

    def _check_container(self):
        """Inspect; returns attrs, or None while Docker is unreachable."""
        try:
            attrs = self.runtime.client.api.inspect_container(self.container_id)
        except Exception as exc:
            if type(exc).__name__ == "NotFound":  # removed under us (docker rm, stop --remove)
                with self._lock:
                    self.tracker.exited(None, detail="the container was removed")
                self._emit(force=True)
                self._stop.set()
                return None
            err = explain(exc)
            if isinstance(err, DockerUnavailable):
                if self.docker_error is None:
                    self.docker_error = f"{err.message} — {err.hint}" if err.hint else err.message
                    self._emit(force=True)
                self.runtime.close()
                return None
            raise err from exc
        if self.docker_error is not None:  # the daemon is back: resume where the log left off
            self.docker_error = None
            self._emit(force=True)
        return attrs

    def run(self, *, until_ready: bool = False, timeout: float | None = None, poll: float = 0.3) -> Snapshot:
        """Watch until the container exits (or is ready, with ``until_ready``), or ``stop()``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        attrs = self._check_container()
        if attrs is not None:
            self.name = (attrs.get("Name") or "").lstrip("/") or self.name
            if self.watch is None:
                from console.runtime.capacity import CapacityWatch, prediction_of

                self.watch = CapacityWatch(prediction_of(attrs))
            started = parse_docker_time((attrs.get("State") or {}).get("StartedAt", ""))
            if started:
                self._since = started - 0.001  # only this run: a restart keeps the old run's lines
                if self.tracker.started_at > started + 1.0:  # re-attaching: time runs from the real start
                    self.tracker.started_at = started
                    self.tracker.history[0].at = started
            self._start_follow()
        next_probe = 0.0
        while not self._stop.is_set():
            if deadline is not None and time.monotonic() > deadline:
                break
            attrs = self._check_container()
            if attrs is not None:
                state = attrs.get("State") or {}
                if not state.get("Running") and state.get("Status") in ("exited", "dead"):
                    return self._finish(attrs)
                if self._log_done.is_set():
                    # Stream cut (daemon restart, proxy gone) while the container still runs.
                    self._start_follow()
                now = time.monotonic()
                if now >= next_probe and self.tracker.phase not in (RunPhase.EXITED,):
                    self._probe()
                    next_probe = now + (0.5 if self.tracker.phase < RunPhase.READY else 2.0)
            if until_ready and self.tracker.phase is RunPhase.READY:
                break
            self._emit()
            self._stop.wait(poll)
        return self.snapshot()

    def _finish(self, attrs: dict[str, Any]) -> Snapshot:
        # Let the log thread deliver the last lines (the stream ends when the container does).
        self._log_done.wait(3.0)
        if not self.lines:
            self._read_exited_log()
        state = attrs.get("State") or {}
        with self._lock:
            if not self.diagnoses:
                from console.logs.diagnosis import diagnose_lines

                self.diagnoses = diagnose_lines(list(self.lines))
            self.tracker.exited(state.get("ExitCode"), bool(state.get("OOMKilled")))
        crashed = (state.get("ExitCode") or 0) != 0 or bool(state.get("OOMKilled"))
        if self.write_bundle and crashed and not self.stopping:
            from console.runtime.bundle import write_bundle

            try:
                self.bundle = str(
                    write_bundle(
                        attrs,
                        list(self.lines),
                        phases=self.tracker.to_dict(),
                        diagnoses=self.diagnoses,
                        settings=self.settings,
                    )
                )
            except OSError as exc:
                self.bundle = None
                self.docker_error = f"could not write the crash bundle: {exc}"
        self._emit(force=True)
        return self.snapshot()

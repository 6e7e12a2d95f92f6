"""Watching one container come up and run: its log's events + HTTP probes + its state → phases.

A :class:`Monitor` subscribes to the container's log feed (:mod:`console.logs.feed`: the TUI
shares one per container; otherwise the monitor starts its own, of the current run) and runs
a polling loop (in a worker thread or the CLI's main thread) that inspects the container and
probes its HTTP endpoint. It survives the Docker daemon going away: the state says so in
words, and the feed resumes the log where it was once the daemon answers. It never parses a
line itself: the feed's scanner did. On exit it explains the exit and writes a crash bundle.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from console.engines.follow import scanner_for
from console.errors import ConsoleError
from console.logs import docker_time
from console.logs.diagnosis import diagnose_exit
from console.logs.events import BatchStats, Capacity, Failure
from console.logs.feed import LogFeed, LogHub
from console.logs.follow import Ended, FollowItem, LogChunk, LogFollower, RunStarted
from console.runtime import bundle as B
from console.runtime.capacity import CapacityWatch, prediction_of
from console.runtime.download import DownloadWatch
from console.runtime.engine import connect
from console.runtime.errors import DockerUnavailable, explain
from console.runtime.phases import DEFAULT_STALL_S, PhaseTracker, RunPhase
from console.server.client import ServerClient


DOWNLOAD_LOOK_S = 2.0  # how often the HF cache is measured while weights download


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
    progress: str | None = None  # within the phase: "3/8 shards, ~40 s left", "2.1 of 12.8 GiB downloaded"
    progress_step: tuple | None = None  # what counts as news in it (each shard, each tenth downloaded)

    def to_dict(self) -> dict[str, Any]:
        diagnosis_dict = B.diagnosis_dict
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
            "progress": self.progress,
            "history": self.history,
        }


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
        hub: LogHub | None = None,
    ):
        self.runtime = runtime
        self.container_id = container_id
        self.base_url = base_url
        self.api_key = api_key
        self.on_update = on_update
        self.on_lines = on_lines
        self.settings = settings
        self.write_bundle = write_bundle
        self.stall_after = stall_after
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
        # The log: the shared feed of this container (the TUI's hub), or our own follower of the current run.
        self.hub = hub
        self.feed: LogFeed | None = None if hub is not None else LogFeed(
            LogFollower(container_id, current_run=True, connect=connect, scanners=scanner_for), name=self.name)
        self._unsubscribe: Callable[[], None] | None = None
        self._run_at: float | None = None  # the watched run's start (Docker's StartedAt)
        self._in_run = False  # the feed has reached the watched run's lines
        self._log_ended = threading.Event()
        self._download: DownloadWatch | None = None  # the model's folder in the mounted HF cache
        self._next_download_look = 0.0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self.stopping = False  # set when the operator asked for the stop: not a crash
        self._last_sent: tuple | None = None

    # -- log side (called in the feed's thread) --------------------------------
    def _on_item(self, item: FollowItem) -> None:
        if isinstance(item, LogChunk):
            if self._in_run:
                self._ingest(item)
        elif isinstance(item, RunStarted):
            at = item.time
            if self._run_at is not None and at is not None and at < self._run_at - 1e-6:
                return  # an earlier run's marker (the shared feed's history)
            with self._lock:
                later = at is not None and self._run_at is not None and at > self._run_at + 1e-6
                if self._in_run and later:  # restarted while watched: a new run, its own phases
                    self.tracker = PhaseTracker(stall_after=self.stall_after, started_at=at or 0.0)
                    self.diagnoses, self.capacity, self.stats = [], None, None
                self._in_run = True
                self._run_at = at if at is not None else self._run_at
            if item.events:  # the new run's first lines, published before the marker
                self._ingest(LogChunk([], item.events, at=time.time()))
            self._emit(force=True)
        elif isinstance(item, Ended):
            self._log_ended.set()

    def _ingest(self, chunk: LogChunk) -> None:
        lines = chunk.lines
        changed = False
        with self._lock:
            self.lines.extend(lines)
            self.tracker.activity(chunk.at)
            for i, ev in chunk.events:
                if isinstance(ev, Failure):
                    if all(d.code != ev.diagnosis.code for d in self.diagnoses):
                        self.diagnoses.append(ev.diagnosis)
                        changed = True
                elif isinstance(ev, Capacity):
                    self.capacity = ev
                elif isinstance(ev, BatchStats):
                    self.stats = ev
                if self.watch is not None and self.watch.feed(ev):
                    changed = True
                changed = self.tracker.log_event(ev, chunk.time_of(i)) or changed
        if self.on_lines and lines:
            self.on_lines(lines)
        if changed:
            self._emit(force=True)

    def _follow(self) -> None:
        """Subscribe once; start (or resume) the feed whenever it is not running."""
        if self._unsubscribe is None:
            if self.hub is not None:
                self.feed, self._unsubscribe = self.hub.subscribe(self.container_id, self._on_item)
            else:
                self._unsubscribe = self.feed.subscribe(self._on_item)
        self._log_ended.clear()
        self.feed.start()

    # -- probes ---------------------------------------------------------------
    def _probe(self) -> None:
        if not self.base_url:
            return
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
                progress=None if t.progress is None else t.progress.text(),
                progress_step=None if t.progress is None else t.progress.step(),
            )

    def _emit(self, force: bool = False) -> None:
        if not self.on_update:
            return
        snap = self.snapshot()
        key = (snap.phase, snap.detail, snap.docker_error, snap.stalled_s is not None, len(snap.diagnoses),
               snap.progress_step)
        if force or key != self._last_sent:
            self._last_sent = key
            self.on_update(snap)

    def stop(self) -> None:
        """Stop watching (the feed stops too when nothing else follows it)."""
        self._stop.set()
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

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
                self.watch = CapacityWatch(prediction_of(attrs))
            self._download = DownloadWatch.for_container(attrs)
            started = docker_time.parse((attrs.get("State") or {}).get("StartedAt", ""))
            if started:
                self._run_at = started  # only this run: a restart keeps the old run's lines
                if self.tracker.started_at > started + 1.0:  # re-attaching: time runs from the real start
                    self.tracker.started_at = started
                    self.tracker.history[0].at = started
        self._follow()
        next_probe = 0.0
        try:
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() > deadline:
                    break
                attrs = self._check_container()
                if attrs is not None:
                    state = attrs.get("State") or {}
                    if not state.get("Running") and state.get("Status") in ("exited", "dead"):
                        return self._finish(attrs)
                    if self._log_ended.is_set() and self.feed is not None and not self.feed.running:
                        self._follow()  # the log ended while the container runs (no engine at its start)
                    now = time.monotonic()
                    self._look_at_download(now)
                    if now >= next_probe and self.tracker.phase not in (RunPhase.EXITED,):
                        self._probe()
                        next_probe = now + (0.5 if self.tracker.phase < RunPhase.READY else 2.0)
                if until_ready and self.tracker.phase is RunPhase.READY:
                    break
                self._emit()
                self._stop.wait(poll)
        finally:
            if self._stop.is_set():
                self.stop()
        return self.snapshot()

    def _look_at_download(self, now: float) -> None:
        """While the weights load and no shard has been counted yet, how much of the checkpoint
        is in the cache (every DOWNLOAD_LOOK_S; the download itself logs nothing)."""
        watch = self._download
        if watch is None or now < self._next_download_look:
            return
        self._next_download_look = now + DOWNLOAD_LOOK_S
        tracker = self.tracker
        if tracker.phase is not RunPhase.LOADING_WEIGHTS or (tracker.progress and tracker.progress.what == "shards"):
            return
        done = watch.sample()
        if done and done < watch.total_bytes:
            with self._lock:
                moved = self.tracker.measure("downloaded", done, watch.total_bytes)
            if moved:
                self._emit(force=True)

    def _finish(self, attrs: dict[str, Any]) -> Snapshot:
        # Let the feed deliver the last lines (the follower reads the stored log to its end).
        self._log_ended.wait(3.0)
        state = attrs.get("State") or {}
        code, oom = state.get("ExitCode"), bool(state.get("OOMKilled"))
        with self._lock:
            how = None if self.stopping else diagnose_exit(code, oom)
            if how is not None and all(d.code != how.code for d in self.diagnoses):
                self.diagnoses.append(how)
            self.tracker.exited(code, oom)
        crashed = (code or 0) != 0 or oom
        if self.write_bundle and crashed and not self.stopping:
            try:
                self.bundle = str(B.write_bundle(attrs, list(self.lines), phases=self.tracker.to_dict(),
                                                 diagnoses=self.diagnoses, settings=self.settings))
            except OSError as exc:
                self.bundle = None
                self.docker_error = f"could not write the crash bundle: {exc}"
        self._emit(force=True)
        return self.snapshot()

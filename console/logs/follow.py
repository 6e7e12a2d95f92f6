"""Follow one container's log: resume, backoff, exactly once, run boundaries, one scan.

:class:`LogFollower` is the console's only loop over a container's log. It survives the
Docker Engine going away (it says so, waits by :data:`RETRY`, and resumes after the last line
read: :mod:`console.logs.resume`), a stream cut while the engine stays up, and the container
restarting (the rest of the old run is read, then a :class:`RunStarted` marker, then the new
run). Each line is scanned once, by the engine's :class:`~console.logs.scanner.Scanner`, in
the reading thread; what it publishes is plain data:

* :class:`LogChunk` — lines in order, with the events found in them (each with its line);
* :class:`RunStarted` — the lines after it belong to a run that started then;
* :class:`Retrying` / :class:`Resumed` — the engine went away / answers again;
* :class:`Ended` — the log is complete (the container exited: :class:`ContainerExit`), was
  read to its end (``follow=False``), or an error ended it.

Run it in a thread (:class:`console.logs.feed.LogFeed` does, and fans it out); ``stop()``
from any thread ends it promptly. :class:`LogFile` publishes a saved log the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.logs import docker_time
from console.logs.diagnosis import diagnose_exit
from console.logs.docker_reader import (
    STDOUT,
    ContainerGone,
    DockerLogReader,
    EngineUnavailable,
    LogReaderError,
    engine_error,
    read_file_batches,
)
from console.logs.events import Diagnosis, Event
from console.logs.resume import Resume
from console.logs.scanner import Scanner, engine_of


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between tries while something the console follows is away: the Docker
    Engine for logs and container events (one policy for every reconnect loop)."""

    delays: tuple[int, ...] = (1, 2, 4, 8, 15, 30)  # seconds, after 1, 2, 3 … failures in a row

    def delay(self, failures: int) -> int:
        return self.delays[min(max(failures - 1, 0), len(self.delays) - 1)]

    def wait(self, failures: int, stop: threading.Event, tick: Callable[[int], None] | None = None) -> bool:
        """Wait out the delay for ``failures``, calling ``tick(seconds left)`` each second.
        True when ``stop`` was set meanwhile (the caller gives up)."""
        for left in range(self.delay(failures), 0, -1):
            if tick is not None:
                tick(left)
            if stop.wait(1.0):
                return True
        return stop.is_set()


RETRY = RetryPolicy()


# ── what a follower publishes ─────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Lines read, in order, and the events the scanner found in them."""

    lines: list[str]
    events: list[tuple[int, Event]] = field(default_factory=list)  # (index in lines, event)
    stream: int = STDOUT  # docker_reader.STDOUT / STDERR / TTY, when all lines share it
    stamps: list[str] | None = None  # Docker's time of each line, when read with timestamps
    at: float = 0.0  # wall time the chunk was read
    runs: list[tuple[int, int]] | None = None  # (stream, line count) in order, when streams mix

    def streams(self) -> list[int]:
        """The stream of each line."""
        if self.runs is None:
            return [self.stream] * len(self.lines)
        return [st for st, n in self.runs for _ in range(n)]

    def time_of(self, index: int) -> float:
        """When line ``index`` was logged: its Docker stamp, else when it was read."""
        if self.stamps is not None:
            t = docker_time.parse(self.stamps[index])
            if t is not None:
                return t
        return self.at


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The lines after this marker belong to a run of the container that started at ``started_at``
    (Docker's ``State.StartedAt``); ``restart``: an earlier run's lines came before it.

    Docker's followed stream runs on a little into the next run before it ends, so a restart
    noticed while following may find the new run's first lines already published: the last
    ``carried`` lines before this marker belong to the new run, and ``events`` are theirs
    (indices into those lines), scanned afresh.
    """

    started_at: str
    restart: bool
    carried: int = 0
    events: list[tuple[int, Event]] = field(default_factory=list)

    @property
    def time(self) -> float | None:
        return docker_time.parse(self.started_at)


@dataclass(frozen=True, slots=True)
class Retrying:
    seconds: int  # until the next try
    reason: str  # "engine unreachable" / "log stream interrupted"


@dataclass(frozen=True, slots=True)
class Resumed:
    """The engine answers again: following from where it was left."""


@dataclass(frozen=True, slots=True)
class ContainerExit:
    exit_code: int | None
    oom_killed: bool
    finished_at: str
    diagnosis: Diagnosis | None  # what the exit state alone says (SIGKILL, the OOM killer)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "ContainerExit":
        code, oom = state.get("ExitCode"), bool(state.get("OOMKilled"))
        return cls(code, oom, state.get("FinishedAt") or "", diagnose_exit(code, oom))

    def describe(self) -> str:
        """``exited (code 137: killed — SIGKILL or the OOM killer)``."""
        if self.oom_killed:
            return f"exited (code {self.exit_code}: OOM-killed)"
        if self.exit_code == 137:
            return "exited (code 137: killed — SIGKILL or the OOM killer)"
        if self.exit_code == 143:
            return "exited (code 143: stopped — SIGTERM)"
        return f"exited (code {self.exit_code})"


@dataclass(frozen=True, slots=True)
class Ended:
    error: LogReaderError | OSError | None = None  # what ended it, None for a complete log
    exit: ContainerExit | None = None  # the container exited (a followed log)


FollowItem = LogChunk | RunStarted | Retrying | Resumed | Ended
Publish = Callable[[FollowItem], None]


def _state(info: dict[str, Any] | None) -> dict[str, Any]:
    return (info or {}).get("State") or {}


def _started(info: dict[str, Any] | None) -> str | None:
    started = _state(info).get("StartedAt") or ""
    return started if docker_time.instant(started) is not None else None


# A process may write well before dockerd stamps its StartedAt (~10 ms later, 0.4 s on a busy
# box), while an old run's lines are all stored before its FinishedAt (dockerd waits for the
# log copier before it marks the container stopped). Where the previous FinishedAt is gone
# (an exited container keeps only its last run's), the boundary goes this far before the start.
START_SLACK_NS = 1_000_000_000


def _boundary(info: dict[str, Any]) -> str | None:
    """The Docker time from which lines belong to the current run (earlier runs' lines are all
    before it), or None when there was no earlier run. A running container still shows its
    previous run's FinishedAt: the split is exact there."""
    state = _state(info)
    started = docker_time.instant(state.get("StartedAt") or "")
    finished = docker_time.instant(state.get("FinishedAt") or "")
    assert started is not None
    if finished is None:
        return None  # never stopped: one run only
    if state.get("Running"):
        if finished >= started:
            return None
        return docker_time.stamp_of(*docker_time.shifted(finished, 1))
    return docker_time.stamp_of(*docker_time.shifted(started, -START_SLACK_NS))


def _before(stamp: str) -> str:
    """``until`` that stops just before ``stamp`` (Docker's ``until`` includes its instant)."""
    t = docker_time.instant(stamp)
    assert t is not None
    return docker_time.param(*docker_time.shifted(t, -1))


def _param_instant(since: Any) -> tuple[int, int] | None:
    """A ``since`` as given (datetime, seconds, Docker time, "secs.frac") → (seconds, nanos)."""
    text = docker_time.since_param(since)
    if text is None:
        return None
    secs, _, frac = text.partition(".")
    try:
        return int(secs), int((frac + "000000000")[:9] or 0)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Read:
    since: Any = None
    until: Any = None
    tail: int | str = "all"
    follow: bool = False


@dataclass(frozen=True, slots=True)
class _Mark:
    started_at: str
    carried: list[str] = field(default_factory=list)  # new-run lines already published


class LogFollower:
    """Follow (or read once) one container's log; publish :data:`FollowItem` objects in order.

    ``tail``/``since`` choose where the log starts (``tail="all"`` with no ``since``: the
    whole log, earlier runs first, then a :class:`RunStarted` marker); ``current_run`` starts
    at the current run instead. ``timestamps`` reads Docker's stamp of every line (exact event
    times for ``status``; costs a little per line, so the live views do without). ``client``: a
    Docker SDK client, or ``connect``: how to make one when the run starts (the runtime's pinned
    :func:`console.runtime.engine.connect`; this package depends on the runtime for nothing).
    ``hold``: called with each ``docker inspect`` of the container, what it returns is kept
    while following (the console's scrubber learns the container's secrets that way).
    ``engine``: whose log format it is; None reads the container's ``engine`` label
    (:data:`~console.logs.scanner.ENGINE_LABEL`) at the first inspect. ``scanners`` (required:
    this package knows no engine): engine name, or None for a container without the label → a
    fresh scanner (``console.engines.follow.scanner_for``, handed in by the runtime, the CLI and
    the UI).
    """

    def __init__(
        self,
        container_id: str,
        *,
        scanners: Callable[[str | None], Scanner],
        client: Any = None,
        follow: bool = True,
        tail: int | str = "all",
        since: Any = None,
        current_run: bool = False,
        timestamps: bool = False,
        engine: str | None = None,
        retry: RetryPolicy = RETRY,
        connect: Callable[[], Any] | None = None,
        hold: Callable[[dict], Any] | None = None,
    ) -> None:
        self.container_id = container_id
        self.follow = follow
        self.tail = tail
        self.since = since
        self.current_run = current_run
        self.timestamps = timestamps
        self._scanners = scanners
        self._engine_from_label = engine is None
        self.engine = engine  # None until the label is read (or there is none: the scanners' default)
        self.retry = retry
        self._client = client
        self._connect = connect
        self._hold = hold
        self._held: Any = None  # what ``hold`` returned for the last inspect
        self._scanner: Scanner = self._scanners(self.engine)
        self._resume = Resume()
        self._run: str | None = None  # StartedAt of the run the last lines belong to
        self._pending: str | None = None  # a run whose marker is due after the lines before it
        self._delivered = False  # lines were published (a marker after them separates runs)
        self._stop = threading.Event()
        self._reader: DockerLogReader | None = None
        self._publish: Publish = lambda item: None

    # ── public ──────────────────────────────────────────────────────────────
    def stop(self) -> None:
        """End :meth:`run` promptly; safe from any thread (a publish callback included)."""
        self._stop.set()
        reader = self._reader
        if reader is not None:
            reader.close()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self, publish: Publish) -> None:
        """Read until the log ends, an error ends it, or :meth:`stop`; the last item published is
        :class:`Ended` (unless stopped). May be called again after it returned by itself: it
        resumes after the last line read (a container restarted meanwhile: its new run follows).
        A stop is for good, even one that came before the run began."""
        self._publish = publish
        problem: LogReaderError | None = None
        exited: ContainerExit | None = None
        try:
            if self._client is None:
                if self._connect is None:
                    raise EngineUnavailable("No way to reach the Docker Engine was given.",
                                            "Pass the runtime's client or its connect.")
                self._client = self._connect()
        except Exception as exc:  # noqa: BLE001 - connect says why in words
            publish(Ended(engine_error(exc, self.container_id)))
            return
        failures = 0  # tries in a row that read nothing
        retrying = False  # the engine was lost: say so when it answers again
        reason = ""
        while not self.stopped:
            info, problem = self._inspect()
            if problem is not None:
                if isinstance(problem, ContainerGone) or not retrying:
                    break  # no engine at the start is reported, not waited for
                failures += 1
                reason = "engine unreachable"
            else:
                if retrying:
                    retrying = False
                    publish(Resumed())
                got, problem = self._read(info)
                if self.stopped:
                    return
                if not self.follow or isinstance(problem, ContainerGone):
                    break
                # The stream ended: did the container stop (the log is complete), or was the
                # engine lost (stopped, restarted, its socket cut)?
                info, lost = self._inspect()
                if isinstance(lost, ContainerGone):
                    problem = lost
                    break
                failures = 0 if got else failures + 1
                if lost is None:
                    state = _state(info)
                    running = bool(state.get("Running"))
                    if problem is None and not running:
                        exited = ContainerExit.from_state(state)
                        break
                    if problem is not None and failures >= 2:
                        break  # the engine answers but will not give this log: not an outage
                    if got or not running or _started(info) != self._run:
                        continue  # cut or restarted: follow again at once, or read the rest
                    reason = "log stream interrupted"
                else:
                    problem = lost
                    reason = "engine unreachable"
            retrying = True
            if self.retry.wait(failures, self._stop, lambda left: publish(Retrying(left, reason))):
                return
        if not self.stopped:
            publish(Ended(problem, exited))

    # ── internals ───────────────────────────────────────────────────────────
    def _inspect(self) -> tuple[dict | None, LogReaderError | None]:
        try:
            info = getattr(self._client, "api", self._client).inspect_container(self.container_id)
        except Exception as exc:  # noqa: BLE001 - SDK/requests/socket errors vary
            return None, engine_error(exc, self.container_id)
        if self._hold is not None:
            self._held = self._hold(info)
        if self._engine_from_label:
            self._engine_from_label = False  # a container's engine does not change
            engine = engine_of(info)
            if engine != self.engine:
                self.engine, self._scanner = engine, self._scanners(engine)
        return info, None

    def _plan(self, info: dict) -> list[_Read | _Mark]:
        """The reads (and run markers) that continue the log from where it stands."""
        started = _started(info)
        follow = self.follow
        resume = self._resume
        if resume.lost_at is None or not resume.recent:  # nothing read yet: the original start
            if started is None:  # never started: nothing to split
                return [_Read(self.since, None, self.tail, follow)]
            edge = _boundary(info)
            if self.current_run:
                return [_Mark(started), _Read(edge, None, self.tail, follow)]
            if self.tail != "all":
                self._run = started  # the last lines may span runs: no marker to place
                return [_Read(self.since, None, self.tail, follow)]
            lo = _param_instant(self.since)
            if edge is None or (lo is not None and lo >= docker_time.instant(edge)):
                return [_Mark(started), _Read(self.since, None, "all", follow)]
            return [_Read(self.since, _before(edge), "all", False), _Mark(started), _Read(edge, None, "all", follow)]
        # Resuming after a cut: right after the last line read.
        tty = bool((info.get("Config") or {}).get("Tty"))
        since = None
        resume.stamps = []
        if not tty:  # TTY logs have no per-line timestamps to find our place by
            since = resume.locate(self._stamped_tail)
        if since is None:  # our lines are gone from the stored log (or a TTY): from when we lost it
            since = f"{resume.lost_at:.6f}"
        boundary = self._pending or (started if started is not None and started != self._run else None)
        if boundary is not None and started is not None:
            # A run began after our last line (a restart while away, or between two streams):
            # the rest of the old run, then its marker, then the new run from its start.
            edge = _boundary(info) or started
            carried = resume.read_after(edge)
            return [_Read(since, _before(edge), "all", False), _Mark(started, carried), _Read(edge, None, "all", follow)]
        return [_Read(since, None, "all", follow)]

    def _stamped_tail(self, n: int | str) -> list[str]:
        reader = DockerLogReader(self.container_id, client=self._client, tail=n, timestamps=True)
        return [line for batch in reader for line in batch.lines]

    def _read(self, info: dict) -> tuple[bool, LogReaderError | None]:
        """One connection's worth of log: (whether new lines came, the error that ended it)."""
        got = False
        carried: list[str] = []
        try:
            steps = self._plan(info)
        except LogReaderError as exc:  # the tail read that finds our place failed
            self._resume.lost_at = time.time()
            return got, exc
        marked = False  # the step before was a run marker: publish it as this read opens
        for step in steps:
            if self.stopped:
                break
            if isinstance(step, _Mark):
                # Due until published: a cut before the new run's read keeps it due.
                self._pending, marked, carried = step.started_at, True, step.carried
                continue
            reader = DockerLogReader(self.container_id, client=self._client, follow=step.follow, tail=step.tail,
                                     since=step.since, until=step.until, timestamps=self.timestamps)
            self._reader = reader
            try:
                if self.stopped:
                    break
                if marked:
                    self._mark(carried)
                    marked = False
                for group in reader.reads():  # one read's stdout/stderr runs: scanned at once
                    if self.stopped:
                        break
                    if self._deliver(group):
                        got = True
            except LogReaderError as exc:
                return got, exc
            finally:
                reader.close()
                self._resume.lost_at = time.time()
        return got, None

    def _mark(self, carried: list[str]) -> None:
        started, self._pending = self._pending, None
        if started == self._run:
            return  # announced already (a stream cut before this run's first line: planned again)
        self._run = started
        self._scanner = self._scanners(self.engine)  # a traceback does not span runs
        events = self._scanner.scan(carried) if carried else []
        self._publish(RunStarted(started or "", self._delivered, len(carried), events))

    def _deliver(self, group: list[Any]) -> bool:
        raw = group[0].lines if len(group) == 1 else [line for b in group for line in b.lines]
        runs = None if len(group) == 1 else [(b.stream, len(b.lines)) for b in group]
        stamps = None
        if self.timestamps:
            parts = [line.partition(" ") for line in raw]
            stamps = [p[0] for p in parts]
            raw = [p[2] for p in parts]
        lines = self._resume.take(raw)
        if not lines:
            return False
        dropped = len(raw) - len(lines)  # at the front: already shown before a cut
        if dropped:
            if stamps is not None:
                stamps = stamps[dropped:]
            if runs is not None:
                runs = _drop_front(runs, dropped)
        self._delivered = True
        stream = runs[0][0] if runs else group[0].stream
        if runs is not None and len(runs) == 1:
            runs = None
        self._publish(LogChunk(lines, self._scanner.scan(lines), stream, stamps, time.time(), runs))
        return True


def _drop_front(runs: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    out = []
    for st, k in runs:
        if n >= k:
            n -= k
            continue
        out.append((st, k - n))
        n = 0
    return out


class LogFile:
    """A saved log as the same items (post-mortem reading): chunks, then :class:`Ended`."""

    def __init__(self, path: str, *, scanners: Callable[[str | None], Scanner], engine: str | None = None) -> None:
        self.path = path
        self._scanner = scanners(engine)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self, publish: Publish) -> None:
        error: OSError | None = None
        try:
            for batch in read_file_batches(self.path, stop=self._stop):
                publish(LogChunk(batch.lines, self._scanner.scan(batch.lines), batch.stream, None, time.time()))
        except OSError as exc:
            error = exc
        if not self.stopped:
            publish(Ended(error))

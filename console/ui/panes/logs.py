"""Logs: the server's log, live or from a file, with phases, capacity, stats and diagnoses.

Entry points for other areas (the launch work drives this pane)::

    pane = app.pane("logs")                     # a LogsPane
    pane.follow_container(container_id)         # live; re-attach reads the whole log first
    pane.follow_container(cid, tail=1000, since=unix_ts, client=docker_client)
    pane.open_file("crash.log")                 # post-mortem reading of a saved log
    pane.feed_lines(["..."])                    # push lines you already have
    pane.set_prediction(max_total_num_tokens=1_050_000, context_len=131072)
    pane.stop()                                 # stop following (the container keeps running)

The pane posts (bubbling) ``LogsPane.PhaseReached(phase, time)``, ``LogsPane.Diagnosed(diagnosis)``,
``LogsPane.SourceEnded(source, error)``, ``LogsPane.SourceRetrying(source, seconds, reason)`` /
``LogsPane.SourceResumed(source)`` (a followed log lost the Docker Engine and picks up where it
left off once it is back) and ``LogsPane.Saved(path, count, error)``; ``pane.stats`` is the live
:class:`console.logs.stats.LogStats`.

Reading runs in a thread worker that hands lines to the pane through an inbox: at most one
``LinesArrived`` message is pending at a time and it carries everything read since, so a
flood arrives as a few large batches (k9s style) and the reader waits when the view lags
(memory stays bounded).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

from console.logs.buffer import DEFAULT_CAP, FilterError, LogBuffer
from console.logs.events import Diagnosis, Phase
from console.logs.severity import Severity
from console.logs.sglang import SGLangScanner as LogScanner
from console.logs.stats import LogStats
from console.ui.logs.view import LogView

TITLE = "Logs"
ORDER = 30
KEY = "3"
HELP = "Server log: follow/pause, filter (text or regex), errors only, next error, save; phases, capacity and diagnoses"

HIGH_WATER = 200_000  # lines waiting for the view before the reader pauses
VIEW_FPS = 12  # redraws per second while lines arrive at a readable pace
# ... and while they pour in faster than anyone reads: a backlog being caught up (reading a
# long log from the start), where every frame costs a whole screen (~25 ms) and none is read.
FLOOD_FPS = 2
FLOOD_LINES = 5_000  # lines since the last redraw that make it a flood
INGEST_HZ = 30  # times a second the view takes what the reader has queued
RETRY_DELAYS = (1, 2, 4, 8, 15, 30)  # seconds between tries while the Docker Engine is away


class _Inbox:
    """Lines read by the worker, not yet taken by the view."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []
        self.pending = False  # a LinesArrived for this inbox is queued
        self.stopped = threading.Event()
        self.reader: Any = None  # the DockerLogReader feeding it, once the worker made one
        self._cond = threading.Condition()

    def put(self, lines: list[str]) -> bool:
        """Add lines; True when the caller must post a LinesArrived (none is pending)."""
        with self._cond:
            while len(self.lines) > HIGH_WATER and not self.stopped.is_set():
                self._cond.wait(0.1)
            self.lines.extend(lines)
            if self.pending:
                return False
            self.pending = True
            return True

    def take(self) -> list[str]:
        with self._cond:
            lines, self.lines = self.lines, []
            self.pending = False
            self._cond.notify_all()
            return lines

    def stop(self) -> None:
        self.stopped.set()
        with self._cond:
            self._cond.notify_all()


class _Resume:
    """Where a followed log stands, so a new stream picks up right after the last line read.

    The live stream carries no timestamps (they would cost bytes and a parse per line on every
    flood): it only remembers its last lines. After a cut, :meth:`locate` finds those lines in
    the stored log by reading its tail with Docker's timestamps (fixed width, nanoseconds) and
    returns a ``since`` one second before the last of them — stdout and stderr are copied by
    separate goroutines, so a line stored after it may carry a slightly older time — plus how
    many lines of that resumed read were already shown. Docker's ``since`` filter is exact, so
    skipping that many leaves nothing missing and nothing twice, log rotation included.
    """

    KEEP = 32  # lines that must match, in order, to recognise where we were
    TAILS: tuple[int | str, ...] = (1024, 16384, 262144, "all")  # tail reads, growing

    def __init__(self) -> None:
        self.recent: deque[str] = deque(maxlen=self.KEEP)
        self.skip = 0  # lines at the start of the next stream that were already shown
        self.lost_at: float | None = None  # wall time the last stream ended

    def take(self, lines: list[str]) -> list[str]:
        """The new lines of a batch (cheap: the live path)."""
        if self.skip:
            if len(lines) <= self.skip:
                self.skip -= len(lines)
                return []
            lines, self.skip = lines[self.skip :], 0
        self.recent.extend(lines[-self.KEEP :])
        return lines

    def locate(self, read_tail: Callable[[int | str], list[str]]) -> str | None:
        """``since`` for the resumed read (and :attr:`skip` set), or None when the stored log no
        longer holds our last lines. ``read_tail(n)``: the last n lines, with timestamps."""
        seen = list(self.recent)
        self.skip = 0
        if not seen:
            return None
        for n in self.TAILS:
            stamped = read_tail(n)
            whole = n == "all" or len(stamped) < int(n)
            j = _find_last([line.partition(" ")[2] for line in stamped], seen)
            if j is None:
                if whole:
                    return None
                continue
            since_stamp, since = _second_before(stamped[j][:30])
            if stamped[0][:30] >= since_stamp and not whole:
                continue  # the resumed read may start before this tail: read a longer one
            self.skip = sum(1 for line in stamped[: j + 1] if line[:30] >= since_stamp)
            return since
        return None


def _find_last(lines: list[str], seen: list[str]) -> int | None:
    """Index in ``lines`` of the end of the latest run equal to ``seen``."""
    m, last = len(seen), seen[-1]
    for j in range(len(lines) - 1, m - 2, -1):
        if lines[j] == last and lines[j - m + 1 : j + 1] == seen:
            return j
    return None


def _second_before(stamp: str) -> tuple[str, str]:
    """``2026-11-26T14:39:54.059149808Z`` → the instant one second earlier, as a Docker
    timestamp (to compare) and as the API's ``since`` (unix seconds with nanoseconds). Exact
    integers: a float would lose the nanoseconds the filter compares."""
    import calendar

    head, _, frac = stamp.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S")) - 1
    nanos = (frac + "000000000")[:9]
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{nanos}Z", f"{secs}.{nanos}"


def _fmt_int(v: int | None) -> str:
    return "—" if v is None else f"{v:,}"


class LogsPane(Vertical):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("r", "toggle_regex", "Regex/text"),
        Binding("n", "next_error", "Next error"),
        Binding("N,p", "prev_error", "Prev error"),
        Binding("e", "problems_only", "Errors only"),
        Binding("f", "toggle_follow", "Follow/pause"),
        Binding("s", "save", "Save"),
        Binding("y", "copy_line", "Copy line"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    # ── messages ───────────────────────────────────────────────────────────
    class LinesArrived(Message):
        """Lines for the view: ``inbox`` from a reader worker, or ``lines`` directly."""

        def __init__(self, inbox: _Inbox | None = None, lines: list[str] | None = None) -> None:
            super().__init__()
            self.inbox = inbox
            self.lines = lines

    class SourceEnded(Message):
        """The followed container's log ended (it stopped), the file was read, or an error."""

        def __init__(self, source: str, error: Exception | None = None) -> None:
            super().__init__()
            self.source = source
            self.error = error

    class SourceRetrying(Message):
        """A followed log lost the Docker Engine; the next try comes in ``seconds``."""

        def __init__(self, source: str, seconds: int, reason: str) -> None:
            super().__init__()
            self.source = source
            self.seconds = seconds
            self.reason = reason

    class SourceResumed(Message):
        """The engine answers again: the log is followed from where it was left."""

        def __init__(self, source: str) -> None:
            super().__init__()
            self.source = source

    class Saved(Message):
        """A save finished: ``count`` lines written to ``path``, or ``error``."""

        def __init__(self, path: str, count: int, filtered: bool, error: OSError | None = None) -> None:
            super().__init__()
            self.path = path
            self.count = count
            self.filtered = filtered
            self.error = error

    class PhaseReached(Message):
        def __init__(self, phase: Phase, time: str | None) -> None:
            super().__init__()
            self.phase = phase
            self.time = time

    class Diagnosed(Message):
        def __init__(self, diagnosis: Diagnosis) -> None:
            super().__init__()
            self.diagnosis = diagnosis

    # ── set-up ─────────────────────────────────────────────────────────────
    def __init__(self, *, cap: int = DEFAULT_CAP, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.buffer = LogBuffer(cap)
        self.scanner = LogScanner()
        self.stats = LogStats()
        self.prediction: dict[str, int | float] = {}
        self.source = ""  # "container 3f2a9c…" / "file crash.log" / ""
        self.source_state = "no log source"  # following / ended / error …
        self.source_error = ""  # what went wrong, when source_state is "error"
        self._inbox: _Inbox | None = None
        self._retrying = False  # the followed log waits for the Docker Engine to come back
        self._saving: str | None = None  # the path a save worker is writing
        self._regex = False
        self._min_severity: Severity | None = None  # "e": errors+warnings only
        self._panel_dirty = True
        self._input_mode = "filter"  # or "save"
        self._view_timer_pending = False
        self._last_view_flush = 0.0
        self._lines_since_flush = 0
        self._flooding = False  # the last redraw covered a flood: pace the next one too
        self._closing = False
        self._last_take = 0.0
        self._unseen = 0  # lines that arrived while paused
        # What panel and status show now: an unchanged text is not drawn again, and the panel
        # asks for a layout only when its height (line count) changes — during a flood each
        # avoided layout is a whole-screen repaint saved.
        self._panel_shown: Text | None = None
        self._status_shown: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="logs-panel")
        yield LogView(self.buffer, id="logs-view")
        with Horizontal(id="logs-inputbar"):
            yield Input(id="logs-input", placeholder="filter (Enter: apply, Esc: close)")
            yield Static(id="logs-input-error")
        yield Static(id="logs-status")

    @property
    def view(self) -> LogView:
        return self.query_one("#logs-view", LogView)

    def on_mount(self) -> None:
        self.query_one("#logs-inputbar").display = False
        # is_mounted turns true only after this handler: draw panel and status once it has.
        self.call_after_refresh(self._refresh_panel, True)
        self.view.lines_changed()  # lines fed before mounting
        self.view.watch(self.view, "follow", lambda _: self._refresh_status(), init=False)

    def on_focus(self) -> None:
        self.view.focus()

    # ── data sources ───────────────────────────────────────────────────────
    def reset(self) -> None:
        """Forget the current log (buffer, parser state, stats)."""
        self.stop()
        self.buffer.clear()
        self.scanner = LogScanner()
        self.stats = LogStats()
        self._panel_dirty = True
        if self.is_mounted:
            self.view.cursor = None
            self.view.reset_render()

    def follow_container(
        self,
        container_id: str,
        *,
        client: Any = None,
        tail: int | str = "all",
        since: Any = None,
        follow: bool = True,
        clear: bool = True,
    ) -> None:
        """Show a container's log; with ``follow`` keep reading until it stops or :meth:`stop`."""
        if clear:
            self.reset()
        else:
            self.stop()
        self.source_error = ""
        self.source = f"container {container_id[:12]}"
        self.source_state = "following" if follow else "reading"
        inbox = self._inbox = _Inbox(self.source)
        self._read_container(inbox, container_id, client, tail, since, follow)
        self._refresh_status()

    def open_file(self, path: str, *, clear: bool = True) -> None:
        """Show a saved log file (post-mortem). The last ``cap`` lines are kept."""
        if clear:
            self.reset()
        else:
            self.stop()
        self.source_error = ""
        self.source = f"file {os.path.basename(path)}"
        self.source_state = "reading"
        inbox = self._inbox = _Inbox(self.source)
        self._read_file(inbox, path)
        self._refresh_status()

    def feed_lines(self, lines: list[str]) -> None:
        """Add lines synchronously (from the UI thread)."""
        self._ingest(lines)

    def stop(self) -> None:
        """Stop reading the current source (never touches the container itself)."""
        inbox, self._inbox = self._inbox, None
        if inbox is not None:
            inbox.stop()
            if inbox.reader is not None:
                inbox.reader.close()
            if self.source_state in ("following", "reading") or self._retrying:
                self.source_state = "stopped"
            self._retrying = False
        self._refresh_status()

    def set_prediction(self, **values: int | float | None) -> None:
        """The planner's prediction to show next to the measured capacity
        (keys: max_total_num_tokens, context_len, max_running_requests)."""
        self.prediction = {k: v for k, v in values.items() if v is not None}
        self._panel_dirty = True
        self._schedule_view()

    def quit_warning(self) -> str | None:
        return None  # following a log is safe to interrupt: the server keeps running

    def on_unmount(self) -> None:
        self._closing = True
        self.stop()

    # ── workers ────────────────────────────────────────────────────────────
    def _post_lines(self, inbox: _Inbox, lines: list[str]) -> None:
        if inbox.put(lines):
            self.post_message(self.LinesArrived(inbox))

    @work(thread=True, group="logs-source", name="follow container log")
    def _read_container(self, inbox: _Inbox, container_id: str, client: Any, tail: Any, since: Any, follow: bool) -> None:
        """Read (and follow) the log; when a followed stream is lost with the Docker Engine,
        retry with backoff and resume after the last line read (the Launch monitor does the
        same for its phases), until the container stops, is removed, or :meth:`stop`."""
        from console.logs.docker_reader import (
            ContainerGone,
            DockerLogReader,
            LogReaderError,
            engine_error,
        )
        from console.runtime.secret_files import known_secrets

        if client is None:
            try:
                import docker  # lazy: ~100 ms import

                client = docker.from_env()
            except Exception as exc:  # noqa: BLE001 - no socket, bad DOCKER_HOST…
                if not inbox.stopped.is_set():
                    self.post_message(self.SourceEnded(inbox.source, engine_error(exc, container_id)))
                return
        api = getattr(client, "api", client)

        def inspect() -> tuple[dict | None, LogReaderError | None]:
            try:
                return api.inspect_container(container_id), None
            except Exception as exc:  # noqa: BLE001 - SDK/requests/socket errors vary
                return None, engine_error(exc, container_id)

        resume = _Resume()
        failures = 0  # tries in a row that read nothing
        retrying = False  # the engine was lost: say so when it answers again
        problem: LogReaderError | None = None
        while not inbox.stopped.is_set():
            info, problem = inspect()
            if info:  # the container's secrets, read back from its files: masked while it is followed
                held = known_secrets(info)  # noqa: F841
            if problem is not None:
                if isinstance(problem, ContainerGone) or not retrying:
                    break  # no engine at the start is reported, not waited for
                failures += 1
                reason = "engine unreachable"
            else:
                if retrying:
                    retrying = False
                    self.post_message(self.SourceResumed(inbox.source))
                tty = bool((info or {}).get("Config", {}).get("Tty"))
                at_tail, at_since = tail, since
                if resume.lost_at is not None:  # a resumed stream: after the last line read
                    at_tail, at_since = "all", None
                    if resume.recent and not tty:  # TTY logs have no per-line timestamps
                        try:
                            at_since = resume.locate(
                                lambda n: [line for b in DockerLogReader(container_id, client=client, tail=n, timestamps=True) for line in b.lines]
                            )
                        except LogReaderError as exc:
                            at_since, problem = None, exc
                    if problem is None and at_since is None:
                        # Nothing read yet: the original start. Our lines gone from the stored
                        # log (or a TTY): from when the stream was lost.
                        at_tail, at_since = (tail, since) if not resume.recent else ("all", f"{resume.lost_at:.6f}")
                if problem is None:
                    reader = DockerLogReader(container_id, client=client, follow=follow, tail=at_tail, since=at_since)
                    got, problem = self._read_stream(inbox, reader, resume)
                else:
                    got = False
                if inbox.stopped.is_set():
                    return
                if not follow or isinstance(problem, ContainerGone):
                    break
                # The stream ended: did the container stop (the log is complete), or was the
                # engine lost (stopped, restarted, its socket cut)?
                info, lost = inspect()
                if isinstance(lost, ContainerGone):
                    problem = lost
                    break
                failures = 0 if got else failures + 1
                if lost is None:
                    running = bool(((info or {}).get("State") or {}).get("Running"))
                    if problem is None and not running:
                        break
                    if problem is not None and failures >= 2:
                        break  # the engine answers but will not give this log: not an outage
                    if got or not running:
                        continue  # cut: follow again at once, or read the rest of a stopped log
                    reason = "log stream interrupted"
                else:
                    problem = lost
                    reason = "engine unreachable"
            retrying = True
            delay = RETRY_DELAYS[min(max(failures - 1, 0), len(RETRY_DELAYS) - 1)]
            for left in range(delay, 0, -1):
                self.post_message(self.SourceRetrying(inbox.source, left, reason))
                if inbox.stopped.wait(1.0):
                    return
        if not inbox.stopped.is_set():
            self.post_message(self.SourceEnded(inbox.source, problem))

    def _read_stream(self, inbox: _Inbox, reader: Any, resume: _Resume) -> tuple[bool, Any]:
        """One connection's worth of log: (whether new lines came, the error that ended it)."""
        from console.logs.docker_reader import LogReaderError

        inbox.reader = reader  # stop() closes it from the UI thread
        got = False
        problem = None
        try:
            if inbox.stopped.is_set():
                return got, problem
            for batch in reader:
                if inbox.stopped.is_set():
                    break
                lines = resume.take(batch.lines)
                if lines:
                    got = True
                    self._post_lines(inbox, lines)
        except LogReaderError as exc:
            problem = exc
        finally:
            reader.close()
            resume.lost_at = time.time()
        return got, problem

    @work(thread=True, group="logs-source", name="read log file")
    def _read_file(self, inbox: _Inbox, path: str) -> None:
        from console.logs.docker_reader import read_file_batches

        error: Exception | None = None
        try:
            for batch in read_file_batches(path, stop=inbox.stopped):
                self._post_lines(inbox, batch.lines)
        except OSError as exc:
            error = exc
        if not inbox.stopped.is_set():
            self.post_message(self.SourceEnded(inbox.source, error))

    # ── ingest ─────────────────────────────────────────────────────────────
    @on(LinesArrived)
    def _on_lines(self, message: LinesArrived) -> None:
        message.stop()
        inbox = message.inbox
        if inbox is None:
            self._ingest(message.lines or [])
            return
        if inbox is not self._inbox:
            return  # from a source that was replaced
        # Take at most INGEST_HZ times a second: the inbox stays "pending" meanwhile, so the
        # reader posts no more messages and a flood arrives in a few large batches.
        wait = self._last_take + 1 / INGEST_HZ - time.monotonic()
        if wait > 0:
            self.set_timer(wait, lambda: self._take(inbox))
        else:
            self._take(inbox)

    def _take(self, inbox: _Inbox) -> None:
        if inbox is not self._inbox:
            return  # replaced or stopped (a source that ended was drained then)
        self._last_take = time.monotonic()
        self._ingest(inbox.take())

    def _ingest(self, lines: list[str]) -> None:
        if not lines:
            return
        self.buffer.append(lines)
        events = self.scanner.feed(lines)
        if events:
            known = len(self.stats.diagnoses)
            for phase in self.stats.apply(events):
                self.post_message(self.PhaseReached(phase, self.stats.phase_times.get(phase)))
            for diag in self.stats.diagnoses[known:]:
                self.post_message(self.Diagnosed(diag))
        self._panel_dirty = True
        self._lines_since_flush += len(lines)
        if self.is_mounted and not self.view.follow:
            self._unseen += len(lines)
        self._schedule_view()

    def _schedule_view(self) -> None:
        """Redraw view, panel and status together, at most VIEW_FPS (FLOOD_FPS) times a second."""
        if not self.is_mounted:
            return
        if self._view_timer_pending:
            if time.monotonic() - self._last_view_flush < 1.0:
                return
            self._flush_view()  # the loop was busy for a while: never let the view go stale
            return
        # The first ingest after a redraw holds only 1/INGEST_HZ s of lines, too few to tell a
        # flood at 60-150k lines/s: the previous interval decides as well.
        flooding = self._flooding or self._lines_since_flush > FLOOD_LINES
        fps = FLOOD_FPS if flooding else VIEW_FPS
        wait = self._last_view_flush + 1 / fps - time.monotonic()
        if wait <= 0:
            self._flush_view()
        else:
            self._view_timer_pending = True
            self.set_timer(wait, self._flush_view)

    def _flush_view(self) -> None:
        self._view_timer_pending = False
        self._last_view_flush = time.monotonic()
        self._flooding = self._lines_since_flush > FLOOD_LINES
        self._lines_since_flush = 0
        self.view.lines_changed()
        self._refresh_panel()

    @on(SourceEnded)
    def _on_source_ended(self, message: SourceEnded) -> None:
        if message.source != self.source or self._inbox is None:
            return
        self._ingest(self._inbox.take())  # lines whose take was deferred
        self._retrying = False
        if message.error is not None:
            self.source_state = "error"
            err = message.error
            text = getattr(err, "message", None) or (f"{err.strerror}: {err.filename}" if isinstance(err, OSError) else str(err))
            hint = getattr(err, "hint", None)
            self.source_error = text
            self.notify(text + (f"\n{hint}" if hint else ""), title="Logs", severity="error", timeout=10)
        else:
            self.source_state = "ended" if self.source.startswith("container") else "loaded"
        self._inbox = None
        self._panel_dirty = True
        self._schedule_view()

    @on(SourceRetrying)
    def _on_source_retrying(self, message: SourceRetrying) -> None:
        if message.source != self.source or self._inbox is None:
            return
        if not self._retrying:
            self._retrying = True
            self.notify(
                f"{message.reason.capitalize()}: the log will resume where it left off once Docker answers.",
                title="Logs", severity="warning", timeout=6,
            )
        self.source_state = f"{message.reason} — retrying in {message.seconds}s"
        self._refresh_status()

    @on(SourceResumed)
    def _on_source_resumed(self, message: SourceResumed) -> None:
        if message.source != self.source or self._inbox is None:
            return
        self._retrying = False
        self.source_state = "following"
        self.notify("Docker answers again: following the log from where it left off.", title="Logs", timeout=4)
        self._refresh_status()

    # ── actions ────────────────────────────────────────────────────────────
    def _show_input(self, mode: str, value: str, placeholder: str) -> None:
        self._input_mode = mode
        bar = self.query_one("#logs-inputbar")
        bar.display = True
        inp = self.query_one("#logs-input", Input)
        inp.placeholder = placeholder
        inp.value = value
        inp.cursor_position = len(value)
        self.query_one("#logs-input-error", Static).update("")
        inp.focus()

    def _hide_input(self) -> None:
        self.query_one("#logs-inputbar").display = False
        self.view.focus()

    def action_filter(self) -> None:
        kind = "regex" if self._regex else "text"
        current = self.buffer.filter.text if self.buffer.filter else ""
        self._show_input("filter", current, f"filter ({kind}; ctrl+r: regex/text, Enter: done, Esc: close)")

    def action_toggle_regex(self) -> None:
        self._regex = not self._regex
        text = self.buffer.filter.text if self.buffer.filter else ""
        if self._input_mode == "filter" and self.query_one("#logs-inputbar").display:
            text = self.query_one("#logs-input", Input).value
        self._apply_filter(text)
        self._refresh_status()

    def action_clear_filter(self) -> None:
        if self.query_one("#logs-inputbar").display:
            self._hide_input()
            return
        self._min_severity = None
        self._apply_filter("")

    def action_problems_only(self) -> None:
        self._min_severity = None if self._min_severity is not None else Severity.WARNING
        self._apply_filter(self.buffer.filter.text if self.buffer.filter else "")

    def action_toggle_follow(self) -> None:
        self.view.follow = not self.view.follow
        if self.view.follow:
            self.view.action_bottom()
        self._refresh_status()

    def _jump(self, forward: bool) -> None:
        view, buf = self.view, self.buffer
        if view.cursor is not None and (row := buf.row_of(view.cursor)) is not None:
            start = row
        elif forward:
            start = int(view.scroll_offset.y) - 1  # the first visible line counts
        else:
            start = int(view.scroll_offset.y) + view.scrollable_content_region.height
        found = buf.find_severity(start, forward=forward)
        if found is None:
            self.notify(f"No error {'below' if forward else 'above'}.", title="Logs", timeout=3)
            return
        view.cursor = buf.absolute(found)
        view.show_row(found)
        self._refresh_status()

    def action_next_error(self) -> None:
        self._jump(True)

    def action_prev_error(self) -> None:
        self._jump(False)

    def action_copy_line(self) -> None:
        """Copy the marked line (after n/p), else the last visible one, secrets masked (OSC 52)."""
        from console.ui.logs.view import display_text

        view, buf = self.view, self.buffer
        absolute = view.cursor
        if absolute is None or buf.line(absolute) is None:
            row = min(len(buf), int(view.scroll_offset.y) + view.scrollable_content_region.height) - 1
            if row < 0:
                self.notify("Nothing to copy.", title="Logs", timeout=3)
                return
            absolute = buf.absolute(row)
        text = display_text(buf.line(absolute) or "")
        from console.ui.clipboard import copy_text

        copy_text(self.app, text, "log line", title="Logs", preview=True)

    def action_save(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = self.source.split(" ", 1)[-1].replace("/", "_") or "log"
        default = os.path.join(os.getcwd(), f"gpt-oss-console-{name}-{stamp}.log")
        self._show_input("save", default, "save to file (Enter: write, Esc: cancel)")

    def _apply_filter(self, text: str) -> bool:
        err = self.query_one("#logs-input-error", Static)
        try:
            self.buffer.set_filter(text, regex=self._regex, min_severity=self._min_severity)
        except FilterError as exc:
            err.update(Text(str(exc), style="bold red"))
            return False
        err.update("")
        self.view.cursor = None
        self.view.reset_render()
        if not self.view.follow:
            self.view.scroll_to(y=0, animate=False)
        self._refresh_status()
        return True

    @on(Input.Changed, "#logs-input")
    def _on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._input_mode == "filter":
            self._apply_filter(event.value)

    @on(Input.Submitted, "#logs-input")
    def _on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._input_mode == "filter":
            if self._apply_filter(event.value):
                self._hide_input()
            return
        path = event.value.strip()
        if not path:
            return
        if self._saving is not None:
            self.query_one("#logs-input-error", Static).update(Text(f"still writing {self._saving}…", style="yellow"))
            return
        # Snapshot the rows now (a shallow copy: the strings are shared) so the log keeps
        # growing while a thread writes them: a slow or network home never stalls the UI.
        buf = self.buffer
        filtered = buf.filter is not None
        rows = [buf.lines[a - buf.dropped] for a in buf.matches] if filtered else list(buf.lines)
        self._saving = path
        self.query_one("#logs-input-error", Static).update(Text(f"saving {len(rows):,} lines…", style="dim"))
        self._save_rows(path, rows, filtered)

    @work(thread=True, group="logs-save", name="save log")
    def _save_rows(self, path: str, rows: list[str], filtered: bool) -> None:
        from console.private_file import write_private
        from console.settings.mask import scrub_lines

        def masked():  # the file gets what the screen shows of secrets: masks (a chunk at a time)
            for i in range(0, len(rows), 10_000):
                yield from (line + "\n" for line in scrub_lines(rows[i:i + 10_000]))

        try:
            write_private(os.path.expanduser(path), masked())
        except OSError as exc:
            self.post_message(self.Saved(path, 0, filtered, exc))
        else:
            self.post_message(self.Saved(path, len(rows), filtered))

    @on(Saved)
    def _on_saved(self, message: Saved) -> None:
        self._saving = None
        bar_open = self._input_mode == "save" and self.query_one("#logs-inputbar").display
        err = message.error
        if err is not None:
            text = f"cannot write: {err.strerror or err}"
            if bar_open:
                self.query_one("#logs-input-error", Static).update(Text(text, style="bold red"))
            else:
                self.notify(f"{text}\n{message.path}", title="Logs", severity="error", timeout=8)
            return
        what = "filtered lines" if message.filtered else "lines"
        self.notify(f"Saved {message.count:,} {what} to {message.path} (mode 0600)", title="Logs", timeout=5)
        if bar_open:
            self._hide_input()

    def key_ctrl_r(self) -> None:
        self.action_toggle_regex()

    # ── panel and status ───────────────────────────────────────────────────
    def _refresh_panel(self, force: bool = False) -> None:
        if not (self._panel_dirty or force) or not self.is_mounted:
            return
        self._panel_dirty = False
        text, old = self._panel_text(), self._panel_shown
        if old is None or text.plain != old.plain or text.spans != old.spans:
            layout = old is None or text.plain.count("\n") != old.plain.count("\n")
            self._panel_shown = text
            self.query_one("#logs-panel", Static).update(text, layout=layout)
        self._refresh_status()

    def _panel_text(self) -> Text:
        st = self.stats
        t = Text(no_wrap=True, overflow="ellipsis")
        phase = st.phase
        t.append("Phase ", style="dim")
        if phase is None:
            t.append("—")
        else:
            style = "bold green" if phase is Phase.READY else "bold"
            if st.diagnoses and phase is not Phase.READY:
                style = "bold red"
            t.append(phase.label, style=style)
            if st.weight_progress and phase is Phase.LOADING_WEIGHTS:
                d, n = st.weight_progress
                t.append(f" {d}/{n} shards")
            at = st.phase_times.get(phase)
            if at:
                t.append(f" at {at[11:]}", style="dim")
        if st.http is not None:
            t.append("  HTTP ", style="dim")
            t.append(st.http.url)
        t.append("\n")
        cap = st.capacity
        kv = cap.max_total_num_tokens if cap else (st.kv_pool.tokens if st.kv_pool else None)
        t.append("KV ", style="dim")
        t.append(f"{_fmt_int(kv)} tok")
        pred = self.prediction.get("max_total_num_tokens")
        if pred:
            t.append(" plan ", style="dim")
            t.append(f"{int(pred):,}")
            if kv:
                diff = (kv - pred) / pred * 100
                t.append(f" ({diff:+.0f}%)", style="green" if diff >= -5 else "yellow")
        if cap is not None:
            t.append("  ctx ", style="dim")
            t.append(_fmt_int(cap.context_len))
            t.append("  max req ", style="dim")
            t.append(_fmt_int(cap.max_running_requests))
        if st.weights is not None and st.weights.mem_usage_gb is not None:
            t.append("  weights ", style="dim")
            t.append(f"{st.weights.mem_usage_gb:.1f} GB")
            if st.weights.elapsed_s is not None:
                t.append(f" in {st.weights.elapsed_s:.0f} s")
        t.append("\n")
        latest = st.latest
        t.append("gen ", style="dim")
        t.append("—" if st.throughput is None else f"{st.throughput:,.0f} tok/s")
        if latest is not None:
            usage = latest.token_usage
            t.append("  usage ", style="dim")
            t.append("—" if usage is None else f"{usage * 100:.0f}%")
            if latest.swa_token_usage is not None:
                t.append(f" (swa {latest.swa_token_usage * 100:.0f}%)")
            t.append("  running ", style="dim")
            t.append(_fmt_int(latest.running_req))
            t.append("  queued ", style="dim")
            t.append(_fmt_int(latest.queue_req))
        if st.diagnoses:
            for d in st.diagnoses[:2]:
                t.append("\n✖ ", style="bold red")
                t.append(d.title, style="bold red")
                t.append(" → ", style="dim")
                t.append(d.fix)
            if len(st.diagnoses) > 2:
                t.append(f"\n  +{len(st.diagnoses) - 2} more", style="red")
        return t

    def _refresh_status(self) -> None:
        if not self.is_mounted or not self.is_attached or self._closing:
            return
        buf = self.buffer
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(self.source or "no log source", style="bold")
        if self.source_state == "error":
            t.append(f" error: {self.source_error}", style="bold red")
        elif self._retrying:
            t.append(f" {self.source_state}", style="bold yellow")
        elif self.source:
            t.append(f" {self.source_state}", style="dim")
        t.append(f"  {len(buf.lines):,} lines")
        if buf.dropped:
            t.append(f" (oldest {buf.dropped:,} dropped)", style="dim")
        if buf.filter is not None:
            t.append(f"  {buf.filter.describe()}: {len(buf.matches):,}", style="bold cyan")
        else:
            t.append(f"  filter: {'regex' if self._regex else 'text'}", style="dim")
        t.append("  ")
        if self.view.follow:
            self._unseen = 0
            t.append("FOLLOW", style="reverse green")
        else:
            t.append("PAUSED", style="reverse yellow")
            if self._unseen:
                t.append(f" +{self._unseen:,} new (f: follow)", style="yellow")
        old = self._status_shown
        if old is None or t.plain != old.plain or t.spans != old.spans:
            self._status_shown = t
            self.query_one("#logs-status", Static).update(t, layout=False)  # always one row


PANE = LogsPane

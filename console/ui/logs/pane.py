"""Logs: a server's log, live or from a file, with phases, capacity, load and diagnoses.

The pane reads nothing itself: it subscribes to a log feed (:mod:`console.logs.feed`) — the
app's shared one for a container (the Launch area's monitor reads the same), or a private one
for a saved file or a one-off read — and shows what the feed publishes: lines with the events
the feed's scanner found in them, run markers, outages and the end. Other areas reach it by
messages (``ContainerWatched``: follow this container; ``PlanChosen``: the planner's KV
prediction); the operator by keys (c: pick any running container, o: open a saved log).

The feed's thread hands items over through an :class:`~console.ui.logs.inbox.Inbox`: at most one
``LinesArrived`` message is pending and it carries everything since, so a flood arrives as a
few large batches and the feed waits when the view lags (memory stays bounded). It posts
``SourceEnded`` (bubbling) when the source ends and ``Saved`` when a save finished.
"""

from __future__ import annotations

import os
import time
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from console.engines.follow import scanner_for
from console.logs.buffer import DEFAULT_CAP, LogBuffer
from console.logs.feed import LogFeed, LogHub
from console.logs.follow import ContainerExit, Ended, LogChunk, LogFile, LogFollower, Resumed, Retrying, RunStarted
from console.logs.severity import Severity
from console.logs.stats import LogStats
from console.runtime.engine import connect
from console.runtime.secret_files import known_secrets
from console.ui.logs.actions import LogsActions
from console.ui.logs.inbox import Inbox
from console.ui.logs.input_bar import LogInputBar
from console.ui.logs.panel import panel_text
from console.ui.logs.view import FLOOD_REPAINT_S, LogView
from console.ui.messages import ContainerWatched, PlanChosen

VIEW_FPS = 12  # redraws per second while lines arrive at a readable pace
# ... and while they pour in faster than anyone reads: a backlog being caught up (reading a
# long log from the start), where every frame costs a whole screen (~25 ms) and none is read.
FLOOD_FPS = 1 / FLOOD_REPAINT_S  # the view's own flood pace (2): it then repaints in the pane's redraws
FLOOD_LINES = 5_000  # lines since the last redraw that make it a flood
INGEST_HZ = 30  # times a second the view takes what the feed has queued
EMPTY_HINT = "No log yet: launch a server (2 Launch, F5), c picks a running container, o opens a saved log."


class LogsPane(LogsActions, Vertical):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("r", "toggle_regex", "Regex/text"),
        Binding("n", "next_error", "Next error"),
        Binding("N,p", "prev_error", "Prev error"),
        Binding("e", "problems_only", "Errors only"),
        Binding("f", "toggle_follow", "Follow/pause"),
        Binding("s", "save", "Save"),
        Binding("y", "copy_line", "Copy line"),
        Binding("c", "pick_container", "Pick container"),
        Binding("o", "open_file", "Open file", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    class LinesArrived(Message):
        """The inbox has items for the view."""

        def __init__(self, inbox: Inbox) -> None:
            super().__init__()
            self.inbox = inbox

    class SourceEnded(Message):
        """The followed container's log ended (it stopped), the file was read, or an error."""

        def __init__(self, source: str, error: Exception | None = None) -> None:
            super().__init__()
            self.source = source
            self.error = error

    class Saved(Message):
        """A save finished: ``count`` lines written to ``path``, or ``error``."""

        def __init__(self, path: str, count: int, filtered: bool, error: OSError | None = None) -> None:
            super().__init__()
            self.path = path
            self.count = count
            self.filtered = filtered
            self.error = error

    class ContainersListed(Message):
        def __init__(self, rows: list[Any], error: Exception | None = None) -> None:
            super().__init__()
            self.rows = rows
            self.error = error

    def __init__(self, *, cap: int = DEFAULT_CAP, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.buffer = LogBuffer(cap)
        self.stats = LogStats()
        self.prediction: dict[str, int | float] = {}
        self.source = ""  # "container 3f2a9c…" / "file crash.log" / ""
        self.source_state = "no log source"  # following / reading / ended / loaded / error / stopped …
        self.source_error = ""  # what went wrong, when source_state is "error"
        self.exit: ContainerExit | None = None  # how the followed container ended
        self._inbox: Inbox | None = None
        self._feed: LogFeed | None = None
        self._own_hub: LogHub | None = None
        self._scanner = scanner_for()  # for lines pushed with feed_lines only
        self._retrying = False  # the followed log waits for the Docker Engine to come back
        self._saving: str | None = None  # the path a save worker is writing
        self._regex = False
        self._min_severity: Severity | None = None  # "e": errors+warnings only
        self._panel_dirty = True
        self._view_timer_pending = False
        self._last_view_flush = 0.0
        self._lines_since_flush = 0
        self._flooding = False  # the last redraw covered a flood: pace the next one too
        self._paced = False  # the next redraw is paced for a flood (the view need not pace itself)
        self._closing = False
        self._last_take = 0.0
        self._take_due: Inbox | None = None  # the inbox a take timer is set for
        # What panel and status show now: an unchanged text is not drawn again, and the panel
        # asks for a layout only when its height (line count) changes.
        self._panel_shown: Text | None = None
        self._status_shown: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="logs-panel")
        yield LogView(self.buffer, id="logs-view")
        yield LogInputBar(id="logs-inputbar")
        yield Static(id="logs-status")

    @property
    def view(self) -> LogView:
        return self.query_one("#logs-view", LogView)

    @property
    def input_bar(self) -> LogInputBar:
        return self.query_one(LogInputBar)

    def on_mount(self) -> None:
        # is_mounted turns true only after this handler: draw panel and status once it has.
        self.call_after_refresh(self._refresh_panel, True)
        self.view.lines_changed()  # lines fed before mounting
        self.watch(self.view, "follow", lambda _: self._refresh_status(), init=False)
        self.watch(self.view, "scroll_y", lambda _: self._refresh_status(), init=False)

    def on_focus(self) -> None:
        self.view.focus()

    # ── data sources ───────────────────────────────────────────────────────
    @property
    def hub(self) -> LogHub:
        """The app's shared feeds (``app.log_hub``); an app without one gets the pane's own."""
        hub = getattr(self.app, "log_hub", None)
        if hub is None:
            hub = self._own_hub = self._own_hub or LogHub(connect=connect, hold=known_secrets, scanners=scanner_for)
        return hub

    def reset(self) -> None:
        """Forget the current log (buffer, stats, how it ended)."""
        self.stop()
        self.buffer.clear()
        self.stats = LogStats()
        self.exit = None
        self._scanner = scanner_for()
        self._panel_dirty = True
        if self.is_mounted:
            self.view.cursor = None
            self.view.reset_render()

    def follow_container(self, container_id: str, *, tail: int | str = "all", since: Any = None,
                         follow: bool = True, clear: bool = True) -> None:
        """Show a container's log; with ``follow`` keep reading until it stops or :meth:`stop`.
        The whole log, followed, comes from the app's shared feed of that container."""
        if follow and tail == "all" and since is None:
            feed = None  # the hub's: taken in the worker (it may wait on a busy feed)
        else:
            follower = LogFollower(container_id, follow=follow, tail=tail, since=since, connect=connect,
                                   hold=known_secrets, scanners=scanner_for)  # the container's secrets masked while followed
            feed = LogFeed(follower, name=container_id[:12])
        self._open(f"container {container_id[:12]}", "following" if follow else "reading", clear,
                   feed, container_id)

    def open_file(self, path: str, *, clear: bool = True) -> None:
        """Show a saved log file (post-mortem). The last ``cap`` lines are kept."""
        feed = LogFeed(LogFile(path, scanners=scanner_for), name="file")
        self._open(f"file {os.path.basename(path)}", "reading", clear, feed, None)

    def _open(self, source: str, state: str, clear: bool, feed: LogFeed | None, container_id: str | None) -> None:
        if clear:
            self.reset()
        else:
            self.stop()
        self.source_error = ""
        self.source = source
        self.source_state = state
        self._inbox = Inbox(source, lambda inbox: self.post_message(self.LinesArrived(inbox)))
        self._subscribe(self._inbox, feed, container_id)
        self._refresh_status()

    @work(thread=True, group="logs-source", name="subscribe to a log feed")
    def _subscribe(self, inbox: Inbox, feed: LogFeed | None, container_id: str | None) -> None:
        if inbox.stopped.is_set():
            return
        if feed is None:
            feed, inbox.unsubscribe = self.hub.subscribe(container_id or "", inbox.put)
        else:
            feed.start()
            inbox.unsubscribe = feed.subscribe(inbox.put)
        self._feed = feed
        if inbox.stopped.is_set():
            inbox.unsubscribe()

    def feed_lines(self, lines: list[str]) -> None:
        """Add lines synchronously (from the UI thread)."""
        self._ingest(LogChunk(lines, self._scanner.scan(lines)))

    def stop(self) -> None:
        """Stop reading the current source (never touches the container itself)."""
        inbox, self._inbox = self._inbox, None
        self._feed = None
        if inbox is not None:
            inbox.stop()
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

    def on_plan_chosen(self, message: PlanChosen) -> None:
        if message.plan is not None:  # shown beside the pool the server logs
            self.set_prediction(max_total_num_tokens=message.plan.max_total_num_tokens,
                                context_len=message.values.get("max_model_len"))

    def on_container_watched(self, message: ContainerWatched) -> None:
        source = f"container {message.container_id[:12]}"
        if source == self.source and self._inbox is not None and self._feed is not None and not self._feed.closed:
            self._feed.start()  # the same container (restarted): its feed goes on, with a marker
            return
        self.follow_container(message.container_id)

    def quit_warning(self) -> str | None:
        return None  # following a log is safe to interrupt: the server keeps running

    def on_unmount(self) -> None:
        self._closing = True
        self.stop()
        if self._own_hub is not None:
            self._own_hub.close()

    # ── what the feed published ────────────────────────────────────────────
    @on(LinesArrived)
    def _on_lines(self, message: LinesArrived) -> None:
        message.stop()
        inbox = message.inbox
        if inbox is not self._inbox:
            return  # from a source that was replaced
        # Take at most INGEST_HZ times a second: the inbox stays "pending" meanwhile, so the
        # feed posts no more messages and a flood arrives in a few large batches.
        wait = self._last_take + 1 / INGEST_HZ - time.monotonic()
        if wait > 0 and not inbox.final:  # the end is shown at once: only lines are paced
            self._take_due = inbox
            self.set_timer(wait, self._take_later)  # a bound method: Textual inspects a lambda's signature each time
        else:
            self._take(inbox)

    def _take_later(self) -> None:
        inbox, self._take_due = self._take_due, None
        if inbox is not None:
            self._take(inbox)

    def _take(self, inbox: Inbox) -> None:
        if inbox is not self._inbox:
            return  # replaced or stopped
        self._last_take = time.monotonic()
        for item in inbox.take():
            if isinstance(item, LogChunk):
                self._ingest(item)
            elif isinstance(item, RunStarted):
                self._run_started(item)
            elif isinstance(item, Retrying):
                self._on_retrying(item)
            elif isinstance(item, Resumed):
                self._on_resumed()
            elif isinstance(item, Ended):
                self._on_ended(item)

    def _ingest(self, chunk: LogChunk) -> None:
        if not chunk.lines and not chunk.events:
            return
        if self.source_state in ("ended", "loaded") and self.source.startswith("container"):
            self.source_state = "following"  # the feed resumed (the container runs again)
            self.exit = None
        self.buffer.append(chunk.lines)
        if chunk.events:
            self.stats.apply([ev for _, ev in chunk.events])
        self._panel_dirty = True
        self._lines_since_flush += len(chunk.lines)
        self._schedule_view()

    def _run_started(self, item: RunStarted) -> None:
        """A new run of the container: its own phases from here, and a line that says so."""
        self.stats = LogStats()
        self.exit = None
        if item.events:
            self.stats.apply([ev for _, ev in item.events])
        if item.restart:
            when = item.started_at[11:19] if len(item.started_at) >= 19 else item.started_at
            self.buffer.insert_before_last(item.carried, f"──── the container restarted: a new run from {when} UTC ────")
            if self.is_mounted:
                self.view.reset_render()
        if self.source_state in ("ended", "loaded"):
            self.source_state = "following"
        self._panel_dirty = True
        self._schedule_view()

    def _on_retrying(self, item: Retrying) -> None:
        if not self._retrying:
            self._retrying = True
            self.notify(f"{item.reason.capitalize()}: the log will resume where it left off once Docker answers.",
                        title="Logs", severity="warning", timeout=6)
        self.source_state = f"{item.reason} — retrying in {item.seconds}s"
        self._refresh_status()

    def _on_resumed(self) -> None:
        self._retrying = False
        self.source_state = "following"
        self.notify("Docker answers again: following the log from where it left off.", title="Logs", timeout=4)
        self._refresh_status()

    def _on_ended(self, item: Ended) -> None:
        self._retrying = False
        err = item.error
        if err is not None:
            self.source_state = "error"
            text = getattr(err, "message", None) or (f"{err.strerror}: {err.filename}" if isinstance(err, OSError) else str(err))
            hint = getattr(err, "hint", None)
            self.source_error = text
            self.notify(text + (f"\n{hint}" if hint else ""), title="Logs", severity="error", timeout=10)
        else:
            self.source_state = "ended" if self.source.startswith("container") else "loaded"
            self.exit = item.exit
        self._panel_dirty = True
        self._schedule_view()
        self.post_message(self.SourceEnded(self.source, err))

    # ── redraws ────────────────────────────────────────────────────────────
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
        # At FLOOD_FPS the view's own flood pacing is met already: it repaints in this redraw,
        # not in a frame of its own ~0.1 s away (twice the compositor's work per interval).
        self._paced = flooding
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
        self.view.lines_changed(paced=self._paced)
        self._refresh_panel()

    def _refresh_panel(self, force: bool = False) -> None:
        if not (self._panel_dirty or force) or not self.is_mounted:
            return
        self._panel_dirty = False
        text, old = panel_text(self.stats, self.prediction, self.exit), self._panel_shown
        if not self.source and not self.buffer.total:
            text.append("\n" + EMPTY_HINT, style="italic")
        if old is None or text.plain != old.plain or text.spans != old.spans:
            layout = old is None or text.plain.count("\n") != old.plain.count("\n")
            self._panel_shown = text
            self.query_one("#logs-panel", Static).update(text, layout=layout)
        self._refresh_status()

    def _refresh_status(self) -> None:
        if not self.is_mounted or not self.is_attached or self._closing:
            return
        buf, view = self.buffer, self.view
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(self.source or "no log source", style="bold")
        state = self.source_state
        if state == "following" and not view.follow:
            state = "live"  # "following" next to PAUSED read as a contradiction
        if self.source_state == "error":
            t.append(f" error: {self.source_error}", style="bold red")
        elif self._retrying:
            t.append(f" {state}", style="bold yellow")
        elif self.source:
            t.append(f" {state}", style="dim")
        t.append(f"  {len(buf.lines):,} lines")
        if buf.dropped:
            t.append(f" (oldest {buf.dropped:,} dropped)", style="dim")
        if buf.filter is not None:
            t.append(f"  {buf.filter.describe()}: {len(buf.matches):,}", style="bold cyan")
        else:
            t.append(f"  filter: {'regex' if self._regex else 'text'}", style="dim")
        t.append("  ")
        if view.follow:
            t.append("FOLLOW", style="reverse green")
        else:
            t.append("PAUSED", style="reverse yellow")
            # Rows below the last one on screen: what following would show (not a count of
            # arrivals, which outgrew a short log that was all on screen).
            below = len(buf) - (int(view.scroll_offset.y) + view.scrollable_content_region.height)
            if below > 0:
                t.append(f" +{below:,} new (f: follow)", style="yellow")
        old = self._status_shown
        if old is None or t.plain != old.plain or t.spans != old.spans:
            self._status_shown = t
            self.query_one("#logs-status", Static).update(t, layout=False)  # always one row

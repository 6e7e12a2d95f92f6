"""The Logs area's keys: filter (text or regex), errors only, error jumps, follow/pause, copy,
save, open a saved log, pick a running container. A mixin of :class:`~console.ui.logs.pane.LogsPane`
(its state is the pane's: buffer, view, input bar), kept apart so each file reads in one go."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from console.logs.buffer import FilterError, write_rows
from console.logs.severity import Severity
from console.private_file import state_dir
from console.runtime.lifecycle import Runtime
from console.ui.clipboard import copy_text
from console.ui.logs.input_bar import LogInputBar
from console.ui.logs.picker import ContainerPicker
from console.ui.logs.view import display_text

if TYPE_CHECKING:
    from console.ui.logs.pane import LogsPane


class LogsActions:
    def action_filter(self: LogsPane) -> None:
        kind = "regex" if self._regex else "text"
        current = self.buffer.filter.text if self.buffer.filter else ""
        self.input_bar.show("filter", current, f"filter ({kind}; ctrl+r: regex/text, Enter: done, Esc: close)")

    def action_toggle_regex(self: LogsPane) -> None:
        self._regex = not self._regex
        text = self.buffer.filter.text if self.buffer.filter else ""
        if self.input_bar.mode == "filter" and self.input_bar.display:
            text = self.input_bar.value
        self._apply_filter(text)
        self._refresh_status()

    def key_ctrl_r(self: LogsPane) -> None:
        self.action_toggle_regex()

    def action_clear_filter(self: LogsPane) -> None:
        if self.input_bar.display:
            self.input_bar.hide()
            self.view.focus()
            return
        self._min_severity = None
        self._apply_filter("")

    def action_problems_only(self: LogsPane) -> None:
        self._min_severity = None if self._min_severity is not None else Severity.WARNING
        self._apply_filter(self.buffer.filter.text if self.buffer.filter else "")

    def action_toggle_follow(self: LogsPane) -> None:
        self.view.follow = not self.view.follow
        if self.view.follow:
            self.view.action_bottom()
        self._refresh_status()

    def _jump(self: LogsPane, forward: bool) -> None:
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

    def action_next_error(self: LogsPane) -> None:
        self._jump(True)

    def action_prev_error(self: LogsPane) -> None:
        self._jump(False)

    def action_copy_line(self: LogsPane) -> None:
        """Copy the marked line (after n/p), else the last visible one, secrets masked (OSC 52)."""
        view, buf = self.view, self.buffer
        absolute = view.cursor
        if absolute is None or buf.line(absolute) is None:
            row = min(len(buf), int(view.scroll_offset.y) + view.scrollable_content_region.height) - 1
            if row < 0:
                self.notify("Nothing to copy.", title="Logs", timeout=3)
                return
            absolute = buf.absolute(row)
        text = display_text(buf.line(absolute) or "")
        copy_text(self.app, text, "log line", title="Logs", preview=True)

    def action_save(self: LogsPane) -> None:
        name = self.source.split(" ", 1)[-1].replace("/", "_") or "log"
        self.input_bar.ask_save(name)

    def action_open_file(self: LogsPane) -> None:
        self.input_bar.show("open", "", "saved log to open (Enter: open, Esc: cancel)")

    def _apply_filter(self: LogsPane, text: str) -> bool:
        try:
            self.buffer.set_filter(text, regex=self._regex, min_severity=self._min_severity)
        except FilterError as exc:
            self.input_bar.say(str(exc), "bold red")
            return False
        self.input_bar.say("")
        self.view.cursor = None
        self.view.reset_render()
        if not self.view.follow:
            self.view.scroll_to(y=0, animate=False)
        self._refresh_status()
        return True

    # Handlers by name (Textual finds them on a mixin; an @on decorator it would not).
    def _on_log_input_bar_filter_changed(self: LogsPane, message: LogInputBar.FilterChanged) -> None:
        if self._apply_filter(message.text) and message.done:
            self.input_bar.hide()
            self.view.focus()

    def _on_log_input_bar_save_asked(self: LogsPane, message: LogInputBar.SaveAsked) -> None:
        if self._saving is not None:
            self.input_bar.say(f"still writing {self._saving}…", "yellow")
            return
        # Snapshot the rows now so the log keeps growing while a thread writes them: a slow or
        # network home never stalls the UI.
        filtered = self.buffer.filter is not None
        rows = self.buffer.rows()
        self._saving = message.path
        self.input_bar.say(f"saving {len(rows):,} lines…", "dim")
        self._save_rows(message.path, rows, filtered)

    @work(thread=True, group="logs-save", name="save log")
    def _save_rows(self: LogsPane, path: str, rows: list[str], filtered: bool) -> None:
        own = Path(path).parent == state_dir("logs")  # the default folder is the console's: made 0700
        try:
            write_rows(path, rows, own_dir=own)
        except OSError as exc:
            self.post_message(self.Saved(path, 0, filtered, exc))
        else:
            self.post_message(self.Saved(path, len(rows), filtered))

    def _on_logs_pane_saved(self: LogsPane, message: LogsPane.Saved) -> None:
        self._saving = None
        bar = self.input_bar
        bar_open = bar.mode == "save" and bar.display
        err = message.error
        if err is not None:
            text = f"cannot write: {err.strerror or err}"
            if bar_open:
                bar.say(text, "bold red")
            else:
                self.notify(f"{text}\n{message.path}", title="Logs", severity="error", timeout=8)
            return
        what = "filtered lines" if message.filtered else "lines"
        self.notify(f"Saved {message.count:,} {what} to {message.path} (mode 0600)", title="Logs", timeout=8)
        if bar_open:
            bar.hide()
            self.view.focus()

    def _on_log_input_bar_open_asked(self: LogsPane, message: LogInputBar.OpenAsked) -> None:
        self.input_bar.hide()
        self.view.focus()
        self.open_file(message.path)

    def action_pick_container(self: LogsPane) -> None:
        self._list_containers()

    @work(thread=True, exclusive=True, group="logs-pick", name="list running containers")
    def _list_containers(self: LogsPane) -> None:
        try:
            self.post_message(self.ContainersListed(Runtime().running()))
        except Exception as exc:  # noqa: BLE001 - ConsoleError in words; anything else as it is
            self.post_message(self.ContainersListed([], exc))

    def _on_logs_pane_containers_listed(self: LogsPane, message: LogsPane.ContainersListed) -> None:
        message.stop()
        if message.error is not None:
            err = message.error
            hint = getattr(err, "hint", None)
            self.notify(f"{getattr(err, 'message', err)}" + (f"\n{hint}" if hint else ""), title="Logs",
                        severity="error", timeout=10)
            return
        if not message.rows:
            self.notify("No container is running. Launch one from the Launch area (2, then F5).", title="Logs",
                        timeout=6)
            return

        def chosen(container_id: str | None) -> None:
            if container_id:
                self.follow_container(container_id)

        self.app.push_screen(ContainerPicker(message.rows), chosen)

"""LogView: renders only the visible rows of a :class:`LogBuffer` (Textual line API).

Ingest costs nothing per line here (the buffer is a list); each frame renders at most a
screen of lines, each cut to the window before it becomes Rich text, so a 100 KB line
costs the same as a short one. Long lines show a ``…+N`` marker at their display limit.
"""

from __future__ import annotations

import re
import time

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from console.logs.buffer import LogBuffer
from console.logs.severity import Severity, severity
from console.settings.mask import scrub

DISPLAY_MAX = 2000  # characters of one line shown (horizontal scroll reaches this far)
# A flood: more rows than this arrived since the last repaint while following. A repaint
# costs ~10 ms (a whole screen of new rows through the compositor) and the rows scroll
# past unread, so during a flood the view repaints at most every FLOOD_REPAINT_S.
FLOOD_ROWS = 1_000
FLOOD_REPAINT_S = 0.5
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def display_text(line: str) -> str:
    """What a terminal would show: last carriage-return segment, no escapes, secrets masked,
    cut at DISPLAY_MAX with a ``…+N chars`` marker. Work is bounded by DISPLAY_MAX."""
    if "\r" in line:
        parts = [p for p in line.split("\r") if p]
        line = parts[-1] if parts else ""
    extra = len(line) - DISPLAY_MAX
    if extra > 0:
        line = line[:DISPLAY_MAX]
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "\t" in line:
        line = line.expandtabs(4)
    if _CTRL.search(line):
        line = _CTRL.sub("·", line)
    line = scrub(line)  # the console's one secret scrubber (a few substring tests when clean)
    if extra > 0:
        line = f"{line} …+{extra:,} chars"
    return line


class LogView(ScrollView, can_focus=True):
    """Scrollable, follow-able view of a LogBuffer with severity and match highlighting."""

    COMPONENT_CLASSES = {
        "logview--error",
        "logview--warning",
        "logview--match",
        "logview--cursor",
    }
    DEFAULT_CSS = """
    LogView { background: $surface; }
    LogView > .logview--error { color: $error; text-style: bold; }
    LogView > .logview--warning { color: $warning; }
    LogView > .logview--match { background: $accent 40%; }
    LogView > .logview--cursor { background: $boost; text-style: reverse; }
    """
    BINDINGS = [
        Binding("up,k", "scroll_up_line", "Up", show=False),
        Binding("down,j", "scroll_down_line", "Down", show=False),
        Binding("pageup", "page_up_rows", "Page up", show=False),
        Binding("pagedown,space", "page_down_rows", "Page down", show=False),
        Binding("home,g", "top", "Top", show=False),
        Binding("end,G", "bottom", "Bottom/follow", show=False),
        Binding("left,h", "scroll_left_cols", "Left", show=False),
        Binding("right,l", "scroll_right_cols", "Right", show=False),
    ]

    follow: reactive[bool] = reactive(True)
    cursor: reactive[int | None] = reactive(None)  # absolute line number of the marked line

    def __init__(self, buffer: LogBuffer, **kwargs) -> None:
        super().__init__(**kwargs)
        self.buffer = buffer
        self._cache: dict[tuple, Strip] = {}
        self._styles: dict[str, Style] | None = None
        self._frame: tuple[int, int, int] | None = None  # scroll x, y and width while a frame renders
        self._shown_total = 0  # buffer.total at the last update
        self._shown_at = 0.0  # when (monotonic)
        self._deferred: Timer | None = None  # an update is scheduled (flood pacing)

    # ── feeding ──────────────────────────────────────────────────────────────
    def lines_changed(self, *, paced: bool = False) -> None:
        """Call after the buffer changed: resize the virtual area, keep following.

        While following a flood the update is deferred (see FLOOD_ROWS); it always comes
        within FLOOD_REPAINT_S, so the last lines of a burst are never left unshown.
        ``paced``: the caller spaces these calls by FLOOD_REPAINT_S itself (the pane in a
        flood), so the update comes now, in the frame that redraws the caller's other parts;
        a deferred one is then not needed.
        """
        if not paced:
            if self._deferred is not None:
                return
            if self.follow and self.buffer.total - self._shown_total > FLOOD_ROWS:
                wait = self._shown_at + FLOOD_REPAINT_S - time.monotonic()
                if wait > 0 and self.is_mounted:
                    self._deferred = self.set_timer(wait, self._deferred_update)
                    return
        self._update()

    def _deferred_update(self) -> None:
        self._deferred = None
        self._update()

    def _update(self) -> None:
        if self._deferred is not None:  # done now: the deferred one would repaint again
            self._deferred.stop()
            self._deferred = None
        self._shown_total = self.buffer.total
        self._shown_at = time.monotonic()
        width = min(self.buffer.max_len, DISPLAY_MAX + 20) + 1
        now = self._set_virtual_size(Size(width, len(self.buffer)))
        if len(self._cache) > 4096:
            self._cache.clear()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            if not now:  # the new size takes effect at the next layout: stick to the end then
                self.call_after_refresh(self._stick_to_end)
        self.refresh()

    def _set_virtual_size(self, size: Size) -> bool:
        """Grow the scrollable area without a screen layout.

        ``virtual_size`` is a layout reactive: assigning it re-lays-out the whole screen
        (~10 ms at 160×48), which during a flood cost more than parsing every line. Our
        height never depends on the content (the pane gives us ``1fr``), so only the
        scrollbars need updating; a scrollbar appearing or going still lays out (its own
        reactive does). Before the first layout there is no size yet: assign normally.
        Returns False when the new size waits for a layout.
        """
        if size == self.virtual_size:
            return True
        height = self.styles.height
        if not self.size or height is None or height.is_auto:
            self.virtual_size = size
            return False
        self.set_reactive(LogView.virtual_size, size)
        self._scroll_update(size)  # scrollbar windows and visibility, scroll offsets clamped
        return True

    def _stick_to_end(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def reset_render(self) -> None:
        self._cache.clear()
        self._update()  # a new filter or source: show it now, flood or not

    def on_resize(self) -> None:
        self._cache.clear()
        if self.follow:
            self.call_after_refresh(self._stick_to_end)

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self._update()  # the operator asked for the end: show it now

    def watch_cursor(self) -> None:
        self._cache.clear()
        self.refresh()

    # ── rendering ────────────────────────────────────────────────────────────
    def _frame_styles(self) -> dict[str, Style]:
        if self._styles is None:
            base = self.rich_style
            get = self.get_component_rich_style
            self._styles = {
                "base": base,
                "info": base,
                "error": base + get("logview--error"),
                "warning": base + get("logview--warning"),
                "match": get("logview--match"),
                "cursor": get("logview--cursor"),
            }
        return self._styles

    def notify_style_update(self) -> None:
        self._styles = None
        self._cache.clear()
        super().notify_style_update()

    def render_lines(self, crop: Region) -> list[Strip]:
        # Scroll offset and size are reactive lookups: read them once per frame, not per row.
        scroll_x, scroll_y = self.scroll_offset
        self._frame = (scroll_x, scroll_y, self.size.width)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        frame = self._frame
        if frame is None:
            scroll_x, scroll_y = self.scroll_offset
            width = self.size.width
        else:
            scroll_x, scroll_y, width = frame
        row = scroll_y + y
        styles = self._frame_styles()
        if row >= len(self.buffer):
            return Strip.blank(width, styles["base"])
        absolute = self.buffer.absolute(row)
        key = (absolute, scroll_x, width, id(self.buffer.filter), absolute == self.cursor)
        strip = self._cache.get(key)
        if strip is None:
            if len(self._cache) > 8192:  # scrolling around adds keys; keep it bounded
                self._cache.clear()
            strip = self._cache[key] = self._render(absolute, scroll_x, width, styles)
        return strip

    def _render(self, absolute: int, scroll_x: int, width: int, styles: dict[str, Style]) -> Strip:
        raw = self.buffer.line(absolute) or ""
        text = display_text(raw)  # cut before styling: cost bounded by DISPLAY_MAX
        sev = severity(raw)
        style = styles["error" if sev is Severity.ERROR else "warning" if sev is Severity.WARNING else "info"]
        is_cursor = absolute == self.cursor
        if is_cursor:
            style = style + styles["cursor"]
        flt = self.buffer.filter
        spans = flt.spans(text) if flt is not None else ()
        if not spans and text.isascii():
            # Fast path: one cell per character, so cropping is slicing.
            visible = text[scroll_x : scroll_x + width]
            segments = [Segment(visible, style)]
            if len(visible) < width:
                segments.append(Segment(" " * (width - len(visible)), style if is_cursor else styles["base"]))
            return Strip(segments, width)
        rich = Text(text, style=style, no_wrap=True, end="")
        for start, end in spans:
            rich.stylize(styles["match"], start, end)
        segments = list(rich.render(self.app.console))
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, styles["base"])

    # ── movement (any move away from the bottom pauses following) ─────────────
    def _rows(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def action_scroll_up_line(self) -> None:
        self.follow = False
        self.scroll_relative(y=-1, animate=False)

    def action_scroll_down_line(self) -> None:
        self.scroll_relative(y=1, animate=False)

    def action_page_up_rows(self) -> None:
        self.follow = False
        self.scroll_relative(y=-self._rows(), animate=False)

    def action_page_down_rows(self) -> None:
        self.scroll_relative(y=self._rows(), animate=False)

    def action_top(self) -> None:
        self.follow = False
        self.scroll_to(y=0, animate=False)

    def action_bottom(self) -> None:
        self.follow = True
        self.scroll_to(y=self.max_scroll_y, animate=False)

    def action_scroll_left_cols(self) -> None:
        self.scroll_relative(x=-8, animate=False)

    def action_scroll_right_cols(self) -> None:
        self.scroll_relative(x=8, animate=False)

    def _on_mouse_scroll_up(self, event) -> None:  # wheel up pauses following, like `less +F`
        self.follow = False

    def show_row(self, row: int) -> None:
        """Scroll so that view row ``row`` is visible (about a third from the top)."""
        self.follow = False
        top = max(0, row - self._rows() // 3)
        self.scroll_to(y=top, animate=False)

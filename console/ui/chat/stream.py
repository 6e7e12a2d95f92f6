"""Markdown that streams in fast, rendering only what can be seen.

Textual's ``Markdown`` builds one widget per block (paragraph, list item, fence...), and
styling plus layout cost grows with every widget: a 20,000-token answer is thousands
of widgets and seconds of work, far more than reading the stream takes. So the text is
cut into segments at block boundaries (blank lines outside code fences). Only the open
tail and the segments near the viewport are real ``Markdown``; the rest stay plain
``Static`` text (one cheap widget each) until they are scrolled into view, when they
are rendered in place. Text that streams past faster than anyone can read is never
turned into widgets at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.containers import ScrollableContainer, Vertical
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.widgets import Markdown

SEGMENT_CHARS = 1200  # close a segment at the first block boundary after this many chars
FORCE_CHARS = 6000  # no boundary for this long (one huge paragraph or fence): cut at a line/space
KEEP_SCREENS = 1.0  # render (or keep rendered) what lies within this many viewports of the bottom


def _markdown(text: str | None = None) -> Markdown:
    # Textual's Markdown pulls in markdown-it and Pygments: load them on the first answer.
    from textual.widgets import Markdown

    return Markdown(text)


class BlockSplitter:
    """Cuts streamed Markdown into self-contained segments; incremental, O(new text)."""

    def __init__(self) -> None:
        self.buf = ""  # the open segment
        self.pos = 0  # scan position in buf (always at a line start)
        self.fence: str | None = None  # the opening fence line while inside a code block

    def feed(self, text: str) -> list[str]:
        self.buf += text
        closed: list[str] = []
        start = 0  # where the open segment begins in buf
        buf = self.buf
        pos = self.pos
        while True:
            nl = buf.find("\n", pos)
            if nl < 0:
                break
            stripped = buf[pos:nl].strip()
            if self.fence is not None:
                marker = self.fence.lstrip()[:3]
                if stripped.startswith(marker) and not stripped.strip(marker[0]):
                    self.fence = None
                elif nl + 1 - start >= FORCE_CHARS:
                    # A huge code block: close it here and reopen it in the next segment.
                    closed.append(buf[start : nl + 1] + self.fence.lstrip()[:3] + "\n")
                    opener = self.fence + "\n"
                    buf = buf[: nl + 1] + opener + buf[nl + 1 :]
                    start = nl + 1
                    nl += len(opener)
            elif stripped.startswith(("```", "~~~")):
                self.fence = buf[pos:nl].rstrip()
            elif (not stripped and nl + 1 - start >= SEGMENT_CHARS) or nl + 1 - start >= FORCE_CHARS:
                closed.append(buf[start : nl + 1])
                start = nl + 1
            pos = nl + 1
        if self.fence is None and len(buf) - start >= FORCE_CHARS:
            # One endless line: cut at the last space so the open segment stays small.
            cut = buf.rfind(" ", start, len(buf) - 1)
            if cut > start:
                closed.append(buf[start : cut + 1] + "\n\n")
                start = cut + 1
                pos = max(pos, start)
        self.buf = buf[start:]
        self.pos = pos - start
        return closed


def estimate_rows(text: str, width: int) -> int:
    width = max(width, 20)
    return sum(1 + len(line) // width for line in text.split("\n"))


class PlainSegment(Static):
    """Closed segments shown as plain text until they are scrolled into view.

    Neighbouring segments share one widget (up to PLAIN_CHARS) to keep the widget count low.
    """

    DEFAULT_CSS = "PlainSegment { padding: 0 1; height: auto; }"

    def __init__(self, texts: list[str]) -> None:
        super().__init__(markup=False, classes="plain-segment")
        self.texts = texts
        self.size_chars = sum(map(len, texts))
        self.show()

    def show(self) -> None:
        self.update(Text("".join(self.texts).strip("\n")))

    def add(self, text: str, *, show: bool = True) -> None:
        self.texts.append(text)
        self.size_chars += len(text)
        if show:
            self.show()


PLAIN_CHARS = 8000


class StreamingMarkdown(Vertical):
    """Append-only Markdown for streams; see the module docstring."""

    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; }
    StreamingMarkdown > Markdown { margin: 0; }
    """

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.splitter = BlockSplitter()
        self.segments: list[list] = []  # [text, widget] per closed segment; a PlainSegment may hold several
        self.tail: Markdown | None = None
        self.tail_text = ""
        self.chars = 0

    def _scroller(self) -> ScrollableContainer | None:
        for node in self.ancestors:
            if isinstance(node, ScrollableContainer) and node.size.height:
                return node
        return None

    def _viewport(self) -> tuple[int, int]:
        """Rows and columns of the scrolling area showing this widget."""
        node = self._scroller()
        if node is None:
            return 24, 74
        return node.size.height, max(node.size.width - 6, 20)

    def _last_plain(self) -> PlainSegment | None:
        if self.segments and isinstance(self.segments[-1][1], PlainSegment):
            plain = self.segments[-1][1]
            if plain.size_chars < PLAIN_CHARS:
                return plain
        return None

    async def _close_all(self, closed: list[str], placement: list[bool]) -> None:
        """Add closed segments after the others: rendered if they can be seen, else plain.

        All new widgets mount in one go and each plain widget is drawn once (a flood of
        text closes dozens of segments per render).
        """
        new: list = []
        touched: list[PlainSegment] = []
        plain = self._last_plain()
        for text, visible in zip(closed, placement):
            if visible:
                widget = _markdown(text)
                new.append(widget)
                plain = None
            else:
                if plain is None or plain.size_chars >= PLAIN_CHARS:
                    plain = PlainSegment([])
                    new.append(plain)
                plain.add(text, show=False)
                if plain not in touched:
                    touched.append(plain)
                widget = plain
            self.segments.append([text, widget])
        for widget in touched:
            widget.show()
        if new:
            if self.tail is not None and self.tail.parent is self:
                await self.mount_all(new, before=self.tail)
            else:
                await self.mount_all(new)

    async def append(self, text: str) -> None:
        if not text:
            return
        self.chars += len(text)
        closed = self.splitter.feed(text)
        if not closed:
            self.tail_text += text
            await (await self._tail()).append(text)
            return
        rows, cols = self._viewport()
        budget = int(rows * KEEP_SCREENS)
        # Rows that will sit below each closed segment decide which ones can be seen.
        below = estimate_rows(self.splitter.buf, cols)
        placement: list[bool] = []
        for seg in reversed(closed):
            placement.append(below < budget)
            below += estimate_rows(seg, cols)
        placement.reverse()
        # The first closed segment finishes the open tail: finish it in place when it
        # stays in view, else drop its widgets.
        first = closed[0]
        tail, done_text = self.tail, self.tail_text
        self.tail, self.tail_text = None, ""
        if tail is not None and placement[0] and first.startswith(done_text):
            await tail.append(first[len(done_text) :])
            self.segments.append([first, tail])
            await self._close_all(closed[1:], placement[1:])
        else:
            if tail is not None:
                await tail.remove()
            await self._close_all(closed, placement)
        if self.splitter.buf:
            self.tail_text = self.splitter.buf
            await (await self._tail()).append(self.splitter.buf)
        await self._shed(budget, cols)

    async def _tail(self) -> Markdown:
        if self.tail is None:
            self.tail = _markdown()
            await self.mount(self.tail)
        return self.tail

    async def _shed(self, budget: int, cols: int) -> None:
        """Turn rendered segments far above the bottom back into plain text (bounded widget count).

        Only while the view follows the bottom: what someone scrolled up to read stays.
        """
        node = self._scroller()
        if node is not None and node.scroll_y < node.max_scroll_y - node.size.height:
            return
        below = estimate_rows(self.tail_text, cols)
        shed = []
        for i in range(len(self.segments) - 1, -1, -1):
            text, widget = self.segments[i]
            below += estimate_rows(text, cols)
            if below > 2 * budget:
                if isinstance(widget, PlainSegment):
                    break  # everything above is plain already
                shed.append(i)
        for i in reversed(shed):
            text, widget = self.segments[i]
            previous = self.segments[i - 1][1] if i else None
            if isinstance(previous, PlainSegment) and previous.size_chars < PLAIN_CHARS:
                previous.add(text)
                plain = previous
            else:
                plain = PlainSegment([text])
                await self.mount(plain, before=widget)
            await widget.remove()
            self.segments[i][1] = plain

    async def render_visible(self, top: int, bottom: int) -> int:
        """Render the plain segments that overlap screen rows [top, bottom); returns how many."""
        count = 0
        for plain in [w for w in self.children if isinstance(w, PlainSegment)]:
            region = plain.region
            if not (region.height and region.y < bottom and region.bottom > top):
                continue
            entries = [entry for entry in self.segments if entry[1] is plain]
            widgets = [_markdown(text) for text, _ in entries]
            await self.mount_all(widgets, before=plain)
            await plain.remove()
            for entry, widget in zip(entries, widgets):
                entry[1] = widget
            count += 1
        return count

    @property
    def text(self) -> str:
        return "".join(t for t, _ in self.segments) + self.tail_text

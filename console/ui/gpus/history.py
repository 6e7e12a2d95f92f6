"""One-line history charts on a fixed 0–100 % scale.

Textual's ``Sparkline`` scales between the minimum and maximum of its data, so
45–47 % utilisation would fill the whole height; operators reading VRAM and
utilisation need absolute levels and a steady time axis (newest on the right).
"""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"


def bars(values: Sequence[float | None], width: int) -> list[tuple[str, float | None]]:
    """The last ``width`` values as (block, value); missing values are blank."""
    tail = list(values)[-width:] if width > 0 else []
    cells: list[tuple[str, float | None]] = [(" ", None)] * (width - len(tail))
    for v in tail:
        if v is None:
            cells.append(("·", None))
            continue
        level = max(0.0, min(100.0, v))
        # Zero still draws the lowest bar: blank means "no sample yet".
        idx = max(1, round(level / 100 * (len(BLOCKS) - 1)))
        cells.append((BLOCKS[idx], level))
    return cells


def _style(level: float | None) -> str:
    if level is None:
        return "dim"
    if level >= 90:
        return "red"
    if level >= 70:
        return "yellow"
    return "green"


def _chart(text: Text, values: Sequence[float | None], width: int) -> None:
    for block, level in bars(values, width):
        text.append(block, _style(level))


def _pct(v: float | None) -> str:
    return " n/a" if v is None else f"{v:3.0f}%"


class GpuHistory(Widget):
    """One GPU's line: ``0 VRAM ▂▃▅▇ 87%  util ▁▁▅▆ 76%``, one column per sample,
    newest at the right (one widget per GPU keeps the first frame cheap)."""

    DEFAULT_CSS = """
    GpuHistory {
        height: 1;
        width: 1fr;
    }
    """

    def __init__(self, index: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = index
        self.memory: tuple[float | None, ...] = ()
        self.util: tuple[float | None, ...] = ()

    def set_values(self, memory: Sequence[float | None], util: Sequence[float | None]) -> None:
        memory, util = tuple(memory), tuple(util)
        if (memory, util) != (self.memory, self.util):
            self.memory, self.util = memory, util
            self.refresh()

    def render(self) -> Text:
        label = f"{self.index} VRAM "
        fixed = len(label) + 5 + len("  util ") + 5
        chart = max(0, (self.size.width - fixed) // 2)
        text = Text(no_wrap=True, overflow="crop")
        text.append(label, "dim")
        _chart(text, self.memory, chart)
        text.append(_pct(self.memory[-1] if self.memory else None))
        text.append("  util ", "dim")
        _chart(text, self.util, chart)
        text.append(_pct(self.util[-1] if self.util else None))
        return text

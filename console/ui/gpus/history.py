"""A one-line history chart on a fixed 0–100 % scale.

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
        idx = 0 if level <= 0 else max(1, round(level / 100 * (len(BLOCKS) - 1)))
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


class HistoryChart(Widget):
    """Percent values, one column per sample, newest at the right edge."""

    DEFAULT_CSS = """
    HistoryChart {
        height: 1;
        width: 1fr;
        background: $boost;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.values: tuple[float | None, ...] = ()

    def set_values(self, values: Sequence[float | None]) -> None:
        values = tuple(values)
        if values != self.values:
            self.values = values
            self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        for block, level in bars(self.values, self.size.width):
            text.append(block, _style(level))
        return text

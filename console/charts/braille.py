"""A braille canvas: each character cell is 2 × 4 dots, so a chart of W × H cells
plots 2W points across and 4H levels up.

Several series share one canvas; a cell takes the colour of the first series
(in the order given) that put a dot in it, so the first series reads on top.

A chart redrawn every second mostly sees the same values shifted left by whole
cells plus a new value on the right. ``Canvas.update`` shifts what it drew and
redraws only the cell columns whose values changed: a few cells per frame
instead of every dot of every series.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import groupby
from typing import Sequence

BLANK = 0x2800
CHARS = [chr(BLANK | b) for b in range(256)]
# Bit of the dot at (column 0/1, row 0..3 from the top of the cell).
_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))

Values = Sequence[float | None]


class Canvas:
    """``width × height`` cells of braille for ``2 × width`` values per series on [lo, hi]."""

    def __init__(self, width: int, height: int, lo: float, hi: float, series: int) -> None:
        self.width, self.height, self.lo, self.hi, self.series = width, height, lo, hi, series
        self.bits = [[0] * width for _ in range(height)]
        self.owner = [[-1] * width for _ in range(height)]
        self.values: list[list[float | None]] = []
        self._rows: list[tuple[list, list]] | None = None  # per row: its runs, and where each starts
        self._dirty = 0  # the first cell column changed since ``rows()`` last ran
        top = height * 4 - 1
        self._top = top
        self._scale = top / (hi - lo) if hi > lo else 0.0

    def _y(self, v: float) -> int:
        if self._scale:
            y = round((v - self.lo) * self._scale)
        else:
            y = 0 if not v else self._top // 2
        return 0 if y < 0 else self._top if y > self._top else y

    def _draw_columns(self, c0: int, c1: int) -> None:
        """Clear cell columns [c0, c1) and draw every series' dots in them."""
        bits, owner, top = self.bits, self.owner, self._top
        self._dirty = min(self._dirty, c0)
        for r in range(self.height):
            br, orow = bits[r], owner[r]
            for c in range(c0, c1):
                br[c] = 0
                orow[c] = -1
        x0, x1 = 2 * c0, 2 * c1
        for idx in range(len(self.values) - 1, -1, -1):  # the first series last: it owns shared cells
            vals = self.values[idx]
            prev = None
            if x0 > 0 and vals[x0 - 1] is not None:
                prev = self._y(vals[x0 - 1])
            for x in range(x0, min(x1, len(vals))):
                v = vals[x]
                if v is None:
                    prev = None
                    continue
                y = self._y(v)
                # Connect to the previous point with a vertical run so steps read as lines.
                if prev is None or prev == y:
                    y0 = y1 = y
                elif prev < y:
                    y0, y1 = prev + 1, y
                else:
                    y0, y1 = y, prev - 1
                col = x >> 1
                column_bits = _BITS[x & 1]
                for yy in range(y0, y1 + 1):
                    d = top - yy
                    r = d >> 2
                    bits[r][col] |= column_bits[d & 3]
                    owner[r][col] = idx
                prev = y

    def update(self, values: list[list[float | None]], shift: int = 0) -> None:
        """New values (each series ``2 × width`` long); ``shift``: how many values the
        window moved right since the last update (its old values moved left by that)."""
        old = self.values
        n = 2 * self.width
        if not old or shift < 0 or shift % 2 or shift >= n or len(old) != len(values):
            self.values = values
            self._draw_columns(0, self.width)
            return
        cells = shift // 2
        if cells:
            self._dirty = 0
            for r in range(self.height):
                self.bits[r] = self.bits[r][cells:] + [0] * cells
                self.owner[r] = self.owner[r][cells:] + [-1] * cells
        # The first column whose value differs from the shifted old one; the cell
        # after it too (its connecting run starts from this value).
        first = n
        for new, was in zip(values, old):
            if new[: n - shift] != was[shift:]:
                x = next(i for i, (a, b) in enumerate(zip(new, was[shift:])) if a != b)
                first = min(first, x)
            else:
                first = min(first, n - shift)
        self.values = values
        if first < n:
            self._draw_columns(first >> 1, self.width)

    def rows(self) -> list[list[tuple[str, int]]]:
        """Each row as runs of ``(text, owner)``; empty cells are spaces (owner -1).

        Only the cells from the first one redrawn since the last call are walked again;
        the runs before them are the ones made then."""
        dirty = self._dirty
        self._dirty = self.width
        if dirty >= self.width and self._rows is not None:
            return [list(r) for r, _ in self._rows]
        char = CHARS.__getitem__
        cached = self._rows or [([], [])] * self.height
        out = []
        for (br, orow), (old_runs, old_starts) in zip(zip(self.bits, self.owner), cached):
            k = bisect_right(old_starts, dirty) - 1 if dirty else -1
            if k >= 0:
                runs, starts, pos = old_runs[:k], old_starts[:k], old_starts[k]
            else:
                runs, starts, pos = [], [], 0
            for o, group in groupby(orow[pos:]):  # runs of one colour, found in C
                n = len(list(group))
                runs.append(("".join(map(char, br[pos:pos + n])) if o >= 0 else " " * n, o))
                starts.append(pos)
                pos += n
            out.append((runs, starts))
        self._rows = out
        return [list(r) for r, _ in out]

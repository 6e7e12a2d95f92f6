"""How focus looks on a 256-colour terminal: each focusable widget of the real app rendered focused
and unfocused, its colours reduced as Rich reduces them for TERM=screen-256color (tmux's default),
and the cells that a person can tell apart counted."""

from __future__ import annotations

from dataclasses import dataclass

from rich.color import ColorSystem
from rich.color import Color as RichColor
from rich.style import Style
from textual.geometry import Region
from textual.widget import Widget

# Two colours are told apart when their 256-colour palette entries are at least this far apart in
# RGB (234 vs 235, the planner dropdown's old focus, are 17 apart; 234 vs 238 are 69 apart).
MIN_DISTANCE = 60
ATTRIBUTES = ("bold", "reverse", "underline", "italic", "dim", "strike")


def rgb256(color: RichColor | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    """The RGB a 256-colour terminal shows for ``color`` (Rich's own downgrade)."""
    if color is None or color.is_default:
        return default
    c = color.downgrade(ColorSystem.EIGHT_BIT)
    t = c.get_truecolor()
    return (t.red, t.green, t.blue)


@dataclass(frozen=True)
class Cell:
    char: str
    fg: tuple[int, int, int]
    bg: tuple[int, int, int]
    attrs: tuple[bool, ...]


def cells(strips, region: Region) -> list[list[Cell]]:
    """The cells of ``region`` in the screen's strips, as a 256-colour terminal shows them."""
    out = []
    for y in range(region.y, region.bottom):
        row: list[Cell] = []
        for seg in strips[y]:
            style = seg.style or Style()
            fg, bg = rgb256(style.color, (255, 255, 255)), rgb256(style.bgcolor, (0, 0, 0))
            if style.reverse:
                fg, bg = bg, fg
            attrs = tuple(bool(getattr(style, a)) for a in ATTRIBUTES if a != "reverse")
            for ch in seg.text:
                row.append(Cell(ch, fg, bg, attrs))
        out.append(row[region.x:region.right])
    return out


def distance(a, b) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


def visibly_different(a: Cell, b: Cell) -> bool:
    if a.char != b.char or a.attrs != b.attrs:
        return True
    if distance(a.bg, b.bg) >= MIN_DISTANCE:
        return True
    # a foreground change shows only where something is drawn
    return a.char.strip() != "" and distance(a.fg, b.fg) >= MIN_DISTANCE


def changed(before: list[list[Cell]], after: list[list[Cell]]) -> int:
    return sum(visibly_different(a, b) for ra, rb in zip(before, after) for a, b in zip(ra, rb))


def shown_region(widget: Widget) -> Region:
    """Where ``widget`` is drawn on its screen, clipped by its containers (empty when hidden)."""
    try:
        return widget.screen.find_widget(widget).visible_region
    except Exception:  # not on the screen's map: not shown
        return Region()


def screen_strips(app) -> list:
    return app.screen._compositor.render_strips()

"""Focus in the real program on tmux's default terminal (TERM=screen-256color, COLORTERM unset:
Rich reduces every colour to 256) — issue 10 friction. Tab moves through the Launch form and onto
the planner's dropdown; the focused row's escape codes, read with ``capture-pane -e``, differ from
the same row unfocused, and come back when the focus moves on. tests/test_focus_visible.py
measures every widget type in both themes."""

from __future__ import annotations

import re
import tempfile
import time

import pytest
from rich.color import Color

from tests.focus_audit import MIN_DISTANCE, distance
from tests.test_tmux import RECORDING, Tmux, program, tmux  # noqa: F401 - the fixture
from tests.test_tmux_launch import focus_field

pytestmark = pytest.mark.tmux

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def rows(tmux: Tmux) -> list[str]:
    """The screen's rows with their escape codes (``-e``), each on its own."""
    return tmux.run("capture-pane", "-p", "-e", "-t", tmux.session).splitlines()


def row_with(tmux: Tmux, text: str) -> str:
    """The row that shows ``text``; for the dropdown (``▼``) only up to its arrow: the planner's
    count field shares its row."""
    row = next((r for r in rows(tmux) if text in SGR.sub("", r)), "")
    return row.split("▼")[0] if text == "▼" else row


def codes(row: str) -> list[str]:
    """The SGR codes a row sets, in order (what it looks like, not what it says)."""
    return SGR.findall(row)


def cell_backgrounds(row: str) -> list[int | None]:
    """Each cell's 256-colour background (None: the terminal's own), from the row's SGR stream."""
    out: list[int | None] = []
    bg: int | None = None
    for i, part in enumerate(SGR.split(row)):
        if i % 2:  # the codes between two runs of text
            params = part.split(";") if part else ["0"]
            j = 0
            while j < len(params):
                if params[j] in ("0", ""):
                    bg = None
                elif params[j] == "49":
                    bg = None
                elif params[j] == "48" and params[j + 1:j + 2] == ["5"]:
                    bg, j = int(params[j + 2]), j + 2
                elif params[j] in ("38", "48") and params[j + 1:j + 2] == ["2"]:
                    j += 4
                elif params[j] == "38" and params[j + 1:j + 2] == ["5"]:
                    j += 2
                j += 1
        else:
            out += [bg] * len(part)
    return out


def assert_clearly_different(blurred_row: str, focused_row: str) -> None:
    """Focus puts a background more than a shade away (RGB distance, as tests/focus_audit.py) on
    at least 3 cells of the row: a blinking cursor alone is not it, nor 234 → 235 (17 apart),
    Textual's own focus tint reduced to 256 colours."""
    def far(a, b):
        return distance(rgb(a), rgb(b)) >= MIN_DISTANCE if a is not None and b is not None else a != b
    changed = sum(far(a, b) for a, b in zip(cell_backgrounds(blurred_row), cell_backgrounds(focused_row)))
    assert changed >= 3, f"focus changes {changed} cell(s) by more than a shade:\n{blurred_row!r}\n{focused_row!r}"


def rgb(n: int) -> tuple[int, int, int]:
    t = Color.from_ansi(n).get_truecolor()
    return (t.red, t.green, t.blue)


def wait_codes(tmux: Tmux, text: str, differ_from: list[str], what: str, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = codes(row_with(tmux, text))
        if now and now != differ_from:
            return now
        time.sleep(0.1)
    raise AssertionError(f"{what}: the row with {text!r} kept its codes {differ_from}; screen was:\n{tmux.screen()}")


def start(tmux: Tmux) -> None:
    cfg = tempfile.mkdtemp(prefix="gpt-oss-console-test-tmux-cfg-")
    env = dict(GPT_OSS_CONSOLE_NVML_REPLAY=str(RECORDING), TERM="screen-256color", XDG_CONFIG_HOME=cfg,
               XDG_STATE_HOME=cfg + "/state", XDG_DATA_HOME=cfg + "/data", GPT_OSS_GPUS="none")
    tmux.start(["env", "-u", "COLORTERM", *program()], env)
    tmux.wait_for(lambda s: "Quit" in s.splitlines()[-1], "the first screen")


def test_launch_form_focus_shows_in_256_colours(tmux: Tmux) -> None:
    start(tmux)
    out = [c for r in rows(tmux) for c in codes(r)]
    assert not any(";2;" in c for c in out), "truecolor codes on a 256-colour terminal"
    assert any("38;5;" in c or "48;5;" in c for c in out), "no 256-colour codes at all"
    tmux.keys("2")
    tmux.wait_for(lambda s: "Launch F5" in s, "the Launch area")
    focus_field(tmux, "Served model name", "SERVED_MODEL_NAME")
    blurred_row = row_with(tmux, "Context length")
    blurred = codes(blurred_row)
    assert blurred, f"no Context length row:\n{tmux.screen()}"
    focus_field(tmux, "Context length", "MAX_MODEL_LEN")
    focused = wait_codes(tmux, "Context length", blurred, "Tab onto Context length")
    assert_clearly_different(blurred_row, row_with(tmux, "Context length"))
    focus_field(tmux, "HF token", "HF_TOKEN")
    wait_codes(tmux, "Context length", focused, "Tab off Context length")
    assert codes(row_with(tmux, "Context length")) == blurred


def test_planner_dropdown_focus_shows_in_256_colours(tmux: Tmux) -> None:
    start(tmux)
    tmux.keys("p")  # the planner's matrix takes focus and the planner comes into view
    tmux.wait_for(lambda s: "▼" in s, "the planner's dropdown")
    time.sleep(0.5)
    blurred_row = row_with(tmux, "▼")
    blurred = codes(blurred_row)
    tmux.keys("BTab", "BTab", "BTab")  # context, count, then the GPU dropdown
    focused = wait_codes(tmux, "▼", blurred, "Shift+Tab onto the planner's dropdown")
    assert_clearly_different(blurred_row, row_with(tmux, "▼"))
    tmux.keys("Tab")
    wait_codes(tmux, "▼", focused, "Tab off the dropdown")
    assert codes(row_with(tmux, "▼")) == blurred

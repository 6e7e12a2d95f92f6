"""TextField: keys that arrive in one burst are applied in order (issue 19, bug 1's second cause)."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input

from console.ui.fields import TextField


class FieldApp(App):
    def __init__(self, make_field):
        super().__init__()
        self.make_field = make_field

    def compose(self) -> ComposeResult:
        self.field = self.make_field()
        yield self.field


def key(name: str) -> events.Key:
    char = name if len(name) == 1 else None
    return events.Key(name, char)


async def burst(make_field, keys: list[str], value: str = "") -> str:
    """Post every key at once, as a terminal delivers a burst, then let the app settle."""
    app = FieldApp(make_field)
    async with app.run_test() as pilot:
        field = app.field
        field.value = value
        field.cursor_position = len(value)
        field.focus()
        await pilot.pause()
        for k in keys:
            app.post_message(key(k))
        for _ in range(len(keys) * 4):  # every key's trip through the DOM, and more
            await pilot.pause()
        return field.value


SCENARIOS = [
    # ctrl+u then a new name, sent together (the container-name field over SSH)
    ("gpt-oss-sglang", ["ctrl+u", *"nc2-ctrlu-same-1"], "nc2-ctrlu-same-1"),
    # End, five Backspaces, then more text
    ("nc2-stale", ["home", "end", *["backspace"] * 5, *"good"], "nc2-good"),
    ("", [*"ba", "backspace", "c"], "bc"),
]


async def test_a_burst_is_applied_in_arrival_order():
    for start, keys, want in SCENARIOS:
        assert await burst(TextField, keys, start) == want, (start, keys)


async def test_textuals_own_input_garbles_the_same_burst():
    """The reproduction: if this starts passing with the plain Input, upstream fixed it and
    TextField's key handling can go (Textualize/textual issue 6605)."""
    results = [await burst(Input, keys, start) for start, keys, _ in SCENARIOS]
    assert results != [want for _, _, want in SCENARIOS]


async def test_focus_keeps_the_text_and_a_digit_is_typed_into_it():
    app = FieldApp(lambda: TextField("openai/gpt-oss-20b"))
    async with app.run_test() as pilot:
        field = app.field
        field.focus()
        await pilot.pause()
        assert field.selection.is_empty
        await pilot.press("1")
        assert field.value == "openai/gpt-oss-20b1"


def test_every_text_field_in_the_app_is_a_text_field():
    """No area builds a bare Input: each would garble bursts and select its text on focus."""
    import ast
    from pathlib import Path

    ui = Path(__file__).resolve().parents[1] / "console" / "ui"
    bare = []
    for path in sorted(ui.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name == "Input":
                    bare.append(f"{path.relative_to(ui)}:{node.lineno}")
    assert bare == [], f"use console.ui.fields.TextField instead of Input at {bare}"

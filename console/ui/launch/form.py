"""The settings form: the declaration's form fields rendered group by group.

Nothing here lists settings: widgets come from ``console.settings.form_fields()``.
Each row shows the value's source (default/profile/planner/env/edited) and, under
it, the validation problem for that setting; the focused field's help is shown
in one line at the bottom, so the form fits 80×24.

The fields are the truth: ``fill`` remembers the text it put in each field, and any field
whose text differs from it (or that was edited before) is an edit, read from the widget at
the moment it is needed. No change is dropped while the form fills itself (a burst of keys
used to leave the preview and F5 on an older value: issue 19 bug 1, issue 10 bug 2).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from console.ui.fields import TextField

from console.secret import Secret

# A console-only choice that is no launch setting (a safety override, never saved).
ALLOW_PUBLIC = "allow_public"
SOURCE_WORDS = {"cli": "edited", "default": "default", "profile": "profile", "planner": "planner",
                "env": "env", "alias": "env", "file": "file", "auto": "auto", "running": "running"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Secret):
        return value.reveal()  # a password field holds the key itself, shown as dots
    if isinstance(value, list):
        import shlex

        return shlex.join(str(v) for v in value)
    return str(value)


ENGINE = "engine"


def engine_field(groups: dict[str, list]):
    """The Engine selector: the declared ``engine`` setting when the declaration has it, else one
    built from the engines registry; either way a choice among console.engines' names."""
    import dataclasses

    from console import engines
    from console.settings.forms import FormField

    names = tuple(engines.names())
    declared = next((f for fs in groups.values() for f in fs if f.key == ENGINE), None)
    if declared is not None:
        return dataclasses.replace(declared, kind="choice", choices=names)
    return FormField(key=ENGINE, label="Engine", group=next(iter(groups)), kind="choice", default=engines.DEFAULT,
                     placeholder=engines.DEFAULT, choices=names, allowed=", ".join(names),
                     help="Inference engine to launch; each shows its own settings below the model's.",
                     env="GPT_OSS_ENGINE", secret=False, runtime=True)


def engine_groups() -> dict[str, tuple[str, list]]:
    """Each engine's own settings (declared in its package) as form fields, by engine name."""
    from console import engines
    from console.settings.forms import form_field
    from console.settings.spec import BY_KEY

    return {e.name: (e.label, [form_field(s) for s in e.settings if s.key not in BY_KEY])
            for e in engines.all_engines() if any(s.key not in BY_KEY for s in e.settings)}


class SettingsForm(VerticalScroll):
    """Inputs for every setting; posts :class:`SettingsForm.Edited` on each change."""

    class Edited(Message):
        """A field changed by the operator; ``raw`` is what the field holds now."""

        def __init__(self, key: str, raw: Any) -> None:
            super().__init__()
            self.key = key
            self.raw = raw

    class FieldFocused(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from console.settings import form_fields

        self.groups = form_fields()
        engine = engine_field(self.groups)
        for fields in self.groups.values():
            fields[:] = [f for f in fields if f.key != ENGINE]
        first = next(iter(self.groups))
        self.groups[first].insert(0, engine)  # first: it decides which settings follow
        self.engine_groups = engine_groups()  # engine name → (its label, its own settings' fields)
        self.fields = {f.key: f for fs in self.groups.values() for f in fs}
        for _, fields in self.engine_groups.values():
            self.fields.update({f.key: f for f in fields})
        self.filled: dict[str, Any] = {}  # what fill() last put in each field

    def _row(self, f) -> ComposeResult:
        with Horizontal(classes="launch-row", id=f"row-{f.key}"):
            yield Label(f.label, classes="launch-label")
            yield self._widget(f)
            yield Static("", classes="launch-source", id=f"src-{f.key}")
        yield Static("", classes="launch-problem", id=f"err-{f.key}")

    def compose(self) -> ComposeResult:
        for group, fields in self.groups.items():
            yield Label(group, classes="launch-group")
            for f in fields:
                yield from self._row(f)
            if group == next(iter(self.groups)):
                # Each engine's own settings, beside the common ones; only the chosen engine's show.
                for name, (label, own) in self.engine_groups.items():
                    with Vertical(classes="engine-own", id=f"engine-own-{name}") as box:
                        box.display = False
                        yield Label(f"{label}'s own settings", classes="launch-group")
                        for f in own:
                            yield from self._row(f)
            if group == "Image & runtime":
                with Horizontal(classes="launch-row"):
                    yield Label("Public bind", classes="launch-label")
                    yield Select([("refuse without API key", False), ("allow, with a warning", True)], value=False,
                                 allow_blank=False, id=f"f-{ALLOW_PUBLIC}", compact=True)
                    yield Static("", classes="launch-source")

    def _widget(self, f) -> Widget:
        wid = f"f-{f.key}"
        if f.kind == "bool":
            # A select, not a checkbox: "on"/"off" reads the same in every terminal's colours.
            return Select([("on", True), ("off", False)], value=bool(f.default), allow_blank=False, id=wid,
                          compact=True)
        if f.kind == "choice":
            options = [(str(c), c) for c in f.choices]
            return Select(options, prompt=f.placeholder or "auto", allow_blank=True, id=wid, compact=True)
        placeholder = f.placeholder
        if f.secret:
            placeholder = "not set (never in profiles)"
        restrict = {"int": r"-?\d*", "float": r"-?\d*\.?\d*"}.get(f.kind)
        return TextField(placeholder=placeholder, password=f.secret, restrict=restrict, id=wid, compact=True)

    # -- values in and out ------------------------------------------------------
    def fill(self, values: dict[str, Any], sources: dict[str, str], problems: dict[str, str],
             edits: dict[str, Any] | None = None) -> None:
        """Show ``values`` (an edited field shows its edit as typed) and each source and problem."""
        edits = edits or {}
        for key, f in self.fields.items():
            widget = self.query_one(f"#f-{key}")
            value = values.get(key)
            if isinstance(widget, Select):
                target = bool(value) if f.kind == "bool" else (value if value in f.choices else Select.NULL)
                if widget.value != target:
                    widget.value = target
                self.filled[key] = None if target is Select.NULL else target
            elif isinstance(widget, Input):
                # An edit is shown as typed ("0." stays "0." while the operator types 0.9).
                text = _text(edits[key]) if key in edits else _text(value)
                if widget.value != text:
                    widget.value = text
                self.filled[key] = text
            self.set_source(key, sources.get(key, "default"))
            self.set_problem(key, problems.get(key))

    def show_engine(self, name: str, not_taken: dict[str, str] | None = None) -> None:
        """Show the chosen engine's own settings (only its), and dim the common ones it does not take."""
        for other in self.engine_groups:
            self.query_one(f"#engine-own-{other}").display = other == name
        for key in self.fields:
            if self.query(f"#row-{key}"):
                self.query_one(f"#row-{key}").set_class(bool(not_taken and key in not_taken), "-not-taken")

    def current(self, key: str) -> Any:
        """What the field of ``key`` holds right now (Select: its value, None for blank)."""
        widget = self.query_one(f"#f-{key}")
        if isinstance(widget, Select):
            return None if widget.value is Select.NULL else widget.value
        return widget.value

    def changed_fields(self) -> dict[str, Any]:
        """Fields whose text differs from what fill() put there: changed by the operator since."""
        out = {}
        for key in self.fields:
            if key in self.filled and (now := self.current(key)) != self.filled[key]:
                out[key] = now
        return out

    def set_source(self, key: str, source: str) -> None:
        word = SOURCE_WORDS.get(source, source)
        style = {"edited": "bold", "planner": "cyan", "profile": "green", "env": "yellow",
                 "running": "magenta"}.get(word, "dim")
        self.query_one(f"#src-{key}", Static).update(Text(word, style=style))

    def set_problem(self, key: str, message: str | None) -> None:
        box = self.query_one(f"#err-{key}", Static)
        box.update(Text(message or "", style="bold red" if message and not message.startswith("⚠") else "yellow"))
        was = box.display
        box.display = bool(message)
        if message and not was and self.screen.focused is not None and self.screen.focused.id == f"f-{key}":
            # The problem of the field being typed in: in view, not cut off below the form's edge.
            self.call_after_refresh(box.scroll_visible, animate=False)

    def options(self) -> dict[str, Any]:
        return {ALLOW_PUBLIC: self.query_one(f"#f-{ALLOW_PUBLIC}", Select).value is True}

    # -- events -------------------------------------------------------------------
    def _key_of(self, widget: Widget) -> str | None:
        wid = widget.id or ""
        return wid[2:] if wid.startswith("f-") else None

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        key = self._key_of(event.input)
        if key in self.fields:  # every change, the field as it is now (the pane tells fill()'s echoes)
            self.post_message(self.Edited(key, event.input.value))

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        key = self._key_of(event.select)
        if not key:
            return
        self.post_message(self.Edited(key, event.value if event.value is not Select.NULL else None))

    def on_descendant_focus(self, event) -> None:
        key = self._key_of(event.widget)
        if key:
            self.post_message(self.FieldFocused(key))


class HelpLine(Static):
    """The focused setting's help, env var and allowed values."""

    def show(self, field) -> None:
        self.display = field is not None  # no empty rows when no setting has the focus
        if field is None:
            self.update("")
            return
        text = Text()
        text.append(f"{field.label}", style="bold")
        text.append(f"  env {field.env}", style="dim")
        if field.allowed:
            text.append(f"  [{field.allowed}]", style="dim")
        text.append(f"  {field.help}")
        self.update(text)


__all__ = ["ALLOW_PUBLIC", "HelpLine", "SettingsForm", "Vertical"]

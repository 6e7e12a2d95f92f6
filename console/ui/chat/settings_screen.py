"""The screen that edits the chat settings: endpoint, model, prompt, effort, tools.

The model list comes from the server's /v1/models, fetched in a worker when the screen
opens (and again with Ctrl+R after the URL or key changed).
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, SelectionList, Static, Switch, TextArea

from console.chat.settings import REASONING_EFFORTS, TOOL_CHOICES, ChatSettings
from console.secret import reveal
from console.ui.fields import TextField
from console.ui.chat.settings import describe_error, fetch_model_ids


class ChatSettingsScreen(ModalScreen[ChatSettings | None]):
    """Endpoint, model, system prompt, effort, tool choice, streaming and tools."""

    # The scrolling form is focusable and would take focus first; typing must land in the URL.
    AUTO_FOCUS = "#base-url"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "save", "Apply"),
        Binding("ctrl+r", "refresh_models", "Reload models"),
    ]

    def __init__(self, settings: ChatSettings, tool_names: list[str]) -> None:
        super().__init__(id="chat-settings")
        self.settings = settings
        self.tool_names = tool_names

    def compose(self) -> ComposeResult:
        s = self.settings
        with VerticalScroll(id="chat-settings-form") as form:
            # In the border, not a line of the form: focusing the URL scrolled a title line away.
            form.border_title = "Chat settings"
            form.border_subtitle = "Ctrl+S apply · Esc cancel · Ctrl+R reload models"
            yield Label("Base URL")
            yield TextField(s.base_url, placeholder="http://127.0.0.1:8000", id="base-url")
            yield Label("API key")
            yield TextField(reveal(s.api_key) or "", password=True, placeholder="(none)", id="api-key")
            yield Label("Model")
            models = [(s.model, s.model)] if s.model else []
            yield Select(models, value=s.model if s.model else Select.NULL, prompt="(from /v1/models)", id="model")
            yield Static("", id="models-status")
            yield Label("System prompt")
            yield TextArea(s.system_prompt or "", id="system-prompt", soft_wrap=True)
            with Horizontal(classes="row"):
                yield Label("Reasoning effort")
                efforts = [("default (not sent)", "default")] + [(e, e) for e in REASONING_EFFORTS]
                yield Select(efforts, value=s.reasoning_effort or "default", allow_blank=False, id="effort")
            with Horizontal(classes="row"):
                yield Label("Tool choice")
                choices = [(c, c) for c in TOOL_CHOICES] + [(f"named: {n}", n) for n in self.tool_names]
                value = s.tool_choice if s.tool_choice in {v for _, v in choices} else "auto"
                yield Select(choices, value=value, allow_blank=False, id="tool-choice")
            with Horizontal(classes="row"):
                yield Label("Max tokens")
                yield TextField(str(s.max_tokens or ""), placeholder="server default", type="integer", id="max-tokens")
            with Horizontal(classes="row"):
                yield Label("Streaming")
                yield Switch(s.stream, id="streaming")
                yield Label("Tools")
                yield Switch(s.tools_enabled, id="tools-enabled")
            yield Label("Tools offered")
            chosen = set(self.tool_names if s.tools is None else s.tools)
            yield SelectionList[str](*[(n, n, n in chosen) for n in self.tool_names], id="tools")
            yield Label("Operator tools file (OpenAI tools JSON)")
            yield TextField(s.tools_file or "", placeholder="(none)", id="tools-file")

    def on_mount(self) -> None:
        # Focusing the URL scrolls it to the top edge, its label above out of sight: start at the top.
        form = self.query_one("#chat-settings-form", VerticalScroll)
        self.call_after_refresh(form.scroll_home, animate=False)
        if self.settings.base_url:
            self.action_refresh_models()

    def action_refresh_models(self) -> None:
        url = self.query_one("#base-url", Input).value.strip()
        key = self.query_one("#api-key", Input).value.strip() or None
        if not url:
            self.query_one("#models-status", Static).update("enter a base URL first")
            return
        self.query_one("#models-status", Static).update("… asking /v1/models")
        self._load_models(url, key)

    @work(exclusive=True, group="models")
    async def _load_models(self, url: str, key: str | None) -> None:
        status = self.query_one("#models-status", Static)
        try:
            ids = await fetch_model_ids(url, key)
        except Exception as exc:  # any failure is shown, never raised into the UI
            status.update(f"✖ {describe_error(exc)}")
            return
        select = self.query_one("#model", Select)
        current = select.value if select.value != Select.NULL else self.settings.model
        select.set_options([(i, i) for i in ids])
        if current in ids:
            select.value = current
        elif ids:
            select.value = ids[0]
        status.update(f"{len(ids)} model(s) served")

    def action_save(self) -> None:
        form = self.query_one
        url = form("#base-url", Input).value.strip()
        if url:
            from console.errors import ConsoleError
            from console.server.client import root_url

            try:
                root_url(url)
            except ConsoleError as exc:  # keep the screen open: nothing typed is lost
                form("#models-status", Static).update(f"✖ {exc.message} — {exc.hint}")
                form("#base-url", Input).focus()
                return
        model = form("#model", Select).value
        effort = form("#effort", Select).value
        chosen = list(form("#tools", SelectionList).selected)
        self.dismiss(
            self.settings.with_(
                base_url=form("#base-url", Input).value.strip(),
                api_key=form("#api-key", Input).value.strip() or None,
                model=None if model == Select.NULL else str(model),
                system_prompt=form("#system-prompt", TextArea).text or None,
                reasoning_effort=None if effort == "default" else str(effort),
                tool_choice=str(form("#tool-choice", Select).value),
                stream=form("#streaming", Switch).value,
                tools_enabled=form("#tools-enabled", Switch).value,
                tools=None if set(chosen) == set(self.tool_names) else list(chosen),
                tools_file=form("#tools-file", Input).value.strip() or None,
                max_tokens=int(form("#max-tokens", Input).value) if form("#max-tokens", Input).value.strip() else None,
            )
        )

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

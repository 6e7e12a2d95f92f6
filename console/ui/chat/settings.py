"""The chat's endpoint and request settings, and the screen that edits them.

The model list comes from the server's /v1/models, fetched in a worker when the screen
opens (and again with Ctrl+R after the URL or key changed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, SelectionList, Static, Switch, TextArea

EFFORTS = ("low", "medium", "high")
CHOICES = ("auto", "required", "none")


@dataclass(frozen=True)
class ChatSettings:
    base_url: str = ""
    api_key: str | None = None
    model: str | None = None
    system_prompt: str = ""
    reasoning_effort: str | None = "medium"  # None: don't send the field
    tool_choice: str = "auto"  # auto | required | none | the name of one tool
    streaming: bool = True
    tools_enabled: bool = True
    tools: tuple[str, ...] | None = None  # names offered; None = every known tool
    tools_file: str | None = None
    max_tokens: int | None = None  # None: the server's default

    def with_(self, **changes) -> ChatSettings:
        return replace(self, **changes)

    def summary(self, width: int = 80) -> str:
        """One line for the pane's header; the API key is only ever shown masked."""
        url = self.base_url or "no endpoint (F2)"
        key = f" key {mask(self.api_key)}" if self.api_key else ""
        tools = "off"
        if self.tools_enabled:
            tools = self.tool_choice if self.tool_choice in CHOICES else f"→{self.tool_choice}"
            if self.tools is not None:
                tools += f"({len(self.tools)})"
        parts = [
            f"{url}{key}",
            self.model or "model ?",
            f"effort {self.reasoning_effort or 'default'}",
            f"tools {tools}",
            "stream" if self.streaming else "no stream",
        ]
        return " · ".join(parts)


def mask(secret: str | None) -> str:
    if not secret:
        return ""
    return "****" if len(secret) < 12 else f"{secret[:3]}…{secret[-2:]}"



class ChatSettingsScreen(ModalScreen[ChatSettings | None]):
    """Endpoint, model, system prompt, effort, tool choice, streaming and tools."""

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
        with VerticalScroll(id="chat-settings-form"):
            yield Static("Chat settings — Ctrl+S apply · Esc cancel · Ctrl+R reload models", classes="title")
            yield Label("Base URL")
            yield Input(s.base_url, placeholder="http://127.0.0.1:8000", id="base-url")
            yield Label("API key")
            yield Input(s.api_key or "", password=True, placeholder="(none)", id="api-key")
            yield Label("Model")
            models = [(s.model, s.model)] if s.model else []
            yield Select(models, value=s.model if s.model else Select.NULL, prompt="(from /v1/models)", id="model")
            yield Static("", id="models-status")
            yield Label("System prompt")
            yield TextArea(s.system_prompt, id="system-prompt", soft_wrap=True)
            with Horizontal(classes="row"):
                yield Label("Reasoning effort")
                efforts = [("default (not sent)", "default")] + [(e, e) for e in EFFORTS]
                yield Select(efforts, value=s.reasoning_effort or "default", allow_blank=False, id="effort")
            with Horizontal(classes="row"):
                yield Label("Tool choice")
                choices = [(c, c) for c in CHOICES] + [(f"named: {n}", n) for n in self.tool_names]
                value = s.tool_choice if s.tool_choice in {v for _, v in choices} else "auto"
                yield Select(choices, value=value, allow_blank=False, id="tool-choice")
            with Horizontal(classes="row"):
                yield Label("Max tokens")
                yield Input(str(s.max_tokens or ""), placeholder="server default", type="integer", id="max-tokens")
            with Horizontal(classes="row"):
                yield Label("Streaming")
                yield Switch(s.streaming, id="streaming")
                yield Label("Tools")
                yield Switch(s.tools_enabled, id="tools-enabled")
            yield Label("Tools offered")
            chosen = set(self.tool_names if s.tools is None else s.tools)
            yield SelectionList[str](*[(n, n, n in chosen) for n in self.tool_names], id="tools")
            yield Label("Operator tools file (OpenAI tools JSON)")
            yield Input(s.tools_file or "", placeholder="(none)", id="tools-file")

    def on_mount(self) -> None:
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
        model = form("#model", Select).value
        effort = form("#effort", Select).value
        chosen = list(form("#tools", SelectionList).selected)
        self.dismiss(
            self.settings.with_(
                base_url=form("#base-url", Input).value.strip(),
                api_key=form("#api-key", Input).value.strip() or None,
                model=None if model == Select.NULL else str(model),
                system_prompt=form("#system-prompt", TextArea).text,
                reasoning_effort=None if effort == "default" else str(effort),
                tool_choice=str(form("#tool-choice", Select).value),
                streaming=form("#streaming", Switch).value,
                tools_enabled=form("#tools-enabled", Switch).value,
                tools=None if set(chosen) == set(self.tool_names) else tuple(chosen),
                tools_file=form("#tools-file", Input).value.strip() or None,
                max_tokens=int(form("#max-tokens", Input).value) if form("#max-tokens", Input).value.strip() else None,
            )
        )

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()


async def fetch_model_ids(base_url: str, api_key: str | None) -> list[str]:
    from console.server.client import AsyncServerClient  # httpx stays out of start-up

    async with AsyncServerClient(base_url, api_key) as client:
        models = await client.models()
    return [str(m.get("id")) for m in models if m.get("id")]


def describe_error(exc: BaseException) -> str:
    """A person-facing line for any failure (ConsoleError carries its own hint)."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    hint = getattr(exc, "hint", None)
    return f"{message} — {hint}" if hint else message

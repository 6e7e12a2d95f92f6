"""The connect card as a screen: routes from where the user sits, one snippet at a time, and
keys to copy it, write the ``.env`` and check the curl snippets against the server.

Everything blocking (asking ``/v1/models``, writing the file, running curl) runs in thread
workers that post the messages below; the card itself comes from ``console.connect``.
"""

from __future__ import annotations

import os
from typing import Mapping

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static, Tab, Tabs

from console.errors import ConsoleError
from console.ui.fields import TextField

SSH_TAB = "ssh"


class CardReady(Message):
    def __init__(self, card) -> None:
        super().__init__()
        self.card = card


class CardFailed(Message):
    def __init__(self, error: ConsoleError) -> None:
        super().__init__()
        self.error = error


class Checked(Message):
    def __init__(self, results) -> None:
        super().__init__()
        self.results = results


class EnvWritten(Message):
    def __init__(self, update=None, error: ConsoleError | None = None) -> None:
        super().__init__()
        self.update = update
        self.error = error


class ConnectScreen(ModalScreen[None]):
    """``console.connect``'s card for one endpoint."""

    DEFAULT_CSS = """
    ConnectScreen { align: center middle; }
    #connect-dialog {
        width: 100%; max-width: 120; height: 100%; max-height: 40;
        border: round $accent; border-title-align: center; background: $surface; padding: 0 1;
    }
    #connect-head { height: auto; }
    #connect-routes { height: auto; max-height: 8; }
    #connect-tabs { margin-top: 1; }
    #connect-body { height: 1fr; }
    #connect-snippet { width: 100%; }
    #connect-status { height: auto; max-height: 4; }
    #connect-path { display: none; }
    #connect-path.asking { display: block; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("c", "copy", "Copy"),
        Binding("w", "write_env", "Write .env"),
        Binding("k", "check", "Check curl"),
        Binding("f", "force", "Replace values", show=False),
    ]

    def __init__(self, endpoint, *, bind: str | None = None, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.bind_address = bind
        self.env = os.environ if env is None else env
        self.card = None
        self.env_path: str | None = None
        self.can_force = False
        self.checking = False

    def compose(self) -> ComposeResult:
        with Vertical(id="connect-dialog") as dialog:
            dialog.border_title = "Connect a client"
            yield Static(Text(f"asking {self.endpoint.base_url}/v1/models which model it serves…"), id="connect-head")
            yield Static("", id="connect-routes")
            yield Tabs(id="connect-tabs")
            with VerticalScroll(id="connect-body"):
                yield Static("", id="connect-snippet", markup=False)
            yield TextField(os.path.join(os.getcwd(), ".env"), id="connect-path")
            yield Static("", id="connect-status")
        yield Footer()

    def on_mount(self) -> None:
        if self.endpoint.model:
            self._show_card(self._build(self.endpoint.model))
        else:
            self._discover()

    def _build(self, model: str):
        from console.connect.card import build_card

        return build_card(self.endpoint, model, bind=self.bind_address, env=self.env)

    @work(thread=True, exclusive=True, group="connect-model")
    def _discover(self) -> None:
        from console.connect.card import served_model

        try:
            model = served_model(self.endpoint)
            self.post_message(CardReady(self._build(model)))
        except ConsoleError as exc:
            self.post_message(CardFailed(exc))

    @on(CardReady)
    def _ready(self, message: CardReady) -> None:
        self._show_card(message.card)

    @on(CardFailed)
    def _failed(self, message: CardFailed) -> None:
        err = message.error
        self.query_one("#connect-head", Static).update(Text(f"{err.message}\n→ {err.hint or ''}", style="bold red"))

    # -- showing -----------------------------------------------------------------------
    def _show_card(self, card) -> None:
        self.card = card
        head = Text()
        head.append(card.model, style="bold")
        head.append(f" at {card.endpoint.base_url} · key: {card.key.describe()}")
        head.append(f"\nsnippets use {card.route.base_url} ({card.route.kind})", style="dim")
        self.query_one("#connect-head", Static).update(head)
        routes = Text()
        for r in card.routes:
            if routes:
                routes.append("\n")
            routes.append(f"{r.kind:<12}", style="cyan")
            routes.append(f" {r.base_url}  ")
            routes.append(r.where, style="dim")
            if r.first:
                routes.append(f"\n{'':<13}first: {r.first}")
        self.query_one("#connect-routes", Static).update(routes)
        tabs = self.query_one(Tabs)
        tabs.clear()
        for s in card.snippets:
            tabs.add_tab(Tab(s.name, id=f"tab-{s.name}"))
        tabs.add_tab(Tab(SSH_TAB, id=f"tab-{SSH_TAB}"))
        tabs.focus()

    def _current(self) -> tuple[str, str] | None:
        """(name, text) of the snippet shown."""
        if self.card is None:
            return None
        tab = self.query_one(Tabs).active_tab
        name = tab.id.removeprefix("tab-") if tab is not None and tab.id else self.card.snippets[0].name
        if name == SSH_TAB:
            tunnels = [r.first for r in self.card.routes if r.first]
            return name, "\n".join(tunnels) if tunnels else (
                "# not an SSH session: from your machine, forward the port with\n"
                f"# ssh -N -L {self.card.server.port}:127.0.0.1:{self.card.server.port} USER@THIS-HOST")
        return name, self.card.snippet(name).text

    @on(Tabs.TabActivated)
    def _tab(self, event: Tabs.TabActivated) -> None:
        current = self._current()
        if current is not None:
            self.query_one("#connect-snippet", Static).update(current[1])

    def _status(self, text: Text | str) -> None:
        self.query_one("#connect-status", Static).update(text)

    # -- actions -----------------------------------------------------------------------
    def action_close(self) -> None:
        path = self.query_one("#connect-path", Input)
        if path.has_class("asking"):
            path.remove_class("asking")
            self.query_one(Tabs).focus()
            return
        self.dismiss(None)

    def action_copy(self) -> None:
        from console.ui.clipboard import copy_text

        current = self._current()
        if current is None:
            return
        copy_text(self.app, current[1], f"connect {current[0]} snippet", title="Connect")

    def action_write_env(self) -> None:
        if self.card is None:
            return
        path = self.query_one("#connect-path", Input)
        path.add_class("asking")
        path.focus()
        self._status(Text("the .env to update (only its keys change; the old file is kept as .bak) — Enter: "
                          "write · Esc: cancel", style="yellow"))

    @on(Input.Submitted, "#connect-path")
    def _path_given(self, event: Input.Submitted) -> None:
        event.stop()
        self.env_path = event.value.strip()
        if not self.env_path:
            return
        event.input.remove_class("asking")
        self.query_one(Tabs).focus()
        self._write(self.env_path, False)

    def action_force(self) -> None:
        if self.can_force and self.env_path:
            self._write(self.env_path, True)

    @work(thread=True, exclusive=True, group="connect-env")
    def _write(self, path: str, force: bool) -> None:
        from console.connect.dotenv import update_env_file

        try:
            self.post_message(EnvWritten(update_env_file(path, self.card.env_updates(), force=force)))
        except ConsoleError as exc:
            self.post_message(EnvWritten(error=exc))

    @on(EnvWritten)
    def _written(self, message: EnvWritten) -> None:
        if message.error is not None:
            self.can_force = message.error.exit_code == 1  # other values there: replacing is a choice
            more = "  f: replace them" if self.can_force else ""
            self._status(Text(f"{message.error.message}\n→ {message.error.hint or ''}{more}", style="bold red"))
            return
        self.can_force = False
        self._status(Text(message.update.describe(), style="green"))

    def action_check(self) -> None:
        if self.card is None or self.checking:
            return
        self.checking = True
        self._status(Text("running the curl snippets against the server…", style="yellow"))
        self._check()

    @work(thread=True, exclusive=True, group="connect-check")
    def _check(self) -> None:
        from console.connect.check import check_card

        try:
            results = check_card(self.card.snippets, self.card.key, self.card.endpoint.api_key)
        except ConsoleError as exc:
            from console.connect.check import CheckResult

            results = [CheckResult("curl", False, f"{exc.message} — {exc.hint or ''}", 3)]
        self.post_message(Checked(results))

    @on(Checked)
    def _checked(self, message: Checked) -> None:
        self.checking = False
        text = Text()
        for r in message.results:
            if text:
                text.append("\n")
            text.append(f"{'✓' if r.ok else '✗'} {r.name}: ", style="green" if r.ok else "bold red")
            text.append(r.summary)
        self._status(text)

"""Chat with the served model: streaming Markdown, reasoning, tool calls, inspector, transcripts."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static

from console.chat import events as ev
from console.ui.fields import TextField
from console.ui import messages
from console.ui.chat import adapter
from console.ui.chat.prompt import PathScreen
from console.ui.chat.record import TurnRecord
from console.chat.settings import ChatSettings
from console.ui.chat.settings import describe_error, summary
from console.ui.chat.stream import PlainSegment, StreamingMarkdown
from console.ui.chat.widgets import AssistantMessage, UserMessage

# The inspector and settings screens (TextArea, Select...) load when first opened.

RENDER_VISIBLE_DELAY_S = 0.05
YIELD_EVERY_S = 0.002
STOP_GRACE_S = 1.0  # after Esc, how long the session may take to wind down before its worker is cancelled


class ChatPane(Vertical):
    BINDINGS = [
        Binding("escape", "stop", "Stop"),
        Binding("f2", "settings", "Settings"),
        Binding("f3", "inspect_last", "Inspect last"),
        Binding("f4", "connect", "Connect"),
        Binding("ctrl+l", "new_conversation", "New chat"),
        Binding("f5", "saved_chats", "Chats"),
        Binding("ctrl+s", "save_transcript", "Save transcript", show=False),
        Binding("ctrl+o", "load_transcript", "Load transcript", show=False),
        Binding("pageup", "scroll_log(-1)", "Page up", show=False),
        Binding("pagedown", "scroll_log(1)", "Page down", show=False),
    ]
    # Keys of a focused answer (↑ from the input reaches it), listed in the help with the pane's.
    HELP_ELSEWHERE = (("on an answer", "console.ui.chat.widgets:AssistantMessage"),)

    def __init__(self, *, settings: ChatSettings | None = None, session_factory: Callable[[ChatSettings], Any] | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id, classes="chat-pane")
        self._env_problem: str | None = None
        if settings is None:
            from console.server.endpoint import endpoint_or_problem

            from console.ui.recall import recalled, text

            endpoint, self._env_problem = endpoint_or_problem(default_base_url="")
            kept = recalled("chat") if not endpoint.base_url else {}  # the environment wins
            settings = ChatSettings(base_url=endpoint.base_url or text(kept.get("base_url")) or "",
                                    api_key=endpoint.api_key, model=endpoint.model or text(kept.get("model")))
        self.settings = settings
        self.session_factory = session_factory or adapter.make_session
        self.session: Any | None = None
        self.turns: list[AssistantMessage] = []
        self._turn_running = False
        self._stop_timer = None
        self._client_warming = False
        self._chat_path: Path | None = None  # where this conversation is saved as it goes

    def compose(self) -> ComposeResult:
        yield Static(summary(self.settings), id="chat-endpoint", markup=False)
        log = VerticalScroll(id="chat-log")
        log.can_focus = False  # focus goes to the input and the messages; PageUp/PageDown scroll
        yield log
        yield TextField(placeholder="Message · Enter send · Esc stop · F2 settings · ↑ messages", id="chat-input")

    def on_mount(self) -> None:
        if self._env_problem:  # a key file named in the environment that cannot be used: say so once
            self.notify(self._env_problem, title="Chat: API key", severity="warning", timeout=10)
        log = self.query_one("#chat-log", VerticalScroll)
        log.anchor()
        self._render_timer = None
        self.watch(log, "scroll_y", self._scrolled, init=False)
        self._list_saved()

    # -- saved chats (console.chat.saved) ---------------------------------------------------

    @work(thread=True, group="chat-saved")
    def _list_saved(self) -> None:
        """Drop chats past the retention, then offer the rest in the empty conversation."""
        from console.chat import saved
        from console.errors import ConsoleError
        from console.prefs import pref

        try:
            saved.prune(pref("GPT_OSS_CONSOLE_CHAT_DAYS"))
        except ConsoleError as exc:
            self.app.call_from_thread(self.notify, exc.message, title="Chats", severity="warning")
        chats = saved.list_chats()
        if chats:
            self.app.call_from_thread(self._offer_saved, chats)

    async def _offer_saved(self, chats: list) -> None:
        from textual.widgets import Label

        from console.ui.chat.saved_list import SavedChatsList

        log = self.query_one("#chat-log", VerticalScroll)
        if self.turns or log.query(SavedChatsList):
            return  # a conversation began meanwhile
        await log.mount_all([Label(f"Saved chats ({len(chats)}): Enter resumes, Delete removes · F5 lists them later",
                                   id="saved-chats-title"), SavedChatsList(chats, id="saved-chats-inline")])

    def on_resume_chat(self, message) -> None:
        message.stop()
        self._load(Path(message.path))

    def action_saved_chats(self) -> None:
        from console.chat.saved import list_chats
        from console.ui.chat.saved_list import SavedChatsScreen

        self.app.push_screen(SavedChatsScreen(list_chats()), lambda path: path and self._load(Path(path)))

    @work(thread=True, group="chat-autosave", exclusive=True)
    def _autosave(self) -> None:
        """Write the conversation after each turn (a thread: a long one is megabytes of JSON)."""
        from console.chat import saved

        session = self.session
        if session is None or not getattr(session, "turns", None):
            return
        if self._chat_path is None:
            self._chat_path = saved.new_chat_path()
        try:
            saved.save(session, self._chat_path)
        except Exception as exc:  # noqa: BLE001 - said once per failure, never a crash
            self.app.call_from_thread(self.notify, describe_error(exc), title="Chat not saved", severity="warning")

    def _scrolled(self) -> None:
        # Segments left as plain text while they streamed past are rendered once seen.
        if self._render_timer is None:
            self._render_timer = self.set_timer(RENDER_VISIBLE_DELAY_S, self._render_visible)

    async def _render_visible(self) -> None:
        self._render_timer = None
        if not self.query(PlainSegment):
            return
        log = self.query_one("#chat-log", VerticalScroll)
        top, bottom = log.region.y - log.size.height // 2, log.region.bottom + log.size.height // 2
        for stream in log.query(StreamingMarkdown):
            await stream.render_visible(top, bottom)

    # -- settings and endpoint -------------------------------------------------------------

    def apply_settings(self, settings: ChatSettings, *, announce: bool = False) -> None:
        endpoint_changed = (settings.base_url, settings.api_key) != (self.settings.base_url, self.settings.api_key)
        self.settings = settings
        self.query_one("#chat-endpoint", Static).update(summary(settings))
        # The conversation carries over (to a new endpoint too); Ctrl+L starts afresh.
        if self.session is not None and not adapter.update_session(self.session, settings):
            self.session = None
        if announce and endpoint_changed:
            self.post_message(messages.EndpointChanged(settings.base_url or None, settings.api_key, settings.model))

    def on_endpoint_changed(self, message: messages.EndpointChanged) -> None:
        if message.base_url is None:
            return  # the server went away; keep the address so the operator sees the errors
        same_server = message.base_url == self.settings.base_url
        # Another server may serve another model: without a name, ask its /v1/models.
        model = message.model or (self.settings.model if same_server else None)
        self.apply_settings(self.settings.with_(base_url=message.base_url, api_key=message.api_key, model=model))

    def action_settings(self) -> None:
        from console.ui.chat.settings_screen import ChatSettingsScreen

        def done(result: ChatSettings | None) -> None:
            if result is not None:
                from console.ui.recall import keep

                self.apply_settings(result, announce=True)
                keep(self, "chat", base_url=result.base_url or None, model=result.model or None)

        self.app.push_screen(ChatSettingsScreen(self.settings, adapter.tool_names(self.settings)), done)

    def action_connect(self) -> None:
        """The connect card for this chat's endpoint: how else to reach it, and what to paste."""
        if not self.settings.base_url:
            self.notify("no endpoint yet: F2 sets one", severity="warning")
            return
        from console.secret import Secret
        from console.server.endpoint import Endpoint
        from console.ui.connect import open_connect

        key = Secret(self.settings.api_key, source="chat settings") if self.settings.api_key else None
        open_connect(self.app, Endpoint(self.settings.base_url, key, self.settings.model or None))

    # -- turns -------------------------------------------------------------------------------

    @on(Input.Submitted, "#chat-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self._turn_running:
            self.notify("An answer is still streaming — Esc stops it.", severity="warning")
            return
        event.input.value = ""
        self.send(text)

    @on(Input.Changed, "#chat-input")
    def _typing(self, event: Input.Changed) -> None:
        # The first turn imports openai and httpx (most of a second) inside the turn's
        # coroutine, i.e. on the UI loop: the screen froze as Enter was pressed. Import
        # them on a thread while the operator types the first message instead.
        if event.value and not self._client_warming:
            self._client_warming = True
            self._import_client()

    @work(thread=True, group="chat-warm")
    def _import_client(self) -> None:
        adapter.import_client_libraries()

    def send(self, text: str) -> None:
        """Start a turn with this user message (what Enter in the input does)."""
        self._turn_running = True
        self._run_turn(text, None)

    @work(exclusive=True, group="chat-turn")
    async def _run_turn(self, text: str, replay: Any | None) -> None:
        from console.ui.chat.inspector import CallReplay, TurnReplay

        log = self.query_one("#chat-log", VerticalScroll)
        for offer in log.query("#saved-chats-title, #saved-chats-inline"):
            await offer.remove()  # a conversation begins: the list of saved ones steps aside
        message = AssistantMessage(TurnRecord(text))
        self.turns.append(message)
        if isinstance(replay, CallReplay):
            shown = f"(replay of {replay.name} {replay.call_id} with edited arguments)"
        else:
            shown = text if replay is None else f"(replay with edited messages) {text}"
        await log.mount_all([UserMessage(shown), message])
        log.anchor()
        try:
            session = self._session()
            if isinstance(replay, CallReplay):
                events = adapter.replay_call(session, replay.call_id, replay.arguments)
            elif isinstance(replay, TurnReplay):
                events = adapter.replay_turn(session, replay.messages)
            else:
                events = session.run_turn(text)
            # A fast local stream can keep this loop busy without ever waiting: yield once
            # per frame so the message renders while it streams, not only at the end.
            next_yield = time.monotonic() + YIELD_EVERY_S
            async for event in events:
                message.feed(event)
                if time.monotonic() >= next_yield:
                    await asyncio.sleep(0)
                    next_yield = time.monotonic() + YIELD_EVERY_S
        except asyncio.CancelledError:
            if not message.finished:
                message.feed(ev.TurnDone(cancelled=True))
            raise
        except Exception as exc:  # a failing turn is shown in the conversation, never raised
            text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            message.feed(ev.TurnError(text, getattr(exc, "hint", None)))
            message.feed(ev.TurnDone())
        finally:
            self._turn_running = False
            if self._stop_timer is not None:
                self._stop_timer.stop()
                self._stop_timer = None
            self._autosave()  # every turn, however it ended
        if not message.finished:
            message.feed(ev.TurnDone())
        self._learn_model()

    def _learn_model(self) -> None:
        """Show the model the session resolved from /v1/models when none was chosen."""
        model = getattr(getattr(self.session, "settings", None), "model", None)
        if model and not self.settings.model:
            self.settings = self.settings.with_(model=model)
            self.query_one("#chat-endpoint", Static).update(summary(self.settings))

    def _session(self) -> Any:
        if not self.settings.base_url:
            raise adapter.NoEndpoint()
        if self.session is None:
            self.session = self.session_factory(self.settings)
        return self.session

    def action_stop(self) -> None:
        if not self._turn_running:
            self.query_one("#chat-input", Input).focus()  # Esc on a message: back to typing
            return
        if self.session is not None:
            self.session.cancel()
        # A session that does not wind down in time has its worker cancelled.
        self._stop_timer = self.set_timer(STOP_GRACE_S, self._force_stop)

    def _force_stop(self) -> None:
        self._stop_timer = None
        if self._turn_running:
            self.workers.cancel_group(self, "chat-turn")

    def action_new_conversation(self) -> None:
        if self._turn_running:
            self.action_stop()
        self.session = None
        self._chat_path = None  # the next message starts a new saved chat
        self.turns.clear()
        self.query_one("#chat-log", VerticalScroll).remove_children()

    # -- inspector -----------------------------------------------------------------------

    def action_inspect_last(self) -> None:
        if self.turns:
            self.inspect(self.turns[-1])
        else:
            self.notify("Nothing to inspect yet.")

    @on(AssistantMessage.InspectRequested)
    def _inspect_requested(self, event: AssistantMessage.InspectRequested) -> None:
        event.stop()
        self.inspect(event.message)

    def inspect(self, message: AssistantMessage) -> None:
        from console.ui.chat.inspector import InspectorScreen

        def done(replay: Any | None) -> None:
            if replay is None:
                return
            if self._turn_running:
                self.notify("An answer is still streaming — Esc stops it first.", severity="warning")
                return
            self._turn_running = True
            self._run_turn(message.record.user_text, replay)

        self.app.push_screen(InspectorScreen(message.record), done)

    # -- keyboard: from the input to the messages ------------------------------------------

    def action_scroll_log(self, pages: int) -> None:
        log = self.query_one("#chat-log", VerticalScroll)
        if pages < 0:
            log.scroll_page_up(animate=False)
        else:
            log.scroll_page_down(animate=False)

    def on_key(self, event) -> None:
        if event.key == "up" and self.query_one("#chat-input", Input).has_focus and self.turns:
            event.stop()
            self.turns[-1].focus()
            self.turns[-1].scroll_visible()

    # -- transcripts -----------------------------------------------------------------------

    def _default_path(self, suffix: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return str(adapter.transcripts_dir() / f"chat-{stamp}{suffix}")

    def action_save_transcript(self, path: str | None = None) -> None:
        if path is None:
            self.app.push_screen(PathScreen("Save transcript (JSONL)", self._default_path(".jsonl")),
                                 lambda p: p and self.action_save_transcript(p))
            return
        try:
            written = adapter.save_transcript(self, Path(path).expanduser())
        except Exception as exc:
            self.notify(describe_error(exc), title="Transcript not saved", severity="error")
            return
        self.notify(f"Saved {written}", title="Transcript")

    def action_export_markdown(self, path: str | None = None) -> None:
        if path is None:
            self.app.push_screen(PathScreen("Export Markdown", self._default_path(".md")),
                                 lambda p: p and self.action_export_markdown(p))
            return
        try:
            written = adapter.export_markdown(self, Path(path).expanduser())
        except Exception as exc:
            self.notify(describe_error(exc), title="Markdown not exported", severity="error")
            return
        self.notify(f"Exported {written}", title="Transcript")

    def action_load_transcript(self, path: str | None = None) -> None:
        if path is None:
            self.app.push_screen(PathScreen("Load transcript (JSONL)", str(adapter.transcripts_dir()) + os.sep),
                                 lambda p: p and self.action_load_transcript(p))
            return
        self._load(Path(path).expanduser())

    @work(exclusive=True, group="chat-turn")
    async def _load(self, path: Path) -> None:
        try:
            # Reading and parsing a long transcript (and the session's first import) is
            # kept off the UI loop.
            turns, session = await asyncio.to_thread(adapter.load_transcript, path, self.settings)
        except Exception as exc:
            self.notify(describe_error(exc), title="Transcript not loaded", severity="error")
            return
        self.action_new_conversation()
        self.session = session
        from console.chat.saved import chats_dir

        if path.parent == chats_dir():
            self._chat_path = path  # a saved chat resumed: it goes on in the same file
        log = self.query_one("#chat-log", VerticalScroll)
        for user_text, events in turns:
            message = AssistantMessage(TurnRecord(user_text))
            self.turns.append(message)
            await log.mount_all([UserMessage(user_text), message])
            message.replay(events)
        self.notify(f"Loaded {len(turns)} turn(s) from {path}", title="Transcript")

    def palette_commands(self) -> Iterable[tuple[str, Callable[[], object], str]]:
        yield ("Export transcript as Markdown", self.action_export_markdown, "For bug reports and notes")
        yield ("Connect a client to this endpoint", self.action_connect,
               "URLs from where you sit, SSH tunnel, curl/Python/.env snippets")
        yield ("Saved chats", self.action_saved_chats, "Every conversation is saved as it goes: resume or delete one")

    def quit_warning(self) -> str | None:
        return "an answer is still streaming" if self._turn_running else None

    def cancel_work(self) -> None:
        if self._turn_running and self.session is not None:
            self.session.cancel()

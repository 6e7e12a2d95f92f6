"""The connect card in the TUI, by keyboard, against the SGLang-shaped server: the model asked
from /v1/models, the SSH tunnel shown, copy says OSC 52 and saves a private file, w writes the
.env (refusing other values until f), k runs the curl snippets; opened from Chat (F4) and
Launch (F10); and an 80×24 snapshot."""

from __future__ import annotations

import os
import stat

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Static, Tabs

from console.secret import Secret
from console.server.endpoint import Endpoint
from console.ui.clipboard import OSC52, clipboard_dir, exit_lines
from console.ui.connect.screen import ConnectScreen
from tests.ui_helpers import screen_text, until

KEY = "sk-ui-connect-0123456789abcdef"
SSH = {"SSH_CONNECTION": "203.0.113.5 51234 198.51.100.7 22", "USER": "alice"}


class Recording(App):
    """Keeps what Textual sends as OSC 52 and every notification, to assert on."""

    def __init__(self) -> None:
        super().__init__()
        self.copies: list[str] = []
        self.notes: list[str] = []

    def copy_to_clipboard(self, text: str) -> None:
        self.copies.append(text)
        super().copy_to_clipboard(text)

    def notify(self, message, **kw) -> None:
        self.notes.append(str(message))
        super().notify(message, **kw)


class CardApp(Recording):
    def __init__(self, endpoint, env=None) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.env = env

    def compose(self) -> ComposeResult:
        yield Static("base")

    def on_mount(self) -> None:
        self.push_screen(ConnectScreen(self.endpoint, env=self.env))


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


def snippet_text(app) -> str:
    return str(app.screen.query_one("#connect-snippet", Static).render())


async def test_card_by_keyboard_copy_write_env_and_check(sglang_shaped_factory, state):
    server = sglang_shaped_factory(api_key=KEY)
    app = CardApp(Endpoint(server.base_url, Secret(KEY)), env=SSH)
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: "openai/gpt-oss-20b at" in screen_text(app), "the model from /v1/models")
        port = server.server.server_address[1]
        tunnel = f"first: ssh -N -L {port}:127.0.0.1:{port} alice@198.51.100.7"
        await until(pilot, lambda: tunnel in screen_text(app) and "curl-chat" in screen_text(app), "the routes")
        assert KEY not in screen_text(app)

        # c: the shown snippet goes to OSC 52 and to a private file; the message says both, not "copied"
        await pilot.press("c")
        await until(pilot, lambda: app.copies, "a copy")
        saved = clipboard_dir() / "connect-curl-chat-snippet.txt"
        assert app.copies[-1] == saved.read_text() and "printf 'Authorization: Bearer %s" in saved.read_text()
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert any(OSC52 in n and str(saved) in n for n in app.notes)
        assert exit_lines(app) == [f"copied in this session ({OSC52}; also saved): connect curl-chat snippet → {saved}"]

        # → to the tool snippet, then the ssh tab
        await pilot.press("right")
        await until(pilot, lambda: '"tools"' in snippet_text(app), "the tool snippet")
        await pilot.press("right", "right", "right", "right", "right")
        await until(pilot, lambda: snippet_text(app).startswith("ssh -N -L"), "the ssh tab")

        # w: a .env with someone else's key is refused, f replaces it, the rest is kept
        dotenv = state / ".env"
        dotenv.write_text("# mine\nOPENAI_API_KEY=sk-someone-elses-0123456789\n")
        await pilot.press("w")
        field = app.screen.query_one("#connect-path", Input)
        await until(pilot, lambda: field.has_focus, "the path field")
        field.value = str(dotenv)
        await pilot.press("enter")
        status = app.screen.query_one("#connect-status", Static)
        await until(pilot, lambda: "f: replace them" in str(status.render()), "the refusal")
        assert "someone" not in screen_text(app)
        await pilot.press("f")
        await until(pilot, lambda: "updated" in str(status.render()), "the .env written")
        text = dotenv.read_text()
        assert text.startswith("# mine\n") and f"OPENAI_API_KEY={KEY}\n" in text and "LLM_BASE_URL=" in text

        # k: both curl snippets run against the server
        await pilot.press("k")
        await until(pilot, lambda: "✓ curl-tool: tool call get_weather" in str(status.render()), "the check")
        assert "✓ curl-chat: answer:" in str(status.render())

        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConnectScreen), "the card closed")


async def test_card_says_when_the_server_cannot_say_its_model(state):
    app = CardApp(Endpoint("http://127.0.0.1:1"), env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "no server at http://127.0.0.1:1" in screen_text(app), "the error")
        await pilot.press("c", "w", "k")  # nothing to copy, write or check: no crash, nothing happens
        assert not app.copies


async def test_chat_f4_opens_the_card_for_its_endpoint(sglang_shaped_server, state):
    from tests.test_ui_chat_support import ChatTestApp

    app = ChatTestApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.apply_settings(pane.settings.with_(base_url=sglang_shaped_server.base_url, model="openai/gpt-oss-20b"))
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, ConnectScreen), "the connect card")
        await until(pilot, lambda: f"openai/gpt-oss-20b at {sglang_shaped_server.base_url}" in screen_text(app),
                    "the card for the chat's endpoint")


def test_connect_card_80x24(snap_compare, state):
    endpoint = Endpoint("http://127.0.0.1:8000", Secret(KEY, source="file /run/secrets/api_key"),
                        "openai/gpt-oss-120b")

    async def run_before(pilot) -> None:
        await until(pilot, lambda: pilot.app.screen.query(Tabs) and "curl-chat" in screen_text(pilot.app), "the card")

    assert snap_compare(CardApp(endpoint, env=SSH), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.docker
async def test_launch_f10_opens_the_card_once_the_server_is_ready(standin_sglang_image, docker_client, state,
                                                                  monkeypatch):
    from pathlib import Path

    from console.runtime.phases import RunPhase
    from console.ui.launch.pane import LaunchPane
    from tests.fixtures.docker_engine import free_port
    from tests.fixtures.docker_engine import test_name as unique_name

    monkeypatch.setenv("XDG_CONFIG_HOME", str(state / "cfg"))
    for name in ("SSH_CONNECTION", "SSH_CLIENT", "RUNPOD_POD_ID"):
        monkeypatch.delenv(name, raising=False)
    styles = Path(__file__).resolve().parents[1] / "styles"
    name, port = unique_name("connect"), free_port()
    env = {"GPT_OSS_IMAGE": standin_sglang_image, "GPT_OSS_GPUS": "none", "GPT_OSS_HF_CACHE": "none",
           "GPT_OSS_CONTAINER_NAME": name, "GPT_OSS_HOST_PORT": str(port)}

    class LaunchApp(App):
        CSS_PATH = [str(styles / "app.tcss"), str(styles / "launch.tcss")]
        notes: list[str] = []

        def compose(self) -> ComposeResult:
            yield LaunchPane(id="pane-launch", attach=False, env=env)

        def notify(self, message, **kw) -> None:
            self.notes.append(str(message))
            super().notify(message, **kw)

    app = LaunchApp()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(LaunchPane)
            pane.query_one("#f-image_mode").value = "stock"
            pane.query_one("#f-host_port").focus()
            await pilot.pause()
            await pilot.press("f10")  # nothing ready yet: said, no card
            await until(pilot, lambda: any("no server is ready yet" in n for n in app.notes), "the warning")
            assert not isinstance(app.screen, ConnectScreen)
            await pilot.press("f5")
            await until(pilot, lambda: pane.snap is not None and pane.snap.phase is RunPhase.READY and pane.announced,
                        "the server to be ready", timeout=120)
            assert any("F10: connect a client" in n for n in app.notes)
            await pilot.press("f10")
            await until(pilot, lambda: isinstance(app.screen, ConnectScreen), "the card")
            await until(pilot, lambda: f"at http://127.0.0.1:{port}" in screen_text(app), "the card's server")
            await pilot.press("k")
            status = app.screen.query_one("#connect-status", Static)
            await until(pilot, lambda: "✓ curl-tool" in str(status.render()), "the curl check", timeout=60)
            assert "✓ curl-chat" in str(status.render())
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ConnectScreen), "the card closed")
    finally:
        try:
            docker_client.containers.get(name).remove(force=True)
        except Exception:
            pass


async def test_launch_f8_copies_through_the_one_helper(state, monkeypatch):
    """F8 used to say "copied" whether or not anything reached a clipboard."""
    from pathlib import Path

    from console.ui.launch.pane import LaunchPane

    monkeypatch.setenv("XDG_CONFIG_HOME", str(state / "cfg"))
    styles = Path(__file__).resolve().parents[1] / "styles"

    class LaunchApp(Recording):
        CSS_PATH = [str(styles / "app.tcss"), str(styles / "launch.tcss")]

        def compose(self) -> ComposeResult:
            yield LaunchPane(id="pane-launch", attach=False, env={"GPT_OSS_HF_CACHE": "none"})

    app = LaunchApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LaunchPane)
        pane.query_one("#f-host_port").focus()
        await pilot.press("f8")
        await until(pilot, lambda: app.copies, "the copy")
        saved = clipboard_dir() / "docker-run-command-no-secret-in-it.txt"
        assert app.copies == [pane.spec.docker_run()] == [saved.read_text()]
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert any(OSC52 in n and str(saved) in n for n in app.notes)
        assert not any(n.startswith("docker run command copied") for n in app.notes)

"""What the console remembers between runs (issue 10 "nothing is remembered"): the Chat endpoint
and model, the Smoke endpoint, model and soak turns, the Metrics endpoint and the bench settings,
restored at the next start, the environment winning, never a key; a damaged file is one sentence
and the areas start from their defaults."""

from __future__ import annotations

import json
import os
import stat

from textual.widgets import Input
from textual.widgets._toast import Toast

from console.ui import state
from console.ui.app import ConsoleApp
from console.ui.areas import AREAS
from console.ui.metrics.bench_screen import BenchScreen, field_id
from tests.metrics_helpers import metrics_app
from tests.test_bench_screen import fill, open_bench, option, wait_done
from tests.ui_helpers import screen_text, until


def app_of(name: str) -> ConsoleApp:
    return ConsoleApp(areas=[a for a in AREAS if a.name == name])


def state_text() -> str:
    path = state.state_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    return path.read_text()


async def test_chat_endpoint_and_model_come_back_and_the_key_never_goes_in(monkeypatch) -> None:
    for name in ("GPT_OSS_CONSOLE_BASE_URL", "GPT_OSS_CONSOLE_MODEL", "GPT_OSS_CONSOLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = app_of("chat")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.pane("chat"), "the Chat area")
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press(*"http://127.0.0.1:9", "tab", *"sk-remembered-never-1234")
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert json.loads(state_text())["chat"] == {"base_url": "http://127.0.0.1:9"}
    assert "sk-remembered-never" not in state_text()

    app = app_of("chat")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await until(pilot, lambda: app.pane("chat"), "the Chat area")
        assert pane.settings.base_url == "http://127.0.0.1:9" and not pane.settings.api_key

    monkeypatch.setenv("GPT_OSS_CONSOLE_BASE_URL", "http://127.0.0.1:7")  # the environment wins
    app = app_of("chat")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await until(pilot, lambda: app.pane("chat"), "the Chat area")
        assert pane.settings.base_url == "http://127.0.0.1:7"


async def test_smoke_endpoint_model_and_soak_come_back(monkeypatch, sglang_shaped_factory) -> None:
    monkeypatch.delenv("GPT_OSS_CONSOLE_BASE_URL", raising=False)
    peer = sglang_shaped_factory()
    app = app_of("smoke")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.pane("smoke"), "the Smoke area")
        app.query_one("#smoke-url", Input).value = peer.base_url
        app.query_one("#smoke-model", Input).value = peer.model
        app.query_one("#smoke-soak", Input).value = "3"
        app.query_one("#smoke-url", Input).focus()
        await pilot.press("f5")
        view = app.query_one("#smoke-view")
        await until(pilot, lambda: not view.running and view.results, "the suite to finish", timeout=120)
    assert json.loads(state_text())["smoke"] == {"base_url": peer.base_url, "model": peer.model, "soak": 3}

    app = app_of("smoke")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.pane("smoke"), "the Smoke area")
        assert app.query_one("#smoke-url", Input).value == peer.base_url
        assert app.query_one("#smoke-model", Input).value == peer.model
        assert app.query_one("#smoke-soak", Input).value == "3"


async def test_metrics_endpoint_comes_back(quiet_metrics) -> None:
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await until(pilot, lambda: app.pane("metrics"), "the Metrics area")
        pane.focus()
        await pilot.pause()
        await pilot.press("u")
        await until(pilot, lambda: pane.query_one("#metrics-url").has_focus, "the URL field")
        pane.query_one("#metrics-url", Input).value = ""
        await pilot.press(*"127.0.0.1:9", "enter")
        await pilot.pause()
        assert pane.base_url == "http://127.0.0.1:9"
    assert json.loads(state_text())["metrics"] == {"base_url": "http://127.0.0.1:9"}
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await until(pilot, lambda: app.pane("metrics"), "the Metrics area")
        assert pane.base_url == "http://127.0.0.1:9"


async def test_bench_settings_come_back_and_a_stale_one_falls_back(quiet_metrics, sglang_shaped_factory) -> None:
    peer = sglang_shaped_factory()
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bench(pilot, peer.base_url, peer.model)
        await fill(pilot, screen, concurrency="2", output_len="16", requests="4", seed="7")
        await pilot.press("ctrl+r")
        await wait_done(pilot, screen)
        assert screen.result is not None
    kept = json.loads(state_text())["bench"]
    assert (kept["concurrency"], kept["output_len"], kept["requests"], kept["seed"]) == ("2", "16", "4", "7")
    assert "model" not in kept

    state.remember("bench", seed="not a number")  # an old or hand-edited value that no longer reads
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bench(pilot, peer.base_url, peer.model)
        value = lambda dest: screen.query_one("#" + field_id(option(dest)), Input).value  # noqa: E731
        assert (value("concurrency"), value("output_len"), value("requests")) == ("2", "16", "4")
        assert value("seed") == option("seed").default
        assert isinstance(app.screen, BenchScreen)


async def test_a_damaged_file_is_one_sentence_and_the_defaults(monkeypatch) -> None:
    monkeypatch.delenv("GPT_OSS_CONSOLE_BASE_URL", raising=False)
    path = state.state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{ not json")
    app = app_of("smoke")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:  # toasts drawn, as in a terminal
        # The toast on screen (its words, not the screen's rows: a long path wraps them at any word).
        toast = await until(pilot, lambda: next((t for t in app.screen.query(Toast) if t.region.area), None),
                            "the sentence about the file")
        said = str(toast._notification.message)
        assert said.startswith("The remembered settings could not be read (JSONDecodeError): starting from defaults.")
        assert said.endswith(str(path)) and "ui-state.json.damaged" in said
        assert app.screen.region.contains_region(toast.region)
        assert app.query_one("#smoke-url", Input).value == ""
    assert path.read_text() == "{ not json"  # nothing lost until something new is remembered

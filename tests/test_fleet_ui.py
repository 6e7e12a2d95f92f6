"""The Fleet area by keyboard: hosts that fail in words, and up / drain on real SSH hosts."""

from __future__ import annotations

import time

import pytest

from console.secret import reveal
from console.ui.app import ConsoleApp
from console.ui.areas import AREAS
from console.ui.fleet.pane import FleetPane
from tests.ui_helpers import screen_text, until

NOW = 1_764_000_000.0


def fleet_app(*names: str) -> ConsoleApp:
    return ConsoleApp(areas=[a for a in AREAS if a.name in ("fleet", *names)])


@pytest.fixture
def refused_hosts(tmp_path, monkeypatch):
    """Two hosts whose SSH is refused (nothing listens on ports 1 and 2 of 127.0.0.1)."""
    for var, sub in (("XDG_CONFIG_HOME", "cfg"), ("XDG_STATE_HOME", "state"), ("XDG_RUNTIME_DIR", "run")):
        (tmp_path / sub).mkdir(mode=0o700)
        monkeypatch.setenv(var, str(tmp_path / sub))
    hosts = tmp_path / "hosts.toml"
    hosts.write_text('[fleet]\nname = "lab"\ntimeout = 5\n\n[hosts.gpu1]\nssh = "ssh://root@127.0.0.1:1"\n\n'
                     '[hosts.gpu2]\nssh = "ssh://root@127.0.0.1:2"\n')
    monkeypatch.setenv("GPT_OSS_CONSOLE_HOSTS", str(hosts))
    monkeypatch.setattr(FleetPane, "clock", staticmethod(lambda: NOW))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield hosts
    monkeypatch.undo()
    time.tzset()


async def test_unreachable_hosts_are_rows_with_the_reason(refused_hosts):
    app = fleet_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(FleetPane)
        text = await until(pilot, lambda: "unreachable" in screen_text(app) and screen_text(app), "the first poll")
        assert "gpu1" in text and "gpu2" in text
        assert pane.status.hosts[0].error.startswith("gpu1: SSH to ssh://root@127.0.0.1:1 was refused")
        assert "no router yet" in text and "is sshd running there" in text  # the whole sentence below
        # d with no worker row says what to do; m switches the model the plan and up use.
        await pilot.press("d")
        await until(pilot, lambda: any("select a worker row" in n.message for n in app._notifications), "the hint")
        await pilot.press("m")
        assert pane.model == "gpt-oss-120b" and "model gpt-oss-120b" in screen_text(app)


async def test_a_broken_hosts_file_is_a_sentence_in_the_area(refused_hosts):
    refused_hosts.write_text('[hosts.gpu1]\nport = "x"\n')
    app = fleet_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(FleetPane)
        text = await until(pilot, lambda: "1–65535" in screen_text(app) and screen_text(app), "the problem")
        assert pane.problem is not None and "port" in text and "hosts.toml" in text


def test_snapshot_unreachable(snap_compare, refused_hosts):
    async def settle(pilot):
        # the table lays its columns out after the rows arrive: wait for the painted cells
        await until(pilot, lambda: "unreachable  SSH to ssh://root@1…" in screen_text(pilot.app), "the painted rows")

    assert snap_compare(fleet_app(), terminal_size=(80, 24), run_before=settle)


@pytest.mark.docker
async def test_up_and_drain_by_keyboard(fleet_lab, console_image, monkeypatch):
    from tests.fixtures.docker_engine import free_port

    fleet_lab.add_host("alpha", gpus="H100-80GB:1")
    fleet_lab.add_host("beta", gpus="H100-80GB:1")
    fleet_lab.hosts_file(router_port=free_port(), prometheus_port=free_port(), health_interval=1, timeout=10)
    # The worker settings come from the environment, as for `launch` (the TUI's up has no flags).
    for k, v in {"GPT_OSS_IMAGE": console_image, "GPT_OSS_GPUS": "none", "GPT_OSS_HF_CACHE": "none"}.items():
        monkeypatch.setenv(k, v)
    from console.fleet import ops

    real = ops.up_options
    monkeypatch.setattr(ops, "up_options", lambda **kw: real(**kw, image_mode="project", extra_env={
        "FAKE_GPUS": "H100-80GB:1", "FAKE_SGLANG_DELAY": "0.05"}, ready_timeout=180))
    app = fleet_app("chat")  # Chat first (ORDER 40): it follows the router when asked
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+pagedown")  # digits are text in the chat input
        pane = await until(pilot, lambda: app.query(FleetPane).first() if app.query(FleetPane) else None, "the Fleet area")
        await until(pilot, lambda: pane.status is not None, "the first poll", timeout=60)
        await pilot.press("u")
        await until(pilot, lambda: "Fleet up?" in screen_text(app), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: pane.operation is None and any("up:" in ln for ln in pane.log_lines),
                    "fleet up to finish", timeout=240)
        assert "✓ up: 2/2 worker(s) ready" in "\n".join(pane.log_lines), pane.log_lines
        await until(pilot, lambda: pane.status and sum(w.phase == "ready" for w in pane.status.workers) == 2,
                    "both workers ready in the table", timeout=60)
        wanted = ("alpha/0", "beta/0", "healthy", "2/2 worker(s) ready")
        await until(pilot, lambda: all(w in screen_text(app) for w in wanted), "the table painted")
        # e points Chat at the router, with the fleet's key.
        from console.ui.chat.pane import ChatPane

        await pilot.press("e")
        await until(pilot, lambda: app.query_one(ChatPane).settings.base_url == pane.status.router.url, "chat's endpoint")
        key = (fleet_lab.root / "cfg" / "gpt-oss-console" / "fleet" / f"{fleet_lab.fleet}.key").read_text().strip()
        assert reveal(app.query_one(ChatPane).settings.api_key) == key  # a Secret: compared by its value
        # l shows the selected worker's log (the SGLang stand-in's ready line).
        await pilot.press("l")
        # The page holds the log's tail and shows its end: the stand-in's statistics lines after
        # the ready line can push it above the visible rows, so the page's text is what is read.
        from console.ui.fleet.screens import TextScreen

        page = await until(pilot, lambda: app.screen if isinstance(app.screen, TextScreen) else None,
                           "the worker's log", timeout=60)
        assert page.title_text.endswith("-alpha-0"), page.title_text  # the selected worker's container
        assert "fired up and ready to roll" in str(page.text)
        await until(pilot, lambda: "alpha-0" in screen_text(app), "the log page painted")
        await pilot.press("escape")
        # Drain the first row's worker.
        table = pane.query_one("#fleet-table")
        table.move_cursor(row=0)
        await pilot.press("d")
        await until(pilot, lambda: "Drain alpha/0?" in screen_text(app), "the drain question")
        await pilot.press("y")
        await until(pilot, lambda: pane.operation is None and any("drained" in ln for ln in pane.log_lines),
                    "the drain", timeout=120)
        await until(pilot, lambda: any(w.phase == "stopped" for w in pane.status.workers), "alpha stopped", timeout=60)
        alpha = next(w for w in pane.status.workers if w.container.host == "alpha")
        assert alpha.router is None  # deregistered
        await until(pilot, lambda: "stopped" in screen_text(app), "the stopped row painted")

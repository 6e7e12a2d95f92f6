"""Logs pane (Pilot, keyboard only): file and live container sources, filter, regex errors,
error jumps, save, follow/pause, long lines, messages; snapshots at 80×24 and 160×48."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from console.logs.events import Phase
from console.ui.logs.pane import LogsPane
from tests.ui_helpers import screen_text, until

DATA = Path(__file__).parent / "data" / "logs"
STYLES = Path(__file__).resolve().parents[1] / "styles"


class LogsApp(App):
    """Just the Logs pane (the full shell is tested elsewhere)."""

    CSS_PATH = [str(STYLES / "app.tcss"), str(STYLES / "logs.tcss")]

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        self.path = path
        self.saved: list[LogsPane.Saved] = []

    def compose(self) -> ComposeResult:
        yield LogsPane(id="pane-logs")

    def on_mount(self) -> None:
        pane = self.query_one(LogsPane)
        pane.focus()
        if self.path is not None:
            pane.open_file(str(self.path))

    @property
    def phases(self) -> list[Phase]:
        """The phases the pane's panel reached, in the order it reached them."""
        return list(self.query_one(LogsPane).stats.phase_times)

    @property
    def diagnoses(self) -> list[str]:
        return [d.code for d in self.query_one(LogsPane).stats.diagnoses]

    def on_logs_pane_saved(self, message: LogsPane.Saved) -> None:
        self.saved.append(message)


async def loaded(pilot) -> LogsPane:
    pane = pilot.app.query_one(LogsPane)
    await until(pilot, lambda: pane.source_state in ("loaded", "ended", "error"))
    await pilot.pause(0.2)  # the throttled redraw
    await pilot.pause()
    return pane


async def test_empty_pane_says_it_has_no_source() -> None:
    app = LogsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Phase —" in text and "no log source" in text and "0 lines" in text


async def test_file_source_fills_panel_and_posts_phases() -> None:
    app = LogsApp(DATA / "healthy_20b.log")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await loaded(pilot)
        text = screen_text(app)
        assert "ready" in text
        assert "1,072,332 tok" in text and "ctx 131,072" in text
        assert "gen 1,348 tok/s" in text and "running 8" in text and "queued 2" in text
        assert "34 lines" in text and "FOLLOW" in text
        # following: the last line is on screen
        assert "POST /v1/chat/completions" in text
        assert app.phases[-1] is Phase.READY and app.phases == sorted(app.phases)
        assert app.diagnoses == []
        assert pane.stats.phase is Phase.READY


async def test_prediction_shown_next_to_capacity() -> None:
    app = LogsApp(DATA / "healthy_20b.log")
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        pane.set_prediction(max_total_num_tokens=1_000_000)
        await pilot.pause(0.2)
        assert "plan 1,000,000 (+7%)" in screen_text(app)


async def test_failure_diagnosis_in_panel_and_message() -> None:
    app = LogsApp(DATA / "fail_not_enough_memory.log")
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        text = screen_text(app)
        assert "No room left for the KV cache" in text and "MEM_FRACTION_STATIC" in text
        assert app.diagnoses == ["not_enough_memory"]


async def test_text_filter_and_clear() -> None:
    app = LogsApp(DATA / "healthy_20b.log")
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        await pilot.press("slash")
        await pilot.press(*"decode")
        await pilot.pause(0.2)
        assert len(pane.buffer) == 2
        text = screen_text(app)
        assert "Load weight" not in text and "Decode batch. #running-req: 8, #token: 9320" in text
        assert "text 'decode': 2" in text
        await pilot.press("enter")  # close the input, keep the filter
        assert not pane.query_one("#logs-inputbar").display
        assert len(pane.buffer) == 2
        await pilot.press("escape")  # clear
        await pilot.pause(0.2)
        assert pane.buffer.filter is None and len(pane.buffer) == 34


async def test_regex_filter_and_bad_regex_error_inline() -> None:
    app = LogsApp(DATA / "healthy_20b.log")
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        await pilot.press("r")  # regex mode
        await pilot.press("slash")
        await pilot.press(*"(Decode|Prefill) batch")
        await pilot.pause(0.2)
        assert len(pane.buffer) == 4
        await pilot.press("space", "(", "x")  # now unbalanced
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "bad regex: missing )" in text
        assert pane.buffer.filter.text == "(Decode|Prefill) batch "  # the last good filter stays
        await pilot.press("backspace", "backspace", "backspace")
        await pilot.pause(0.2)
        assert "bad regex" not in screen_text(app)


async def test_errors_only_view_combines_with_text_filter() -> None:
    app = LogsApp(DATA / "fail_health_check.log")
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        await pilot.press("e")
        await pilot.pause(0.2)
        shown = [pane.buffer.line(pane.buffer.absolute(r)) for r in range(len(pane.buffer))]
        assert any("Health check failed" in line for line in shown)
        assert any(line.startswith("RuntimeError: CUDA error") for line in shown)
        assert not any("Decode batch" in line for line in shown)
        assert "errors+warnings" in screen_text(app)
        await pilot.press("slash", *"cuda")
        await pilot.pause(0.2)
        assert len(pane.buffer) == 1  # only the RuntimeError line is both
        await pilot.press("enter", "e")
        await pilot.pause(0.2)
        assert pane.buffer.filter.min_severity is None and len(pane.buffer) > 2


async def test_jump_between_errors() -> None:
    app = LogsApp(DATA / "fail_cuda_oom.log")
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        view = pane.view
        await pilot.press("n")
        assert "Traceback" in pane.buffer.line(view.cursor)
        await pilot.press("n")
        assert pane.buffer.line(view.cursor).startswith("torch.OutOfMemoryError")
        await pilot.press("n")
        assert "child failed" in pane.buffer.line(view.cursor)
        await pilot.press("n")  # none below: stays
        assert "child failed" in pane.buffer.line(view.cursor)
        await pilot.press("p", "p")
        assert "Traceback" in pane.buffer.line(view.cursor)
        assert not view.follow  # jumping pauses following
        assert "PAUSED" in screen_text(app)


async def test_copy_marked_line_masked() -> None:
    app = LogsApp(DATA / "fail_cuda_oom.log")
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("n", "n", "y")
        assert app.clipboard.startswith("torch.OutOfMemoryError: CUDA out of memory")
        pane = app.query_one(LogsPane)
        pane.feed_lines(["server_args=ServerArgs(api_key='sk-0123456789')"])
        pane.view.cursor = None
        await pilot.pause(0.2)
        await pilot.press("y")
        assert app.clipboard == "server_args=ServerArgs(api_key='••••')"


async def test_save_to_file_private(tmp_path) -> None:
    app = LogsApp(DATA / "fail_port_in_use.log")
    target = tmp_path / "saved.log"
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        await pilot.press("s")
        inp = pane.query_one("#logs-input")
        assert inp.value.endswith(".log") and "fail_port_in_use.log" in inp.value
        inp.value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: len(app.saved) == 1)
        assert target.read_text() == (DATA / "fail_port_in_use.log").read_text()
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        # a path that cannot be written shows the reason inline
        await pilot.press("s")
        inp.value = str(tmp_path / "missing-dir" / "x.log")
        await pilot.press("enter")
        await until(pilot, lambda: len(app.saved) == 2)
        await pilot.pause()
        assert "cannot write" in screen_text(app)


async def test_follow_pause_and_long_lines() -> None:
    app = LogsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LogsPane)
        pane.feed_lines([f"line {i}" for i in range(500)] + ["L" * 100_000])
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "…+98,000 chars" not in text  # the marker sits at the display limit, far right
        assert "LLLL" in text and "line 499" in text
        await pilot.press("f")
        assert not pane.view.follow and "PAUSED" in screen_text(app)
        pane.feed_lines(["new line"])
        await pilot.pause(0.2)
        assert "new line" not in screen_text(app)
        assert "+1 new" in screen_text(app)
        await pilot.press("f")
        await pilot.pause(0.2)
        assert pane.view.follow and "new line" in screen_text(app)
        await pilot.press("home")
        assert not pane.view.follow
        await pilot.press("end")
        assert pane.view.follow
        # scrolled right to the end of the long line: the truncation marker shows
        pane.view.follow = False
        row = pane.buffer.row_of(pane.buffer.dropped + 500)
        pane.view.show_row(row)
        pane.view.scroll_to(x=pane.view.max_scroll_x, animate=False)
        await pilot.pause(0.2)
        assert "…+98,000 chars" in screen_text(app)


def test_display_text_masks_secrets_and_terminal_noise() -> None:
    from console.ui.logs.view import DISPLAY_MAX, display_text

    shown = display_text("[t] server_args=ServerArgs(api_key='sk-very-secret', hf_token='hf_abcdefgh', admin_api_key=None)")
    assert "very-secret" not in shown and "abcdefgh" not in shown
    assert "api_key='••••'" in shown and "hf_token='••••'" in shown and "admin_api_key=None" in shown
    assert display_text("Capturing 1/24\rCapturing 24/24\r") == "Capturing 24/24"
    assert display_text("\x1b[31mred\x1b[0m\tx\x07") == "red x·"
    long = display_text("a" * (DISPLAY_MAX + 5000))
    assert long.endswith(" …+5,000 chars") and len(long) < DISPLAY_MAX + 20


async def test_secrets_never_painted() -> None:
    app = LogsApp()
    async with app.run_test(size=(160, 24)) as pilot:
        app.query_one(LogsPane).feed_lines(["[2026-01-05 14:30:58] server_args=ServerArgs(port=8000, api_key='sk-live-0123456789')"])
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "api_key='sk-…6789'" in text and "sk-live-0123456789" not in text


async def test_lines_fed_beyond_cap_stay_bounded() -> None:
    app = LogsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LogsPane)
        for k in range(30):
            pane.feed_lines([f"{k}-{i}" for i in range(10_000)])
        await pilot.pause(0.5)
        assert len(pane.buffer.lines) <= pane.buffer.cap * 9 // 8 + 10_000
        assert "29-9999" in screen_text(app)
        assert "dropped" in screen_text(app)


async def test_missing_file_is_reported() -> None:
    app = LogsApp(DATA / "no-such.log")
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        assert pane.source_state == "error"
        await pilot.pause(0.1)
        assert "No such file or directory" in screen_text(app)


@pytest.mark.docker
async def test_follow_a_live_container(docker_client, base_image, containers) -> None:
    c = containers.run(
        base_image,
        ["sh", "-c", "cat /logs/healthy_20b.log >&2; echo; sleep 1; echo 'late line'; sleep 60"],
        volumes={str(DATA): {"bind": "/logs", "mode": "ro"}},
    )
    app = LogsApp()
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container(c.id)
        await until(pilot, lambda: pane.stats.phase is Phase.READY)
        await until(pilot, lambda: "late line" in pane.buffer.lines)
        assert app.phases[-1] is Phase.READY
        assert pane.source_state == "following"
        pane.stop()
        await pilot.pause(0.3)
        assert pane.source_state == "stopped"
        assert "stopped" in screen_text(app)


@pytest.mark.docker
async def test_container_gone_is_shown(docker_client) -> None:
    app = LogsApp()
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container("gpt-oss-console-test-does-not-exist")
        await until(pilot, lambda: pane.source_state == "error")
        await pilot.pause(0.3)
        assert "error" in screen_text(app)


STANDIN_ARGV = ["python3", "-m", "sglang.launch_server", "--model-path", "openai/gpt-oss-20b", "--host", "0.0.0.0",
                "--port", "8000"]


def panel(app) -> str:
    return str(app.query_one("#logs-panel").render())


def status_line(app) -> str:
    return str(app.query_one("#logs-status").render())


@pytest.mark.docker
async def test_a_killed_server_shows_how_it_ended_not_its_last_phase(standin_sglang_image, containers) -> None:
    """Issue 19 bug 9: after `docker kill` (or an OOM exit) the header still said "ready"."""
    c = containers.run(standin_sglang_image, STANDIN_ARGV, environment={"FAKE_SGLANG_DELAY": "0.05"})
    app = LogsApp()
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container(c.id)
        await until(pilot, lambda: pane.stats.phase is Phase.READY, "ready")
        await until(pilot, lambda: "Phase ready" in panel(app), "the header to say ready")
        await pilot.press("f")  # paused while the source is live: not "following … PAUSED"
        await until(pilot, lambda: "PAUSED" in status_line(app))
        assert " live " in status_line(app) and "following" not in status_line(app)
        await pilot.press("f")
        c.kill()
        await until(pilot, lambda: pane.source_state == "ended", "the log to end")
        await until(pilot, lambda: "exited" in panel(app), "the header to say how it ended")
        header = panel(app)
        assert "exited (code 137: killed — SIGKILL or the OOM killer) after ready" in header
        assert "Phase ready" not in header
        assert "killed with SIGKILL" in header  # the exit explained, with what to check


@pytest.mark.docker
async def test_a_restart_is_marked_in_the_log_and_starts_the_phases_over(standin_sglang_image, containers) -> None:
    """Issue 19 bug 9: a restart left the old run's "ready" in the header and nothing between the runs."""
    c = containers.run(standin_sglang_image, STANDIN_ARGV,
                       environment={"FAKE_SGLANG_SCENARIO": "slow_start", "FAKE_SGLANG_PHASE_DELAY": "1"})
    app = LogsApp()
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container(c.id)
        await until(pilot, lambda: pane.stats.phase is Phase.READY, "the first run to be ready", timeout=60)
        first_run = len(pane.buffer.lines)
        c.restart(timeout=5)

        def marker_row() -> int | None:
            return next((i for i, line in enumerate(pane.buffer.lines) if "the container restarted" in line), None)

        await until(pilot, lambda: marker_row() is not None, "the marker between the runs", timeout=60)
        assert pane.stats.phase is None or pane.stats.phase < Phase.READY  # the new run's phases, from the start
        await pilot.pause(0.3)
        assert "Phase ready" not in panel(app)
        await until(pilot, lambda: pane.stats.phase is Phase.READY, "the new run to be ready", timeout=60)
        row = marker_row()
        assert row >= first_run - 5  # after the first run's lines (its shutdown lines may precede it)
        after = pane.buffer.lines[row + 1 :]
        assert any("server_args" in line or "Load weight begin" in line for line in after)
        assert not any("Load weight begin" in line for line in pane.buffer.lines[row - 3 : row])
        assert sum("fired up and ready" in line for line in pane.buffer.lines) == 2  # each line once


async def test_a_paused_short_log_counts_only_rows_below_the_screen() -> None:
    """Issue 19: "PAUSED +5 new" for a 4-line log: lines that arrived while paused were counted
    even when all of them were on screen."""
    app = LogsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LogsPane)
        await pilot.press("f")
        pane.feed_lines([f"line {i}" for i in range(4)])
        await pilot.pause(0.3)
        assert "PAUSED" in status_line(app) and "new" not in status_line(app)
        assert "line 3" in screen_text(app)
        pane.feed_lines([f"more {i}" for i in range(40)])
        await pilot.pause(0.3)
        rows = pane.view.scrollable_content_region.height
        assert f"+{44 - rows:,} new (f: follow)" in status_line(app)


async def test_the_empty_state_says_how_to_get_a_log() -> None:
    app = LogsApp()
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "launch a server (2 Launch, F5)" in text and "c picks a running container" in text
        assert "o opens a saved log" in text


async def test_o_opens_a_saved_log() -> None:
    app = LogsApp()
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(LogsPane)
        await pilot.press("o")
        pane.query_one("#logs-input").value = str(DATA / "fail_cuda_oom.log")
        await pilot.press("enter")
        await until(pilot, lambda: pane.source_state == "loaded")
        assert pane.source == "file fail_cuda_oom.log" and pane.stats.diagnoses
        assert "launch a server" not in screen_text(app)


async def test_picking_without_docker_says_what_to_do(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    app = LogsApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: app._notifications, "a word about Docker")
        note = str(list(app._notifications)[-1].message)
        assert "Docker" in note and "Traceback" not in note


@pytest.mark.docker
async def test_c_picks_any_running_container_and_follows_it(base_image, containers) -> None:
    c = containers.run(base_image, ["sh", "-c", "echo picked-$HOSTNAME; sleep 100"])
    app = LogsApp()
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(LogsPane)
        await pilot.press("c")
        from console.ui.logs.picker import ContainerPicker
        from textual.widgets import OptionList

        await until(pilot, lambda: isinstance(app.screen, ContainerPicker), "the picker")
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index(c.id)
        await pilot.press("enter")
        await until(pilot, lambda: any(line.startswith("picked-") for line in pane.buffer.lines), "the picked log")
        assert pane.source == f"container {c.id[:12]}" and pane.source_state == "following"


async def test_save_goes_to_the_state_folder_unless_told_otherwise(tmp_path, monkeypatch) -> None:
    """Issue 19: the default save path was the working directory (a clone got an untracked file)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = LogsApp(DATA / "fail_port_in_use.log")
    async with app.run_test(size=(160, 30)) as pilot:
        pane = await loaded(pilot)
        await pilot.press("s")
        path = Path(pane.query_one("#logs-input").value)
        assert path.parent == tmp_path / "state" / "gpt-oss-console" / "logs"
        await pilot.press("enter")
        await until(pilot, lambda: app.saved)
        assert path.read_text() == (DATA / "fail_port_in_use.log").read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert any(str(path) in str(n.message) for n in app._notifications)  # the path is said


# ── snapshots (deterministic: a recorded log file, no clocks) ───────────────


def _snap_app(name: str) -> LogsApp:
    return LogsApp(DATA / name)


async def _settle(pilot) -> None:
    await loaded(pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_snapshot_healthy(snap_compare, size) -> None:
    assert snap_compare(_snap_app("healthy_20b.log"), terminal_size=size, run_before=_settle)


def test_snapshot_failure_80x24(snap_compare) -> None:
    assert snap_compare(_snap_app("fail_capture_cuda_graph.log"), terminal_size=(80, 24), run_before=_settle)


def test_snapshot_filtered_160x48(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await loaded(pilot)
        await pilot.press("slash", *"batch")
        pilot.app.query_one("#logs-input").cursor_blink = False  # a blinking cursor made it flaky
        await pilot.pause(0.3)

    assert snap_compare(_snap_app("healthy_120b_tp2_newer.log"), terminal_size=(160, 48), run_before=run_before)


# ── saving on a thread ──────────────────────────────────────────────────────


async def test_save_writes_secrets_masked_as_the_screen_shows_them(tmp_path) -> None:
    """Issue 19 bug 3: the screen masked the key, the saved file had it in clear."""
    from console.secret import Secret

    app = LogsApp()
    target = tmp_path / "saved.log"
    key = "sk-printed-like-sglang-0000"
    token = Secret("hf_KnownToThisConsole0000000")  # a secret this console holds (launched with it)
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(LogsPane)
        pane.feed_lines(["[2026-01-05 14:30:58] server_args=ServerArgs(port=8000, api_key='" + key + "')",
                         f"downloading with {token.reveal()} as the token", "plain line"])
        await pilot.press("s")
        pane.query_one("#logs-input").value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: app.saved)
        saved = target.read_text()
        assert key not in saved and token.reveal() not in saved
        assert "api_key='sk-…0000'" in saved and "with hf_…0000 as the token" in saved
        assert saved.splitlines()[-1] == "plain line"


async def test_save_runs_on_a_worker_while_the_log_keeps_growing(tmp_path) -> None:
    app = LogsApp()
    target = tmp_path / "big.log"
    rows = [f"[2026-01-05 14:30:58] Decode batch. #running-req: {i % 9}, #token: {i}" for i in range(100_000)]
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(LogsPane)
        pane.feed_lines(rows)
        await pilot.pause(0.2)
        await pilot.press("s")
        pane.query_one("#logs-input").value = str(target)
        await pilot.press("enter")
        # The rows were taken when Enter was pressed; the pane goes on ingesting meanwhile.
        pane.feed_lines(["a line that arrived during the save"])
        await until(pilot, lambda: app.saved)
        await pilot.pause(0.2)
        assert target.read_text().splitlines() == rows
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        assert pane.buffer.lines[-1] == "a line that arrived during the save"
        assert len(pane.buffer.lines) == 100_001
        assert not pane.query_one("#logs-inputbar").display  # done: the bar closes
        assert "100,001 lines" in screen_text(app)
        (msg,) = app.saved
        assert (msg.path, msg.count, msg.error) == (str(target), 100_000, None)


async def test_save_of_filtered_view_writes_matches_only(tmp_path) -> None:
    app = LogsApp(DATA / "healthy_20b.log")
    target = tmp_path / "decode.log"
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        await pilot.press("slash", *"decode", "enter")
        await pilot.press("s")
        pane.query_one("#logs-input").value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: app.saved)
        saved = target.read_text().splitlines()
        assert len(saved) == 2 and all("Decode batch" in line for line in saved)


@pytest.mark.parametrize("where", ["missing-dir/x.log", "a-dir"])
async def test_save_to_a_bad_path_says_why_and_keeps_everything(tmp_path, where) -> None:
    (tmp_path / "a-dir").mkdir()
    bad = tmp_path / where
    app = LogsApp(DATA / "fail_port_in_use.log")
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        before = list(pane.buffer.lines)
        await pilot.press("s")
        pane.query_one("#logs-input").value = str(bad)
        await pilot.press("enter")
        await until(pilot, lambda: app.saved)
        await pilot.pause(0.1)
        assert isinstance(app.saved[0].error, OSError) and app.saved[0].count == 0
        text = screen_text(app)
        reason = "No such file or directory" if where.startswith("missing") else "Is a directory"
        assert f"cannot write: {reason}" in text
        assert "Traceback" not in text
        # nothing lost: the lines, and the bar with the path to correct
        assert pane.buffer.lines == before
        assert pane.query_one("#logs-inputbar").display
        assert pane.query_one("#logs-input").value == str(bad)
        assert not list(tmp_path.glob("**/.*.log.*"))  # no temporary file left behind


async def test_a_flood_paces_redraws_from_the_previous_interval() -> None:
    """At 60-150k lines/s each ingest brings a few thousand lines: the redraw after a
    flooded interval still waits 1/FLOOD_FPS, and a trickle goes back to VIEW_FPS."""
    from console.ui.logs import pane as logs_module

    app = LogsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LogsPane)
        await pilot.pause()
        flushes: list[float] = []
        original = pane._flush_view

        def counting_flush() -> None:
            flushes.append(time.monotonic())
            original()

        pane._flush_view = counting_flush
        pane.feed_lines([f"flood {i}" for i in range(logs_module.FLOOD_LINES + 1)])
        assert len(flushes) == 1 and pane._flooding  # drawn at once, and it was a flood
        pane.feed_lines([f"more {i}" for i in range(3_000)])  # fewer than FLOOD_LINES: still a flood
        assert pane._view_timer_pending
        timer_wait = 1 / logs_module.FLOOD_FPS
        await until(pilot, lambda: len(flushes) >= 2, "the paced redraw")
        assert flushes[1] - flushes[0] >= timer_wait * 0.9
        assert not pane._flooding  # 3,000 lines: the flood is over
        pane.feed_lines(["a trickle"])
        assert pane._view_timer_pending or len(flushes) == 3
        await until(pilot, lambda: len(flushes) >= 3, "the next redraw")
        assert flushes[2] - flushes[1] < timer_wait


async def test_a_flood_repaints_the_view_in_the_panes_redraws() -> None:
    """Once a flood is paced, the view repaints inside the pane's redraw (one frame for view,
    panel and status), not in a frame of its own between two of them, and still at most once
    per FLOOD_REPAINT_S; the last lines show when the flood stops."""
    from console.ui.logs import pane as logs_module
    from console.ui.logs.view import FLOOD_REPAINT_S, FLOOD_ROWS

    app = LogsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LogsPane)
        view = pane.view
        await pilot.pause()
        inside = [False]
        updates: list[tuple[float, bool]] = []
        flush, update = pane._flush_view, view._update

        def counting_flush() -> None:
            inside[0] = True
            try:
                flush()
            finally:
                inside[0] = False

        def counting_update() -> None:
            updates.append((time.monotonic(), inside[0]))
            update()

        pane._flush_view, view._update = counting_flush, counting_update
        # The way into a flood: two readable-rate redraws, the second with more rows than the
        # view shows at once, which it defers by itself (the one repaint of its own) ...
        for k in range(2):
            pane.feed_lines([f"start {k} {i}" for i in range(FLOOD_ROWS + 1)])
            await pilot.pause(1.5 / logs_module.VIEW_FPS)
        # ... then every ingest a flood's worth of lines, ~20 a second.
        t0, n = time.monotonic(), 0
        while time.monotonic() - t0 < 2.5:
            n += 1
            pane.feed_lines([f"flood {n} {i}" for i in range(logs_module.FLOOD_LINES + 1)])
            await pilot.pause(0.05)
        outside = [i for i, (_, in_flush) in enumerate(updates) if not in_flush]
        assert len(outside) <= 1, updates
        paced = updates[outside[-1] + 1 :] if outside else updates
        assert len(paced) >= 3, updates
        assert all(b - a >= FLOOD_REPAINT_S * 0.9 for (a, _), (b, _) in zip(paced[1:], paced[2:])), updates
        await until(pilot, lambda: f"flood {n} {logs_module.FLOOD_LINES}" in screen_text(app), "the flood's last line")


async def test_the_end_of_a_log_is_taken_at_once() -> None:
    """INGEST_HZ paces lines, not the end: a log that ends just after a take shows as ended
    (with its last lines) at once, not a take interval later."""
    from console.logs.follow import Ended, LogChunk
    from console.ui.logs.inbox import Inbox

    app = LogsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LogsPane)
        await pilot.pause()
        asked: list[Inbox] = []
        inbox = Inbox("container 3f2a9c", asked.append)
        pane._inbox, pane.source, pane.source_state = inbox, "container 3f2a9c", "reading"
        inbox.put(LogChunk(["the last line"]))
        pane._last_take = time.monotonic()  # a take just now: these lines wait for the next
        pane._on_lines(LogsPane.LinesArrived(inbox))
        assert pane.buffer.total == 0 and len(asked) == 1
        inbox.put(Ended())
        assert len(asked) == 2  # the end asks again though a take is due
        pane._on_lines(LogsPane.LinesArrived(inbox))
        assert pane.buffer.lines == ["the last line"] and pane.source_state == "ended"
        await pilot.pause(0.1)  # the paced take still due finds nothing more
        assert pane.buffer.lines == ["the last line"]


async def test_the_chosen_plan_is_shown_next_to_the_logged_pool() -> None:
    """The planner's PlanChosen reaches the Logs area as a message (no other area calls into it)."""
    from types import SimpleNamespace

    from console.ui.messages import PlanChosen

    app = LogsApp(DATA / "healthy_20b.log")
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await loaded(pilot)
        pane.post_message(PlanChosen({"max_model_len": 131072}, plan=SimpleNamespace(max_total_num_tokens=1_000_000)))
        await until(pilot, lambda: "plan 1,000,000 (+7%)" in screen_text(app), "the plan beside the pool")

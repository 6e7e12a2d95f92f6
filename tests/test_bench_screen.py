"""The bench screen at 80×24, keyboard only, against the SGLang-shaped server: the CLI bench's
options as fields (same defaults, same messages), a tool-call load, a dataset run, bad input."""

from __future__ import annotations

import argparse
import json
import stat

import pytest

from console.private_file import state_dir
from console.bench.options import OPTIONS, OptionError, read_args, read_field
from console.ui.metrics.bench_screen import BenchScreen, field_id
from tests.metrics_helpers import metrics_app
from tests.ui_helpers import screen_text, until


async def open_bench(pilot, url: str | None, model: str | None = None) -> BenchScreen:
    """The Metrics area pointed at ``url`` (not scraping), then ``b``, as an operator opens it."""
    pane = pilot.app.pane("metrics")
    pane.base_url, pane.model = url, model
    pane.focus()
    await pilot.press("b")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, BenchScreen)
    return screen


def option(dest: str):
    return next(o for o in OPTIONS if o.dest == dest)


async def fill(pilot, screen: BenchScreen, **values: str) -> None:
    """Tab to each field (by option dest) and type its value over what is there."""
    for dest, text in values.items():
        target = field_id(option(dest))
        for _ in range(2 * len(OPTIONS)):
            if screen.focused is not None and screen.focused.id == target:
                break
            await pilot.press("tab")
        assert screen.focused is not None and screen.focused.id == target, f"Tab never reached {target}"
        await pilot.press("home", "ctrl+k", *text)
    await pilot.press("tab")  # leave the last field: its value is checked as it is left
    await pilot.pause()


async def wait_done(pilot, screen: BenchScreen, seconds: float = 60.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if not screen.running:
            break
        await pilot.pause(0.05)
    assert not screen.running, "the run did not finish"
    await pilot.pause()


def status(screen: BenchScreen) -> str:
    return str(screen.query_one("#bench-status").render())


# -- one declaration, two front ends ---------------------------------------------------------------------


def _cli_args(*argv: str) -> argparse.Namespace:
    from console.cli import bench

    parser = argparse.ArgumentParser()
    bench.register(parser)
    return parser.parse_args(list(argv))


async def test_fields_start_at_the_cli_defaults(quiet_metrics):
    args = _cli_args()
    read_args(args)
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bench(pilot, "http://127.0.0.1:9")
        form = screen.read_form()
    assert form == {o.dest: getattr(args, o.dest) for o in OPTIONS}
    assert form["concurrency"] == [1, 4, 16, 64] and form["input_len"] == 1024 and form["requests"] is None
    assert form["tool_load"] is None and form["max_failure_rate"] == 0.0 and form["no_ignore_eos"] is False


@pytest.mark.parametrize("dest,text,said", [
    ("requests", "0", "must be ≥ 1"),
    ("concurrency", "1,x", "wants numbers like 1,4,16,64, not '1,x'"),
    ("concurrency", "0", "values must be ≥ 1"),
    ("input_len", "lots", "wants a whole number, not 'lots'"),
    ("tool_load", "0", "must be ≥ 1"),
    ("workers", "-1", "must be ≥ 1"),
    ("max_failure_rate", "2", "must be between 0 and 1"),
    ("price_per_hour", "cheap", "wants a number, not 'cheap'"),
])
def test_cli_and_screen_say_the_same(dest, text, said, capsys):
    from console.cli import main

    o = option(dest)
    with pytest.raises(OptionError) as screen_err:
        read_field(o, text)
    assert screen_err.value.message == f"{o.label} {said}"
    # the CLI refuses before it looks for a server (port 9 has none: that would be exit 3)
    assert main(["bench", "--base-url", "http://127.0.0.1:9", o.flag, text, "--quiet"]) == 2
    assert f"error: {o.flag} {said}" in capsys.readouterr().err


def test_a_missing_dataset_reads_the_same_in_both(tmp_path, capsys):
    from console.cli import main

    missing = str(tmp_path / "nope.jsonl")
    with pytest.raises(OptionError) as e:
        read_field(option("dataset"), missing)
    assert e.value.message == f"cannot read dataset {missing}: No such file or directory"
    assert main(["bench", "--base-url", "http://127.0.0.1:9", "--dataset", missing, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert e.value.message in err and "give a JSONL file, one prompt per line" in err


# -- the screen, keyboard only -----------------------------------------------------------------------------


async def test_bad_input_is_said_in_the_screen(quiet_metrics, tmp_path):
    not_json = tmp_path / "prompts.jsonl"
    not_json.write_text("this is not json\n")
    missing = tmp_path / "missing.jsonl"
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bench(pilot, "http://127.0.0.1:9", "openai/gpt-oss-20b")

        await fill(pilot, screen, requests="0")
        assert "Requests/level must be ≥ 1" in screen_text(app)  # said as the field is left
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not screen.running and screen.focused.id == "bench-requests"  # back to the field to fix
        assert screen.query_one("#bench-requests").has_class("-invalid")
        assert "Requests/level must be ≥ 1" in screen_text(app)

        await fill(pilot, screen, requests="2", dataset=str(missing))
        await pilot.press("enter")
        await pilot.pause()
        text = screen_text(app)
        assert not screen.running and f"cannot read dataset {missing}: No such file or directory" in status(screen)
        assert "cannot read dataset" in text and "Traceback" not in text

        await fill(pilot, screen, dataset=str(not_json))
        await pilot.press("ctrl+r")  # opens fine; its lines are judged in the worker, before any request
        await wait_done(pilot, screen)
        assert screen.result is None, screen.result
        assert f"{not_json}:1: not JSON — each line must be one JSON object" in status(screen)

        await fill(pilot, screen, dataset="", max_failure_rate="1.5")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not screen.running and "Max fail rate must be between 0 and 1" in status(screen)

        await fill(pilot, screen, max_failure_rate="0", tool_load="0")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not screen.running and "Tool-call load must be ≥ 1" in status(screen)
        assert "Traceback" not in screen_text(app)


async def test_tool_call_load_runs_and_shows_the_cli_columns(quiet_metrics, sglang_shaped_factory, tmp_path,
                                                              monkeypatch):
    from console.bench.report import format_tool_load

    monkeypatch.chdir(tmp_path)  # where Ctrl+S must not save
    peer = sglang_shaped_factory()
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bench(pilot, peer.base_url + "/v1")
        await fill(pilot, screen, tool_load="2", tool_rounds="6")
        await pilot.press("ctrl+r")
        # Running, or on a fast box already done: either way the form has folded away.
        assert screen.running or screen.result is not None, status(screen)
        assert not screen.query_one(".bench-field").display
        await wait_done(pilot, screen)
        r = screen.result
        assert r is not None, status(screen)
        assert r["model"] == peer.model and r["rounds"] == 6 and r["failed"] == 0
        assert set(r["by_check"]) == {"tool-auto", "streaming-tool-call", "multi-turn"}
        text = screen_text(app)
        assert "tool-call load: 6 rounds at concurrency 2: 0 failed (0.0%)" in text
        for line in format_tool_load(r).splitlines():  # the CLI's report, line for line
            assert line.rstrip() in text
        assert "done: openai/gpt-oss-20b; 6 tool rounds" in text
        events = [e.text for e in app.pane("metrics").timeline.events() if e.kind == "bench"]
        assert events == ["bench started (tool-call load 2)", "bench done: 0/6 tool rounds failed"]

        await pilot.press("ctrl+s")  # the JSON the CLI's --json FILE writes, private to the user
        await pilot.pause()
        saved = list(state_dir("bench").glob("bench-*.json"))  # the state dir, never the working one
        assert not list(tmp_path.glob("bench-*"))
        assert len(saved) == 1 and stat.S_IMODE(saved[0].stat().st_mode) == 0o600
        assert json.loads(saved[0].read_text()) == r


async def test_escape_cancels_a_run_then_closes(quiet_metrics, sglang_shaped_factory):
    peer = sglang_shaped_factory(token_interval_s=0.02)  # 40 tokens: about a second a request
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bench(pilot, peer.base_url)
        # Enough requests that no machine finishes them before Esc lands.
        await fill(pilot, screen, concurrency="1", output_len="40", requests="2000")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "concurrency 1: " in status(screen), "the run to pass its warm-up", timeout=60)
        await pilot.press("escape")  # cancels at once: the streams are closed, not waited for
        await wait_done(pilot, screen, seconds=1.0)
        assert screen.result is None and status(screen) == "cancelled"
        assert screen.query_one("#bench-requests").display and screen.focused is not None  # the form, to go again
        events = [e.text for e in app.pane("metrics").timeline.events() if e.kind == "bench"]
        assert events[-1] == "bench stopped: cancelled"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, BenchScreen)


async def test_tool_call_failures_over_the_allowed_rate_fail_the_run(quiet_metrics, sglang_shaped_factory):
    peer = sglang_shaped_factory(faults=["invalid_json_args"])
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bench(pilot, peer.base_url, peer.model)
        await fill(pilot, screen, tool_load="3", tool_rounds="3", max_failure_rate="0.5")
        await pilot.press("ctrl+r")
        await wait_done(pilot, screen)
        r = screen.result
        assert r is not None and r["rounds"] == 3 and r["failed"] >= 2, r
        text = screen_text(app)
        assert "FAILED:" in status(screen) and "over the allowed 50.0%" in status(screen)
        assert f"{r['failed']} failed" in text and "— e.g." in text


async def test_dataset_run_shows_its_results(quiet_metrics, sglang_shaped_factory, tmp_path):
    peer = sglang_shaped_factory()
    data = tmp_path / "prompts.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in (
        {"prompt": "What is the capital of France?", "output_len": 6},
        {"messages": [{"role": "user", "content": "Name three primary colours."}]},
        {"conversations": [{"from": "human", "value": "Say hello."}, {"from": "gpt", "value": "Hello."}]},
    )) + "\n")
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bench(pilot, peer.base_url)
        await fill(pilot, screen, concurrency="1,2", output_len="8", requests="3", dataset=str(data), gpu="H100")
        await pilot.press("space")  # on the "Stop early" box, after the GPU field
        assert screen.focused.id == "bench-no-ignore-eos"
        await pilot.press("ctrl+r")
        await wait_done(pilot, screen)
        r = screen.result
        assert r is not None, status(screen)
        assert r["config"]["dataset"] == str(data) and r["gpu"] == "H100-80GB"
        assert [(lv["concurrency"], lv["completed"], lv["failed"]) for lv in r["levels"]] == [(1, 3, 0), (2, 3, 0)]
        text = screen_text(app)
        assert f"dataset {data} out=8 (seed 0)" in " ".join(text.split())  # a long path wraps
        assert "Settings: Concurrency 1,2; Output tokens 8; Requests/level 3;" in text  # the form, folded
        assert "out tok/s" in text and "   3/0" in text and "Reference for H100-80GB" in text
        assert "done: openai/gpt-oss-20b" in status(screen)


# -- how it looks ----------------------------------------------------------------------------------------------


def test_snapshot_fields_80x24(snap_compare, quiet_metrics):
    async def open_it(pilot):
        screen = await open_bench(pilot, "http://127.0.0.1:8000", "openai/gpt-oss-120b")
        await fill(pilot, screen, requests="0")  # one refused value: marked, and its message shown

    assert snap_compare(metrics_app(), terminal_size=(80, 24), run_before=open_it)

"""The Metrics area: timeline core and charts, the pane at 80×24 / 160×48, live scrapes, the bench screen."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from console.server import metrics as M
from console.timeline import Timeline
from console.timeline.chart import render_chart, sparkline, time_axis
from console.timeline.docker_events import event_from_docker
from console.timeline.timeline import SeriesSpec
from console.ui.metrics.pane import MetricsPane
from tests.gpus_helpers import use_recording
from tests.metrics_helpers import NOW, metrics_app
from tests.ui_helpers import screen_text

PAGE = (Path(__file__).parent / "data" / "sglang_metrics_tp2.txt").read_text()


# -- core ------------------------------------------------------------------------------------------


def test_series_resample_keeps_spikes_and_gaps():
    tl = Timeline(clock=lambda: NOW)
    for i in range(60):
        tl.add("q", NOW - 60 + i, 50.0 if i == 30 else 1.0, SeriesSpec("queued", "req"))
    cols = tl.resample("q", NOW - 120, NOW, 12)
    assert cols[:6] == [None] * 6  # nothing was recorded in the first minute
    assert max(v for v in cols if v is not None) == 50.0  # the one-second spike survives
    line = sparkline(cols, 0.0, None)
    assert line.startswith("······") and "█" in line and len(line) == 12


def test_series_are_bounded_and_ordered():
    tl = Timeline(maxlen=10, clock=lambda: NOW)
    for i in range(100):
        tl.add("x", float(i), float(i))
    tl.add("x", 5.0, 999.0)  # late sample: ignored
    spec, points = tl.snapshot("x")
    assert len(points) == 10 and points[0] == (90.0, 90.0) and tl.latest("x") == 99.0
    tl.add("x", None, None)  # None values are not data
    assert tl.latest("x") == 99.0


def test_chart_rows_share_one_axis_with_event_marks():
    tl = Timeline(clock=lambda: NOW)
    for i in range(300):
        tl.add("gpu0.vram", NOW - 300 + i, 60.0 if i > 100 else 0.5, SeriesSpec("GPU0 VRAM", "GiB", 0, 80))
        tl.add("srv.running", NOW - 300 + i, 8.0 if i > 150 else 0.0, SeriesSpec("running", "req", 0))
    tl.ingest_container("start", "sglang", t=NOW - 290)
    tl.add_event("ready", "server ready", t=NOW - 150)
    tl.ingest_container("exit", "sglang", "exit code 137", t=NOW - 1)
    lines = render_chart(tl, ["gpu0.vram", "srv.running"], NOW, 300, 80)
    assert all(len(line) <= 80 for line in lines)
    marks, vram, running, axis = lines
    col = lambda t: 11 + int((t - (NOW - 300)) / 300 * 61)  # noqa: E731 - label 10 + space, 61 columns
    assert marks[col(NOW - 290)] == "▲" and marks[col(NOW - 150)] == "●" and marks[-1] == "✗"
    assert vram.startswith("GPU0 VRAM ") and vram.rstrip().endswith("60.0G")
    # the VRAM step (t-200) comes before the running step (t-150), in the same columns of the axis
    assert vram[col(NOW - 250)] == "▁" and vram[col(NOW - 180)] != "▁"
    assert running[col(NOW - 180)] == "▁" and running[col(NOW - 100)] == "█"
    assert axis.strip().startswith("-5m") and axis.rstrip().endswith("now") and "-2m30s" in axis
    assert tl.events()[-1].text == "sglang exited (exit code 137)"


def test_time_axis_fits_narrow_widths():
    assert len(time_axis(3600, 20)) == 20
    assert time_axis(60, 12).startswith("-1m")


def test_metrics_view_and_gpu_snapshot_feed_the_timeline():
    from console.gpu.data import GpuSample, Snapshot

    tl = Timeline(clock=lambda: NOW)
    a = M.parse(PAGE, at=0.0, wall=NOW - 2)
    b = M.parse(PAGE.replace("51200.0", "52200.0"), at=2.0, wall=NOW)
    tl.ingest_metrics(M.view(b, a))
    assert tl.latest("srv.running") == 8 and tl.latest("srv.kv") == pytest.approx(6.0)
    assert tl.latest("srv.out_tps") == pytest.approx(500.0)
    assert tl.latest("srv.gen_tps") == pytest.approx(1350.83)
    assert tl.series("srv.ttft_p50") is None  # no new requests in the interval: no point, not a zero
    gib = 2**30
    tl.ingest_gpu_snapshot(Snapshot(1, NOW, (
        GpuSample(0, NOW, memory_total=80 * gib, memory_used=64 * gib, util_gpu=97),
        GpuSample(1, NOW, lost=True),
    )))
    assert tl.latest("gpu0.vram") == 64.0 and tl.latest("gpu0.util") == 97
    assert tl.spec("gpu0.vram").hi == 80.0 and tl.series("gpu1.vram") is None


def test_docker_events_become_container_marks():
    raw = {"Type": "container", "Action": "die", "timeNano": int(NOW * 1e9),
           "Actor": {"Attributes": {"name": "gpt-oss-20b", "exitCode": "137"}}}
    assert event_from_docker(raw) == ("exit", "gpt-oss-20b", "exit code 137", NOW)
    assert event_from_docker({**raw, "Action": "start"})[0] == "start"
    assert event_from_docker({**raw, "Action": "exec_start: ls"}) is None
    assert event_from_docker({**raw, "Type": "image"}) is None


# -- the pane ----------------------------------------------------------------------------------------


def fill(pane: MetricsPane) -> None:
    """Five minutes of a launch and a load: weights load, ready, traffic, a restart."""
    tl = pane.timeline
    gib = 2**30
    from console.gpu.data import GpuSample, Snapshot

    for i in range(0, 300, 2):
        t = NOW - 300 + i
        loaded = i >= 60
        busy = 150 <= i < 260
        tl.ingest_gpu_snapshot(Snapshot(i, t, tuple(
            GpuSample(g, t, memory_total=80 * gib, memory_used=int((70 if loaded else 0.5 + i / 10) * gib),
                      util_gpu=(90 + g * 3 if busy else 0)) for g in range(2))))
        if i >= 100:
            snap = M.MetricsSnapshot(at=t, wall=t, gauges={
                "running": 16.0 if busy else 0.0, "queued": (i % 40) / 4 if busy else 0.0,
                "token_usage": 0.4 if busy else 0.01, "swa_token_usage": 0.2 if busy else 0.0,
                "cache_hit_rate": 0.3, "gen_throughput": 1300 + 50 * math.sin(i) if busy else 0.0})
            view = M.MetricsView(snap, 2.0, {"generation_tokens": 1300.0 if busy else 0.0}, {
                "ttft": {"interval": {"p50": 0.12 if busy else None, "count": 10 if busy else 0}},
                "itl": {"interval": {"p50": 0.0045 if busy else None, "count": 500 if busy else 0}}})
            tl.ingest_metrics(view)
    tl.ingest_container("start", "gpt-oss-120b", t=NOW - 298)
    tl.add_event("ready", "server ready at http://127.0.0.1:8000", t=NOW - 200, source="launch")
    tl.add_event("bench", "bench started (c=16)", t=NOW - 150, source="bench")
    tl.ingest_container("restart", "gpt-oss-120b", t=NOW - 30)
    a = M.parse(PAGE, at=0.0, wall=NOW - 2)
    b = M.parse(PAGE.replace("51200.0", "52200.0").replace("102400.0", "104448.0"), at=2.0, wall=NOW)
    pane.base_url = "http://127.0.0.1:8000"
    pane.last_view = M.view(b, a)


async def settle_filled(pilot) -> MetricsPane:
    pane = pilot.app.pane("metrics")
    fill(pane)
    pane._show_status()
    pane._show_latest()
    pane._show_events()
    pane.query_one("#metrics-chart").redraw(force=True)
    await pilot.pause()
    return pane


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_timeline(snap_compare, quiet_metrics, size):
    assert snap_compare(metrics_app(), terminal_size=size, run_before=settle_filled)


def test_snapshot_no_server(snap_compare, quiet_metrics):
    assert snap_compare(metrics_app(), terminal_size=(80, 24))


async def test_pane_text_at_80x24(quiet_metrics):
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_filled(pilot)
        text = screen_text(app)
    for row in ("GPU0 VRAM", "GPU1 util", "running", "queued", "KV usage", "gen tok/s", "TTFT p50"):
        assert row in text, row
    assert "70.0G" in text and "-5m" in text and "now" in text
    assert "↻" in text and "gpt-oss-120b restarted" in text


async def test_zoom_and_url_keys(quiet_metrics):
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await settle_filled(pilot)
        pane.focus()
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert "last 15m" in screen_text(app) and "-15m" in screen_text(app)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert "last 1m" in screen_text(app)
        await pilot.press("i")
        await pilot.pause()
        assert pane.interval == 5.0 and "every 5s" in screen_text(app)
        await pilot.press("u")
        await pilot.pause()
        assert pane.query_one("#metrics-url").has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert not pane.query_one("#metrics-url").display


async def _wait(pilot, cond, what: str, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_live_scrapes_follow_the_endpoint(quiet_metrics, sglang_shaped_factory):
    from console.ui.messages import EndpointChanged

    peer = sglang_shaped_factory()
    off = sglang_shaped_factory(metrics=False)
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane("metrics")
        pane.post_message(EndpointChanged(peer.base_url + "/v1", None, peer.model))
        await _wait(pilot, lambda: pane.last_view is not None, "a scrape")
        assert pane.last_view.snapshot.models == ["openai/gpt-oss-20b"]
        assert "openai/gpt-oss-20b" in screen_text(app)
        assert pane.timeline.latest("srv.running") == 0
        assert any(e.kind == "ready" for e in pane.timeline.events())

        pane.post_message(EndpointChanged(off.base_url, None, off.model))
        await _wait(pilot, lambda: pane.problem is not None, "the 404")
        await pilot.pause()
        text = screen_text(app)
        assert "without --enable-metrics" in text and "ENABLE_METRICS" in text


async def test_bench_screen_runs_and_shows_results(quiet_metrics):
    from console.ui.metrics.bench_screen import BenchScreen
    from tests.peers.timed_server import timed_server

    with timed_server(50, 5, reasoning_tokens=2) as url:
        app = metrics_app()
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.pane("metrics")
            pane._watch(url)
            pane.focus()
            await pilot.press("b")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, BenchScreen)
            for fid, value in (("concurrency", "1,4"), ("input-len", "16"), ("output-len", "8"), ("requests", "8"),
                               ("price", "2.5")):
                screen.query_one(f"#bench-{fid}").value = value
            await pilot.press("ctrl+r")
            assert screen.running or screen.result is not None, screen.query_one("#bench-status").render()
            assert not screen.query(".bench-field").first().display  # form folded away (running or done)
            await _wait(pilot, lambda: screen.result is not None or not screen.running, "the bench", 60)
            await pilot.pause()
            assert screen.result is not None, screen.query_one("#bench-status").render()
            text = screen_text(app)
            assert [lv["completed"] for lv in screen.result["levels"]] == [8, 8]
            assert "out tok/s" in text and "   8/0" in text and "done: timed-model" in text
            kinds = [e.text for e in pane.timeline.events() if e.kind == "bench"]
            assert kinds[0].startswith("bench started") and kinds[-1].startswith("bench done")
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, BenchScreen)


async def test_gpu_rows_come_from_the_sampler(quiet_metrics, monkeypatch):
    from console.gpu import Sampler

    use_recording(monkeypatch, "2xh100", lambda: Sampler(interval=3600, clock=lambda: NOW - 1))
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane("metrics")
        await _wait(pilot, lambda: pane.timeline.latest("gpu1.vram") is not None, "a GPU sample")
        pane.query_one("#metrics-chart").redraw(force=True)
        await pilot.pause()
        text = screen_text(app)
        assert "GPU0 VRAM" in text and "GPU1 util" in text
        assert pane.timeline.spec("gpu0.vram").hi == pytest.approx(79.6, abs=0.5)  # the card's size is the scale

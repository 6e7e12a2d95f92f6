"""The Metrics area: timeline core and charts, the pane at 80×24 / 160×48, live scrapes, the bench screen."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from console.charts.axis import tick_label_row, time_ticks
from console.charts.chart import ChartSpec, Trace, plain, render
from console.server import metrics as M
from console.timeline import Timeline
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


def test_a_window_finer_than_the_sampling_draws_a_line_not_dots():
    """Issue 10: the 1-minute charts read ``▁·▁·``: 60 samples over 120 columns left every
    other column empty. A column between two samples holds the earlier one."""
    tl = Timeline(clock=lambda: NOW)
    for i in range(60):
        tl.add("u", NOW - 60 + i, 40.0, SeriesSpec("util", "%", 0, 100))
    cols = tl.resample("u", NOW - 60, NOW, 150)
    assert None not in cols[2:] and set(cols[2:]) == {40.0}
    spec = ChartSpec("GPU 0", (Trace("u", "util", "cyan"),), unit="%", hi=100.0)
    rows = plain(render(tl, spec, NOW - 60, NOW, 80, 6))
    plot = rows[1:4]
    line = next(r for r in plot if r.strip(" ┤0%1") != "")
    drawn = line[7:].rstrip()
    assert " " not in drawn.strip() and len(drawn.strip()) > 60  # one unbroken line across the window


def test_a_real_gap_stays_empty():
    tl = Timeline(clock=lambda: NOW)
    for i in range(0, 60):
        tl.add("u", NOW - 600 + i, 40.0)  # a minute, then nothing for 9 minutes (console closed)
    for i in range(0, 60):
        tl.add("u", NOW - 60 + i, 60.0)
    cols = tl.resample("u", NOW - 600, NOW, 100)
    assert cols[20:85] == [None] * 65 and cols[0] == 40.0 and cols[-1] == 60.0


def test_chart_has_a_value_scale_a_clock_axis_and_event_marks():
    tl = Timeline(clock=lambda: NOW)
    for i in range(300):
        tl.add("gpu0.vram_pct", NOW - 300 + i, 87.0 if i > 100 else 1.0)
        tl.add("srv.running", NOW - 300 + i, 8.0 if i > 150 else 0.0)
    tl.ingest_container("start", "sglang", t=NOW - 290)
    tl.add_event("ready", "server ready", t=NOW - 150)
    tl.ingest_container("exit", "sglang", "exit code 137", t=NOW - 1)
    spec = ChartSpec("GPU 0", (Trace("gpu0.vram_pct", "VRAM", "green"), Trace("srv.running", "running", "red")),
                     unit="%", hi=100.0)
    rows = plain(render(tl, spec, NOW - 300, NOW, 80, 10))
    assert all(len(r) <= 80 for r in rows)
    legend, *plot, axis, labels = rows
    assert legend.startswith("GPU 0") and "VRAM 87%" in legend and "running 8%" in legend
    assert plot[0].startswith("  100%┤") and plot[-1].startswith("    0%┤")
    marks = [c for c in axis if c in "▲●✗"]
    assert marks == ["▲", "●", "✗"]  # in time order, on the axis itself
    # clock-aligned ticks (TZ=UTC in CI is not assumed: the labels are local HH:MM)
    ticks = time_ticks(NOW - 300, NOW, 73)
    assert len(ticks) >= 4 and all(len(lbl) == 5 and lbl[2] == ":" for _, lbl in ticks)
    shown = labels.split()
    assert len(shown) >= 4 and all(len(w) == 5 and w[2] == ":" or w == "now" for w in shown)
    # VRAM rose a third of the way across the window (t-200 of 300 s, 73 columns)
    first = next(i for i, ch in enumerate(plot[1][7:]) if ch != " ")
    assert 22 <= first <= 26, plot[1]


def test_tick_labels_never_overlap_at_any_width():
    for width in (10, 20, 37, 80, 153):
        for span in (60, 300, 3600, 86400):
            ticks = time_ticks(NOW - span, NOW, width)
            row = tick_label_row(ticks, width)
            assert len(row) == width
            words = row.split()
            assert all(len(w) in (3, 5, 8) for w in words), (width, span, row)


def test_incremental_redraws_match_a_fresh_chart():
    """The chart keeps its canvas and redraws only new cells: frame after frame it must equal
    a chart drawn from nothing."""
    import math

    from console.charts.chart import Grid, grid
    from console.charts.layouts import gpu_charts

    clock = [NOW]
    tl = Timeline(clock=lambda: clock[0])

    def feed(t, i):
        for g in range(3):
            for k, key in enumerate(("vram_pct", "util", "power_pct", "temp")):
                tl.add(f"gpu{g}.{key}", t, 50 + 45 * math.sin(i / 40 + g + k) + 4 * math.sin(i / 3))

    for i in range(1200):
        feed(NOW - 1200 + i, i)
    kept = Grid()
    for j in range(90):
        clock[0] += 1
        if j % 7:  # a missed tick now and then
            feed(clock[0], 1200 + j)
        for window in (60.0, 300.0, 3600.0):
            rows = kept.render(tl, gpu_charts(tl), clock[0] - window, clock[0], 100, 30)
            assert plain(rows) == plain(grid(tl, gpu_charts(tl), clock[0] - window, clock[0], 100, 30)), (j, window)


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
    assert tl.latest("gpu0.vram") == 64.0 and tl.latest("gpu0.util") == 97 and tl.latest("gpu0.vram_pct") == 80.0
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


@pytest.mark.parametrize("size", [(120, 40)], ids=["120x40"])
async def test_charts_fill_the_area(quiet_metrics, size):
    """Issue 10: at 120×40 half the Metrics area was empty. The charts take the rows the
    status, latest values and events leave, and every serving chart gets a place."""
    app = metrics_app()
    async with app.run_test(size=size) as pilot:
        pane = await settle_filled(pilot)
        chart = pane.query_one("#metrics-chart")
        lines = chart.text().splitlines()
        assert len(lines) >= chart.size.height - 3 and chart.size.height >= 25
        for title in ("Requests", "Throughput tok/s", "TTFT", "KV cache", "ITL", "GPU 0", "GPU 1"):
            assert title in chart.text(), title


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
    for row in ("GPU 0", "VRAM 88%", "GPU 1", "running", "queued", "Throughput tok/s", "TTFT", "p50 120ms"):
        assert row in text, row
    assert "last 5m" in text and "15:58" in text and "now" in text  # TZ=UTC: NOW is 16:00
    assert "↻" in text and "gpt-oss-120b restarted" in text
    # the console's measured rates apart from the server's own gauge
    assert "tok/s measured: prompt 1.0k  out 500" in text and "server-reported: gen 1.4k" in text


async def test_zoom_and_url_keys(quiet_metrics):
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await settle_filled(pilot)
        pane.focus()
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert "last 1h" in screen_text(app) and "15:30" in screen_text(app)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert "last 24h" in screen_text(app)
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert "last 1m" in screen_text(app) and "15:59:30" in screen_text(app)
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
        assert "GPU 0  ■ VRAM 87%" in text and "GPU 1" in text
        assert pane.timeline.spec("gpu0.vram").hi == pytest.approx(79.6, abs=0.5)  # the card's size is the scale


async def test_a_server_that_stops_answering_greys_its_numbers_and_a_switch_clears_them(quiet_metrics,
                                                                                          sglang_shaped_factory):
    """Issue 10: after switching to a dead server the old server's numbers stayed beside the error."""
    from console.ui.messages import EndpointChanged

    peer = sglang_shaped_factory()
    app = metrics_app()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.pane("metrics")
        pane.interval = 1.0
        pane.post_message(EndpointChanged(peer.base_url, None, peer.model))
        await _wait(pilot, lambda: pane.last_view is not None and pane.last_view.interval_s, "two scrapes")
        latest = pane.query_one("#metrics-latest")
        assert "tok/s measured" in str(latest.render()) and "last seen" not in str(latest.render())
        # The scrape loop's message when the server stops answering (a keep-alive connection to the
        # in-process server would go on answering after a shutdown, so it is posted as the loop does).
        from console.ui.metrics.messages import MetricsProblem

        pane.post_message(MetricsProblem(f"cannot reach {peer.base_url}/metrics: ConnectError",
                                         "is the server running, and is the URL/port right?"))
        await _wait(pilot, lambda: pane.problem is not None, "the failed scrape")
        await pilot.pause()
        shown = latest.render()
        import re

        assert re.search(r"last seen \d\d:\d\d:\d\d: tok/s measured", str(shown))  # when the scrape was
        assert "dim strike" in repr(shown)  # greyed and struck through: not live
        pane.post_message(EndpointChanged("http://127.0.0.1:9", None, None))  # another server, dead too
        await _wait(pilot, lambda: pane.base_url == "http://127.0.0.1:9", "the switch")
        await pilot.pause()
        assert str(latest.render()) == ""  # the previous server's numbers are not this one's
        assert any("watching http://127.0.0.1:9 instead of" in e.text for e in pane.timeline.events())

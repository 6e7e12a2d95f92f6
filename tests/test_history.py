"""History that survives a restart: the SQLite store, the recorder, `history`, and the TUI reading it back."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.gpu import Sampler
from console.gpu.replay import RecordedNvml
from console.history import default_path
from console.history.load import load_into, records
from console.history.recorder import Recorder, open_store
from console.history.store import HistoryStore, Retention, gpu_rows
from console.timeline import Timeline
from console.ui.app import ConsoleApp
from tests.gpus_helpers import FIXED_TIME, NVML_DATA, gpus_app, settle, use_recording
from tests.history_helpers import record_hour, until_loaded
from tests.ui_helpers import until

ROOT = Path(__file__).resolve().parents[1]


def recorded(path: Path, seconds: int, *, recording: str = "2xh100", start: float = FIXED_TIME) -> Recorder:
    clock = [start]
    sampler = Sampler(RecordedNvml.load(NVML_DATA / f"{recording}.json"), clock=lambda: clock[0])
    rec = Recorder(path, clock=lambda: clock[0])
    rec.inventory(sampler.open())
    rec.open()
    sampler.subscribe(rec.gpu_snapshot)
    for i in range(seconds):
        sampler.tick()
        clock[0] += 1
        if i % 30 == 29:
            rec.flush()
    rec.flush()
    rec.close()
    return rec


def test_samples_round_trip_with_minute_folds_and_private_files(tmp_path):
    path = tmp_path / "state" / "history.db"
    rec = recorded(path, 180)
    assert rec.problem is None and rec.rows_written == 180
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    store = HistoryStore(path)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    doc = records(store, FIXED_TIME, FIXED_TIME + 200)
    assert doc["tier"] == "raw" and len(doc["samples"]) == 360
    first = doc["samples"][0]
    # tests/data/nvml/2xh100.json, GPU 0's first tick: 71234 MiB, util 64 %, 390 W, 48 °C, mem-bw 30 %
    assert first == {"t": FIXED_TIME, "gpu": 0, "vram_gib": round(71234 / 1024, 3), "util_pct": 64,
                     "power_w": 390.0, "temp_c": 48, "membw_pct": 30}
    assert [g["name"] for g in doc["gpus"]] == ["NVIDIA H100 80GB HBM3"] * 2
    minutes = records(store, FIXED_TIME, FIXED_TIME + 200, tier="1m")["samples"]
    # three complete minutes per GPU folded: the mean of each value and its maximum
    assert len(minutes) == 6 and minutes[0]["util_pct"] <= minutes[0]["max"]["util_pct"] == 76
    tl = Timeline(clock=lambda: FIXED_TIME + 180)
    assert load_into(store, tl, FIXED_TIME + 180) > 0
    assert tl.latest("gpu0.util") == 76 and tl.spec("gpu0.vram").hi == pytest.approx(79.6, abs=0.1)
    assert tl.latest("gpu0.power_pct") == pytest.approx(470 / 700 * 100)


def test_one_row_a_tick_keeps_lost_gpus_out(tmp_path):
    from console.gpu.data import GpuSample, Snapshot

    snap = Snapshot(1, FIXED_TIME, (GpuSample(0, FIXED_TIME, memory_used=2**30, util_gpu=5, power_w=70.04),
                                    GpuSample(1, FIXED_TIME, lost=True)))
    [(t, blob)] = gpu_rows([snap])
    store = HistoryStore(tmp_path / "h.db")
    store.write([(t, blob)])
    assert store.gpu_rows(FIXED_TIME - 1, FIXED_TIME + 1) == [(int(FIXED_TIME), 0, 1024, 5, 700, None, None)]


def test_retention_and_size_bound(tmp_path):
    store = HistoryStore(tmp_path / "h.db", Retention(days=1, max_mb=1))
    start = int(FIXED_TIME)
    for day in range(3):  # three days of one GPU at 1 s, written as the recorder writes them
        for batch in range(0, 86400, 3600):
            t0 = start + day * 86400 + batch
            from array import array

            store.write([(t, array("i", [70000, t % 100, 4000, 50, 20]).tobytes()) for t in range(t0, t0 + 3600)])
            store.fold(t0 + 3600)
            store.prune(t0 + 3600)
    now = start + 3 * 86400
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert store.used_bytes() <= 1 * 2**20 and os.path.getsize(tmp_path / "h.db") <= 1.05 * 2**20
    oldest_minute = store.gpu_rows(0, now, tier="1m")[0][0]
    assert oldest_minute >= now - 86400  # nothing older than the retention
    assert store.raw_since() >= now - 86400
    assert store.gpu_rows(now - 60, now)  # the newest seconds are what the bound keeps


def test_a_damaged_database_is_kept_aside_and_a_fresh_one_started(tmp_path):
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not a database at all " * 100)
    store, problem = open_store(path)
    assert store is not None and "kept aside" in problem
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("history.db.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    store.write([(int(FIXED_TIME), b"\x01\x00\x00\x00" * 5)])
    assert store.gpu_rows(FIXED_TIME, FIXED_TIME)


def test_a_locked_database_means_no_history_not_a_stall(tmp_path):
    path = tmp_path / "history.db"
    HistoryStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds it
    try:
        t = time.monotonic()
        store, problem = open_store(path, timeout=0.3)
        assert store is None and "locked by another program" in problem
        assert time.monotonic() - t < 5
        assert path.exists() and not [p for p in tmp_path.iterdir() if "corrupt" in p.name]  # nothing moved
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_the_console_starts_with_a_damaged_database_says_so_once_and_keeps_it(monkeypatch):
    path = default_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage\xff" * 500)
    use_recording(monkeypatch, "2xh100")
    app = gpus_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await settle(pilot, app, ticks=2)
        await until(pilot, lambda: app.history.loaded, "the history to open")
        await pilot.pause()
        said = [n for n in app._notifications if n.title == "History"]
        assert len(said) == 1 and "kept aside" in said[0].message
        assert pane.query("#gpus-table") and app.is_running  # nothing else lost
    aside = [p for p in path.parent.iterdir() if p.name.startswith("history.db.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"\x00garbage")
    store = HistoryStore(path)  # the fresh one recorded this run's samples
    assert store.gpu_rows(FIXED_TIME - 1, FIXED_TIME + 1)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, **(env or {})})


async def test_recorded_without_the_tui_then_charted_by_it_and_listed_by_history(monkeypatch):
    """`gpus --watch --record-history` from a replay for a few seconds; the TUI started afterwards
    charts those samples; `history --json` returns them."""
    replay = str(NVML_DATA / "2xh100-hour.json")
    began = time.time()
    out = run_cli("gpus", "--watch", "--record-history", "--replay", replay, "--interval", "0.25", "--count", "12")
    assert out.returncode == 0, out.stderr
    ended = time.time()
    hist = run_cli("history", "--since", "5m", "--json")
    assert hist.returncode == 0, hist.stderr
    doc = json.loads(hist.stdout)
    assert doc["tier"] == "raw" and {g["name"] for g in doc["gpus"]} == {"NVIDIA H100 80GB HBM3"}
    samples = doc["samples"]
    assert samples and all(int(began) <= s["t"] <= ended for s in samples)
    assert {s["gpu"] for s in samples} == {0, 1}
    assert all(s["vram_gib"] == 0.0 and s["util_pct"] == 0 for s in samples)  # the hour begins idle

    # The TUI, started now with no GPU of its own, charts them from the database.
    use_recording(monkeypatch, "no-driver")
    monkeypatch.setattr(ConsoleApp, "clock", staticmethod(time.time))
    from tests.metrics_helpers import metrics_app

    monkeypatch.setattr("console.ui.metrics.pane.MetricsPane.docker_follower", None)
    app = metrics_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot, app)
        tl = app.history.timeline
        points = tl.snapshot("gpu0.temp")[1]
        assert sorted(t for t, _ in points) == sorted(s["t"] for s in samples if s["gpu"] == 0)
        assert [v for _, v in points] == [s["temp_c"] for s in samples if s["gpu"] == 0]
        chart = app.query_one("#metrics-chart").text()
        assert "GPU 0" in chart and "GPU 1" in chart
        gpu_block = chart[chart.index("GPU 0"):]
        assert any(0x2800 < ord(ch) <= 0x28FF for ch in gpu_block)  # the samples are drawn


def test_a_recording_service_stopped_with_sigterm_keeps_what_it_held(tmp_path):
    """`systemctl stop` sends SIGTERM: the samples not yet written (a batch is 30 s) are written."""
    import signal

    db = tmp_path / "h.db"
    proc = subprocess.Popen([sys.executable, "-m", "console", "gpus", "--watch", "--record-history", "--history-db",
                             str(db), "--replay", str(NVML_DATA / "2xh100.json"), "--interval", "0.3"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [proc.stdout.readline() for _ in range(7)]  # the header, then three ticks of two GPUs
    assert all("[0]" in line or "[1]" in line for line in lines[1:]), lines
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    store = HistoryStore(db)
    rows = store.gpu_rows(0, time.time() + 1)
    assert len(rows) >= 2 and {r[1] for r in rows} == {0, 1}


def test_metrics_cli_tells_the_servers_gauge_from_the_measured_rates():
    from console.cli.metrics import format_view
    from console.server import metrics as M

    page = (ROOT / "tests" / "data" / "sglang_metrics_tp2.txt").read_text()
    a = M.parse(page, at=0.0, wall=FIXED_TIME - 2)
    b = M.parse(page.replace("51200.0", "52200.0"), at=2.0, wall=FIXED_TIME)
    text = format_view(M.view(b, a).to_dict())
    assert "server-reported gen 1350.8 tok/s" in text
    assert "measured over the last 2.0 s: prompt" in text and "generation 500.0 tok/s" in text


def test_history_cli_says_what_to_do(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path / "none")}
    missing = run_cli("history", env=env)
    assert missing.returncode == 4 and "no history yet" in missing.stderr and "--record-history" in missing.stderr
    bad = run_cli("history", "--since", "yesterday", env=env)
    assert bad.returncode == 2 and "90s, 5m, 1h or 7d" in bad.stderr
    watch_only = run_cli("gpus", "--record-history", "--replay", str(NVML_DATA / "h100.json"))
    assert watch_only.returncode == 2 and "add --watch" in watch_only.stderr


def test_history_csv_and_charts(tmp_path):
    db = tmp_path / "h.db"
    record_hour(end=time.time() - 5, path=db)
    csv = run_cli("history", "--db", str(db), "--since", "10m", "--csv", "--gpu", "1")
    assert csv.returncode == 0, csv.stderr
    lines = csv.stdout.splitlines()
    assert lines[0] == "t,gpu,vram_gib,util_pct,power_w,temp_c,membw_pct"
    rows = [line.split(",") for line in lines[1:]]
    assert 119 <= len(rows) <= 121 and {r[1] for r in rows} == {"1"}  # ten minutes at 5 s, as recorded
    assert {float(b[0]) - float(a[0]) for a, b in zip(rows, rows[1:])} == {5.0}
    human = run_cli("history", "--db", str(db), "--since", "1h", env={"COLUMNS": "100"})
    assert human.returncode == 0, human.stderr
    assert "GPU 0" in human.stdout and "Requests" in human.stdout and "server ready" in human.stdout
    week = run_cli("history", "--db", str(db), "--since", "7d", "--json")
    assert json.loads(week.stdout)["tier"] == "1m"  # a week reads the minute tier


async def test_a_quit_while_the_history_is_read_back_does_not_wait_for_it(monkeypatch):
    """The recorder's thread hands 'loaded' to the UI as the operator quits: the UI thread is then
    joining that thread (Recorder.close), so a handover that waits for the UI thread deadlocked the
    quit for close's whole timeout. The handover must not wait: the thread ends within the join."""
    import threading

    reading, release = threading.Event(), threading.Event()

    def slow_load(store, timeline, now):
        reading.set()
        release.wait(30)
        return load_into(store, timeline, now)

    monkeypatch.setattr("console.history.load.load_into", slow_load)  # start() imports it from there
    ended_in_join: list[bool] = []
    real_close = Recorder.close

    def close(self, timeout: float = 10.0) -> None:
        release.set()  # the read-back finishes now, while the UI thread is quitting
        real_close(self, timeout=5.0)
        ended_in_join.append(self._thread is not None and not self._thread.is_alive())

    monkeypatch.setattr(Recorder, "close", close)
    use_recording(monkeypatch, "no-driver")
    app = gpus_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, reading.is_set, "the history read-back to begin")
    assert ended_in_join == [True]

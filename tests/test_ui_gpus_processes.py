"""The GPUs area's process table: host columns from /proc, sorting, terminate/kill with confirmations.

The GPU side is a recording made at test time naming real PIDs (a child `sleep`, a container's
process), so the signals reach real processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from textual.widgets import DataTable

from console.host import HostReader, signal_process
from console.ui.app import ConsoleApp
from console.ui.gpus.processes import ProcessTable
from console.ui.screens.confirm import ConfirmScreen
from tests.gpus_helpers import NVML_DATA, PROC_DATA, gpus_app, gpus_open, settle, use_recording
from tests.ui_helpers import screen_text, until


def recording_with(tmp_path, pids: list[int]) -> str:
    """tests/data/nvml/h100.json with ``pids`` as its compute processes (4 GiB each)."""
    data = json.loads((NVML_DATA / "h100.json").read_text())
    for tick in data["devices"][0]["ticks"]:
        tick["processes"] = [[pid, 4 * 2**30] for pid in pids]
        tick["process_name"] = {str(pid): "worker" for pid in pids}
    path = tmp_path / "procs.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_host_reader_reads_cpu_memory_and_processes():
    clock = [100.0]
    host = HostReader(str(PROC_DATA), clock=lambda: clock[0])
    first = host.read()
    assert first.cpu_pct is None and first.cores == 2 and first.load1 == 3.41  # no earlier read to compare
    assert first.mem_total == 263872512 * 1024 and first.mem_used == (263872512 - 198765432) * 1024
    procs = host.processes([9100, 4242, 31337])
    assert set(procs) == {9100, 4242}  # 31337 is not there: left out
    p = procs[9100]
    assert p.command == "python3 -m sglang.launch_server --model-path openai/gpt-oss-120b --tp 2"
    assert p.rss == 3276800 * 4096 and p.user == "root" and p.cpu_pct is None
    clock[0] += 1
    assert host.processes([9100])[9100].cpu_pct == 0.0  # the recorded counters do not move


def test_host_reader_measures_a_busy_process():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        host = HostReader()
        host.read()
        host.processes([busy.pid])
        time.sleep(0.5)
        info = host.processes([busy.pid])[busy.pid]
        assert info.cpu_pct is not None and info.cpu_pct > 5  # shares two CPUs with everything else
        assert "while True" in info.command and host.read().cpu_pct is not None
    finally:
        busy.kill()
        busy.wait()


def test_signal_errors_are_sentences():
    gone = subprocess.Popen(["true"])
    gone.wait()
    with pytest.raises(Exception) as err:
        signal_process(gone.pid, "terminate")
    assert "has already exited" in str(err.value)


async def test_sort_by_any_column(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "8xh100", ticks=1, size=(120, 40)) as (pilot, app, pane):
        table = pane.query_one(ProcessTable)
        procs = pane.query_one("#gpus-procs", DataTable)
        pids = lambda: [int(str(procs.get_row_at(i)[1])) for i in range(procs.row_count)]  # noqa: E731
        assert pids() == list(range(9207, 9199, -1))  # VRAM, largest first (GPU 7 holds the most)
        procs.focus()
        await pilot.press("s")  # VRAM → CPU%: not measured here (n/a), original order kept
        await pilot.press("s", "s", "s", "s", "s")  # RAM, User, Container, Command, GPU
        await pilot.pause()
        assert table.sort_by == "GPU" and "sorted by GPU ↓" in screen_text(app)
        assert pids() == list(range(9207, 9199, -1))
        await pilot.press("S")
        await pilot.pause()
        assert pids() == list(range(9200, 9208)) and "sorted by GPU ↑" in screen_text(app)
        table.sort_by = "PID"
        table.descending = True
        table._fill()
        assert pids() == list(range(9207, 9199, -1))


async def test_terminate_asks_first_and_reaches_the_process(monkeypatch, tmp_path) -> None:
    child = subprocess.Popen(["sleep", "300"])
    try:
        use_recording(monkeypatch, "h100")
        monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", recording_with(tmp_path, [child.pid]))
        monkeypatch.setattr(ConsoleApp, "host_factory", staticmethod(HostReader))  # this machine's /proc
        app = gpus_app()
        async with app.run_test(size=(100, 40)) as pilot:
            pane = await settle(pilot, app, ticks=1)
            procs = pane.query_one("#gpus-procs", DataTable)
            assert "sleep 300" in str(procs.get_row_at(0)[8])
            procs.focus()
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            assert f"Terminate process {child.pid}?" in screen_text(app) and "SIGTERM" in screen_text(app)
            await pilot.press("n")  # No: nothing is sent
            await pilot.pause(0.3)
            assert child.poll() is None
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question again")
            await pilot.press("y")
            await until(pilot, lambda: child.poll() is not None, "the process to end")
            assert child.returncode == -15  # SIGTERM
            await until(pilot, lambda: any("Sent SIGTERM" in n.message for n in app._notifications), "the note")
            await pilot.press("t")  # it is gone now: said in words
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("y")
            await until(pilot, lambda: any("already exited" in n.message for n in app._notifications),
                        "the already-exited note")
    finally:
        child.kill()
        child.wait()


@pytest.mark.docker
async def test_the_consoles_own_server_needs_a_second_confirmation(monkeypatch, tmp_path, containers,
                                                                    base_image) -> None:
    from console.runtime.spec import LABEL_OWNED

    server = containers.run(base_image, ["sleep", "300"], labels={LABEL_OWNED: "1"})
    server.reload()
    pid = server.attrs["State"]["Pid"]
    assert pid > 0
    use_recording(monkeypatch, "h100")
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", recording_with(tmp_path, [pid]))
    monkeypatch.setattr(ConsoleApp, "host_factory", staticmethod(HostReader))
    app = gpus_app()
    async with app.run_test(size=(100, 40)) as pilot:
        pane = await settle(pilot, app, ticks=1)
        pane.query_one("#gpus-procs", DataTable).focus()
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the first question")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and "Really" in screen_text(app),
                    "the second question", timeout=30)
        assert "console's own SGLang server" in screen_text(app) and server.name in screen_text(app)
        await pilot.press("n")
        await pilot.pause(0.5)
        server.reload()
        assert server.status == "running"  # one yes is not enough
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the first question")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and "Really" in screen_text(app),
                    "the second question", timeout=30)
        await pilot.press("y")

        def stopped() -> bool:
            server.reload()
            return server.status != "running"

        await until(pilot, stopped, "the container to stop", timeout=30)
        assert server.attrs["State"]["ExitCode"] == 137  # SIGKILL


async def test_a_real_h200_recording_shows_each_process_gpu_share(monkeypatch) -> None:
    """tests/data/nvml/h200-real-process.json was recorded on an H200 while torch ran matmuls:
    NVML's per-process utilisation (94–99 %) reaches the GPU% column."""
    async with gpus_open(monkeypatch, "h200-real-process", ticks=2, size=(100, 40)) as (pilot, app, pane):
        procs = pane.query_one("#gpus-procs", DataTable)
        assert str(procs.get_row_at(0)[1]) == "546" and str(procs.get_row_at(0)[2]) == "99%"
        assert str(procs.get_row_at(0)[3]) == "1.4G"

"""The GPUs area through Pilot, fed by recorded NVML sessions (tests/data/nvml)."""

from __future__ import annotations

import threading

from textual.widgets import DataTable, Input, Select, Static

from console.ui import messages
from console.ui.app import ConsoleApp
from console.ui.areas import AREAS
from console.ui.gpu_feed import GpuFeed
from console.ui.gpus import format as fmt
from console.ui.gpus.pane import GpusPane
from console.ui.gpus.processes import COLUMNS
from console.ui.gpus.planner import plan_values
from tests.gpus_helpers import (
    FIXED_TIME,
    NVML_DATA,
    ManualSampler,
    gpus_app,
    gpus_open,
    settle,
    use_recording,
)
from tests.ui_helpers import screen_text, until


def cell(table: DataTable, row: str, column: str) -> str:
    return str(table.get_cell(row, column))


def notes(app: ConsoleApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def test_rows_show_the_recorded_values(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "2xh100", ticks=4) as (pilot, app, pane):
        table = pane.query_one("#gpus-table", DataTable)
        assert table.row_count == 2
        assert cell(table, "0", "Name") == "H100 80GB HBM3"
        assert cell(table, "0", "Arch") == "Hopper"
        assert cell(table, "0", "PCIe") == "5/5"
        assert cell(table, "0", "Rsv") == "0.5"  # 503 MiB driver-reserved, v2 query
        assert cell(table, "0", "Power W").endswith("/700")
        assert cell(table, "0", "Util").endswith("%")
        status = str(pane.query_one("#gpus-status", Static).render())
        assert "2 GPUs" in status and "580.159.04" in status and "CUDA 13.0" in status
        # Five samples in the history of each GPU, drawn right-aligned.
        assert len(pane.sampler.history(0)) == 5
        assert "sglang::scheduler_TP0" in screen_text(app) or pane._processes[0][2] == "sglang::scheduler_TP0"
        assert [p[:3] for p in pane._processes] == [(0, 9100, "sglang::scheduler_TP0"), (1, 9101, "sglang::scheduler_TP1")]


async def test_not_supported_fields_read_na(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "notsupported", ticks=1) as (pilot, app, pane):
        table = pane.query_one("#gpus-table", DataTable)
        assert cell(table, "0", "Power W") == "n/a"
        assert cell(table, "0", "PCIe") == "n/a"
        assert cell(table, "0", "Rsv") == "n/a"  # v1 memory query: reserved unknown
        assert "/" in cell(table, "0", "VRAM GiB")
        assert app.is_running


async def test_no_driver_says_why_and_the_planner_still_works(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "no-driver") as (pilot, app, pane):
        text = screen_text(app)
        assert "NVIDIA driver not found" in text
        assert "plan for a catalog GPU" in text
        assert not pane.query("#gpus-table")
        matrix = pane.query_one("#plan-matrix", DataTable)
        assert matrix.row_count == 2
        assert pane.query_one("#plan-gpu", Select).value == "H100-80GB"


async def test_a_gpu_that_vanishes_is_reported_once_and_the_rest_goes_on(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "gpu-lost", ticks=4) as (pilot, app, pane):
        table = pane.query_one("#gpus-table", DataTable)
        assert cell(table, "1", "VRAM GiB") == "lost"
        assert cell(table, "0", "VRAM GiB") != "lost"
        lost = [n for n in notes(app) if n.startswith("GPU lost")]
        assert len(lost) == 1 and "GPU 1" in lost[0]
        before = len(pane.sampler.history(0))
        pane.sampler.tick()
        await pilot.pause()
        assert len(pane.sampler.history(0)) == before + 1
        assert len([n for n in notes(app) if n.startswith("GPU lost")]) == 1
        assert app.is_running


async def test_a_gpu_that_cannot_be_opened_is_a_warning(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "handle-lost", ticks=1) as (pilot, app, pane):
        assert any("GPU 1" in n for n in notes(app)), notes(app)
        assert cell(pane.query_one("#gpus-table", DataTable), "0", "Arch") == "Hopper"


async def test_a_process_that_ends_between_calls_shows_as_exited(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "process-vanishes", ticks=1) as (pilot, app, pane):
        procs = pane.query_one("#gpus-procs", DataTable)
        assert procs.row_count == 2
        assert str(procs.get_row_at(1)[8]) == "(exited)"  # the Command column (NVML's name when /proc has none)
        pane.sampler.tick()
        await pilot.pause()
        assert procs.row_count == 1
        assert str(procs.get_row_at(0)[8]) == "python3 train.py"  # its command line, from /proc


async def test_container_hook_fills_the_container_column(monkeypatch) -> None:
    use_recording(monkeypatch, "2xh100")
    asked: list[frozenset[int]] = []

    def lookup(pids):
        asked.append(frozenset(pids))
        assert threading.current_thread() is not threading.main_thread()  # off the UI thread
        return {9100: "gpt-oss-sglang", 9101: "gpt-oss-sglang"}

    monkeypatch.setattr(ConsoleApp, "container_lookup", staticmethod(lookup))
    app = gpus_app()
    async with app.run_test(size=(160, 48)) as pilot:
        pane = await settle(pilot, app, ticks=2)
        for _ in range(50):
            if pane._containers:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        procs = pane.query_one("#gpus-procs", DataTable)
        assert str(procs.get_row_at(0)[7]) == "gpt-oss-sglang"
        assert asked == [frozenset({9100, 9101})]  # asked again only when the PIDs change


async def test_the_console_without_docker_greets_nobody_with_a_failure(monkeypatch, tmp_path) -> None:
    """Issue 10 bug 4: started without Docker, the console showed a raw "A background task failed —
    DockerUnavailable" (the GPUs area's container lookup) and a "Re-attach failed" toast to a user
    who never attached anything. The Launch area says it once, in its side panel."""
    use_recording(monkeypatch, "2xh100")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    from console.ui.app import container_names

    monkeypatch.setattr(ConsoleApp, "container_lookup", staticmethod(container_names))  # the console's own
    app = ConsoleApp()
    async with app.run_test(size=(160, 48)) as pilot:
        pane = await settle(pilot, app, ticks=2)
        await until(pilot, lambda: pane._pids, "the container lookup to be asked")
        launch = await until(pilot, lambda: app.pane("launch"), "the Launch area")
        await until(pilot, lambda: "Docker" in str(launch.query_one("#launch-info").render()), "the Launch area's word")
        await until(pilot, lambda: not any(w.group == "gpus-containers" and not w.is_finished for w in app.workers),
                    "the lookup to finish")
        await pilot.pause(0.3)
        notes = [f"{n.title}: {n.message}" for n in app._notifications]
        assert not any("DockerUnavailable" in n or "background task" in n or "failed" in n for n in notes), notes
        procs = pane.query_one("#gpus-procs", DataTable)
        container = procs.get_row_at(0)[COLUMNS.index("Container")]
        assert procs.row_count and str(container) == ""  # no container named, nothing said


async def test_enter_on_a_plan_posts_plan_chosen_with_launch_setting_names(monkeypatch) -> None:
    chosen: list[messages.PlanChosen] = []
    # two real H100s, a 4.5 GiB process on GPU 0: both still fit 120b at TP=2 (76.2 vs 80.6 GiB free)
    async with gpus_open(monkeypatch, "2xh100-real", ticks=1) as (pilot, app, pane):
        monkeypatch.setattr(app, "_relay", lambda m: chosen.append(m))
        await pilot.press("p")  # focus the matrix
        await pilot.press("down")  # gpt-oss-120b
        await pilot.press("enter")
        await pilot.pause()
        assert len(chosen) == 1
        values = chosen[0].values
        assert values == {
            "model": "openai/gpt-oss-120b",
            "tensor_parallel_size": 2,
            "max_model_len": 131072,
            "attention_backend": "fa3",
            "chunked_prefill": 8192,
        }
        from console.settings.spec import SETTINGS

        known = {s.key for s in SETTINGS}
        assert set(values) <= known
        # the plan itself travels too (the Launch area compares it with what the server logs)
        assert chosen[0].plan.planned_for == "SGLang 0.5.23" and chosen[0].plan.memory_source == "detected"
        assert any("carried to the launch form" in n or "chosen" in n for n in notes(app))


async def test_20b_on_two_gpus_names_the_card_it_uses(monkeypatch) -> None:
    chosen: list[messages.PlanChosen] = []
    async with gpus_open(monkeypatch, "2xh100-real", ticks=1) as (pilot, app, pane):
        monkeypatch.setattr(app, "_relay", lambda m: chosen.append(m))
        await pilot.press("p", "enter")
        await pilot.pause()
        assert chosen[0].values["model"] == "openai/gpt-oss-20b"
        assert chosen[0].values["tensor_parallel_size"] == 1
        assert chosen[0].values["gpus"] == "1"  # the emptier one: GPU 0 has a process on it


async def test_a_busy_box_is_planned_from_what_is_free_and_says_who_holds_it(monkeypatch) -> None:
    """Issue 10 item 11: the recording's GPUs already serve 120b; the planner must not promise the cards."""
    async with gpus_open(monkeypatch, "2xh100", ticks=1) as (pilot, app, pane):
        matrix = pane.query_one("#plan-matrix", DataTable)
        assert str(matrix.get_row("gpt-oss-120b")[1]) == "no fit"
        reasons = str(pane.query_one("#plan-reasons", Static).render())
        assert "9.1 GiB free now" in reasons and "SGLang 0.5.23" in reasons
        assert "sglang::scheduler_TP0 (pid 9100) holds 69.6 GiB on GPU 0" in reasons
        # a catalog GPU is still planned from the whole card
        pane.query_one("#plan-gpu", Select).value = "H100-80GB"
        await until(pilot, lambda: str(matrix.get_row("gpt-oss-20b")[1]) == "fits", "the whole H100's plan")


async def test_attention_column_fits_after_switching_gpu(monkeypatch) -> None:
    """Issue 10 item 9: H100's `fa3` first, then an A100's `triton` showed as `trit`."""
    async with gpus_open(monkeypatch, "no-driver") as (pilot, app, pane):
        pane.query_one("#plan-gpu", Select).value = "A100-80GB"
        await until(pilot, lambda: "triton" in screen_text(app), "the A100's triton backend, whole")
        pane.query_one("#plan-gpu", Select).value = "B200-180GB"
        await until(pilot, lambda: "trtllm_mha" in screen_text(app), "the B200's trtllm_mha backend, whole")


async def test_bad_planner_input_is_said_where_it_is_typed(monkeypatch) -> None:
    """Issue 10: `abc`, `0`, `-5` as context silently meant 128K; count 0 showed `× 0` beside a 1× plan."""
    async with gpus_open(monkeypatch, "no-driver") as (pilot, app, pane):
        planner = pane.query_one("#gpus-plan")
        context, count = pane.query_one("#plan-context", Input), pane.query_one("#plan-count", Input)
        matrix = pane.query_one("#plan-matrix", DataTable)
        for bad in ("abc", "0", "-5", "200k"):
            context.value = bad
            await until(pilot, lambda: (planner.problem or "").startswith(f"context {bad!r}: type tokens such as 32k"),
                        f"the problem with context {bad!r}")
            assert matrix.row_count == 0 and planner.plans == []  # nothing planned from a value not shown
            await until(pilot, lambda: "✗ context" in screen_text(app), "the problem line under the inputs")
            assert context.has_class("-invalid")
        context.value = "32k"
        await until(pilot, lambda: planner.problem is None and matrix.row_count == 2, "a plan at 32k")
        count.value = "0"
        await until(pilot, lambda: planner.problem == "GPU count '0': type a whole number, 1 to 8", "count 0 refused")
        assert matrix.row_count == 0
        count.value = "2"
        await until(pilot, lambda: planner.problem is None and len(planner.plans) == 2, "a plan for 2 GPUs")
        assert all(p.gpu_count == 2 for p in planner.plans)


async def test_this_box_takes_at_most_its_gpus(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "2xh100-real", ticks=1) as (pilot, app, pane):
        planner = pane.query_one("#gpus-plan")
        pane.query_one("#plan-count", Input).value = "4"
        await until(pilot, lambda: planner.problem == "GPU count '4': type a whole number, this box has 2",
                    "count 4 refused on a box of 2")
        pane.query_one("#plan-count", Input).value = "1"
        await until(pilot, lambda: planner.problem is None and planner.plans, "a plan for one GPU")
        assert planner.plans[0].gpu_indices == (1,)  # the emptier GPU


async def test_a_plan_that_does_not_fit_is_not_carried(monkeypatch) -> None:
    chosen: list = []
    async with gpus_open(monkeypatch, "no-driver") as (pilot, app, pane):
        monkeypatch.setattr(app, "_relay", lambda m: chosen.append(m))
        pane.query_one("#plan-gpu", Select).value = "RTX-4090-24GB"
        await pilot.pause()
        matrix = pane.query_one("#plan-matrix", DataTable)
        assert str(matrix.get_row("gpt-oss-120b")[1]) == "no fit"
        await pilot.press("p", "down", "enter")
        await pilot.pause()
        assert chosen == []
        assert any("does not fit" in n for n in notes(app))


async def test_catalog_gpu_count_and_context_replan(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "no-driver") as (pilot, app, pane):
        matrix = pane.query_one("#plan-matrix", DataTable)
        assert str(matrix.get_row("gpt-oss-120b")[1]) == "shorter ctx"  # one H100, SGLang's default split
        pane.query_one("#plan-count", Input).value = "2"
        await pilot.pause()
        row = matrix.get_row("gpt-oss-120b")
        assert str(row[1]) == "fits" and row[2] == "2"
        # Concurrency follows the chosen context: 32k holds 4× the requests of 128k.
        at_128k = int(matrix.get_row("gpt-oss-20b")[4])
        pane.query_one("#plan-context", Input).value = "32k"
        await pilot.pause()
        at_32k = int(matrix.get_row("gpt-oss-20b")[4])
        assert at_32k == pane.query_one("#gpus-plan").plans[0].max_total_num_tokens // 32768
        assert at_32k >= 4 * at_128k
        pane.query_one("#plan-gpu", Select).value = "B200-180GB"
        await pilot.pause()
        assert matrix.get_row("gpt-oss-120b")[5] == "trtllm_mha"


async def test_sampler_thread_stops_with_the_app(monkeypatch) -> None:
    from console.gpu import Sampler

    use_recording(monkeypatch, "2xh100", lambda: Sampler(interval=3600))
    app = gpus_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await settle(pilot, app)
        sampler = pane.sampler
        assert sampler.running
    assert not sampler.running


async def test_full_app_discovers_the_gpus_area_first(monkeypatch) -> None:
    use_recording(monkeypatch, "h100")
    areas = AREAS
    assert areas[0].name == "gpus" and areas[0].key == "1" and areas[0].title == "GPUs"
    app = ConsoleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert "GPUs" in screen_text(app).splitlines()[1]


def test_formatting_never_fails_on_missing_values() -> None:
    assert fmt.vram(None, None) == "n/a"
    assert fmt.vram(1024**3, None) == "1.0/n/a"
    assert fmt.power(None, 700.0) == "?/700"
    assert fmt.pcie(4, None) == "4/?"
    assert fmt.temp(None) == fmt.pct(None) == fmt.mhz(None) == "n/a"
    assert fmt.short_name("NVIDIA GeForce RTX 4090") == "RTX 4090"
    assert fmt.parse_tokens("32k") == 32768 and fmt.parse_tokens("131,072") == 131072
    assert fmt.parse_tokens("x") is None and fmt.parse_tokens("0") is None


def test_plan_values_only_carry_what_the_plan_decided() -> None:
    from console.planner import plan

    p = plan("120b", "H100-80GB", 1, mem_fraction_static=0.95)
    values = plan_values(p)
    assert values == p.settings == {
        "model": "openai/gpt-oss-120b", "tensor_parallel_size": 1, "max_model_len": 131072,
        "attention_backend": "fa3", "chunked_prefill": 8192, "mem_fraction_static": 0.95,
    }
    assert p.launch_args["mem-fraction-static"] == 0.95 and "gpus" not in values


async def test_typing_in_an_input_never_triggers_app_keys(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "no-driver") as (pilot, app, pane):
        context = pane.query_one("#plan-context", Input)
        context.value = ""
        context.focus()
        await pilot.pause()
        await pilot.press("q", "1", "question_mark", "r", "p")
        await pilot.pause()
        assert context.value == "q1?rp"
        assert not app._exit and type(app.screen).__name__ == "Screen"


async def test_detail_line_follows_the_highlighted_gpu_and_interval_keys(monkeypatch) -> None:
    async with gpus_open(monkeypatch, "2xh100", ticks=1, size=(160, 48)) as (pilot, app, pane):
        detail = lambda: str(pane.query_one("#gpus-detail", Static).render())  # noqa: E731
        assert detail().startswith("GPU 0 · sm90 · free") and "GPU-5d3f6a2e-0c1b-4e8a-9f11-000000000000" in detail()
        assert "fan n/a" in detail()  # NotSupported on H100
        pane.query_one("#gpus-table", DataTable).focus()
        await pilot.press("down")
        await pilot.pause()
        assert detail().startswith("GPU 1 ") and detail().endswith("000000000001")
        assert "every 1 s" in str(pane.query_one("#gpus-status", Static).render())
        await pilot.press("minus")
        await pilot.pause()
        assert pane.sampler.interval == 2.0
        assert "every 2 s" in str(pane.query_one("#gpus-status", Static).render())
        await pilot.press("plus", "plus", "plus")
        await pilot.pause()
        assert pane.sampler.interval == 0.5


# -- one sampler for the whole app ---------------------------------------------------------------


def both_areas() -> ConsoleApp:
    return ConsoleApp(areas=[a for a in AREAS if a.name in ("gpus", "metrics")])


async def metrics_sampling(pilot, app: ConsoleApp):
    return await until(pilot, lambda: (m := app.pane("metrics")) is not None
                       and m.timeline.latest("gpu1.vram") is not None and m, "the Metrics area's first sample")


def sample_counts(gpus, metrics) -> tuple[int, int]:
    """Ticks the GPUs area has shown, and GPU 0's points on the timeline the Metrics area charts
    (the app's one timeline: the GPUs area's charts read it too)."""
    assert metrics.timeline is gpus.app.history.timeline
    return gpus.ticks_shown, len(metrics.timeline.snapshot("gpu0.vram")[1])


async def test_gpus_and_metrics_share_one_sampler_and_one_tick_updates_both(monkeypatch) -> None:
    from console.gpu import Sampler
    from console.ui.metrics.pane import MetricsPane

    made: list[Sampler] = []

    def factory() -> Sampler:
        # A real thread that won't tick during the test; a long history so counts grow by one per tick.
        made.append(Sampler(interval=3600, history_seconds=10**7, clock=lambda: FIXED_TIME))
        return made[-1]

    use_recording(monkeypatch, "2xh100", factory)
    monkeypatch.setattr(MetricsPane, "docker_follower", None)
    threads_before = sum(t.name == "gpu-sampler" for t in threading.enumerate())
    app = both_areas()
    async with app.run_test(size=(80, 24)) as pilot:
        gpus = await settle(pilot, app)
        metrics = await metrics_sampling(pilot, app)
        sampler = app.gpu_feed.sampler
        assert made == [sampler] and gpus.sampler is sampler and metrics.sampler is sampler
        assert len(sampler._subscribers) == 3  # the app's history, then one per area
        assert sum(t.name == "gpu-sampler" for t in threading.enumerate()) == threads_before + 1

        counts = lambda: sample_counts(gpus, metrics)  # noqa: E731
        await until(pilot, lambda: counts()[1] == len(sampler.history(0)), "the timeline")
        g0, m0 = counts()
        sampler.tick()
        await until(pilot, lambda: counts() == (g0 + 1, m0 + 1), f"one more sample in both areas, from {(g0, m0)}")

        # An area going away unsubscribes; the sampler goes on for the rest.
        await metrics.remove()
        assert sampler.running and len(sampler._subscribers) == 2
        sampler.tick()
        await until(pilot, lambda: counts() == (g0 + 2, m0 + 2), "the GPUs area after Metrics left")
    assert not sampler.running  # stopped with the app
    assert sum(t.name == "gpu-sampler" for t in threading.enumerate()) == threads_before


async def test_interval_keys_set_the_shared_sampler_and_metrics_gets_every_tick(monkeypatch) -> None:
    from console.ui.metrics.pane import MetricsPane

    use_recording(monkeypatch, "2xh100", lambda: ManualSampler(history_seconds=10**7, clock=lambda: FIXED_TIME))
    monkeypatch.setattr(MetricsPane, "docker_follower", None)
    app = both_areas()
    async with app.run_test(size=(80, 24)) as pilot:
        gpus = await settle(pilot, app)
        metrics = await metrics_sampling(pilot, app)
        sampler = gpus.sampler
        gpus.query_one("#gpus-table", DataTable).focus()
        await pilot.press("minus")
        await pilot.pause()
        assert metrics.sampler is sampler and sampler.interval == 2.0
        assert "every 2 s" in str(gpus.query_one("#gpus-status", Static).render())
        await until(pilot, lambda: sample_counts(gpus, metrics)[1] == len(sampler.history(0)), "the timeline")
        g0, m0 = sample_counts(gpus, metrics)
        for _ in range(3):
            sampler.tick()
        await until(pilot, lambda: sample_counts(gpus, metrics) == (g0 + 3, m0 + 3), "three ticks in both areas")


async def test_a_lost_gpu_is_reported_once_and_charted_by_neither_area(monkeypatch) -> None:
    from console.ui.metrics.pane import MetricsPane

    use_recording(monkeypatch, "gpu-lost")  # GPU 1 falls off the bus at the fourth tick
    monkeypatch.setattr(MetricsPane, "docker_follower", None)
    app = both_areas()
    async with app.run_test(size=(80, 24)) as pilot:
        gpus = await settle(pilot, app)
        metrics = await metrics_sampling(pilot, app)
        points = lambda i: len(metrics.timeline.snapshot(f"gpu{i}.vram")[1])  # noqa: E731
        await until(pilot, lambda: points(0) == len(gpus.sampler.history(0)), "the Metrics catch-up")
        before = points(0), points(1)
        for _ in range(4):
            gpus.sampler.tick()
        await until(pilot, lambda: points(0) == before[0] + 4, "four ticks in the Metrics timeline")
        await pilot.pause()
        assert points(1) == before[1] + 2  # the two ticks before GPU 1 was lost
        assert cell(gpus.query_one("#gpus-table", DataTable), "1", "VRAM GiB") == "lost"
        assert len([n for n in notes(app) if n.startswith("GPU lost")]) == 1
        assert app.is_running


async def test_no_driver_reaches_both_areas_from_one_open(monkeypatch) -> None:
    from console.ui.metrics.pane import MetricsPane

    opened: list = []

    def factory():
        opened.append(ManualSampler(clock=lambda: FIXED_TIME))
        return opened[-1]

    use_recording(monkeypatch, "no-driver", factory)
    monkeypatch.setattr(MetricsPane, "docker_follower", None)
    app = both_areas()
    asked: list[bool] = []  # per call: was it off the UI thread?
    open_feed = app.gpu_feed.open
    app.gpu_feed.open = lambda: asked.append(threading.current_thread() is not threading.main_thread()) or open_feed()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert "NVIDIA driver not found" in screen_text(app)
        await until(pilot, lambda: len(asked) == 2, "both areas to ask for the sampler")
        await pilot.pause()
        assert asked == [True, True] and len(opened) == 1
        metrics = app.pane("metrics")
        assert metrics.sampler is None and metrics.timeline.names() == []




def test_feed_opens_once_catches_late_subscribers_up_and_stays_closed() -> None:
    from console.gpu import open_backend

    made: list[ManualSampler] = []
    gate = threading.Event()

    def factory() -> ManualSampler:
        gate.wait(5)  # both threads are inside open() before the first sampler exists
        made.append(ManualSampler(open_backend(NVML_DATA / "2xh100.json"), clock=lambda: FIXED_TIME))
        return made[-1]

    feed = GpuFeed(factory)
    got: list = [None, None]
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, feed.open())) for i in range(2)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(5)
    assert len(made) == 1 and got == [made[0], made[0]]

    first: list[int] = []
    late: list[int] = []
    feed.subscribe(lambda s: first.append(s.seq))
    assert first == [1]  # the first subscriber starts the sampling: first tick now
    made[0].tick()
    unsubscribe = feed.subscribe(lambda s: late.append(s.seq))
    assert late == [2]  # the latest tick at once, not a whole interval later
    made[0].tick()
    unsubscribe()
    made[0].tick()
    assert first == [1, 2, 3, 4] and late == [2, 3]

    feed.close()
    assert feed.open() is None
    assert feed.subscribe(lambda s: None)() is None  # a no-op unsubscribe after the app exited


async def test_the_planner_shows_the_verdict_per_engine(monkeypatch) -> None:
    """Under the highlighted model's verdict: every engine's, by its own rules (console.engines.verdicts,
    the plan command's `--engine all`), for the same GPUs and context."""
    from console import engines

    async with gpus_open(monkeypatch, "no-driver") as (pilot, app, pane):
        pane.query_one("#plan-gpu", Select).value = "H100-80GB"
        matrix = pane.query_one("#plan-matrix", DataTable)
        await until(pilot, lambda: str(matrix.get_row("gpt-oss-20b")[1]) == "fits", "the H100's plan")
        matrix.move_cursor(row=1)  # gpt-oss-120b: SGLang only with a shorter context on one H100
        await until(pilot, lambda: "gpt-oss-120b on" in str(pane.query_one("#plan-reasons", Static).render()),
                    "the 120b row's reasons")
        reasons = str(pane.query_one("#plan-reasons", Static).render())
        found = engines.verdicts("gpt-oss-120b", "H100-80GB", 1, max_model_len=131072)
        short = {"fits": "fits", "fits-shorter-context": "shorter ctx", "does-not-fit": "no fit"}
        line = "Engines: " + " · ".join(f"{e.label} {short[p.verdict]}" for e, p, _ in found)
        assert line in reasons and "SGLang shorter ctx" in line

"""The Launch area at 80×24 and 60×20: values win (nothing cut that changes meaning), the preview
folds, and a crash's bundle path and fix are readable whole (issue 19 bug 7, issue 10 friction)."""

from __future__ import annotations

import re

from console.logs.diagnosis import _RULES
from console.logs.events import Diagnosis
from console.runtime.monitor import Snapshot
from console.runtime.phases import RunPhase
from console.ui.launch.messages import Attached, Progress
from console.ui.launch.pane import LaunchPane
from tests.test_launch_pane import LaunchApp
from tests.ui_helpers import screen_text, until

LONG_IMAGE = "images.example.com/org/gpt-oss-sglang:v0.5.23-cu"
LONG_ENV = {"MODEL": "openai/gpt-oss-120b", "SERVED_MODEL_NAME": "openai/gpt-oss-120b-prod-eu",
            "GPT_OSS_IMAGE": LONG_IMAGE}
BUNDLE = "/home/operator/.local/state/gpt-oss-console/bundles/gpt-oss-sglang-20261204T215600Z.json"


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def _settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()


def test_snapshot_80x24_longest_model_and_a_long_image(snap_compare, monkeypatch):
    monkeypatch.setenv("HOME", "/home/operator")

    async def run_before(pilot):
        await _settle(pilot)
        pilot.app.query_one("#f-image").focus()  # the focused field's help in the help line
        await _settle(pilot)

    assert snap_compare(LaunchApp(env=LONG_ENV), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_60x20(snap_compare, monkeypatch):
    monkeypatch.setenv("HOME", "/home/operator")
    assert snap_compare(LaunchApp(env=LONG_ENV), terminal_size=(60, 20), run_before=_settle)


async def test_values_are_never_cut_at_80x24():
    app = LaunchApp(env=LONG_ENV)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LaunchPane)
        await _settle(pilot)
        screen = screen_text(app)
        assert "openai/gpt-oss-120b " in screen + " " and "openai/gpt-oss-120b-prod-eu" in screen
        for key, label in (("tensor_parallel_size", "Tensor parallel size"),
                           ("max_running_requests", "Max running requests"),
                           ("chunked_prefill", "Chunked prefill size")):  # the longest labels, whole
            pane.query_one(f"#row-{key}").scroll_visible(animate=False)
            await _settle(pilot)
            assert f" {label} " in screen_text(app), label
        pane.query_one("#f-image").focus()
        await until(pilot, lambda: LONG_IMAGE in screen_text(app), "the long image name whole")
        # the preview is folded at 80 columns, F3 shows it, F3 folds it again
        assert pane.has_class("-preview-folded") and "F3 shows it" in screen_text(app)
        pane.query_one("#launch-go").focus()
        await pilot.press("f3")
        await until(pilot, lambda: "docker run -d" in screen_text(app), "the preview")
        await pilot.press("f3")
        await until(pilot, lambda: "docker run -d" not in screen_text(app), "the preview folded")


async def test_a_crash_shows_its_bundle_and_every_fix_whole_at_80x24(monkeypatch):
    monkeypatch.setenv("HOME", "/home/operator")
    app = LaunchApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LaunchPane)
        await _settle(pilot)
        pane.post_message(Attached("c0ffee", "gpt-oss-sglang", None, None, None, False, "default"))
        rules = {r.code: r for r in _RULES}
        diagnoses = [Diagnosis(c, rules[c].title, rules[c].fix) for c in ("cuda_graph_failed", "cuda_oom")]
        snap = Snapshot("c0ffee", "gpt-oss-sglang", RunPhase.EXITED, "exited", 42.0, None, None, None, 1, False,
                        diagnoses=diagnoses, bundle=BUNDLE)
        pane.post_message(Progress(snap))
        await until(pilot, lambda: "crash bundle" in screen_text(app), "the crash bundle line")
        await _settle(pilot)
        screen = squeezed(screen_text(app))
        assert squeezed(BUNDLE.replace("/home/operator", "~")) in screen
        for d in diagnoses:
            assert squeezed(d.title) in screen and squeezed(d.fix) in screen, d.code


async def test_the_problem_of_the_field_being_typed_in_is_in_view_at_80x24(monkeypatch):
    # In the whole app at 80x24, Host port sits at the form's lower edge once focused: the error
    # row below it was cut off (seen in the tmux burst test).
    from console.ui.app import ConsoleApp

    monkeypatch.setenv("GPT_OSS_GPUS", "none")
    monkeypatch.setenv("GPT_OSS_HF_CACHE", "none")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    app = ConsoleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: app.current_area == "launch", "the Launch area")
        app.query_one("#f-model").focus()
        await pilot.pause()
        while app.focused.id != "f-host_port":  # by Tab, as an operator gets there: it ends at the lower edge
            await pilot.press("tab")
            await pilot.pause()
        await pilot.press(*"99999")
        await until(pilot, lambda: "out of range" in screen_text(app), "the port's error in view")

"""Issue 19 bug 1, issue 10 bug 2: the Launch form previews, launches, exports and saves exactly
what its fields show, also after a burst of keys (over SSH keys arrive together)."""

from __future__ import annotations

from textual import events

from console.runtime import profiles
from console.ui.launch.pane import LaunchPane
from tests.test_launch_pane import LaunchApp
from tests.ui_helpers import until


def _key(name: str) -> events.Key:
    return events.Key(name, name if len(name) == 1 else None)


async def burst(pilot, pane: LaunchPane, key: str, keys: list[str]) -> None:
    """Focus the field of ``key`` and post every key at once, as a terminal delivers a burst."""
    field = pane.query_one(f"#f-{key}")
    field.focus()
    await pilot.pause()
    for k in keys:
        pilot.app.post_message(_key(k))
    # Wait for the field to hold the burst's end, then for the form to settle on it.
    await until(pilot, lambda: not pilot.app._message_queue.qsize(), "the burst to be delivered")
    for _ in range(len(keys) + 4):
        await pilot.pause()


def preview(pane: LaunchPane) -> str:
    return str(pane.query_one("#launch-preview").render())


async def test_a_burst_of_keys_is_what_the_preview_and_launch_use():
    app = LaunchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        await burst(pilot, pane, "container_name", ["ctrl+u", *"nc2-ctrlu-same-1"])
        assert pane.query_one("#f-container_name").value == "nc2-ctrlu-same-1"
        assert "--name nc2-ctrlu-same-1" in preview(pane)
        await burst(pilot, pane, "container_name", ["ctrl+u", *"nc2-stale"])
        await burst(pilot, pane, "container_name", ["end", *["backspace"] * 5, *"good"])
        assert pane.query_one("#f-container_name").value == "nc2-good"
        await burst(pilot, pane, "host_port", ["ctrl+u", *"18821"])
        await burst(pilot, pane, "image", ["ctrl+u", *"registry.example/team/sglang-gptoss:v0.5.23-cu129"])
        # what F5 would launch is read from the fields at that moment
        pane.recompute()
        assert pane.spec.name == "nc2-good"
        assert pane.spec.image == "registry.example/team/sglang-gptoss:v0.5.23-cu129"
        assert "127.0.0.1:18821:" in pane.spec.docker_run()
        assert "--name nc2-good" in preview(pane) and "18821" in preview(pane)


async def test_the_error_never_lags_behind_the_field():
    """Type 99999999 into Context length, then Backspace eight times quickly: field, error and
    preview all say the field is empty."""
    app = LaunchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        await burst(pilot, pane, "max_model_len", [*"99999999"])
        assert "out of range" in str(pane.query_one("#err-max_model_len").render())
        assert [p.key for p in pane.vals.errors] == ["max_model_len"]
        await burst(pilot, pane, "max_model_len", ["backspace"] * 8)
        assert pane.query_one("#f-max_model_len").value == ""
        assert not pane.query_one("#err-max_model_len").display
        assert not pane.vals.errors and pane.spec is not None
        assert "MAX_MODEL_LEN" not in pane.spec.docker_run() and "MAX_MODEL_LEN" not in preview(pane)


async def test_save_and_export_take_the_fields_as_they_are_now(tmp_path):
    app = LaunchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        field = pane.query_one("#f-max_model_len")
        # A value set in the field with no key event handled yet: a save reads it all the same.
        field.value = "32768"
        pane.query_one("#launch-profile-name").value = "burst"
        pane.action_save_profile()
        assert profiles.load("burst").values["max_model_len"] == 32768
        field.value = "16384"
        pane.action_export_compose()
        compose = (profiles.config_dir() / "compose-burst.yaml").read_text()
        assert "16384" in compose and "32768" not in compose

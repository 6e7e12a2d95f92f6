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
        pane.save_profile_as("burst")
        assert profiles.load("burst").values["max_model_len"] == 32768
        field.value = "16384"
        pane.action_export_compose()
        compose = (profiles.config_dir() / "compose-burst.yaml").read_text()
        assert "16384" in compose and "32768" not in compose


async def test_ctrl_s_asks_for_a_name_says_a_bad_one_and_the_profile_is_remembered():
    from console.ui.launch.save_screen import ProfileNameScreen
    from console.ui.state import remembered

    app = LaunchApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LaunchPane)
        pane.query_one("#f-max_model_len").focus()
        await pilot.press(*"8192", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ProfileNameScreen), "the name dialog")
        assert app.screen.query_one("#profile-name").value == "default"  # the current profile offered
        await pilot.press("ctrl+u", *"-bad name", "enter")
        await until(pilot, lambda: "invalid profile name" in str(app.screen.query_one("#profile-problem").render()),
                    "the bad name said in the dialog")
        await pilot.press("ctrl+u", *"small", "enter")
        await until(pilot, lambda: not isinstance(app.screen, ProfileNameScreen), "the dialog to close")
        assert profiles.load("small").values["max_model_len"] == 8192
        assert remembered("launch")["profile"] == "small"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ProfileNameScreen), "the name dialog")
        await pilot.press("escape")  # cancelled: nothing written
        await until(pilot, lambda: not isinstance(app.screen, ProfileNameScreen), "the dialog to close")
    # the next console opens the last profile
    app = LaunchApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        assert pane.profile == "small" and pane.vals.sources["max_model_len"] == "profile"
        assert pane.query_one("#f-max_model_len").value == "8192"


async def test_quitting_with_unsaved_launch_edits_asks():
    app = LaunchApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        assert pane.quit_warning() is None
        pane.query_one("#f-container_name").focus()
        await pilot.press("ctrl+u", *"mine")
        # read at the moment of asking, even before the form has handled the keys
        pane.query_one("#f-served_model_name").value = "gptoss"
        warning = pane.quit_warning()
        assert "unsaved Launch edits" in warning and "Container name" in warning
        assert "Served model name" in warning and "Ctrl+S" in warning
        pane.save_profile_as("kept")
        await pilot.pause()
        assert pane.quit_warning() is None
        pane.query_one("#f-api_key").value = "sk-a-key-is-never-saved-0003"
        await pilot.pause()
        assert pane.quit_warning() is None  # a secret is never in a profile: nothing to save

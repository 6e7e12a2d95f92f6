"""Issue 19 bugs 10 and 12: the image mode is a declared setting (form, CLI flag, env, profile), and
extra container environment is one too (the form's field, --extra-env, the CLI's -e), with the same
rules everywhere: KEY=VALUE, and never a variable a setting sets (secrets go in as files)."""

from __future__ import annotations

import shlex

from console.cli import main
from console.runtime import profiles
from console.runtime.build import build_spec
from console.runtime.service import resolve_values
from console.settings.validate import extra_env_problems
from console.ui.launch.pane import LaunchPane
from tests.test_launch_pane import LaunchApp, save_as
from tests.ui_helpers import until


def dry_run(capsys, *argv):
    code = main(["launch", "--dry-run", "--gpus", "none", "--hf-cache", "none", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_image_mode_is_a_setting_of_env_flag_and_profile(capsys):
    assert resolve_values(env={"GPT_OSS_IMAGE_MODE": "stock"}).values["image_mode"] == "stock"
    code, out, err = dry_run(capsys, "--image", "example/gpt-oss-sglang:dev", "--image-mode", "stock")
    assert code == 0, err
    assert "python3 -m sglang.launch_server" in out or "sglang.launch_server" in out
    code, out, _ = dry_run(capsys, "--image", "example/gpt-oss-sglang:dev")
    assert code == 0 and "sglang.launch_server" not in out and "-e MODEL=" in out  # auto: the project image
    code, _, err = dry_run(capsys, "--image-mode", "sideways")
    assert code == 2 and "sideways" in err and "auto, project" in err
    profiles.save(profiles.Profile("stocky", {"image": "example/gpt-oss-sglang:dev", "image_mode": "stock"}))
    assert profiles.load("stocky").values["image_mode"] == "stock"
    code, out, _ = dry_run(capsys, "--profile", "stocky")
    assert code == 0 and "sglang.launch_server" in out


def test_the_default_image_mode_leaves_old_settings_hashes_alone():
    values = resolve_values().values
    assert values["image_mode"] == "auto"
    without = {k: v for k, v in values.items() if k != "image_mode"}
    assert build_spec(values).settings_hash == build_spec(without).settings_hash
    assert build_spec({**values, "image_mode": "stock"}).settings_hash != build_spec(values).settings_hash


def test_extra_env_rules_are_one_for_the_flag_the_setting_and_the_form(capsys):
    assert extra_env_problems(["NCCL_DEBUG=INFO", "HTTPS_PROXY=http://proxy:3128", "EMPTY="]) == []
    (bad,) = extra_env_problems(["A=1", "sk-pasted-without-a-name-0005"])
    assert "item 2 is not KEY=VALUE" in bad.message and "sk-pasted" not in bad.message
    (secret,) = extra_env_problems(["HF_TOKEN=hf_never_in_env_0004"])
    assert "HF token" in secret.message and "as a file" in secret.message and "hf_never" not in secret.message
    (dup,) = extra_env_problems(["MAX_MODEL_LEN=4096"])
    assert "Context length" in dup.message and "use that setting" in dup.message

    code, out, err = dry_run(capsys, "--extra-env", "NCCL_DEBUG=INFO 'MSG=two words'", "-e", "FOO=bar")
    assert code == 0, err
    assert "-e NCCL_DEBUG=INFO" in out and "-e FOO=bar" in out and shlex.quote("MSG=two words") in out
    code, _, err = dry_run(capsys, "-e", "HF_TOKEN=hf_never_in_env_0004")
    assert code == 2 and "as a file" in err and "hf_never" not in err
    code, _, err = dry_run(capsys, "--extra-env", "oops")
    assert code == 2 and "GPT_OSS_EXTRA_ENV" in err and "not KEY=VALUE" in err


async def test_the_form_has_the_image_mode_and_an_extra_env_field_and_a_profile_keeps_both():
    app = LaunchApp(env={"GPT_OSS_IMAGE": "example/gpt-oss-sglang:dev"})
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        pane.query_one("#f-extra_env").focus()
        await pilot.press(*"NCCL_DEBUG=INFO HF_TOKEN=x")
        await until(pilot, lambda: any(p.key == "extra_env" for p in pane.vals.errors), "the inline problem")
        assert "as a file" in str(pane.query_one("#err-extra_env").render())
        await pilot.press(*["backspace"] * len(" HF_TOKEN=x"))
        await until(pilot, lambda: not pane.vals.errors and pane.spec is not None, "the field accepted")
        assert pane.spec.environment.get("NCCL_DEBUG") == "INFO"
        assert "-e NCCL_DEBUG=INFO" in str(pane.query_one("#launch-preview").render())
        pane.query_one("#f-image_mode").value = "stock"
        await until(pilot, lambda: pane.spec is not None and pane.spec.mode == "stock", "stock mode")
        await save_as(pilot, "modes")
        saved = profiles.load("modes").values
        assert saved["image_mode"] == "stock" and saved["extra_env"] == ["NCCL_DEBUG=INFO"]
    app = LaunchApp(env={"GPT_OSS_IMAGE": "example/gpt-oss-sglang:dev"})
    async with app.run_test(size=(120, 40)) as pilot:  # the next console opens it as saved
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        assert pane.profile == "modes" and pane.spec.mode == "stock"
        assert pane.query_one("#f-image_mode").value == "stock"
        assert pane.query_one("#f-extra_env").value == "NCCL_DEBUG=INFO"

"""The Launch pane: snapshots at 80×24 and 160×48, the form's sources and validation, and a real
launch → phases → ready → stop driven with the keyboard through Pilot on the stand-in image."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from console.runtime.phases import RunPhase
from console.ui.launch.pane import LaunchPane
from console.ui.messages import EndpointChanged, PlanChosen
from tests.fixtures.docker_engine import free_port
from tests.fixtures.docker_engine import test_name as unique_name
from tests.ui_helpers import until

STYLES = Path(__file__).resolve().parents[1] / "styles"


class LaunchApp(App):
    CSS_PATH = [str(STYLES / "app.tcss"), str(STYLES / "launch.tcss")]

    def __init__(self, env=None, attach=False):
        super().__init__()
        self.env = {} if env is None else env
        self.attach = attach
        self.endpoints: list[EndpointChanged] = []

    def compose(self) -> ComposeResult:
        yield LaunchPane(id="pane-launch", attach=self.attach, env=self.env)

    def on_endpoint_changed(self, message: EndpointChanged) -> None:
        self.endpoints.append(message)


async def save_as(pilot, name: str) -> None:
    """Ctrl+S, then the profile's name typed into the dialog it opens, then Enter."""
    from console.ui.launch.save_screen import ProfileNameScreen

    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(pilot.app.screen, ProfileNameScreen), "the profile name dialog")
    await pilot.press("ctrl+u", *name, "enter")
    await until(pilot, lambda: not isinstance(pilot.app.screen, ProfileNameScreen), "the dialog to close")
    await pilot.pause()


@pytest.fixture(autouse=True)
def xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


@pytest.fixture
def fixed_home(monkeypatch):
    # the HF cache default (~/.cache/huggingface) appears expanded in the docker run preview
    monkeypatch.setenv("HOME", "/home/operator")


def test_snapshot_80x24(snap_compare, fixed_home):
    assert snap_compare(LaunchApp(), terminal_size=(80, 24))


def test_snapshot_160x48_with_a_plan_and_a_problem(snap_compare, fixed_home):
    async def run_before(pilot):
        pane = pilot.app.query_one(LaunchPane)
        pane.post_message(PlanChosen({"model": "openai/gpt-oss-120b", "tensor_parallel_size": 2,
                                      "max_model_len": 65536, "attention_backend": "fa3"}))
        await pilot.pause()
        pane.edits["mem_fraction_static"] = "1.5"
        pane.recompute()
        await pilot.pause()

    assert snap_compare(LaunchApp(env={"PORT": "8001"}), terminal_size=(160, 48), run_before=run_before)


async def test_sources_validation_and_preview_follow_the_form():
    app = LaunchApp(env={"MAX_MODEL_LEN": "16384"})
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        assert pane.vals.sources["max_model_len"] == "env"
        pane.post_message(PlanChosen({"mem_fraction_static": 0.93, "max_model_len": 65536}))
        await pilot.pause()
        assert pane.vals.sources["mem_fraction_static"] == "planner"
        assert pane.vals.values["max_model_len"] == 16384  # the env still wins over a recommendation
        # type into a field with the keyboard: the value becomes an edit, validated inline
        pane.query_one("#f-mem_fraction_static").focus()
        await pilot.press("end", "ctrl+u", *"1.7")
        await pilot.pause()
        assert pane.vals.sources["mem_fraction_static"] == "cli"
        assert any(p.key == "mem_fraction_static" for p in pane.vals.errors)
        assert pane.query_one("#err-mem_fraction_static").display
        assert "out of range" in str(pane.query_one("#err-mem_fraction_static").render())
        await pilot.press("end", "ctrl+u", *"0.9")
        await pilot.pause()
        assert not pane.vals.errors and "--mem-fraction-static" not in pane.spec.docker_run()  # project image: env
        assert "MEM_FRACTION_STATIC=0.9" in pane.spec.docker_run()
        # publishing on 0.0.0.0 without a key is refused in the preview until overridden
        pane.edits["publish_address"] = "0.0.0.0"
        pane.recompute()
        assert pane.spec is None and "without an API key" in pane.spec_error.message
        await pilot.press("f5")
        await pilot.pause()
        assert pane.container_id is None  # nothing launched


async def test_profiles_save_load_from_the_pane(xdg):
    from console.runtime import profiles

    app = LaunchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        pane.edits.update(max_model_len="32768", api_key="sk-never-in-a-profile-0000")
        pane.recompute()
        await save_as(pilot, "mine")
        saved = profiles.load("mine")
        assert saved.values["max_model_len"] == 32768 and "api_key" not in saved.values
        assert pane.vals.sources["max_model_len"] == "profile"


async def test_save_profile_keeps_the_typed_key_for_the_next_launch(xdg):
    """Issue 19 bug 2: Ctrl+S dropped the API key typed into the form; the next F5 launched without one."""
    from console.runtime import profiles
    from console.runtime.secret_files import IN_CONTAINER

    key = "sk-typed-into-the-form-0001"
    app = LaunchApp(env={"GPT_OSS_IMAGE": "lmsysorg/sglang:latest"})
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        pane.query_one("#f-api_key").focus()
        await pilot.press(*key)
        await until(pilot, lambda: pane.spec is not None and pane.spec.api_key is not None)
        await save_as(pilot, "keyed")
        assert "api_key" not in profiles.load("keyed").values  # secrets stay out of profiles…
        pane.recompute()  # …but not out of the form: what F5 would launch still has the key
        assert pane.spec.api_key.reveal() == key
        assert pane.query_one("#f-api_key").value == key
        assert pane.spec.command[-2:] == ["--config", f"{IN_CONTAINER}/sglang.yaml"]
        assert f'api-key: "{key}"' in pane.spec.secret_files[0].content.reveal()
        # a profile switch keeps it too
        profiles.save(profiles.Profile("other", {"max_model_len": 8192}))
        pane._refresh_profiles()
        pane.query_one("#launch-profiles").value = "other"
        await pilot.pause()
        assert pane.profile == "other" and pane.spec.api_key.reveal() == key


async def test_the_form_takes_an_api_key_file_and_a_profile_keeps_its_path(xdg, tmp_path):
    """The API key's help says 'prefer API_KEY_FILE': the form offers one, and the profile remembers it."""
    from console.runtime import profiles

    keyfile = tmp_path / "key"
    keyfile.write_text("sk-from-the-operators-file-0002\n")
    app = LaunchApp(env={"GPT_OSS_IMAGE": "gpt-oss-sglang:latest"})
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        field = pane.query_one("#f-api_key_file")
        field.focus()
        await pilot.press(*str(tmp_path / "nope"))
        await until(pilot, lambda: any(p.key == "api_key_file" for p in pane.vals.errors))
        assert "does not exist" in str(pane.query_one("#err-api_key_file").render())
        await pilot.press("ctrl+u", *str(keyfile))
        await until(pilot, lambda: pane.spec is not None and pane.spec.api_key is not None)
        assert pane.spec.api_key.path == str(keyfile)
        assert f"{keyfile}:/run/secrets/gpt-oss-console/api_key:ro" in pane.spec.docker_run()
        await save_as(pilot, "filed")
        saved = profiles.load("filed").values
        assert saved["api_key_file"] == str(keyfile) and "api_key" not in saved
        await pilot.pause()
        assert field.value == str(keyfile) and pane.vals.sources["api_key"] == "profile"


@pytest.mark.docker
async def test_launch_phases_ready_stop_from_the_tui(standin_sglang_image, docker_client):
    name = unique_name("tui")
    port = free_port()
    env = {"GPT_OSS_IMAGE": standin_sglang_image, "GPT_OSS_GPUS": "none", "GPT_OSS_HF_CACHE": "none", "GPT_OSS_CONTAINER_NAME": name}
    app = LaunchApp(env=env)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(LaunchPane)
            pane.query_one("#f-image_mode").value = "stock"
            pane.query_one("#f-host_port").focus()
            await pilot.press(*str(port))
            await pilot.pause()
            assert pane.vals.sources["host_port"] == "cli" and pane.vals.sources["image"] == "env"
            assert pane.spec.mode == "stock" and pane.spec.host_port == port
            seen: list[RunPhase] = []
            await pilot.press("f5")
            for _ in range(300):
                await asyncio.sleep(0.1)
                if pane.snap is not None and (not seen or seen[-1] != pane.snap.phase):
                    seen.append(pane.snap.phase)
                if pane.snap is not None and pane.snap.phase is RunPhase.READY and app.endpoints:
                    break
            assert pane.snap.phase is RunPhase.READY, seen
            assert seen == sorted(seen)
            assert app.endpoints[-1].base_url == f"http://127.0.0.1:{port}"
            history = [t.phase for t in pane.monitor.tracker.history]
            assert history == sorted(history) and RunPhase.LOADING_WEIGHTS in history
            assert RunPhase.KV_POOL in history and RunPhase.CUDA_GRAPHS in history
            from tests.ui_helpers import screen_text

            assert "ready at http://127.0.0.1" in screen_text(app)
            tokens = pane.snap.capacity.max_total_num_tokens  # as SGLang logged it
            assert tokens > 0 and f"KV pool {tokens:,} tokens" in str(pane.query_one("#launch-info").render())
            # F7 restarts: the phases start over (not the old run's "ready") and reach ready again
            first_ready = pane.snap.time_to_ready_s
            await pilot.press("f7")
            restarted: list[RunPhase] = []
            for _ in range(300):
                await asyncio.sleep(0.1)
                if pane.snap is not None and (not restarted or restarted[-1] != pane.snap.phase):
                    restarted.append(pane.snap.phase)
                if len(restarted) > 1 and pane.snap.phase is RunPhase.READY:
                    break
            assert restarted[-1] is RunPhase.READY and RunPhase.LOADING_WEIGHTS in restarted, restarted
            assert first_ready is not None
            # F5 again: the name is taken, said in words; Shift+F5 replaces it with the form's settings
            first_id = pane.container_id
            await pilot.press("f5")
            await asyncio.sleep(1.0)
            assert "already running" in str(pane.query_one("#launch-info").render())
            assert pane.monitor is not None and pane.container_id == first_id  # still watching it
            await pilot.press("shift+f5")
            for _ in range(300):
                await asyncio.sleep(0.1)
                if pane.container_id != first_id and pane.snap is not None and pane.snap.phase is RunPhase.READY:
                    break
            assert pane.container_id != first_id and pane.snap.phase is RunPhase.READY
            # F9 exports the compose file next to the profiles, private
            await pilot.press("f9")
            await pilot.pause()
            from console.runtime.profiles import config_dir

            compose = config_dir() / "compose-default.yaml"
            assert compose.is_file() and (compose.stat().st_mode & 0o777) == 0o600
            assert f"127.0.0.1:{port}:8000" in compose.read_text()
            await pilot.press("f6")
            for _ in range(200):
                await asyncio.sleep(0.1)
                if pane.snap.phase is RunPhase.EXITED:
                    break
            assert pane.snap.phase is RunPhase.EXITED and pane.snap.exit_code == 0
            assert pane.snap.bundle is None  # a requested stop is not a crash
            assert app.endpoints[-1].base_url is None
        # a new console finds the container (stopped now) without starting anything
        assert docker_client.containers.get(name).status == "exited"
    finally:
        try:
            docker_client.containers.get(name).remove(force=True)
        except Exception:
            pass


@pytest.mark.docker
async def test_a_new_console_reattaches_to_the_running_server(standin_sglang_image, docker_client, capsys, xdg):
    from console.cli import main

    from console.runtime import profiles
    from console.ui.state import remember

    # Its own profile, remembered as the last one: on a shared engine other consoles' servers run
    # too, and the one to re-attach to is this profile's (an arbitrary one made this test flaky).
    name = unique_name("tui-reattach")
    port = free_port()
    profile = name.replace("gpt-oss-console-test-", "t-")
    profiles.save(profiles.Profile(profile, {"image": standin_sglang_image, "gpus": "none", "hf_cache": "none",
                                             "host_port": port, "container_name": name}))
    remember("launch", profile=profile)
    try:
        assert main(["launch", "--profile", profile, "--detach"]) == 0
        app = LaunchApp(attach=True)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(LaunchPane)
            for _ in range(200):
                await asyncio.sleep(0.1)
                if pane.snap is not None and pane.snap.phase is RunPhase.READY and app.endpoints:
                    break
            assert pane.container_name == name and pane.snap.phase is RunPhase.READY
            assert app.endpoints[-1].base_url == f"http://127.0.0.1:{port}"
            # issue 19 bug 8: drift against the form as it stands, re-checked live
            assert pane.profile == profile and pane.form_drift() is False
            assert "the form is what this server runs" in str(pane.query_one("#launch-info").render())
            pane.query_one("#f-max_model_len").focus()
            await pilot.press(*"8192")
            await until(pilot, lambda: "form differs from the running server" in str(pane.query_one("#launch-info").render()),
                        "the edit shown as drift")
            await pilot.press(*["backspace"] * 4)
            await until(pilot, lambda: pane.form_drift() is False, "the form matching the server again")
            # saving another value into the server's profile: the server now drifts from its profile
            pane.query_one("#f-max_model_len").value = "4096"
            pane.save_profile_as(profile)
            await until(pilot, lambda: "drift: running settings differ from profile" in
                        str(pane.query_one("#launch-info").render()), "the profile drift")
        assert docker_client.containers.get(name).status == "running"  # closing the console left it running
    finally:
        try:
            docker_client.containers.get(name).remove(force=True)
        except Exception:
            pass


@pytest.mark.docker
async def test_in_the_full_app_launch_feeds_the_logs_pane(standin_sglang_image, docker_client, monkeypatch):
    """The real shell: key 2 opens Launch, F5 launches, the Logs area follows the same container."""
    from console.settings import SETTINGS
    from console.ui.app import ConsoleApp

    for s in SETTINGS:
        for var in (s.env, *s.aliases, s.file_env):
            if var:
                monkeypatch.delenv(var, raising=False)
    name = unique_name("app")
    port = free_port()
    for var, value in {"GPT_OSS_IMAGE": standin_sglang_image, "GPT_OSS_GPUS": "none", "GPT_OSS_HF_CACHE": "none", "GPT_OSS_CONTAINER_NAME": name,
                       "GPT_OSS_HOST_PORT": str(port)}.items():
        monkeypatch.setenv(var, value)
    from console.ui.app import container_names

    app = ConsoleApp()
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.pane("gpus").inventory is not None, "the GPUs area to open")
            await pilot.press("2")
            await until(pilot, lambda: app.current_area == "launch", "key 2 to open Launch")
            # the GPUs screen names the container behind each GPU process (the app's lookup)
            await until(pilot, lambda: app.pane("gpus")._container_lookup() is container_names, "the container lookup")
            pane = app.pane("launch")
            assert pane.vals.sources["image"] == "env"
            pane.query_one("#f-image_mode").value = "stock"
            await pilot.pause()
            await pilot.press("f5")
            await until(pilot, lambda: pane.snap is not None and pane.snap.phase is RunPhase.READY,
                        "the server to be ready", timeout=60)
            logs = app.pane("logs")
            assert logs.source == f"container {pane.container_id[:12]}"
            await until(pilot, lambda: any("fired up and ready" in (logs.buffer.line(i) or "")
                                           for i in range(len(logs.buffer))), "the ready line in Logs")
            await pilot.press("f6")
            await until(pilot, lambda: pane.snap.phase is RunPhase.EXITED, "the container to exit", timeout=30)
    finally:
        try:
            docker_client.containers.get(name).remove(force=True)
        except Exception:
            pass


async def test_the_stall_threshold_is_the_same_setting_as_the_cli_one():
    """Issue 19: the TUI's stall threshold was fixed at 180 s while the CLI had --stall-after."""
    from console.runtime.build import build_spec
    from console.runtime.service import resolve_values

    app = LaunchApp(env={"GPT_OSS_STALL_AFTER": "45"})
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        assert pane.stall_after == 45.0 and pane.vals.sources["stall_after"] == "env"
        pane.query_one("#f-stall_after").focus()
        await pilot.press("end", "ctrl+u", *"2.5")
        await pilot.pause()
        assert pane.stall_after == 2.5 and pane.vals.sources["stall_after"] == "cli"
    # how the console watches is not how the server runs: changing it is no drift
    a = resolve_values(env={}, cli={"stall_after": "30"}).values
    b = resolve_values(env={}, cli={"stall_after": "300"}).values
    assert build_spec(a, profile="p").settings_hash == build_spec(b, profile="p").settings_hash


@pytest.mark.docker
async def test_the_tui_warns_of_a_stall_after_the_forms_threshold(standin_sglang_image, docker_client):
    name = unique_name("tui-stall")
    env = {"GPT_OSS_IMAGE": standin_sglang_image, "GPT_OSS_GPUS": "none", "GPT_OSS_HF_CACHE": "none",
           "GPT_OSS_CONTAINER_NAME": name, "GPT_OSS_HOST_PORT": str(free_port()), "GPT_OSS_STALL_AFTER": "1.5"}
    app = LaunchApp(env=env)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.query_one(LaunchPane)
            from console.runtime.build import build_spec

            # the form has no field for the stand-in's own env: the same values, launched by the pane's worker
            spec = build_spec(pane.vals.values, profile="default", image_mode="stock",
                              extra_env={"FAKE_SGLANG_SCENARIO": "slow_start", "FAKE_SGLANG_PHASE_DELAY": "5"})
            pane._launch_worker(spec)
            tracker = lambda: str(pane.query_one("#launch-tracker").render())  # noqa: E731
            await until(pilot, lambda: "no progress for" in tracker(), "the stall warning", timeout=40)
            assert "stalled?" in tracker()
    finally:
        try:
            docker_client.containers.get(name).remove(force=True)
        except Exception:
            pass


@pytest.mark.docker
async def test_several_servers_of_one_profile_the_operator_chooses(standin_sglang_image, docker_client, xdg):
    """Re-attach with two servers from one profile: a chooser, not an arbitrary pick; the chosen one
    is watched and the form shows its profile."""
    from console.cli import main
    from console.runtime import profiles
    from console.ui.launch.choose_screen import ChooseServerScreen
    from console.ui.state import remember

    names = [unique_name("tui-choose"), unique_name("tui-choose")]
    profile = names[0].replace("gpt-oss-console-test-", "t-")
    profiles.save(profiles.Profile(profile, {"image": standin_sglang_image, "gpus": "none", "hf_cache": "none",
                                             "max_model_len": 8192}))
    remember("launch", profile=profile)
    try:
        for n in names:
            assert main(["launch", "--profile", profile, "--container-name", n, "--host-port", str(free_port()),
                         "--detach"]) == 0
        app = LaunchApp(attach=True)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(LaunchPane)
            await until(pilot, lambda: isinstance(app.screen, ChooseServerScreen) and app.screen.query("#choose-list"),
                        "the chooser", timeout=60)
            listed = app.screen.query_one("#choose-list")
            assert listed.option_count == 2 and pane.container_name is None
            assert [listed.get_option_at_index(i).id for i in range(2)] == [
                docker_client.containers.get(n).id for n in sorted(names)]
            await pilot.press("down", "enter")
            await until(pilot, lambda: pane.container_name == sorted(names)[1], "the chosen server watched", timeout=60)
            assert pane.profile == profile and pane.query_one("#f-max_model_len").value == "8192"
    finally:
        for n in names:
            try:
                docker_client.containers.get(n).remove(force=True)
            except Exception:
                pass


def test_pick_attach_rule():
    from types import SimpleNamespace as C

    from console.ui.launch.workers import pick_attach

    a, b, c = C(name="a", profile="p"), C(name="b", profile="p"), C(name="c", profile="q")
    assert pick_attach([], "a", "p") == []
    assert pick_attach([a, b, c], "c", "p") is c  # the form's container name first
    assert pick_attach([a, c], "x", "p") is a  # the one server of this profile
    assert pick_attach([a, b, c], "x", "p") == [a, b]  # several of this profile: choose among them
    assert pick_attach([c], "x", "p") is c  # the only server there is
    assert pick_attach([a, c], "x", "z") == [a, c]  # several, none of this profile
    # a container name the operator set: only that one is attached to by itself
    assert pick_attach([c], "x", "p", explicit=True) == [c]
    assert pick_attach([a, c], "x", "p", explicit=True) == [a, c]
    assert pick_attach([a, c], "a", "p", explicit=True) is a


@pytest.mark.docker
async def test_a_server_that_drifted_from_its_profile_fills_the_form_with_what_it_runs(
        standin_sglang_image, docker_client, xdg):
    """Issue 19 (smaller): re-attach fills the form from the attached container's settings, read
    back from Docker, when they differ from its profile; the form then is what the server runs."""
    from console.cli import main
    from console.runtime import profiles
    from console.ui.state import remember

    name = unique_name("tui-readback")
    port = free_port()
    profile = name.replace("gpt-oss-console-test-", "t-")
    profiles.save(profiles.Profile(profile, {"image": standin_sglang_image, "gpus": "none", "hf_cache": "none",
                                             "container_name": name, "host_port": port}))
    remember("launch", profile=profile)
    try:
        assert main(["launch", "--profile", profile, "--max-model-len", "4096", "--enable-cache-report",
                     "--extra-args", "--decode-log-interval 10", "--detach"]) == 0
        app = LaunchApp(attach=True)
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.query_one(LaunchPane)
            await until(pilot, lambda: pane.container_name == name and pane.from_running, "the server's settings",
                        timeout=60)
            assert pane.drift is True  # it runs other settings than its profile…
            assert pane.query_one("#f-max_model_len").value == "4096"  # …and the form shows them
            assert str(pane.query_one("#src-max_model_len").render()) == "running"
            assert pane.query_one("#f-enable_cache_report").value is True
            assert pane.query_one("#f-extra_args").value == "--decode-log-interval 10"
            assert pane.form_drift() is False and "the form is what this server runs" in str(
                pane.query_one("#launch-info").render())
            assert pane.quit_warning() is None  # nothing typed: quitting loses nothing
    finally:
        try:
            docker_client.containers.get(name).remove(force=True)
        except Exception:
            pass

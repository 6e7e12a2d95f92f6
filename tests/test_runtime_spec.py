"""Launch spec built from the settings declaration: argv, env, docker run preview, compose, publishing rules."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from console.errors import ConsoleError
from console.runtime.build import build_spec, parse_gpus, pick_mode
from console.runtime.secret_files import IN_CONTAINER
from console.runtime.spec import LABEL_HASH, LABEL_OWNED, LABEL_PROFILE
from console.runtime.service import resolve_values
from console.settings import SETTINGS, sglang_args

KEY = "sk-test-0123456789abcdef"
TOKEN = "hf_abcdefghijklmnopqrstuvwx"


def values(**cli):
    base = {"image": "lmsysorg/sglang:latest", "gpus": "none", "hf_cache": "none"}
    base.update(cli)
    v = resolve_values(cli=base, env={})
    assert not v.errors, v.errors
    return v.values


def test_stock_mode_runs_sglang_with_the_declarations_argv():
    vals = values(model="gpt-oss-120b", tensor_parallel_size=2, mem_fraction_static=0.9)
    spec = build_spec(vals, profile="big")
    assert spec.mode == "stock"
    assert spec.command[:3] == ["python3", "-m", "sglang.launch_server"]
    assert spec.command[3:] == sglang_args(vals)
    argv = spec.command
    assert argv[argv.index("--model-path") + 1] == "openai/gpt-oss-120b"  # short name expanded
    assert argv[argv.index("--tp-size") + 1] == "2"
    assert argv[argv.index("--mem-fraction-static") + 1] == "0.9"
    assert argv[argv.index("--host") + 1] == "0.0.0.0"


def test_project_mode_passes_every_non_container_setting_as_env():
    vals = values(image="gpt-oss-sglang:latest", max_model_len=32768, api_key=KEY)
    spec = build_spec(vals)
    assert spec.mode == "project" and spec.command is None
    assert spec.environment["MAX_MODEL_LEN"] == "32768"
    # the key as a file the entrypoint reads, never as a value in the container's env
    assert "API_KEY" not in spec.environment and KEY not in str(spec.create_kwargs())
    assert spec.environment["API_KEY_FILE"] == f"{IN_CONTAINER}/api_key"
    container_envs = {s.env for s in SETTINGS if s.target == "container"}
    assert not container_envs & set(spec.environment)  # IMAGE, GPUS, ... are how it runs, not what it reads


def _mounts(argv):
    return {v.split(":")[1]: v for i, v in enumerate(argv) if argv[i - 1] == "-v"}


def test_docker_run_preview_has_no_secret_and_mounts_them_as_files(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    vals = values(api_key=KEY, hf_token=TOKEN, publish_address="0.0.0.0", host_port=18080, gpus="0,1",
                  hf_cache="/data/hf")
    spec = build_spec(vals, profile="pub")
    text = spec.docker_run()
    assert KEY not in text and TOKEN not in text and "****" not in text
    argv = shlex.split(text.replace("\\\n", " "))
    assert argv[:3] == ["docker", "run", "-d"]
    assert "--ipc=host" in argv
    assert argv[argv.index("-p") + 1] == "0.0.0.0:18080:8000"
    assert argv[argv.index("--gpus") + 1] == '"device=0,1"'
    mounts = _mounts(argv)
    assert mounts["/root/.cache/huggingface"] == "/data/hf:/root/.cache/huggingface"
    assert argv[argv.index("--shm-size") + 1] == "32g"
    # stock SGLang: the key in its own --config file, the token where huggingface_hub reads it
    assert argv[-2:] == ["--config", f"{IN_CONTAINER}/sglang.yaml"] and "--api-key" not in argv
    assert f"HF_TOKEN_PATH={IN_CONTAINER}/hf_token" in argv
    assert mounts[f"{IN_CONTAINER}/sglang.yaml"].endswith(":ro")
    # the command runs as printed once the console's copies exist: 0400, the key inside
    written = spec.write_secret_files()
    config = next(p for p in written if p.endswith("sglang.yaml"))
    assert oct(Path(config).stat().st_mode & 0o777) == "0o400"
    assert Path(config).read_text().splitlines()[-1] == f'api-key: "{KEY}"'
    assert Path(mounts[f"{IN_CONTAINER}/hf_token"].split(":")[0]).read_text() == TOKEN + "\n"
    assert oct(Path(config).parent.stat().st_mode & 0o777) == "0o700"
    assert f"{LABEL_PROFILE}=pub" in argv


def test_a_key_from_the_operators_file_is_mounted_from_that_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "key").write_text(KEY + "\n")
    vals = values(image="gpt-oss-sglang:latest", api_key_file=str(tmp_path / "key"))
    spec = build_spec(vals)
    argv = shlex.split(spec.docker_run().replace("\\\n", " "))
    assert _mounts(argv)[f"{IN_CONTAINER}/api_key"] == f"{tmp_path / 'key'}:{IN_CONTAINER}/api_key:ro"
    assert spec.write_secret_files() == []  # nothing of ours to write
    assert spec.create_kwargs()["volumes"][str(tmp_path / "key")] == {"bind": f"{IN_CONTAINER}/api_key", "mode": "ro"}


def test_compose_export_matches_the_spec():
    vals = values(api_key=KEY, gpus="all")
    spec = build_spec(vals, profile="svc")
    text = spec.compose()
    assert KEY not in text and "****" not in text
    assert f'/sglang.yaml:{IN_CONTAINER}/sglang.yaml:ro"' in text
    assert '"127.0.0.1:8000:8000"' in text
    assert 'ipc: "host"' in text and 'count: "all"' in text and 'capabilities: ["gpu"]' in text
    assert f'"{LABEL_OWNED}": "1"' in text


def test_sdk_kwargs_publish_on_loopback_and_request_gpus_only_when_asked():
    spec = build_spec(values(gpus="none"))
    kw = spec.create_kwargs()
    assert kw["ports"] == {"8000/tcp": ("127.0.0.1", 8000)}
    assert kw["ipc_mode"] == "host" and "device_requests" not in kw
    spec = build_spec(values(gpus="all"))
    (req,) = spec.create_kwargs()["device_requests"]
    assert req["Count"] == -1 and req["Capabilities"] == [["gpu"]]
    spec = build_spec(values(gpus="1,3"))
    (req,) = spec.create_kwargs()["device_requests"]
    assert req["DeviceIDs"] == ["1", "3"]


def test_public_bind_without_api_key_is_refused_unless_overridden():
    vals = values(publish_address="0.0.0.0")
    with pytest.raises(ConsoleError) as err:
        build_spec(vals)
    assert "without an API key" in err.value.message and "--allow-public" in err.value.hint
    spec = build_spec(vals, allow_public=True)
    assert spec.warnings and "anyone" in spec.warnings[0]
    assert build_spec(values(publish_address="0.0.0.0", api_key=KEY)).warnings == []


def test_settings_hash_ignores_secret_values_but_tracks_everything_else():
    a = build_spec(values(api_key=KEY)).settings_hash
    b = build_spec(values(api_key=KEY[::-1])).settings_hash
    c = build_spec(values(api_key=KEY, mem_fraction_static=0.8)).settings_hash
    assert a == b != c
    assert build_spec(values()).labels[LABEL_HASH] != a  # set vs unset still counts


def test_modes_and_gpu_parsing():
    assert pick_mode("lmsysorg/sglang:v0.5.0rc2-cu126") == "stock"
    assert pick_mode("gpt-oss-sglang:latest") == "project"
    assert pick_mode("gpt-oss-sglang:latest", "stock") == "stock"
    assert parse_gpus("all") == "all" and parse_gpus("none") is None and parse_gpus("0, 2") == [0, 2]
    with pytest.raises(ConsoleError):
        parse_gpus("first")


def test_value_sources_layer_default_profile_planner_env_cli(tmp_path, monkeypatch):
    from console.runtime import profiles

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    profiles.save(profiles.Profile("p", {"mem_fraction_static": 0.8, "max_model_len": 8192, "port": 9000}))
    v = resolve_values(profile="p", planner={"mem_fraction_static": 0.93, "max_model_len": 65536},
                       env={"MAX_MODEL_LEN": "16384"}, cli={"port": 9001})
    assert v.sources["model"] == "default"
    assert (v.values["mem_fraction_static"], v.sources["mem_fraction_static"]) == (0.93, "planner")
    assert (v.values["max_model_len"], v.sources["max_model_len"]) == (16384, "env")
    assert (v.values["port"], v.sources["port"]) == (9001, "cli")


def test_the_default_container_name_follows_the_engine():
    """Left at its default the name is the engine's (an SGLang and a vLLM launch with default names
    do not replace each other's container); a name set — on the command line, in the environment or
    a profile — is kept for every engine."""
    for engine in ("sglang", "vllm", "llamacpp"):
        vals = {"image": None, "gpus": "none", "hf_cache": "none", "engine": engine}
        spec = build_spec(resolve_values(cli=vals, env={}).values)
        assert spec.name == f"gpt-oss-{engine}", engine
        # the same container as that name set by hand (re-attach reads the name back): no drift
        by_hand = build_spec(resolve_values(cli=vals | {"container_name": f"gpt-oss-{engine}"}, env={}).values)
        assert by_hand.name == spec.name and by_hand.settings_hash == spec.settings_hash, engine
        assert build_spec(resolve_values(cli=vals | {"container_name": "mine"}, env={}).values).name == "mine"
        from_env = resolve_values(cli=vals, env={"GPT_OSS_CONTAINER_NAME": "from-env"}).values
        assert build_spec(from_env).name == "from-env"


def test_a_local_engine_image_is_never_pulled_by_the_printed_command_or_compose():
    """llama.cpp's stock image is a local name: Docker would try to pull it from its default registry
    when it is absent ("pull access denied"); the export says never, so the error is "no such image"."""
    from console import engines

    image = engines.get("llamacpp").stock_image().image
    vals = values(engine="llamacpp", image=image, model="openai/gpt-oss-20b")
    spec = build_spec(vals, image_mode="stock")
    argv = spec.docker_run_argv()
    assert argv[argv.index("--pull") + 1] == "never" and argv[-len(spec.command) - 1] == image
    assert 'pull_policy: "never"' in spec.compose()
    stock = build_spec(values(), image_mode="stock")  # a published name: pulled as Docker always does
    assert "--pull" not in stock.docker_run_argv() and "pull_policy" not in stock.compose()

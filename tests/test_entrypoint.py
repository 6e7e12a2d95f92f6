"""The image entrypoint without Docker: decisions, refusals, summary, env for SGLang, SSH options."""

from __future__ import annotations

import pytest

from console.image import entrypoint as E
from console.image import gpus as G
from console.image.ssh import install_key, sshd_options, valid_public_key
from tests.docker.readme_examples import API_KEY_IN_FILE, EXPECTED, EXPECTED_KEYS, examples

CATALOG = {  # nvidia-smi's view of a few cards: name, MiB, compute capability
    "H100-80GB": ("NVIDIA H100 80GB HBM3", 81559, (9, 0)),
    "H200-141GB": ("NVIDIA H200", 143771, (9, 0)),
    "A100-80GB": ("NVIDIA A100-SXM4-80GB", 81920, (8, 0)),
    "L40S-48GB": ("NVIDIA L40S", 46068, (8, 9)),
    "RTX-4090-24GB": ("NVIDIA GeForce RTX 4090", 24564, (8, 9)),
    "B200-180GB": ("NVIDIA B200", 183359, (10, 0)),
}


def fake(spec: str):
    """``"H100-80GB:2"`` → a detect() returning two H100s."""
    gpus = []
    for part in spec.split(","):
        name, _, n = part.partition(":")
        smi_name, mib, cc = CATALOG[name]
        gpus += [G.DetectedGpu(len(gpus) + i, smi_name, mib, cc) for i in range(int(n or 1))]
    return lambda: gpus


def test_readme_has_every_seed_example():
    assert [e.id for e in examples()] == list(EXPECTED)


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.id)
def test_readme_example_argv(example, tmp_path):
    env = dict(example.env)
    if "API_KEY_FILE" in env:
        (tmp_path / "api_key").write_text(API_KEY_IN_FILE + "\n")
        env["API_KEY_FILE"] = str(tmp_path / "api_key")
    prep = E.prepare(env, [], detect=fake(example.fake_gpus))
    assert prep.argv == ["python3", "-m", "sglang.launch_server", *EXPECTED[example.id]]
    secrets = E.place_secrets(prep, reads_config=True, folder=str(tmp_path))
    if example.id in EXPECTED_KEYS:
        # the key in SGLang's --config file (0600), never on its command line
        assert secrets == [EXPECTED_KEYS[example.id]]
        config = tmp_path / "secrets.yaml"
        assert prep.argv[-2:] == ["--config", str(config)] and EXPECTED_KEYS[example.id] not in prep.argv
        assert config.read_text().splitlines()[-1] == f'api-key: "{EXPECTED_KEYS[example.id]}"'
        assert oct(config.stat().st_mode & 0o777) == "0o600"
    else:
        assert secrets == [] and "--config" not in prep.argv


@pytest.mark.parametrize("env,gpus,fragment", [
    ({"MODEL": "gpt-oss-70b"}, "H100-80GB:1", "unknown model 'gpt-oss-70b'"),
    ({"MEM_FRACTION_STATIC": "1.5"}, "H100-80GB:1", "MEM_FRACTION_STATIC=1.5 is out of range: use 0 < x < 1"),
    ({"TENSOR_PARALLEL_SIZE": "3"}, "H100-80GB:4", "TENSOR_PARALLEL_SIZE=3 is not valid for gpt-oss"),
    ({"MODEL": "openai/gpt-oss-120b"}, "L40S-48GB:1", "openai/gpt-oss-120b does not fit on one L40S-48GB at TP=1"),
    ({"ATTENTION_BACKEND": "flashinfer"}, "H100-80GB:1", "SGLang refuses flashinfer for gpt-oss"),
    ({"ATTENTION_BACKEND": "nope"}, "H100-80GB:1", "unknown ATTENTION_BACKEND='nope'"),
    ({"ATTENTION_BACKEND": "trtllm_mha"}, "H100-80GB:1", "trtllm_mha is Blackwell-only"),
    ({"TENSOR_PARALLEL_SIZE": "2"}, "H100-80GB:1", "needs 2 GPUs but 1 are visible"),
])
def test_refusals_are_one_line(env, gpus, fragment):
    with pytest.raises(E.Refusal) as info:
        E.prepare(env, [], detect=fake(gpus))
    assert info.value.code == E.EXIT_SETTINGS
    assert len(info.value.lines) == 1 and fragment in info.value.lines[0]


def test_a_refusal_printed_by_main_is_diagnosed_in_its_own_words(monkeypatch, capsys):
    """What the console shows for a worker or launch the image refused: the entrypoint's line, not a bare exit code."""
    from console.logs.diagnosis import Diagnoser

    real = E.prepare
    monkeypatch.setattr(E, "prepare", lambda env, args: real({"MODEL": "openai/gpt-oss-120b"}, args,
                                                           detect=fake("L40S-48GB:1")))
    assert E.main([]) == E.EXIT_SETTINGS
    line = capsys.readouterr().err.strip()
    diag = Diagnoser.match_line(line)
    assert diag is not None and diag.code == "settings_refused"
    assert diag.title.startswith("The image refused its settings: openai/gpt-oss-120b does not fit on one L40S-48GB")
    no_gpu = Diagnoser.match_line("gpt-oss-image: error: nvidia-smi sees no usable GPU: run the container with --gpus all")
    assert no_gpu is not None and no_gpu.code == "no_usable_gpu"  # the specific rule still wins


def test_120b_on_48gb_suggests_what_fits():
    with pytest.raises(E.Refusal) as info:
        E.prepare({"MODEL": "gpt-oss-120b"}, [], detect=fake("L40S-48GB:1"))
    assert "Give the container 2× L40S-48GB (TENSOR_PARALLEL_SIZE=2) or use openai/gpt-oss-20b" in info.value.lines[0]


@pytest.mark.parametrize("env,gpus,hint", [
    ({"MODEL": "gpt-oss-120b", "MEM_FRACTION_STATIC": "0.5"}, "H100-80GB:1",
     "Raise MEM_FRACTION_STATIC (SGLang 0.5.23's default here is 0.83) or leave it unset"),
    ({"MODEL": "gpt-oss-120b", "TENSOR_PARALLEL_SIZE": "1"}, "L40S-48GB:2",
     "Set TENSOR_PARALLEL_SIZE=2 (2 GPUs are visible) or leave it unset"),
])
def test_refusal_hint_names_the_smallest_fix(env, gpus, hint):
    with pytest.raises(E.Refusal) as info:
        E.prepare(env, [], detect=fake(gpus))
    assert info.value.lines[0].endswith(hint)


def test_cuda_visible_devices_narrows_the_gpus():
    gpus = fake("H100-80GB:4")()
    assert [g.index for g in G.visible(gpus, "2,0")] == [2, 0]
    assert G.visible(gpus, None) == gpus and G.visible(gpus, "GPU-abc") == gpus
    assert G.visible(gpus, "7") == []


def test_image_modules_are_stdlib_only(tmp_path):
    """The image has no third-party packages: import everything it carries in isolated mode."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    code = (f"import sys; sys.path.insert(0, {str(repo)!r}); "
            "import console.settings, console.settings.docs, console.planner, console.image.entrypoint; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'textual', 'docker', 'httpx', 'openai', 'pynvml', 'jsonschema', 'rich'}); print(bad)")
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_setting_errors_come_before_gpu_detection():
    def broken():
        raise AssertionError("nvidia-smi must not be asked about a typo")

    with pytest.raises(E.Refusal):
        E.prepare({"PORT": "x"}, [], detect=broken)


def test_no_gpu_is_its_own_exit_code():
    def none():
        raise G.GpuDetectError("nvidia-smi sees no usable GPU (No devices were found)")

    with pytest.raises(E.Refusal) as info:
        E.prepare({}, [], detect=none)
    assert info.value.code == E.EXIT_NO_GPU and "--gpus all" in info.value.lines[0]


def test_no_nvidia_smi_leaves_auto_to_sglang():
    prep = E.prepare({"MODEL": "gpt-oss-120b"}, [], detect=lambda: None)
    assert "--tp-size" not in prep.argv and "--attention-backend" not in prep.argv
    assert any("auto-detection skipped" in w for w in prep.warnings)


def test_tp_auto_on_odd_gpu_counts_and_explicit_honoured():
    prep = E.prepare({"MODEL": "gpt-oss-120b"}, [], detect=fake("H100-80GB:6"))
    assert prep.argv[prep.argv.index("--tp-size") + 1] == "4"
    assert prep.resolution.sources["tensor_parallel_size"] == "auto"
    assert "6 is not a valid TP" in prep.reasons["tensor_parallel_size"]
    assert any("2 of 6 GPUs unused" in w for w in prep.warnings)
    prep = E.prepare({"MODEL": "gpt-oss-120b", "TENSOR_PARALLEL_SIZE": "1", "ATTENTION_BACKEND": "triton"}, [],
                     detect=fake("H100-80GB:2"))
    assert prep.argv[prep.argv.index("--tp-size") + 1] == "1"
    assert prep.argv[prep.argv.index("--attention-backend") + 1] == "triton"
    assert prep.resolution.sources["tensor_parallel_size"] == "env"


def test_20b_on_many_gpus_stays_tp1_and_blackwell_gets_trtllm():
    prep = E.prepare({"MODEL": "gpt-oss-20b"}, [], detect=fake("H100-80GB:4"))
    assert prep.argv[prep.argv.index("--tp-size") + 1] == "1"
    prep = E.prepare({"MODEL": "gpt-oss-120b"}, [], detect=fake("B200-180GB:1"))
    assert prep.argv[prep.argv.index("--attention-backend") + 1] == "trtllm_mha"


def test_long_context_is_passed_on_with_the_numbers():
    prep = E.prepare({"MODEL": "gpt-oss-120b", "MAX_MODEL_LEN": "131072"}, [], detect=fake("H100-80GB:1"))
    assert prep.argv[prep.argv.index("--context-length") + 1] == "131072"
    warning = next(w for w in prep.warnings if w.startswith("MAX_MODEL_LEN=131,072"))
    # SGLang 0.5.23 on a clean H100: 11,997 tokens (tests/test_planner.py has the arithmetic)
    assert "about 11,997 tokens on one H100-80GB at TP=1" in warning and "MAX_MODEL_LEN=11264" in warning
    assert "(SGLang 0.5.23 default)" in warning


def test_summary_masks_secrets_and_names_sources(tmp_path):
    (tmp_path / "hf").write_text("hf_SecretTokenValue1234567890abcd\n")
    env = {"MODEL": "gpt-oss-120b", "API_KEY": "sk-supersecretvalue-0123f3a9", "HF_TOKEN_FILE": str(tmp_path / "hf"),
           "DYN_TOOL_CALL_PARSER": "harmony"}
    prep = E.prepare(env, [], detect=fake("H100-80GB:2"))
    E.place_secrets(prep, reads_config=False)  # an SGLang older than --config: the key on its command line
    text = "\n".join(E.summary_lines(prep))
    assert "sk-supersecretvalue-0123f3a9" not in text and "hf_SecretTokenValue1234567890abcd" not in text
    assert "sk-…f3a9" in text and "hf_…abcd" in text
    assert "[file HF_TOKEN_FILE]" in text and "[auto: largest valid TP" in text
    assert "DYN_TOOL_CALL_PARSER=harmony normalised to gpt-oss" in text
    assert "--api-key sk-…f3a9" in text and "older than 0.5.2" in text
    assert "no API key" not in text


def test_sglang_with_config_support_is_detected_from_its_files(tmp_path, monkeypatch):
    import sys

    pkg = tmp_path / "sglang"
    (pkg / "srt").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sglang", raising=False)
    assert not E.sglang_reads_config()  # 0.5.1 and older: no reader
    (pkg / "srt" / "server_args_config_parser.py").write_text("")  # 0.5.2 – 0.5.x
    assert E.sglang_reads_config()
    (pkg / "srt" / "server_args_config_parser.py").unlink()
    (pkg / "srt" / "utils").mkdir()
    (pkg / "srt" / "utils" / "server_args_config_parser.py").write_text("")  # later releases
    assert E.sglang_reads_config()


def test_warns_on_open_bind_without_key_and_on_loopback_bind():
    prep = E.prepare({}, [], detect=fake("H100-80GB:1"))
    assert any("no API key and SGLang listens on 0.0.0.0" in w for w in prep.warnings)
    prep = E.prepare({"HOST": "127.0.0.1"}, [], detect=fake("H100-80GB:1"))
    assert any("a published port (-p) cannot reach SGLang" in w for w in prep.warnings)
    assert not any("no API key" in w for w in prep.warnings)


def test_child_env_carries_only_the_hf_token(tmp_path):
    (tmp_path / "hf").write_text("hf_fromfile_0123456789\n")
    env = {"HF_TOKEN_FILE": str(tmp_path / "hf"), "API_KEY": "sk-x", "SSH_PASSWORD": "pw", "PATH": "/bin"}
    prep = E.prepare(env, [], detect=fake("H100-80GB:1"))
    # a token from a file stays in the file: huggingface_hub reads HF_TOKEN_PATH
    assert prep.env["HF_TOKEN_PATH"] == str(tmp_path / "hf") and "HF_TOKEN" not in prep.env
    assert "API_KEY" not in prep.env and "SSH_PASSWORD" not in prep.env and prep.env["PATH"] == "/bin"
    assert "HF_TOKEN_FILE" not in prep.env
    prep = E.prepare({"HF_TOKEN": "hf_fromenv_0123456789"}, [], detect=fake("H100-80GB:1"))
    assert prep.env["HF_TOKEN"] == prep.env["HUGGING_FACE_HUB_TOKEN"] == "hf_fromenv_0123456789"
    from console.settings import SETTINGS

    # No secret but the HF token reaches SGLang, whichever declared name it came under.
    names = {n for s in SETTINGS if s.secret and s.key != "hf_token" for n in (s.env, *s.aliases)}
    prep = E.prepare({**env, **{n: "secret-value-0123456789" for n in names}}, [], detect=fake("H100-80GB:1"))
    assert not names & set(prep.env)


def test_container_args_are_extra_flags():
    prep = E.prepare({"EXTRA_ARGS": "--decode-log-interval 10"}, ["--log-level", "debug"], detect=fake("H100-80GB:1"))
    assert prep.argv[-4:] == ["--decode-log-interval", "10", "--log-level", "debug"]
    with pytest.raises(E.Refusal, match="EXTRA_ARGS sets --port"):
        E.prepare({}, ["--port", "1"], detect=fake("H100-80GB:1"))


def test_main_prints_one_error_line(capsys, monkeypatch):
    monkeypatch.setattr(G, "detect", fake("H100-80GB:1"))
    monkeypatch.setattr(E.gpu_detect, "detect", fake("H100-80GB:1"))
    for key in list(__import__("os").environ):
        if key in ("MODEL", "MEM_FRACTION_STATIC"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MEM_FRACTION_STATIC", "1.5")
    monkeypatch.setattr(E.os, "execvpe", lambda *a: pytest.fail("SGLang must not start"))
    assert E.main([]) == E.EXIT_SETTINGS
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gpt-oss-image: error: MEM_FRACTION_STATIC=1.5 is out of range: use 0 < x < 1"]


def test_nvidia_smi_parsing():
    out = "0, NVIDIA H100 80GB HBM3, 81559, 9.0\n1, NVIDIA GeForce RTX 4090, 24564, 8.9\n"
    gpus = G.parse_query(out)
    assert gpus[1] == G.DetectedGpu(1, "NVIDIA GeForce RTX 4090", 24564, (8, 9))
    assert gpus[0].memory_total == 81559 * 2**20
    with pytest.raises(G.GpuDetectError):
        G.parse_query("garbage\n")


def test_sshd_options_and_key_install(tmp_path):
    key_only = " ".join(sshd_options(password=False))
    assert "PasswordAuthentication=no" in key_only and "PermitRootLogin=prohibit-password" in key_only
    assert "PasswordAuthentication=yes" in " ".join(sshd_options(password=True))
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG test@x"
    auth = install_key(key, home=tmp_path)
    install_key(key, home=tmp_path)  # idempotent
    assert auth.read_text() == key + "\n"
    assert oct(auth.stat().st_mode & 0o777) == "0o600" and oct(auth.parent.stat().st_mode & 0o777) == "0o700"
    assert valid_public_key(key) and not valid_public_key("hello") and not valid_public_key("")


def test_redactor_masks_secrets_split_across_reads():
    from console.image.supervise import Redactor

    secret = "sk-abcdefghijklmnopf3a9"
    text = f"[TP0] server_args=ServerArgs(api_key='{secret}')\nnext {secret} line\nprogress 50%\r"
    data = text.encode()
    for step in (1, 3, 7, 64):
        r = Redactor([secret])
        out = b""
        for i in range(0, len(data), step):
            out += r.feed(data[i:i + step])
            out += r.partial()  # a pause after every read: still never a split secret
        out += r.flush()
        shown = out.decode()
        assert secret not in shown and secret[:len(secret) // 2] not in shown, step
        assert "next sk-…f3a9 line\nprogress 50%\r" in shown, step
        if step == 64:  # whole lines pass at once: exactly the masked text
            assert shown == text.replace(secret, "sk-…f3a9")


def test_redactor_emits_complete_lines_at_once():
    from console.image.supervise import Redactor

    r = Redactor(["sk-0123456789abcdef"])
    assert r.feed(b"The server is fired up and ready to roll!\npartial") == b"The server is fired up and ready to roll!\n"
    assert r.partial() == b""  # "partial" is shorter than a secret could be
    assert r.flush() == b"partial"


def test_supervise_forwards_sigterm_and_masks(tmp_path, capfd):
    import signal
    import sys
    import threading

    from console.image import supervise

    script = tmp_path / "child.py"
    script.write_text(
        "import signal, sys, time\n"
        "def bye(*a):\n    print('shutting down with sk-supersecret-000099', flush=True); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('api_key=sk-supersecret-000099 ready', flush=True)\n"
        "time.sleep(30)\n")
    old = {s: signal.getsignal(s) for s in supervise.FORWARDED}
    try:
        import os

        threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
        code = supervise.run([sys.executable, str(script)], dict(os.environ), ["sk-supersecret-000099"])
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    out = capfd.readouterr().out
    assert code == 0
    assert "sk-supersecret-000099" not in out
    assert "api_key=sk-…0099 ready" in out and "shutting down with sk-…0099" in out


def test_local_gpt_oss_folder_is_planned_as_that_model():
    prep = E.prepare({"MODEL": "/models/gpt-oss-120b"}, [], detect=fake("H100-80GB:2"))
    assert prep.argv[prep.argv.index("--model-path") + 1] == "/models/gpt-oss-120b"
    assert prep.argv[prep.argv.index("--tp-size") + 1] == "2"
    assert any("taken to be openai/gpt-oss-120b" in w for w in prep.warnings)
    with pytest.raises(E.Refusal, match="does not fit"):
        E.prepare({"MODEL": "/models/gpt-oss-120b"}, [], detect=fake("L40S-48GB:1"))


def test_other_models_pass_without_planning():
    prep = E.prepare({"MODEL": "Qwen/Qwen3-8B"}, [], detect=fake("L40S-48GB:1"))
    assert prep.argv[3:5] == ["--model-path", "Qwen/Qwen3-8B"]
    assert "--tp-size" not in prep.argv and "--reasoning-parser" not in prep.argv


def test_ssh_password_is_warned_once():
    prep = E.prepare({"SSH_PASSWORD": "hunter2-but-longer", "API_KEY": "sk-0123456789abcdef"}, [],
                     detect=fake("H100-80GB:1"))
    lines = [line for line in E.summary_lines(prep) if "SSH_PASSWORD is set: root can log in" in line]
    assert len(lines) == 1 and lines[0].startswith(f"{E.NAME}: WARNING: ")


def test_bad_ssh_key_is_refused_before_gpu_detection():
    def detect():
        raise AssertionError("a settings typo must not wait on the driver")

    with pytest.raises(E.Refusal, match="SSH_PUBLIC_KEY does not look like an OpenSSH public key") as info:
        E.prepare({"SSH_PUBLIC_KEY": "hello"}, [], detect=detect)
    assert info.value.code == E.EXIT_SETTINGS


def busy(spec: str, used_mib: int):
    """Like ``fake``, with nvidia-smi's free memory: total − 480 MiB reserve − ``used_mib`` on each GPU."""
    gpus = fake(spec)()
    return lambda: [G.DetectedGpu(g.index, g.name, g.memory_mib, g.compute_cap, g.memory_mib - 480 - used_mib)
                    for g in gpus]


def test_the_plan_uses_the_memory_free_now():
    # an H100 with nothing on it: free now = catalog free (81,559 − 480 − 527 MiB), the same 11,997 tokens
    prep = E.prepare({"MODEL": "gpt-oss-120b", "MAX_MODEL_LEN": "8192"}, [], detect=busy("H100-80GB:1", 0))
    assert any("plan: KV pool about 11,997 tokens" in n for n in prep.notes)
    # 20 GiB held by another process: 20b is planned from the 58.7 GiB left and the plan says so
    prep = E.prepare({"MODEL": "gpt-oss-20b"}, [], detect=busy("H100-80GB:1", 20480))
    note = next(n for n in prep.notes if n.startswith("plan: KV pool"))
    # ((58.66 − 13.45) − 58.66 × 0.17) GiB // 44,236.8 B, as in tests/test_planner_capacity.py
    assert "about 855,479 tokens" in note and "SGLang 0.5.23, 58.7 GiB free per GPU" in note
    assert any("20.0 GiB of GPU 0 (H100-80GB) is already held (by the driver or processes not listed here)" in w
               for w in prep.warnings)


def test_held_memory_refusal_says_to_free_the_gpu():
    with pytest.raises(E.Refusal) as err:
        E.prepare({"MODEL": "gpt-oss-120b"}, [], detect=busy("H100-80GB:1", 20480))
    assert err.value.code == E.EXIT_SETTINGS
    assert "Free the GPUs: 20.0 GiB of them is held by other processes" in err.value.lines[0]


def test_free_memory_query_parses_and_tolerates_noise():
    assert G.parse_free("0, 61234\n1, 80000\n") == {0: 61234, 1: 80000}
    assert G.parse_free("No devices were found\n2, n/a\n") == {}

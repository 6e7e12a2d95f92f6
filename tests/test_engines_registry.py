"""The engine registry: in-tree engines are found, an installed package adds one by entry point."""

from __future__ import annotations

import sys
import textwrap

import pytest

from console import engines
from console.engines.base import Engine


def test_the_three_engines_in_order():
    assert engines.names() == ["sglang", "vllm", "llamacpp"]
    assert [e.label for e in engines.all_engines()] == ["SGLang", "vLLM", "llama.cpp"]
    assert engines.get() is engines.get("sglang")
    for spelling in ("llama.cpp", "llama-cpp", "LLAMACPP", "llama_cpp", "llama-server"):
        assert engines.get(spelling).name == "llamacpp"
    assert engines.get("vLLM").name == "vllm"


def test_unknown_engine_says_which_exist():
    with pytest.raises(engines.UnknownEngine) as exc:
        engines.get("tgi")
    assert exc.value.exit_code == 2
    assert "sglang, vllm, llamacpp" in exc.value.hint


def test_every_engine_supplies_the_protocol():
    for engine in engines.all_engines():
        assert isinstance(engine, Engine)
        assert engine.version and engine.stock_images and engine.command
        assert engine.metric_names.prefix.endswith(":")
        assert engine.probes.health == "/health" and engine.probes.models == "/v1/models"
        assert hasattr(engine.scanner(), "feed") and engine.rules
        assert all(s.flag for s in engine.settings)


def test_stock_image_per_architecture():
    from console.planner.sglang import IMAGE, VERSION

    sglang = engines.get("sglang")
    assert sglang.version == VERSION and sglang.stock_image((9, 0)).image == sglang.stock_image((10, 0)).image == IMAGE
    assert engines.get("vllm").stock_image((9, 0)).image == "vllm/vllm-openai:v0.34.0"
    llamacpp = engines.get("llamacpp").stock_image((8, 9))
    assert llamacpp.image == "llama.cpp:server-cuda" and llamacpp.local  # built or tagged here, never pulled
    assert engines.stock_image_named("llama.cpp:server-cuda") is llamacpp
    assert not engines.get("vllm").stock_image().local and engines.stock_image_named("llama.cpp:server") is None
    assert engines.get("vllm").is_stock_image("vllm/vllm-openai:latest")
    assert not engines.get("vllm").is_stock_image("gpt-oss-sglang:latest")


def test_a_fourth_engine_is_one_package_and_an_entry_point(tmp_path, monkeypatch):
    """A distribution that declares the entry point is found without touching console/engines."""
    pkg = tmp_path / "fourth_engine"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from console.engines.base import Engine, MetricNames

        class Fourth(Engine):
            name = "fourth"
            label = "Fourth"
            version = "1.0"
            order = 40
            metric_names = MetricNames("fourth:", {}, {}, {})
            command = ("fourth-server",)
            def scanner(self):
                return None
            def plan(self, model, gpu, count=1, **settings):
                return None

        ENGINE = Fourth()
    '''))
    dist = tmp_path / "fourth_engine-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fourth-engine\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{engines.ENTRY_POINT_GROUP}]\nfourth = fourth_engine:ENGINE\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    engines._sources.cache_clear()
    try:
        assert engines.names() == ["sglang", "vllm", "llamacpp", "fourth"]
        fourth = engines.get("fourth")
        assert fourth.argv({"model": "m", "port": 9000}) == ["fourth-server"]
    finally:
        monkeypatch.undo()
        engines._sources.cache_clear()
        engines._load.cache_clear()
        sys.modules.pop("fourth_engine", None)
    assert "fourth" not in engines.names()


def test_a_fourth_engine_launches_and_is_followed_without_touching_the_console(tmp_path, monkeypatch):
    """One package (its entry point) is all a fourth engine needs: launch's spec builder runs its
    argv with the key as a file and labels the container with it; the log follower reads its
    lines through its own scanner, chosen by that label."""
    pkg = tmp_path / "fifth_engine"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        import re
        from console.engines.base import Engine, Flag, MetricNames, StockImage
        from console.engines.events import Phase, PhaseReached
        from console.engines.rules import Rule
        from console.engines.scan import AnchorScanner

        class Scanner(AnchorScanner):
            ANCHORS = ("serving on",)
            RULES = (Rule("no_model", ("no such model",), re.compile("no such model"), "No model", "Fix MODEL."),)
            def parse(self, msg, time):
                return PhaseReached(Phase.READY, time) if "serving on" in msg else None

        class Fifth(Engine):
            name = "fifth"
            label = "Fifth"
            version = "2.0"
            order = 50
            stock_images = (StockImage("example/fifth:2.0", (8, 9)),)
            flags = {"model": Flag("--weights", always=True), "port": Flag("--listen", always=True),
                     "api_key": Flag("--key")}
            key_file_flag = "--key-file"
            metric_names = MetricNames("fifth:", {}, {}, {})
            command = ("fifth",)
            def scanner(self):
                return Scanner()
            def plan(self, model, gpu, count=1, **settings):
                return None

        ENGINE = Fifth()
    '''))
    dist = tmp_path / "fifth_engine-2.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fifth-engine\nVersion: 2.0\n")
    (dist / "entry_points.txt").write_text(f"[{engines.ENTRY_POINT_GROUP}]\nfifth = fifth_engine:ENGINE\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    engines._sources.cache_clear()
    try:
        from console.engines.follow import scanner_for
        from console.logs import events as le
        from console.logs.scanner import engine_of
        from console.runtime.build import build_spec
        from console.runtime.spec import LABEL_ENGINE
        from console.secret import Secret

        spec = build_spec({"engine": "fifth", "model": "m", "port": 9000, "gpus": "none",
                           "api_key": Secret("sk-fifth-0123456789")})
        assert spec.image == "example/fifth:2.0" and spec.labels[LABEL_ENGINE] == "fifth"
        assert spec.command == ["--weights", "m", "--listen", "9000", "--key-file",
                                "/run/secrets/gpt-oss-console/api_key"]
        assert engine_of({"Config": {"Labels": spec.labels}}) == "fifth"
        scanner = scanner_for("fifth")
        found = scanner.scan(["loading", "E no such model here", "serving on :9000"])
        assert [(i, type(e).__name__) for i, e in found] == [(1, "Failure"), (2, "PhaseChange")]
        assert found[1][1].phase is le.Phase.READY and found[0][1].diagnosis.code == "no_model"
    finally:
        monkeypatch.undo()
        engines._sources.cache_clear()
        engines._load.cache_clear()
        sys.modules.pop("fifth_engine", None)


def test_the_follower_scanner_comes_from_the_engine_by_label():
    """The logs package knows no engine: an unlabelled container (from before the label) reads as
    SGLang's, a labelled one by its engine's scanner, an unknown label is a usage error that lists
    the engines; the same choice diagnoses a saved log."""
    from console.engines.follow import FollowerScanner, diagnose_lines, scanner_for
    from console.engines.sglang.scanner import SGLangScanner
    from console.logs.scanner import ENGINE_LABEL, engine_of

    assert engine_of({"Config": {"Labels": {}}}) is None and engine_of({}) is None
    assert engine_of({"Config": {"Labels": {ENGINE_LABEL: "vllm"}}}) == "vllm"
    assert isinstance(scanner_for(None), SGLangScanner) and isinstance(scanner_for("sglang"), SGLangScanner)
    vllm = scanner_for("vllm")
    assert isinstance(vllm, FollowerScanner) and vllm.engine == "vllm"
    with pytest.raises(engines.UnknownEngine) as exc:
        scanner_for("tgi")
    assert exc.value.exit_code == 2 and "vllm" in exc.value.hint
    oom = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    crash = ["Traceback (most recent call last):", '  File "x.py", line 1', oom]
    assert [d.code for d in diagnose_lines(crash)] == ["cuda_oom"] == [d.code for d in diagnose_lines(crash, "vllm")]
    assert diagnose_lines(["INFO 01-01 00:00:00 api_server.py:1] Application startup complete."], "vllm") == []


def test_engines_import_nothing_heavy():
    """The registry and the engines' declarations import no HTTP, Docker or Textual library."""
    import subprocess

    code = ("import sys; from console import engines; [e.argv({'model': 'openai/gpt-oss-20b'}) for e in "
            "engines.all_engines()]; [e.scanner() for e in engines.all_engines()]; "
            "print(sorted(m for m in ('httpx', 'docker', 'textual', 'openai', 'pynvml', 'prometheus_client') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name, log", [("llamacpp", "llamacpp_verbose.log"), ("llamacpp", "llamacpp_default.log"),
                                       ("llamacpp", "llamacpp_fail_missing_model.log"),
                                       ("sglang", "healthy_120b_tp2_newer.log"), ("sglang", "fail_cuda_oom.log")])
def test_one_batch_or_line_by_line_gives_the_same_events(name, log):
    """Scanners keep their state across batches: how the follower cuts the log changes nothing
    (statistics aside, which are summarised per batch by design)."""
    from pathlib import Path

    from console.engines.events import Serving

    lines = (Path(__file__).parent / "data" / "logs" / log).read_text().splitlines()
    engine = engines.get(name)
    whole = [e for e in engine.scanner().feed(lines) if not isinstance(e, Serving)]
    one = engine.scanner()
    single = [e for line in lines for e in one.feed([line]) if not isinstance(e, Serving)]
    assert whole == single and whole


def test_each_engine_says_which_settings_it_takes_and_why_not_the_others():
    """The core API a Launch form reads: the settings an engine takes (with their labels and help)
    and, for the others, why not — the same words launch refuses them with."""
    from console.settings.spec import BY_KEY

    sglang, vllm, llama = engines.get("sglang"), engines.get("vllm"), engines.get("llamacpp")
    assert sglang.not_taken() == {}
    assert [s.key for s in sglang.launch_settings()] == list(BY_KEY)  # every declared setting, declared order
    assert set(vllm.not_taken()) == {"chunked_prefill", "attention_backend", "enable_cache_report",
                                     "ssh_public_key", "ssh_password"}
    assert [s.key for s in vllm.launch_settings()][-3:] == ["max_num_batched_tokens", "kv_cache_dtype",
                                                             "enforce_eager"]
    why = llama.not_taken()
    assert "no memory fraction" in why["mem_fraction_static"] and "environment" in why["hf_token"]
    keys = {s.key for s in llama.launch_settings()}
    assert {"n_gpu_layers", "log_verbosity", "model", "engine"} <= keys and not keys & set(why)
    assert all(s.help and s.title for s in llama.launch_settings())


@pytest.mark.parametrize("name", ["sglang", "vllm", "llamacpp"])
def test_the_one_scrubber_masks_every_engines_secret_flags_and_env(name):
    """What an engine declares as carrying a secret (its flags, its env names: VLLM_API_KEY,
    LLAMA_API_KEY…) is masked by the console's one scrubber, in argv, env lines and log text."""
    from console.settings.mask import scrub, scrub_obj

    engine = engines.get(name)
    value = "sk-Zq8wXv3TnB0aLk5R"
    for flag in engine.secret_flags:
        assert value not in " ".join(engine.redact(["x", flag, value])), flag
        assert value not in scrub(f"{flag} {value}") and value not in scrub(f"{flag}={value}"), flag
    for env in engine.secret_env:
        assert value not in scrub(f"{env}={value}"), env
        assert value not in str(scrub_obj({env: value})), env

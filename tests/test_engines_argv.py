"""Every argv the engine modules can produce, checked against each engine's own declaration.

The declarations are tests/data/engines/<engine>-flags.json, extracted from the engine itself
(SGLang's and vLLM's real argparse parsers, ``llama-server --help`` of the binary the tests
build) by tests/data/engines/extract_flags.py, with the version they came from.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from console import engines
from console.engines.base import COMMON_KEYS, EngineSettingError
from console.secret import Secret

DATA = Path(__file__).parent / "data" / "engines"

# SGLang's parser allows unique-prefix abbreviations; the console relies on none (TENSOR_PARALLEL_SIZE
# passes `--tp-size`, the name SGLang 0.5.23 declares).
KNOWN_ABBREVIATIONS: dict[str, dict[str, str]] = {}


def declaration(engine: str) -> dict:
    path = DATA / f"{engine}-flags.json"
    if not path.exists():
        from tests.conftest import need

        need(False, f"{path} (regenerate with tests/data/engines/extract_flags.py {engine})")
    return json.loads(path.read_text())


def check_argv(engine, argv: list[str]) -> list[str]:
    """Problems with ``argv`` against the engine's declaration (empty: every flag and choice is
    declared); records abbreviations it relied on in the returned list as 'abbrev:…'."""
    decl = declaration(engine.name)
    flags = decl["flags"]
    problems: list[str] = []
    assert argv[: len(engine.command)] == list(engine.command), argv
    rest = argv[len(engine.command):]
    positionals = list(decl["positionals"])
    i = 0
    while i < len(rest):
        tok = rest[i]
        if not tok.startswith("-") or tok == "-":
            if not positionals:
                problems.append(f"unexpected positional {tok!r}")
            else:
                positionals.pop(0)
            i += 1
            continue
        name, eq, inline = tok.partition("=")
        entry = flags.get(name)
        if entry is None and decl.get("allow_abbrev"):
            matches = [f for f in flags if f.startswith(name)]
            full = KNOWN_ABBREVIATIONS.get(engine.name, {}).get(name)
            if len({id(flags[m]) for m in matches}) == 1 and full in matches:
                problems.append(f"abbrev:{name}")
                entry = flags[full]
        if entry is None:
            problems.append(f"{name} is not declared by {engine.name} {decl['version']}")
            i += 1
            continue
        if entry["takes_value"]:
            value = inline if eq else (rest[i + 1] if i + 1 < len(rest) else None)
            if value is None:
                problems.append(f"{name} needs a value")
            elif entry["choices"] is not None and value not in entry["choices"]:
                problems.append(f"{name} {value!r} is not one of {engine.name}'s choices")
            i += 1 if eq else 2
        else:
            if eq:
                problems.append(f"{name} takes no value")
            i += 1
    return problems


def real_problems(problems: list[str]) -> list[str]:
    return [p for p in problems if not p.startswith("abbrev:")]


COMMON_VALUES = {
    "model": ["openai/gpt-oss-20b", "openai/gpt-oss-120b"],
    "served_model_name": [None, "gpt-oss"],
    "max_model_len": [None, 32768],
    "tensor_parallel_size": [None, 1, 2, 8],
    "mem_fraction_static": [None, 0.9],
    "max_running_requests": [None, 16],
    "host": [None, "0.0.0.0"],
    "port": [None, 8000],
    "api_key": [None, Secret("sk-test-0123456789abcdef")],
    "reasoning_parser": ["gpt-oss", "none"],
    "tool_call_parser": ["gpt-oss", "none"],
    "enable_metrics": [True, False],
}


def value_sets(engine):
    """One value set per value of every common and own setting (others at their first value),
    plus every combination of the parser settings: each value the settings machinery can hand on."""
    base = {k: v[0] for k, v in COMMON_VALUES.items()}
    yield dict(base)
    for key, values in COMMON_VALUES.items():
        for v in values[1:]:
            yield {**base, key: v}
    for rp, tp in itertools.product(COMMON_VALUES["reasoning_parser"], COMMON_VALUES["tool_call_parser"]):
        yield {**base, "reasoning_parser": rp, "tool_call_parser": tp}
    yield {k: v[-1] for k, v in COMMON_VALUES.items()}
    for s in engine.settings:
        values = list(s.choices) or ([True] if s.kind == "bool" else [s.example or s.default or 4])
        for v in values:
            if v is not None:
                yield {**base, s.key: v}


def build(engine, values):
    try:
        return engine.argv(values)
    except EngineSettingError:
        return None


@pytest.mark.parametrize("name", ["sglang", "vllm", "llamacpp"])
def test_every_argv_is_declared_by_the_engine(name):
    engine = engines.get(name)
    built = 0
    for values in value_sets(engine):
        argv = build(engine, values)
        if argv is None:
            continue
        built += 1
        assert real_problems(check_argv(engine, argv)) == [], (values, argv)
    assert built >= len(COMMON_VALUES)


@pytest.mark.parametrize("name", ["sglang", "vllm", "llamacpp"])
def test_flag_map_names_declared_flags(name):
    """Each common key's flag (and the key-file flag) exists in the engine's declaration."""
    engine = engines.get(name)
    flags = declaration(name)["flags"]
    mapped = [engine.flag_for(k) for k in COMMON_KEYS]
    mapped += [s.flag for s in engine.settings] + list(engine.secret_flags)
    mapped += [engine.key_file_flag] if engine.key_file_flag else []
    missing = [f for f in mapped if f and f not in flags and f not in KNOWN_ABBREVIATIONS.get(name, {})]
    assert missing == []


def test_sglang_tensor_parallel_flag_is_declared_not_abbreviated():
    """TENSOR_PARALLEL_SIZE passes SGLang's declared `--tp-size`, not the `--tp` abbreviation its
    parser happens to accept today."""
    flags = declaration("sglang")["flags"]
    argv = engines.get("sglang").argv({"model": "openai/gpt-oss-120b", "tensor_parallel_size": 2})
    assert argv[argv.index("--tp-size") + 1] == "2" and "--tp" not in argv and "--tp-size" in flags
    assert not [p for p in check_argv(engines.get("sglang"), argv) if p.startswith("abbrev:")]


def test_a_wrong_flag_or_choice_is_caught():
    """The checker itself: an undeclared flag and an undeclared choice are both reported."""
    vllm = engines.get("vllm")
    problems = check_argv(vllm, ["vllm", "serve", "m", "--context-length", "5", "--tool-call-parser", "harmony"])
    assert any("--context-length is not declared" in p for p in problems)
    assert any("'harmony' is not one of" in p for p in problems)


def test_gpt_oss_parsers_per_engine():
    values = {"model": "openai/gpt-oss-20b", "reasoning_parser": "gpt-oss", "tool_call_parser": "gpt-oss"}
    sg = engines.get("sglang").argv(values)
    assert sg[sg.index("--reasoning-parser") + 1] == "gpt-oss" and sg[sg.index("--tool-call-parser") + 1] == "gpt-oss"
    vl = engines.get("vllm").argv(values)
    assert vl[:3] == ["vllm", "serve", "openai/gpt-oss-20b"]
    assert vl[vl.index("--tool-call-parser") + 1] == "openai" and "--enable-auto-tool-choice" in vl
    assert vl[vl.index("--reasoning-parser") + 1] == "openai_gptoss"
    lc = engines.get("llamacpp").argv(values)
    assert lc[:3] == ["llama-server", "-hf", "ggml-org/gpt-oss-20b-GGUF"]
    assert "--jinja" in lc and lc[lc.index("--reasoning-format") + 1] == "auto" and lc[lc.index("-ngl") + 1] == "99"
    off = {**values, "reasoning_parser": "none", "tool_call_parser": "none"}
    assert "--tool-call-parser" not in engines.get("vllm").argv(off)
    assert "--jinja" not in engines.get("llamacpp").argv(off)


def test_common_keys_map_to_each_engines_flag():
    values = {"model": "openai/gpt-oss-20b", "max_model_len": 8192, "mem_fraction_static": 0.9,
              "max_running_requests": 8, "tensor_parallel_size": 1}
    expected = (("sglang", "--context-length", "--mem-fraction-static", "--max-running-requests"),
                ("vllm", "--max-model-len", "--gpu-memory-utilization", "--max-num-seqs"))
    for name, ctx_flag, mem_flag, conc_flag in expected:
        argv = engines.get(name).argv(values)
        assert argv[argv.index(ctx_flag) + 1] == "8192"
        assert argv[argv.index(mem_flag) + 1] == "0.9"
        assert argv[argv.index(conc_flag) + 1] == "8"
    lc = engines.get("llamacpp").argv({k: v for k, v in values.items() if k != "mem_fraction_static"})
    assert lc[lc.index("-c") + 1] == "8192" and lc[lc.index("--parallel") + 1] == "8"


def test_settings_an_engine_lacks_are_refused_with_what_to_do():
    llama = engines.get("llamacpp")
    with pytest.raises(EngineSettingError) as exc:
        llama.argv({"model": "openai/gpt-oss-20b", "mem_fraction_static": 0.9})
    assert "no mem fraction static setting" in exc.value.message and exc.value.exit_code == 2
    assert "MAX_MODEL_LEN" in exc.value.message and exc.value.hint
    with pytest.raises(EngineSettingError) as exc:
        llama.argv({"model": "openai/gpt-oss-120b", "tensor_parallel_size": 2})
    assert "GPUS" in exc.value.hint
    with pytest.raises(EngineSettingError, match="needs a GGUF"):
        llama.argv({"model": "gpt-oss"})
    assert llama.argv({"model": "/models/x.gguf"})[1:3] == ["-m", "/models/x.gguf"]
    assert llama.argv({"model": "unsloth/gpt-oss-20b-GGUF:F16"})[1:3] == ["-hf", "unsloth/gpt-oss-20b-GGUF:F16"]


@pytest.mark.parametrize("name", ["sglang", "vllm", "llamacpp"])
def test_secrets_are_masked_when_shown(name):
    engine = engines.get(name)
    key = "sk-secret-value-0123456789"
    values = {"model": "openai/gpt-oss-20b", "api_key": Secret(key)}
    argv = engine.argv(values)
    if name == "sglang":  # SGLang reads it from its --config file, never from argv (console.settings.argv)
        from console.settings import sglang_config

        assert key not in " ".join(argv) and f'api-key: "{key}"' in sglang_config(values)
        argv = [*argv, "--api-key", key]  # what an older SGLang (no --config) is given
    assert key in argv  # argv is what the engine reads
    shown = engine.redact(argv)
    assert key not in " ".join(shown) and "--api-key" in shown
    assert key not in " ".join(engine.redact([*argv[:-2], f"--api-key={key}"]))


def test_key_files_where_the_engine_has_one():
    assert engines.get("llamacpp").key_file_argv("/run/secrets/key") == ["--api-key-file", "/run/secrets/key"]
    assert engines.get("vllm").key_file_argv("/run/secrets/key") is None  # vLLM: argv or VLLM_API_KEY only
    assert engines.get("sglang").key_file_argv("/run/secrets/key") is None
    assert "VLLM_API_KEY" in engines.get("vllm").secret_env and "LLAMA_API_KEY" in engines.get("llamacpp").secret_env


def test_sglang_argv_is_the_entrypoints():
    """The adapter adds nothing: the image's entrypoint (settings.to_argv) and the engine agree."""
    from console.settings.argv import to_argv

    values = {"model": "openai/gpt-oss-120b", "tensor_parallel_size": 2, "max_model_len": 65536,
              "attention_backend": "fa3", "reasoning_parser": "gpt-oss", "tool_call_parser": "gpt-oss",
              "enable_metrics": True}
    assert engines.get("sglang").argv(values) == to_argv(values)


@pytest.mark.parametrize("name", ["sglang", "vllm", "llamacpp"])
def test_declarations_record_their_version(name):
    decl = declaration(name)
    assert decl["version"] and decl["source"] and len(decl["flags"]) > 50
    engine = engines.get(name)
    assert decl["version"] == engine.version or decl["version"] in engine.version or engine.version in decl["version"]


def launch_argv(values) -> tuple | None:
    """What ``launch`` would run for these values (through the runtime's own spec builder): the
    engine and the whole argv its container starts (stock image's entrypoint + command)."""
    from console.errors import ConsoleError
    from console.runtime.build import build_spec

    plain = {k: v for k, v in values.items() if v is not None}
    try:
        spec = build_spec(plain, image_mode="stock")
    except ConsoleError:
        return None
    engine = engines.get(spec.engine)
    if engine.name == "sglang":
        return engine, list(spec.command)
    return engine, [*engine.command, *spec.command]


@pytest.mark.parametrize("name", ["sglang", "vllm", "llamacpp"])
def test_every_launch_argv_is_declared_by_the_engine(name, tmp_path, monkeypatch):
    """The same value sets, through ``launch``'s path (secrets as files: SGLang's and vLLM's --config,
    llama.cpp's --api-key-file; the key in no argument)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    engine = engines.get(name)
    built = 0
    for values in value_sets(engine):
        got = launch_argv({**values, "engine": name})
        if got is None:
            continue
        built += 1
        found, argv = got
        assert found is engine
        assert real_problems(check_argv(engine, argv)) == [], (values, argv)
        assert "sk-test-0123456789abcdef" not in " ".join(argv)
        if values.get("api_key") is not None:
            via = engine.key_file_flag or "--config"
            assert via in argv and argv[argv.index(via) + 1].startswith("/run/secrets/gpt-oss-console/")
    assert built >= len(COMMON_VALUES)

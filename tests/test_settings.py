"""The settings declaration: env → values (with sources), validation, argv, docs, CLI and form."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from console import settings as S
from console.settings import docs

REPO = Path(__file__).resolve().parents[1]


def test_every_setting_is_complete_and_unique():
    envs = [s.env for s in S.SETTINGS] + [a for s in S.SETTINGS for a in s.aliases]
    assert len(envs) == len(set(envs)), "an env name is declared twice"
    assert len({s.key for s in S.SETTINGS}) == len(S.SETTINGS)
    for s in S.SETTINGS:
        assert s.group in S.GROUPS and s.help, s.key
        assert (s.flag is not None) == (s.target == S.SGLANG and s.kind != "args"), s.key
        if s.secret:
            assert s.file_env, f"secret {s.key} has no *_FILE form"
    issue_settings = {"MODEL", "MAX_MODEL_LEN", "TENSOR_PARALLEL_SIZE", "MEM_FRACTION_STATIC", "MAX_RUNNING_REQUESTS",
                      "CHUNKED_PREFILL", "ATTENTION_BACKEND", "DYN_REASONING_PARSER", "DYN_TOOL_CALL_PARSER", "HOST",
                      "PORT", "API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "SERVED_MODEL_NAME", "ENABLE_METRICS",
                      "ENABLE_CACHE_REPORT", "EXTRA_ARGS"}
    assert issue_settings <= set(envs)
    runtime = {s.key for s in S.SETTINGS if s.runtime}
    assert runtime == {"image", "image_mode", "extra_env", "gpus", "shm_size", "hf_cache", "host_port",
                       "publish_address", "container_name", "stall_after", "engine"}


def test_defaults_and_sources():
    res = S.resolve({})
    assert res.values["model"] == "openai/gpt-oss-20b"
    assert res.values["port"] == 8000 and res.values["host"] == "0.0.0.0"
    assert res.values["tensor_parallel_size"] is None  # auto
    assert set(res.sources.values()) == {S.DEFAULT}
    assert res.problems == [] and res.notes == []


@pytest.mark.parametrize("raw,canonical", [("gpt-oss-20b", "openai/gpt-oss-20b"), ("gpt-oss-120b", "openai/gpt-oss-120b"),
                                           ("openai/gpt-oss-120b", "openai/gpt-oss-120b")])
def test_model_short_names_expand(raw, canonical):
    res = S.resolve({"MODEL": raw})
    assert res.values["model"] == canonical
    assert res.sources["model"] == S.ENV
    assert (f"MODEL={raw} normalised to {canonical}" in res.notes) == (raw != canonical)


@pytest.mark.parametrize("raw", ["harmony", "gpt_oss", "GPT_OSS", "openai_gptoss", "gpt-oss"])
def test_parser_spellings_normalise_to_gpt_oss(raw):
    res = S.resolve({"DYN_TOOL_CALL_PARSER": raw, "DYN_REASONING_PARSER": raw})
    assert res.values["tool_call_parser"] == "gpt-oss"
    assert res.values["reasoning_parser"] == "gpt-oss"
    if raw != "gpt-oss":
        assert f"DYN_TOOL_CALL_PARSER={raw} normalised to gpt-oss" in res.notes
    assert not S.validate(res.values)


def test_alias_precedence_and_notes():
    res = S.resolve({"HUGGING_FACE_HUB_TOKEN": "hf_alias_value_123456", "TP": "2"})
    assert res.values["hf_token"].reveal() == "hf_alias_value_123456" and res.sources["hf_token"] == S.ALIAS
    assert res.origins["hf_token"] == "HUGGING_FACE_HUB_TOKEN"
    assert res.values["tensor_parallel_size"] == 2 and res.sources["tensor_parallel_size"] == S.ALIAS
    res = S.resolve({"HUGGING_FACE_HUB_TOKEN": "hf_alias", "HF_TOKEN": "hf_main"})
    assert res.values["hf_token"].reveal() == "hf_main" and res.sources["hf_token"] == S.ENV
    assert "HF_TOKEN and HUGGING_FACE_HUB_TOKEN both set; HF_TOKEN wins" in res.notes


def test_secret_files_win_and_are_stripped(tmp_path):
    key = tmp_path / "api_key"
    key.write_text("sk-from-file-0123456789f3a9\n")
    res = S.resolve({"API_KEY": "sk-env", "API_KEY_FILE": str(key)})
    assert res.values["api_key"].reveal() == "sk-from-file-0123456789f3a9"
    assert res.values["api_key"].path == str(key)  # where it came from: exports mount that file
    assert repr(res.values) .count("sk-from-file") == 0  # a Secret: never printed in full
    assert res.sources["api_key"] == S.FILE and res.origins["api_key"] == "API_KEY_FILE"
    missing = S.resolve({"HF_TOKEN_FILE": str(tmp_path / "nope")})
    assert missing.errors and "HF_TOKEN_FILE=" in missing.errors[0].message
    assert "does not exist: create it (mode 600) or fix the path" in missing.errors[0].message
    (tmp_path / "empty").write_text("\n")
    assert "is empty" in S.resolve({"API_KEY_FILE": str(tmp_path / "empty")}).errors[0].message


def test_layers_profile_env_cli():
    res = S.resolve({"PORT": "9000", "MAX_MODEL_LEN": "8192"}, profile={"port": 7000, "mem_fraction_static": 0.8},
                    cli={"max_model_len": "4096"})
    assert (res.values["port"], res.sources["port"]) == (9000, S.ENV)
    assert (res.values["mem_fraction_static"], res.sources["mem_fraction_static"]) == (0.8, S.PROFILE)
    assert (res.values["max_model_len"], res.sources["max_model_len"]) == (4096, S.CLI)


@pytest.mark.parametrize("env,fragment", [
    ({"PORT": "eighty"}, "PORT='eighty' is not a whole number"),
    ({"MEM_FRACTION_STATIC": "lots"}, "not a number"),
    ({"ENABLE_METRICS": "maybe"}, "use true or false"),
    ({"EXTRA_ARGS": "--foo 'unclosed"}, "check its quotes"),
])
def test_parse_errors_say_what_to_do(env, fragment):
    res = S.resolve(env)
    assert len(res.errors) == 1 and fragment in res.errors[0].message


def _errors(env, gpus=None):
    res = S.resolve(env)
    return [p.message for p in S.validate(res.values, gpus=gpus) if p.is_error]


@pytest.mark.parametrize("env,fragment", [
    ({"MODEL": "gpt-oss-70b"}, "unknown model 'gpt-oss-70b': use openai/gpt-oss-20b or openai/gpt-oss-120b"),
    ({"MODEL": "openai/gpt-oss-7b"}, "unknown model"),
    ({"MODEL": "llama"}, "unknown model 'llama'"),
    ({"MEM_FRACTION_STATIC": "1.5"}, "MEM_FRACTION_STATIC=1.5 is out of range: use 0 < x < 1"),
    ({"MEM_FRACTION_STATIC": "0"}, "out of range"),
    ({"TENSOR_PARALLEL_SIZE": "3"}, "TENSOR_PARALLEL_SIZE=3 is not valid for gpt-oss: use 1, 2, 4 or 8"),
    ({"ATTENTION_BACKEND": "flashinfer"}, "SGLang refuses flashinfer for gpt-oss"),
    ({"ATTENTION_BACKEND": "warp9"}, "unknown ATTENTION_BACKEND='warp9'"),
    ({"CHUNKED_PREFILL": "0"}, "use -1 to disable chunking"),
    ({"CHUNKED_PREFILL": "-2"}, "use -1 or ≥ 1"),
    ({"MAX_MODEL_LEN": "200000"}, "MAX_MODEL_LEN=200000 is out of range"),
    ({"PORT": "70000"}, "PORT=70000 is out of range"),
    ({"DYN_TOOL_CALL_PARSER": "hermes"}, "not a gpt-oss parser"),
    ({"EXTRA_ARGS": "--tp 2", "TENSOR_PARALLEL_SIZE": "2"}, "EXTRA_ARGS sets --tp, which TENSOR_PARALLEL_SIZE"),
    ({"EXTRA_ARGS": "--tp-size 2", "TENSOR_PARALLEL_SIZE": "2"}, "EXTRA_ARGS sets --tp-size, which TENSOR_PARALLEL_SIZE"),
    ({"EXTRA_ARGS": "--port=9"}, "EXTRA_ARGS sets --port"),
    ({"GPT_OSS_SHM_SIZE": "lots"}, "GPT_OSS_SHM_SIZE='lots' is not a size"),
    ({"GPT_OSS_GPUS": "first"}, "GPT_OSS_GPUS='first' is not understood"),
])
def test_validation_errors(env, fragment):
    errors = _errors(env)
    assert len(errors) == 1, errors
    assert fragment in errors[0]


def test_gpu_aware_checks():
    hopper = [{"name": "NVIDIA H100 80GB HBM3", "compute_cap": "9.0"}]
    blackwell = [{"name": "NVIDIA B200", "compute_cap": "10.0"}]
    assert "Blackwell-only" in _errors({"ATTENTION_BACKEND": "trtllm_mha"}, hopper)[0]
    assert _errors({"ATTENTION_BACKEND": "trtllm_mha"}, blackwell) == []
    assert "needs 4 GPUs but 1 are visible" in _errors({"TENSOR_PARALLEL_SIZE": "4"}, hopper)[0]


def test_other_models_pass_with_a_warning():
    res = S.resolve({"MODEL": "Qwen/Qwen3-8B", "DYN_TOOL_CALL_PARSER": "hermes", "MAX_MODEL_LEN": "262144"})
    problems = S.validate(res.values)
    assert not [p for p in problems if p.is_error]
    assert any("is not gpt-oss" in p.message for p in problems)


def test_warnings_for_exposure_and_password():
    res = S.resolve({"GPT_OSS_PUBLISH_ADDRESS": "0.0.0.0", "SSH_PASSWORD": "hunter2hunter2"})
    warnings = [p.message for p in S.validate(res.values) if not p.is_error]
    assert any("exposes the API" in w for w in warnings)
    assert any("SSH_PASSWORD" in w for w in warnings)
    res = S.resolve({"GPT_OSS_PUBLISH_ADDRESS": "0.0.0.0", "API_KEY": "sk-0123456789abcdef"})
    assert not any("exposes" in p.message for p in S.validate(res.values))


def test_argv_full_and_ordered():
    res = S.resolve({"MODEL": "gpt-oss-120b", "SERVED_MODEL_NAME": "gpt-oss", "MAX_MODEL_LEN": "65536",
                     "TENSOR_PARALLEL_SIZE": "2", "MEM_FRACTION_STATIC": "0.9", "MAX_RUNNING_REQUESTS": "32",
                     "CHUNKED_PREFILL": "-1", "ATTENTION_BACKEND": "fa3", "API_KEY": "sk-abc", "PORT": "9000",
                     "ENABLE_CACHE_REPORT": "yes", "ENABLE_METRICS": "false",
                     "EXTRA_ARGS": "--decode-log-interval 10 --json-model-override-args '{\"a\": 1}'"})
    assert S.to_argv(res.values) == [
        "python3", "-m", "sglang.launch_server", "--model-path", "openai/gpt-oss-120b", "--served-model-name", "gpt-oss",
        "--context-length", "65536", "--tp-size", "2", "--mem-fraction-static", "0.9", "--max-running-requests", "32",
        "--chunked-prefill-size", "-1", "--attention-backend", "fa3", "--reasoning-parser", "gpt-oss",
        "--tool-call-parser", "gpt-oss", "--host", "0.0.0.0", "--port", "9000",
        "--enable-cache-report", "--decode-log-interval", "10", "--json-model-override-args", '{"a": 1}']
    # The key is never on the command line: SGLang reads it from its --config file.
    assert S.secret_flags(res.values) == {"--api-key": res.values["api_key"]}
    assert S.sglang_config(res.values).splitlines()[-1] == 'api-key: "sk-abc"'
    assert S.read_sglang_config(S.sglang_config(res.values)) == {"api-key": "sk-abc"}


def test_argv_always_has_host_and_port_and_parsers_can_be_off():
    values = dict(S.resolve({"DYN_REASONING_PARSER": "none", "DYN_TOOL_CALL_PARSER": "none"}).values)
    values["host"] = values["port"] = None
    argv = S.to_argv(values)
    assert argv[argv.index("--host") + 1] == "0.0.0.0" and argv[argv.index("--port") + 1] == "8000"
    assert "--reasoning-parser" not in argv and "--tool-call-parser" not in argv


def test_mask_and_redact():
    assert S.mask_secret("sk-abcdefghijklmnopf3a9") == "sk-…f3a9"
    assert S.mask_secret("hf_AbCdEfGhIjKlMnOpQrStUvWxYz") == "hf_…WxYz"
    assert S.mask_secret("abcdefghijklmnopqrstu") == "…rstu"
    assert S.mask_secret("short") == "••••" and S.mask_secret(None) == "(not set)"
    values = {"api_key": "sk-abcdefghijklmnopf3a9"}
    argv = ["x", "--api-key", "sk-abcdefghijklmnopf3a9", "--admin-api-key=sk-zzzzzzzzzzzzzzzzzz99"]
    shown = S.redact_argv(argv, values)
    assert "sk-abcdefghijklmnopf3a9" not in " ".join(shown) and "sk-…f3a9" in shown
    assert "--admin-api-key=sk-…zz99" in shown


def test_cli_flags_from_the_declaration(tmp_path):
    parser = argparse.ArgumentParser(allow_abbrev=False)  # else --api-key abbreviates --api-key-file
    S.add_arguments(parser)
    key = tmp_path / "k"
    key.write_text("sk-cli-file-0123456789\n")
    args = parser.parse_args(["--model", "gpt-oss-120b", "--tensor-parallel-size", "2", "--no-enable-metrics",
                              "--api-key-file", str(key), "--publish-address", "0.0.0.0"])
    cli = S.cli_values(args)
    assert cli == {"model": "gpt-oss-120b", "tensor_parallel_size": "2", "enable_metrics": False,
                   "api_key_file": str(key), "publish_address": "0.0.0.0"}
    res = S.resolve({}, cli=cli)
    assert res.values["tensor_parallel_size"] == 2 and res.sources["tensor_parallel_size"] == S.CLI
    assert res.values["api_key"].reveal() == "sk-cli-file-0123456789" and res.values["api_key"].path == str(key)
    assert (res.sources["api_key"], res.origins["api_key"]) == (S.CLI, "--api-key-file")
    bad = S.resolve({}, cli={"api_key_file": str(tmp_path / "nope")})
    assert [(p.key, p.message) for p in bad.errors] == [
        ("api_key_file", f"--api-key-file {tmp_path / 'nope'}: the API key file {tmp_path / 'nope'} does not exist: "
                         "create it (mode 600) or fix the path")]
    with pytest.raises(SystemExit):
        parser.parse_args(["--api-key", "x"])  # secrets only as files on a command line
    flags = {a.option_strings[0] for a in parser._actions if a.option_strings}
    assert {s.cli_flag for s in S.SETTINGS if not s.secret} <= flags


def test_form_fields_cover_the_form():
    fields = S.form_fields()
    assert list(fields) == list(S.GROUPS)
    flat = {f.key: f for group in fields.values() for f in group}
    assert "ssh_password" not in flat and "image" in flat
    tp = flat["tensor_parallel_size"]
    assert tp.placeholder == "auto" and tp.choices == (1, 2, 4, 8) and tp.group == S.MEMORY
    assert flat["api_key"].secret and flat["api_key"].env == "API_KEY"
    assert flat["mem_fraction_static"].allowed == "0 < x < 1"


def test_the_settings_table_lists_what_the_image_reads():
    table = docs.markdown_table()
    for s in S.SETTINGS:
        assert (f"`{s.env}`" in table) == (not s.runtime)
    assert "`--context-length`" in table


def test_gpt_oss_by_folder_or_mirror_name():
    assert S.gpt_oss_variant("/models/gpt-oss-120b/") == "openai/gpt-oss-120b"
    assert S.gpt_oss_variant("someorg/gpt-oss-20b") == "openai/gpt-oss-20b"
    assert S.gpt_oss_variant("openai/gpt-oss-70b") is None and S.model_size("/m/gpt-oss-20b") == "20b"
    res = S.resolve({"MODEL": "/models/gpt-oss-120b"})
    problems = S.validate(res.values)
    assert [p.level for p in problems] == ["warning"] and "taken to be openai/gpt-oss-120b" in problems[0].message
    assert res.values["tool_call_parser"] == "gpt-oss"


def test_parsers_default_off_for_other_models_unless_set():
    res = S.resolve({"MODEL": "Qwen/Qwen3-8B"})
    assert res.values["reasoning_parser"] == res.values["tool_call_parser"] == "none"
    assert "--tool-call-parser" not in S.to_argv(res.values)
    assert "DYN_TOOL_CALL_PARSER left off: the gpt-oss parser only fits gpt-oss models" in res.notes
    res = S.resolve({"MODEL": "Qwen/Qwen3-8B", "DYN_TOOL_CALL_PARSER": "qwen25"})
    assert res.values["tool_call_parser"] == "qwen25"

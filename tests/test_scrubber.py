"""The one secret scrubber: what it masks, what it leaves, and property tests over keys of any
shape inside any line, and over settings from env, flags and profile TOML (hypothesis)."""

from __future__ import annotations

import argparse
import json
import os
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.secret import MIN_KNOWN_LEN, Scrubber, Secret, known_values, mask_secret
from console.settings import SETTINGS, add_arguments, cli_values, resolve, sglang_config, validate
from console.settings.mask import SCRUBBER, scrub, scrub_lines, scrub_obj, secret_names

# CI runs the property tests with at least 200 cases each; locally a little faster.
CASES = 300 if os.environ.get("CI") else 200
PROPS = settings(max_examples=CASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEY = "sk-abcdefghijklmnop1234"


def test_names_come_from_the_declaration():
    names = set(secret_names())
    for s in SETTINGS:
        if s.secret:
            assert {s.key, s.env, s.cli_flag, *s.aliases} <= names
    assert "model" not in names and "MAX_MODEL_LEN" not in names


@pytest.mark.parametrize("line,shown", [
    ("server_args=ServerArgs(model_path='m', api_key='sk-abcdefghijklmnop1234', admin_api_key=None, port=8000)",
     "server_args=ServerArgs(model_path='m', api_key='sk-…1234', admin_api_key=None, port=8000)"),
    ("API_KEY=sekret HF_TOKEN_FILE=/run/secrets/hf API_KEY_FILE=/run/k",
     "API_KEY=•••• HF_TOKEN_FILE=/run/secrets/hf API_KEY_FILE=/run/k"),
    ("python3 -m sglang.launch_server --api-key sekret --admin-api-key=zz --api-key-file /p --port 8000",
     "python3 -m sglang.launch_server --api-key •••• --admin-api-key=•••• --api-key-file /p --port 8000"),
    ('{"api_key": "sekret", "hf_token": null, "model": "m"}', '{"api_key": "••••", "hf_token": null, "model": "m"}'),
    ("Authorization: Bearer sekret-value", "Authorization: Bearer ••••"),
    ("api-key: \"sekret\"", "api-key: \"••••\""),
    ("GET /v1/models?api_key=sekret&x=1", "GET /v1/models?api_key=••••&x=1"),
    ("ssl_keyfile_password='pw12345'", "ssl_keyfile_password='••••'"),
    ("HUGGING_FACE_HUB_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWx", "HUGGING_FACE_HUB_TOKEN=hf_…UvWx"),
    # not secrets: SGLang's token counters, a key already masked, words about keys
    ("[TP0] Decode batch. #running-req: 8, #token: 9000, token usage: 0.05", None),
    ("api_key='sk-…1234' api_key='••••' api_key=None", None),
    ("set an API key (API_KEY / --api-key-file), or publish on 127.0.0.1", None),
    ("-v /state/secrets/c/hf_token:/run/secrets/gpt-oss-console/hf_token:ro", None),  # paths, not values
    ('{"api_key":"sekret"}', '{"api_key":"••••"}'),
])
def test_masks_what_follows_a_secret_name_and_nothing_else(line, shown):
    assert scrub(line) == (line if shown is None else shown)


def test_known_values_are_masked_anywhere_while_their_secret_lives():
    value = "q8Zr-unusual-shape/with+chars=="
    line = f"x{value}y and again {value}"
    assert scrub(line) == line  # unknown: no name introduces it
    held = Secret(value)
    assert scrub(line) == f"x{held.masked}y and again {held.masked}"
    assert scrub(line.encode().decode()) != line and value not in scrub_lines([line, "clean"])[0]
    assert SCRUBBER.scrub_bytes(line.encode()) == scrub(line).encode()
    del held
    import gc

    gc.collect()
    assert value not in known_values() and scrub(line) == line  # gone with its Secret
    short = Secret("k" * (MIN_KNOWN_LEN - 1))  # a key like "k" would mask every k in a log
    assert short.reveal() not in known_values()


def test_structures_are_masked_by_key_and_by_value():
    held = Secret("hf_TokenHeldByThisProcess0001")
    doc = {"api_key": "k", "settings": {"HF_TOKEN": "abc", "api_key_file": "/run/k"}, "chat": "set",
           "lines": [f"token {held.reveal()}"], "secret": held, "n": 3, "none": None}
    out = scrub_obj(doc)
    assert out == {"api_key": "••••", "settings": {"HF_TOKEN": "••••", "api_key_file": "/run/k"}, "chat": "set",
                   "lines": ["token hf_…0001"], "secret": "hf_…0001", "n": 3, "none": None}
    assert json.dumps(out)  # still JSON


def test_argv_masks_the_word_after_a_secret_flag():
    argv = ["python3", "-m", "sglang.launch_server", "--api-key", "k1", "--admin-api-key", "k2",
            "--api-key=k3", "--config", "/run/secrets/gpt-oss-console/sglang.yaml"]
    assert SCRUBBER.scrub_argv(argv) == ["python3", "-m", "sglang.launch_server", "--api-key", "••••",
                                         "--admin-api-key", "••••", "--api-key=••••", "--config",
                                         "/run/secrets/gpt-oss-console/sglang.yaml"]


# -- properties: keys of any shape inside any line -------------------------------------------

# A key: any printable characters, spaces and quotes included (values known at run time are
# masked whatever they hold); at least MIN_KNOWN_LEN long, as only those are known by value.
any_key = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=MIN_KNOWN_LEN, max_size=64)
any_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120)


@PROPS
@given(key=any_key, before=any_text, after=any_text, times=st.integers(1, 3))
def test_a_known_key_never_survives_in_any_line(key, before, after, times):
    held = Secret(key)
    line = before + (key + after) * times
    assert key not in scrub(line)
    assert key not in "\n".join(scrub_lines(["clean", line, before]))
    raw = line.encode("utf-8")
    assert key.encode() not in SCRUBBER.scrub_bytes(raw)
    assert key not in json.dumps(scrub_obj({"x": [line], "y": held}), ensure_ascii=False)
    del held


# A key after a secret's name, value unknown: anything that cannot end the value in that shape.
bare_key = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Cc", "Zl", "Zp"),
                                 exclude_characters="'\",;)}]&\u0085"), min_size=1, max_size=48)
quoted_key = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="'\r\n"),
                     min_size=1, max_size=48)
NAMED = [
    "api_key={v}", "API_KEY={v}", "--api-key {v}", "--api-key={v}", "hf_token={v}", "HF_TOKEN={v}",
    "HUGGING_FACE_HUB_TOKEN={v}", "admin_api_key={v}", "Authorization: Bearer {v}", "ssh_password={v}",
]


def _masked_form(value: str) -> bool:
    return value.strip().lower() in {"none", "null", "nil", "(not set)", "unset", "set", ""} or value in {
        "••••", "****", "***"} or ("…" in value and len(value) <= 9)


@PROPS
@given(value=bare_key, shape=st.sampled_from(NAMED), before=any_text, tail=st.sampled_from(["", " ", ",", ")", "\n"]))
def test_any_value_after_a_secret_name_is_masked(value, shape, before, tail):
    segment = shape.format(v=value)
    shown = scrub(before + segment + tail)
    if not _masked_form(value):
        assert segment not in shown
        head = shape.split("{v}")[0]
        assert head + mask_secret(value) in shown or head + "••••" in shown


@PROPS
@given(value=quoted_key, before=any_text)
def test_any_quoted_value_after_a_secret_name_is_masked(value, before):
    segment = f"api_key='{value}'"
    shown = scrub(before + segment + ", port=8000)")
    if not _masked_form(value):
        assert segment not in shown and "api_key='" in shown and shown.endswith(", port=8000)")


# -- properties: settings from env, flags and profile TOML: sentences, never tracebacks ---------

env_names = st.sampled_from(sorted({n for s in SETTINGS for n in (s.env, *s.aliases, s.file_env) if n}))
env_values = st.one_of(any_text, st.sampled_from(["", "0", "-1", "1e309", "nan", "true", "no", "all", "0,1",
                                                  "--config x.yaml", "'unbalanced", "openai/gpt-oss-120b",
                                                  "sk-Live0123456789Key", "hf_Token0123456789 with space"]))


def _sentences(problems) -> None:
    """Every rejection is a sentence that says what to do (warnings inform; they are not checked here)."""
    for p in problems:
        if not p.is_error:
            continue
        msg = p.message
        assert isinstance(msg, str) and msg.strip() and "Traceback" not in msg
        assert ":" in msg or " use " in msg or "set" in msg, msg  # says what is wrong and what to do


@PROPS
@given(env=st.dictionaries(env_names, env_values, max_size=6))
def test_settings_from_env_give_values_or_sentences(env):
    res = resolve(env)
    _sentences(res.problems)
    problems = validate(res.values)
    _sentences(problems)
    for p in problems + res.problems:  # a secret's value is never quoted in a message
        for s in SETTINGS:
            value = res.values.get(s.key) if s.secret else None
            text = value.reveal() if value else ""
            # Only key-like values: a short, spaced or single-case one can be words of the message
            # itself ("openai/gpt-o" is in "use openai/gpt-oss-20b").
            if len(text) < 12 or " " in text or not (any(c.isupper() for c in text) and any(
                    c.islower() for c in text) and any(c.isdigit() for c in text)):
                continue
            if not any(value.reveal() in v for k, v in env.items() if k not in (s.env, *s.aliases)):
                assert value.reveal() not in p.message
    if not [p for p in problems + res.problems if p.is_error] and sglang_config(res.values):
        import yaml  # what SGLang's --config reader parses the file with

        assert yaml.safe_load(sglang_config(res.values)) == {"api-key": res.values["api_key"].reveal()}


flag_words = st.lists(st.one_of(st.sampled_from(["--model", "--max-model-len", "--tensor-parallel-size",
                                                 "--api-key-file", "--hf-token-file", "--port", "--gpus",
                                                 "--enable-metrics", "--no-enable-metrics", "--extra-args"]),
                                any_text.filter(lambda t: not t.startswith("-"))), max_size=8)


@PROPS
@given(argv=flag_words)
def test_settings_from_flags_give_values_or_sentences(argv):
    parser = argparse.ArgumentParser(allow_abbrev=False, exit_on_error=False)
    add_arguments(parser)
    try:
        args, _ = parser.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return  # argparse's own usage message (the CLI prints it, exit 2)
    res = resolve({}, cli=cli_values(args))
    _sentences(res.problems)
    _sentences(validate(res.values))


toml_scalars = st.one_of(st.integers(-2**40, 2**40), st.floats(allow_nan=True), st.booleans(), any_text,
                         st.lists(st.integers(), max_size=3))
profile_keys = st.sampled_from(sorted({s.key for s in SETTINGS} | {s.file_key for s in SETTINGS if s.file_key}
                                      | {"unknown_key"}))


@PROPS
@given(values=st.dictionaries(profile_keys, toml_scalars, max_size=6))
def test_settings_from_profile_toml_give_values_or_sentences(values, tmp_path_factory):
    import tomli_w

    from console.runtime import profiles

    folder = tmp_path_factory.mktemp("cfg")
    os.environ["XDG_CONFIG_HOME"] = str(folder)
    try:
        text = tomli_w.dumps({"profile": {"name": "p"}, "settings": values})
        (folder / "gpt-oss-console" / "profiles").mkdir(parents=True)
        (folder / "gpt-oss-console" / "profiles" / "p.toml").write_text(text)
        loaded = profiles.load("p")
        assert tomli_w.dumps(loaded.values) == tomli_w.dumps(tomllib.loads(text)["settings"])  # (nan != nan)
        res = resolve({}, profile=loaded.values)
        _sentences(res.problems)
        _sentences(validate(res.values))
    finally:
        os.environ.pop("XDG_CONFIG_HOME", None)

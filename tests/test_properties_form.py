"""Property tests: the Launch form's fields, as a person can fill them, through the same core
the pane uses (``resolve_values`` with the edits as the top layer, ``build_spec``, the exports,
profile save and load). Any text in any field — what each Input lets through (digits only in
number fields), every Select choice, key files that are missing or empty — gives values with
their problems in sentences, or a spec; never a traceback.

And what the form exports is what its fields say: the printed ``docker run`` is run by a real
bash (with ``docker`` a function that prints its arguments) and must give exactly the argv the
console launches with, the container name, image and port the fields show; the compose file
reads back as YAML with the same; a saved profile loads back to the same values.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess

import pytest
from hypothesis import event, example, given, strategies as st

from console.errors import ConsoleError
from console.runtime import profiles
from console.runtime.build import build_spec
from console.runtime.service import resolve_values
from console.secret import Secret
from console.settings import form_fields, resolve

FIELDS = {f.key: f for fs in form_fields().values() for f in fs}
RESTRICT = {"int": r"-?\d*", "float": r"-?\d*\.?\d*"}  # what the form's Inputs let through

# -------------------------------------------------------------------------- strategies

printable = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)
SENSIBLE = {
    "model": ["openai/gpt-oss-20b", "openai/gpt-oss-120b", "/models/gpt-oss-20b", "mistral/other"],
    "image": ["gpt-oss-sglang:latest", "lmsysorg/sglang:v0.5.4", "registry.local:5000/team/img:tag", "a" * 25],
    "container_name": ["gpt-oss-sglang", "nc2-good", "nc2-ctrlu-same-1", "x", "bad name", "-dash"],
    "gpus": ["all", "0", "0,1", "", "none", "device=0"],
    "shm_size": ["16g", "1gb", "", "lots"],
    "hf_cache": ["~/.cache/huggingface", "/tmp/hf cache", "relative/dir", ""],
    "publish_address": ["127.0.0.1", "0.0.0.0", "::1", "localhost", "999.1.1.1", ""],
    "host": ["0.0.0.0", "127.0.0.1", "::"],
    "extra_args": ["--log-level debug", "--enable-torch-compile", "'unbalanced", "--api-key sk-InArgs0123456789"],
    "served_model_name": ["gpt-oss", ""],
    "api_key": ["sk-Form0123456789Key", "short", "with space", ""],
    "hf_token": ["hf_Form0123456789Token", ""],
}


def field_text(f):
    if f.kind in RESTRICT:
        typed = [t for t in ("", "0", "-5", "1", "8", "99999999", "0.83", "0.", ".5", "-")
                 if re.fullmatch(RESTRICT[f.kind], t)]
        return st.sampled_from(typed) | st.from_regex(RESTRICT[f.kind], fullmatch=True).map(lambda t: t[:12])
    if f.kind == "bool":
        return st.booleans()
    if f.kind == "choice":
        return st.none() | st.sampled_from(f.choices)
    sensible = st.sampled_from(SENSIBLE.get(f.key, [""]))
    return st.one_of(sensible, sensible, printable)


key_files = st.sampled_from(["present", "empty", "missing", "folder"])
TYPED = sorted(k for k in FIELDS if not k.endswith("_file"))
# A few fields edited (most launches), or any number of them.
edits = st.one_of(
    st.lists(st.sampled_from(TYPED), max_size=3, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({k: field_text(FIELDS[k]) for k in keys})),
    st.fixed_dictionaries({}, optional={k: field_text(FIELDS[k]) for k in TYPED}))
options = st.fixed_dictionaries({"image_mode": st.sampled_from(["auto", "project", "stock"]),
                                 "allow_public": st.booleans()})


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    """A private config dir for profiles and a folder of key files of each kind."""
    base = tmp_path_factory.mktemp("form")
    keys = base / "keys"
    keys.mkdir()
    (keys / "present").write_text("sk-FromFile0123456789\n")
    (keys / "empty").write_text("")
    (keys / "folder").mkdir()
    for p in keys.iterdir():
        if p.is_file():
            p.chmod(0o600)
    return base


# The verbs a rejection's "what to do" starts with.
TO_DO = ("use ", "set ", "give ", "check ", "write ", "add ", "remove ", "lower ", "raise ", "choose ", "pick ",
         "drop ", "make ", "fix ", "point ", "publish ", "start ", "create ", "install ", "leave ", "unset ", "pass ")


def _sentence(text: str) -> None:
    assert isinstance(text, str) and text.strip() and "Traceback" not in text, text
    assert text[0] != " " and len(text) < 600, text


def _bash_argv(command: str) -> list[str]:
    """Run the printed command in bash with ``docker`` a function that prints its arguments."""
    script = 'docker() { printf "%s\\0" docker "$@"; }\n' + command + "\n"
    out = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]


# -------------------------------------------------------------------------- properties


@given(fields=edits, opts=options, key_file=st.none() | key_files, hf_file=st.none() | key_files)
@example(fields={"container_name": "nc2-good", "image": "a" * 25, "host_port": "18821"},
         opts={"image_mode": "auto", "allow_public": False}, key_file=None, hf_file=None)
@example(fields={"extra_args": "--api-key sk-InArgs0123456789", "api_key": "sk-Form0123456789Key"},
         opts={"image_mode": "stock", "allow_public": False}, key_file="present", hf_file=None)
@example(fields={"container_name": "bad name"},  # found: launched as "bad-name", a name the field never showed
         opts={"image_mode": "auto", "allow_public": False}, key_file=None, hf_file=None)
@example(fields={"image": "\U00010000"},  # found: the compose file's JSON escapes read back by YAML as surrogates
         opts={"image_mode": "auto", "allow_public": False}, key_file=None, hf_file=None)
def test_any_form_gives_a_spec_or_sentences(config, fields, opts, key_file, hf_file, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(config / "state"))
    fields = dict(fields)
    if key_file:
        fields["api_key_file"] = str(config / "keys" / key_file)
    if hf_file:
        fields["hf_token_file"] = str(config / "keys" / hf_file)
    vals = resolve_values(cli=fields, env={})
    for p in vals.problems:
        _sentence(p.message)
        if p.is_error:  # says what is wrong, then what to do
            assert any(w in p.message.lower() for w in TO_DO), p.message
        for s in ("sk-Form0123456789Key", "hf_Form0123456789Token", "sk-FromFile0123456789"):
            assert s not in p.message  # a key is never quoted back
    try:
        spec = build_spec(vals.values, profile="p", **opts)
    except ConsoleError as exc:
        _sentence(exc.message)
        assert exc.hint, exc.message
        event("refused by build_spec")
        return
    if vals.errors:
        event("problems shown")
        return
    event("exported, run and saved")  # the form shows the problems and refuses F5; the preview may still be built

    # What is launched is what the fields say.
    argv = spec.docker_run_argv()
    name = (fields.get("container_name") or "").strip()
    if name:
        assert spec.name == name and argv[argv.index("--name") + 1] == name
    image = (fields.get("image") or "").strip()
    if image:
        assert spec.image == image and image in argv
    if (fields.get("host_port") or "").strip().lstrip("-").isdigit():
        assert spec.host_port == int(fields["host_port"])

    # The printed command runs as printed: bash reads back the argv the console launches with.
    command = spec.docker_run()
    assert _bash_argv(command) == argv
    for s in ("sk-Form0123456789Key", "hf_Form0123456789Token", "sk-FromFile0123456789"):
        assert s not in command and s not in spec.compose()

    import yaml

    doc = yaml.safe_load(spec.compose())
    (service,) = doc["services"].values()
    assert service["container_name"] == spec.name and service["image"] == spec.image

    # Saved and loaded, the profile resolves to the same values (secrets stay out of it).
    profiles.save(profiles.Profile("p", dict(vals.values)))
    again = resolve({}, profile=profiles.load("p").values)
    for key, value in vals.values.items():
        if isinstance(value, Secret) or key in ("api_key", "hf_token"):
            continue
        assert again.values.get(key) == value, (key, value, again.values.get(key))


@given(fields=edits)
def test_the_printed_dry_run_is_the_same_command(config, fields, monkeypatch, capsys):
    """``launch --dry-run`` with the same values as flags prints a command bash runs as printed."""
    from console.cli import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(config / "cfg"))
    argv = ["launch", "--dry-run"]
    for key, raw in fields.items():
        f = FIELDS[key]
        if f.secret or raw is None:
            continue
        flag = "--" + key.replace("_", "-")
        if f.kind == "bool":
            argv.append(flag if raw else "--no-" + key.replace("_", "-"))
        else:
            argv.append(f"{flag}={raw}")
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own usage error: exit 2 with its message
        assert exc.code == 2
        event("argparse usage error")
        return
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if rc != 0:  # notes may come first; then the refusal in words
        assert rc in (2, 3, 4) and "error: " in err, (rc, err)
        event("refused in words")
        return
    event("printed and run")
    command = out[out.index("docker run"):].split("\n\n")[0] if "docker run" in out else ""
    assert command, out
    got = _bash_argv(command)
    assert got[:3] == ["docker", "run", "-d"] and shlex.join(got)

"""Every printed curl and Python snippet, run as printed against the SGLang-shaped server and the
llama.cpp peer: each gets an answer, and the tool snippets a tool call. ``connect --check`` runs
the curl ones itself with a real curl; the key stays off every command line."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from console.connect.card import build_card
from console.connect.check import run_curl
from console.connect.snippets import KeyRef
from console.secret import Secret, read_secret_file
from console.server.endpoint import Endpoint
from tests.conftest import need

KEY = "sk-connect-peer-0123456789abcdef"
SSH = {"SSH_CONNECTION": "203.0.113.5 51234 198.51.100.7 22", "USER": "alice"}


@pytest.fixture
def keyed_server(sglang_shaped_factory):
    return sglang_shaped_factory(api_key=KEY)


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "api_key"
    path.write_text(KEY + "\n")
    os.chmod(path, 0o600)
    return path


@pytest.fixture
def curl_spy(tmp_path, monkeypatch):
    """A ``curl`` first on PATH that writes its argv to a file, then runs the real curl."""
    real = shutil.which("curl")
    need(real is not None, "curl")
    spy = tmp_path / "spy"
    spy.mkdir()
    log = tmp_path / "curl-argv.log"
    (spy / "curl").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {log}\nexec {real} "$@"\n')
    os.chmod(spy / "curl", 0o755)
    monkeypatch.setenv("PATH", f"{spy}:{os.environ['PATH']}")
    return log


def run_python(text: str, secret: str | None) -> list[dict]:
    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)
    if secret:
        env["OPENAI_API_KEY"] = secret
    proc = subprocess.run([sys.executable, "-c", text], capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def assert_all_snippets_answer(card, secret: str | None) -> None:
    for name in ("curl-chat", "curl-tool"):
        result = run_curl(card.snippet(name), card.key, Secret(secret) if secret else None)
        assert result.ok, result
        if name == "curl-tool":
            assert result.summary.startswith("tool call get_weather(")
    chat = run_python(card.snippet("python-chat").text, secret)
    assert len(chat) == 1 and (chat[0]["content"] or chat[0]["reasoning"])
    calls = run_python(card.snippet("python-tool").text, secret)
    assert calls and calls[0]["name"] == "get_weather" and "Paris" in calls[0]["arguments"]["location"]


def test_snippets_answer_on_the_sglang_shaped_server_key_from_env_or_file(keyed_server, key_file, curl_spy):
    endpoint = Endpoint(keyed_server.base_url, Secret(KEY), keyed_server.model)
    card = build_card(endpoint, keyed_server.model, env=SSH)
    assert card.route.kind == "tunnel"  # over SSH the snippets use the tunnel's end, the same port here
    assert_all_snippets_answer(card, KEY)
    # the key read from its file by the snippets themselves (no OPENAI_API_KEY anywhere)
    from_file = Endpoint(keyed_server.base_url, read_secret_file(key_file), keyed_server.model)
    card = build_card(from_file, keyed_server.model, env={})
    assert card.key.file == str(key_file)
    assert_all_snippets_answer(card, None)
    # curl ran with the header on stdin: the key was never on its command line
    argv = curl_spy.read_text()
    assert "-H\n@-\n" in argv and KEY not in argv


def test_a_wrong_key_fails_the_curl_check_with_the_servers_words(keyed_server):
    card = build_card(Endpoint(keyed_server.base_url, Secret("sk-wrong-0123456789abcdef")), "m", env={})
    result = run_curl(card.snippet("curl-chat"), card.key, Secret("sk-wrong-0123456789abcdef"))
    assert not result.ok and result.exit_code == 22 and "Unauthorized" in result.summary


@pytest.mark.peer
def test_snippets_answer_on_the_llama_cpp_peer(llama_server):
    card = build_card(Endpoint(llama_server.base_url), llama_server.model, env={})
    assert card.key == KeyRef(needed=False)
    assert_all_snippets_answer(card, None)


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["connect", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("GPT_OSS_CONSOLE_BASE_URL", "GPT_OSS_CONSOLE_API_KEY", "GPT_OSS_CONSOLE_API_KEY_FILE",
                 "GPT_OSS_CONSOLE_MODEL", "SSH_CONNECTION", "SSH_CLIENT", "RUNPOD_POD_ID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_connect_check_runs_what_it_printed_and_writes_the_env(keyed_server, key_file, clean_env, capsys, tmp_path):
    for name, value in SSH.items():
        clean_env.setenv(name, value)
    dotenv = tmp_path / ".env"
    dotenv.write_text("# agent\nKEEP=me\n")
    code, out, err = cli(capsys, "--base-url", keyed_server.base_url, "--api-key-file", str(key_file), "--check",
                         "--write-env", str(dotenv))
    assert code == 0, out + err
    assert "first: ssh -N -L" in out and "alice@198.51.100.7" in out
    assert f"{keyed_server.model} at {keyed_server.base_url}" in out  # the model came from /v1/models
    assert "✓ curl-chat: answer:" in out and "✓ curl-tool: tool call get_weather(" in out
    assert KEY not in out + err
    text = dotenv.read_text()
    assert text.startswith("# agent\nKEEP=me\n") and f"OPENAI_API_KEY={KEY}\n" in text
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600

    # JSON: the card, the checks and the file; the key masked
    code, out, _ = cli(capsys, "--base-url", keyed_server.base_url, "--api-key-file", str(key_file), "--format",
                       "json", "--check")
    data = json.loads(out)
    assert code == 0 and [c["ok"] for c in data["checks"]] == [True, True] and KEY not in out
    assert data["routes"][0]["first"] == f"ssh -N -L {keyed_server.server.server_address[1]}:127.0.0.1:" \
                                         f"{keyed_server.server.server_address[1]} alice@198.51.100.7"

    # only the tunnel
    code, out, _ = cli(capsys, "--base-url", keyed_server.base_url, "--model", "m", "--api-key-file", str(key_file),
                       "-f", "ssh")
    port = keyed_server.server.server_address[1]
    assert code == 0 and out == f"ssh -N -L {port}:127.0.0.1:{port} alice@198.51.100.7\n"


def test_connect_says_what_to_do_when_the_key_is_missing_or_wrong(keyed_server, clean_env, capsys, tmp_path):
    code, out, err = cli(capsys, "--base-url", keyed_server.base_url)
    assert code == 3 and "wants an API key" in err and "--api-key-file" in err
    bad = tmp_path / "bad"
    bad.write_text("sk-wrong-0123456789abcdef")
    code, out, err = cli(capsys, "--base-url", keyed_server.base_url, "--api-key-file", str(bad), "--model", "m",
                         "--check", "-f", "curl")
    assert code == 1 and "✗ curl-chat: HTTP error" in err and "sk-wrong" not in out + err
    code, out, err = cli(capsys, "--base-url", keyed_server.base_url, "--api-key-file", str(tmp_path / "none"))
    assert code == 2 and "does not exist" in err
    code, out, err = cli(capsys, "--base-url", "http://127.0.0.1:1", "--model", "m", "--check", "-f", "env")
    assert code == 1 and "could not connect" in err and "LLM_BASE_URL=http://127.0.0.1:1/v1" in out
    code, out, err = cli(capsys, "--base-url", "http://127.0.0.1:1")
    assert code == 3 and "--model NAME" in err
    code, out, err = cli(capsys, "--base-url", keyed_server.base_url, "--model", "m", "--via", "runpod-proxy")
    assert code == 2 and "no runpod-proxy route" in err


def test_connect_write_env_refuses_a_different_key_unless_forced(keyed_server, key_file, clean_env, capsys, tmp_path):
    dotenv = tmp_path / ".env"
    original = "OPENAI_API_KEY=sk-someone-elses-0123456789\nOTHER=1\n"
    dotenv.write_text(original)
    args = ("--base-url", keyed_server.base_url, "--api-key-file", str(key_file), "--write-env", str(dotenv))
    code, out, err = cli(capsys, *args)
    assert code == 1 and "OPENAI_API_KEY holds" in err and "--force" in err and "someone" not in err
    assert dotenv.read_text() == original
    code, out, err = cli(capsys, *args, "--force")
    assert code == 0 and "replaced OPENAI_API_KEY" in out
    assert Path(str(dotenv) + ".bak").read_text() == original
    assert dotenv.read_text().splitlines()[:2] == [f"OPENAI_API_KEY={KEY}", "OTHER=1"]

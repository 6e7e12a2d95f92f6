"""Property tests: the command line is typed by people. For the commands that need no GPU, no
engine and no live server (``plan``, ``pod``, ``history``, ``gpus`` on a replay, and the client
commands against a closed port), any mix of their own flags with any values exits with a code
that means something and says what went wrong in words; argparse's usage errors included, never
a traceback.

Each command's flags are read from its real parser, so a new flag is covered the day it lands.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from pathlib import Path

import pytest
from hypothesis import event as _event, example, given, strategies as st

from console.cli import build_parser, main

REPLAY = str(Path(__file__).parent / "data" / "nvml" / "h100.json")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed once the with ends: connections are refused at once


def _flags(command: str) -> list[tuple[str, int | str | None]]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return [(a.option_strings[-1], a.nargs) for a in sub._actions if a.option_strings and "-h" not in a.option_strings]


values = st.one_of(
    st.sampled_from(["0", "-1", "1", "8", "1.5", "nan", "inf", "1e309", "", " ", "abc", "all", "H100-80GB", "gpt-oss-120b",
                     "openai/gpt-oss-20b", "vllm", "llamacpp", "sglang", "0.10", "9.9", "1h", "90s", "7d", "-5m",
                     "runpod", "compose", "hopper", "/nonexistent", "--json", "'", "1,2", "65536", "2**70"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12))

# Flags that would make a command wait (follow, watch forever) or write outside the test's folder.
LEFT_OUT = {"--watch", "--output", "--record", "--record-history", "--db", "--write-env", "--markdown"}


@st.composite
def command_lines(draw, command: str, fixed: list[str]) -> list[str]:
    flags = [f for f in _flags(command) if f[0] not in LEFT_OUT]
    argv = [command]
    for flag, nargs in draw(st.lists(st.sampled_from(flags), max_size=5)):
        if nargs == 0:
            argv.append(flag)
        elif draw(st.booleans()):
            argv.append(f"{flag}={draw(values)}")
        else:
            argv += [flag, draw(values)]
    return argv + fixed


def event(text: str) -> None:
    try:
        _event(text)
    except Exception:  # noqa: BLE001 - an explicit test outside @given records nothing
        pass


def _run(argv: list[str], capsys) -> int:
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse: usage and one line saying what is wrong, exit 2
        out, err = capsys.readouterr()
        assert exc.code == 2 and "error:" in err and "Traceback" not in err, (argv, exc.code, err)
        event("argparse refused")
        return 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, argv
    assert rc in (0, 1, 2, 3, 4), (argv, rc)
    if rc not in (0, 1):
        said = (out + err).strip()
        if "--json" in argv and out.strip():  # a machine-readable answer: the result (or JSON lines) says it
            for doc in [out] if out.lstrip().startswith("{\n") else out.splitlines():
                json.loads(doc)
        else:
            assert said and ("error" in said.lower() or "→" in said), (argv, rc, out, err)  # what failed, what to do
    event(f"exit {rc}")
    return rc


@pytest.fixture(autouse=True)
def _no_endpoint(monkeypatch, tmp_path_factory):
    # A generated value can name an output file (smoke --junit 0, bench --json hopper): in a folder of its own.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    for k in list(os.environ):
        if k.startswith("GPT_OSS_CONSOLE_") or k in ("API_KEY", "HF_TOKEN"):
            monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("cfg")))
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", REPLAY)


@given(argv=command_lines("plan", []))
@example(argv=["plan", "--context-length", "0"])
@example(argv=["plan", "--count", "-1"])
def test_plan_flags(argv, capsys):
    _run(argv, capsys)


@given(argv=command_lines("pod", []))
def test_pod_flags(argv, capsys):
    _run(argv, capsys)


@given(argv=command_lines("history", []))
def test_history_flags(argv, capsys):
    _run(argv, capsys)


@given(argv=command_lines("gpus", ["--replay", REPLAY]))
@example(argv=["gpus", "--interval", "nan", "--replay", REPLAY])  # found: passed '<= 0', then int(nan) in the sampler
def test_gpus_flags(argv, capsys):
    _run(argv, capsys)


def test_a_key_no_http_header_can_carry_is_refused_in_words(capsys):
    """Found: a non-ASCII --api-key reached httpx, whose header encoding raised UnicodeEncodeError."""
    rc = _run(["metrics", "--api-key", "sk-\x80ünïcode", "--base-url", f"http://127.0.0.1:{_closed_port()}"], capsys)
    assert rc == 2


@pytest.mark.parametrize("command", ["metrics", "chat", "smoke", "bench"])
def test_client_flags_against_a_closed_port(command, capsys):
    port = _closed_port()
    fixed = ["--base-url", f"http://127.0.0.1:{port}"] + (["hello"] if command == "chat" else [])

    @given(argv=command_lines(command, fixed))
    def check(argv):
        _run(argv, capsys)

    check()


@pytest.mark.parametrize("argv", [["smoke", "--timeout", "nan"], ["smoke", "--max-ttft", "inf"],
                                  ["smoke", "--temperature", "nan"], ["plan", "--mem-fraction-static", "nan"]])
def test_nan_and_inf_are_refused_where_a_number_is_asked(argv, capsys):
    """Found: ``--timeout nan`` reached httpx ("deadline must not be NaN"); float() takes them all."""
    assert _run(argv + (["--base-url", f"http://127.0.0.1:{_closed_port()}"] if argv[0] == "smoke" else []), capsys) == 2

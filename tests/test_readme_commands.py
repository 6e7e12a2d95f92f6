"""Commands the console prints for people to run are run here (issue 10: "every command the
console prints for the user to run must be tested by running it").

- The README's "Chat, Smoke and Metrics without a GPU" block, run by bash as printed (only the
  port is another free one, so parallel runs on one machine do not collide).
- Every ``gpt-oss-console …`` command in the console's messages and hints (string literals of
  console/, docstrings aside) is read back by the real command-line parser: the subcommand and
  each flag exist, with a value where one is needed. Placeholders (``{}`` of an f-string,
  ``FILE``, ``NAME``) stand for a value.
- Those that need no GPU, engine or server run whole, as printed.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readme_block(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(marker)
    body = text[text.index("```sh\n", start) + len("```sh\n"):]
    return body[: body.index("```")]


def test_the_readme_tries_chat_smoke_and_metrics_without_a_gpu():
    block = readme_block("<!-- try-without-gpu")
    assert ".venv/bin/python -m tests.peers.sglang_shaped" in block and "GPT_OSS_CONSOLE_BASE_URL" in block
    port = str(_free_port())
    script = "set -e\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + block.replace("30000", port)
    venv = ROOT / ".venv" / "bin" / "gpt-oss-console"
    assert venv.exists(), "the README's commands run from the clone's .venv (tests/setup.sh makes it)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPT_OSS_CONSOLE_")}
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert " passed, 0 failed" in out.stdout  # smoke
    assert "── answer ──" in out.stdout and "Paris" in out.stdout  # chat
    assert "totals: prompt" in out.stdout and "TTFT" in out.stdout  # metrics, after the two turns above


# -------------------------------------------------------------------------- printed commands


def _strings(path: Path):
    """The string literals of a module (f-strings with ``{}`` for their holes), docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for n in ast.walk(tree):
        if isinstance(n, ast.JoinedStr):
            yield "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in n.values)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs | inner:
            yield n.value


PLACEHOLDER = re.compile(r"^(\{\}|[A-Z][A-Z_/.-]*|<[^>]+>)$")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def _command_words(text: str, commands: dict[str, argparse.ArgumentParser]) -> list[str] | None:
    """The words of the command that starts ``text`` (after ``gpt-oss-console``), prose after it
    left out: the subcommand, then flags with their values and positionals the parser knows."""
    words = text.replace("`", " ").split()
    if not words or words[0] not in commands:
        return None
    sub = commands[words[0]]
    nested = _subparsers(sub)
    options = {o: a for a in sub._actions for o in a.option_strings}
    positionals = [a for a in sub._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]
    out, i, pos = [words[0]], 1, 0
    if nested:
        inner = _command_words(" ".join(words[1:]), nested)
        return out + inner if inner else out
    while i < len(words):
        w = words[i].rstrip(",.;:)")
        flag = w.split("=", 1)[0]
        if w.startswith("-") and flag in options:
            out.append(w)
            if "=" not in w and options[flag].nargs != 0 and i + 1 < len(words):
                out.append(words[i + 1].rstrip(",.;:)"))
                i += 1
        elif w.startswith("-"):
            out.append(w)  # not a flag of this command: the parser will say so
        elif pos < len(positionals) and (PLACEHOLDER.match(w) or (positionals[pos].choices and w in positionals[pos].choices)
                                          or (positionals[pos].nargs is None and not positionals[pos].choices)):
            # a required positional takes the word after it (``fleet logs router``); an optional one
            # only a placeholder or one of its choices (``stop ends it`` is prose)
            out.append(w)
            pos += 1
        else:
            break
        i += 1
    return out


def printed_commands() -> list[tuple[str, str]]:
    commands = _subparsers(build_parser())
    found = set()
    for path in sorted((ROOT / "console").rglob("*.py")):
        if "image" in path.relative_to(ROOT / "console").parts:
            continue  # the image's entrypoint prints no console commands
        for text in _strings(path):
            for m in re.finditer(r"gpt-oss-console ([^\n]*)", text):
                words = _command_words(m.group(1), commands)
                if words:
                    found.add((str(path.relative_to(ROOT)), " ".join(words)))
    return sorted(found)


PRINTED = printed_commands()


def test_the_console_prints_commands_at_all():
    """The extraction finds what it should (a regex that matched nothing would pass everything)."""
    texts = {cmd for _, cmd in PRINTED}
    assert len(PRINTED) >= 20
    assert {"stop --remove", "gpus --record FILE", "launch --enable-metrics", "fleet status"} <= texts


@pytest.mark.parametrize("where,command", PRINTED, ids=[f"{w}:{c}" for w, c in PRINTED])
def test_every_printed_command_parses(where, command, capsys):
    argv = ["x" if PLACEHOLDER.match(w) else w.replace("{}", "x") for w in shlex.split(command)]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{where} prints `gpt-oss-console {command}`, which the CLI refuses: "
                    f"{capsys.readouterr().err.strip()} (exit {exc.code})")
    assert callable(getattr(args, "func", None)) or argv[0] in ("fleet",), command


@pytest.mark.parametrize("command,answer", [
    ("plan --list-gpus", 0),
    ("plan --engine vllm --engine-version 0.10 --model gpt-oss-120b --gpu H100-80GB", 1),  # the README's "no"
    ("plan --model gpt-oss-120b --gpu H100-80GB --count 2", 0),
    ("pod --image REGISTRY/OWNER/gpt-oss-sglang --model gpt-oss-120b --max-model-len 65536", 0),
    ("gpus --json", 0),
])
def test_printed_commands_that_need_no_gpu_run_as_printed(command, answer, capsys, monkeypatch):
    monkeypatch.delenv("GPT_OSS_CONSOLE_NVML_REPLAY", raising=False)
    rc = main(shlex.split(command))
    out, err = capsys.readouterr()
    assert rc == answer and out.strip() and "Traceback" not in err, (rc, err)


def test_the_record_hint_runs_as_printed(tmp_path):
    """``gpus --record FILE`` (the replay error's hint) on this machine: a recording where NVML
    answers, the reason in words where it does not; then the file replays."""
    out = subprocess.run([sys.executable, "-m", "console", "gpus", "--record", str(tmp_path / "rec.json"),
                          "--count", "2", "--interval", "0.01"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "Traceback" not in out.stderr and out.returncode in (0, 3), out.stderr
    if out.returncode == 0:
        again = subprocess.run([sys.executable, "-m", "console", "gpus", "--json", "--replay", str(tmp_path / "rec.json")],
                               capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert again.returncode == 0
    else:
        assert out.stderr.startswith("error: ") or "no GPUs" in out.stdout + out.stderr

"""Run the printed curl snippets with a real ``curl`` and judge each answer.

A snippet the operator would paste must work as printed: the check runs the very text
through ``/bin/sh`` (the snippets are POSIX shell), giving the child the API key in its
environment when the snippet reads it from there (the environment of a process is private
to its user, unlike its command line).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass

from console.connect.snippets import CURL_CHAT, CURL_TOOL, KeyRef, Snippet
from console.errors import ConsoleError
from console.exit_codes import EXIT_UNAVAILABLE
from console.secret import Secret

TIMEOUT_S = 120.0  # a first answer from a loaded server can take a while (thinking included)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    summary: str  # what came back, in a line (never the key)
    exit_code: int

    def to_dict(self) -> dict:
        return asdict(self)


def _judge(name: str, out: str) -> tuple[bool, str]:
    try:
        body = json.loads(out)
        message = body["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return False, f"not a chat completion: {out.strip()[:160] or '(empty answer)'}"
    if name == CURL_TOOL:
        calls = message.get("tool_calls") or []
        if not calls:
            return False, f"no tool call in the answer (content: {str(message.get('content'))[:100]!r})"
        fn = calls[0].get("function") or {}
        return True, f"tool call {fn.get('name')}({fn.get('arguments')})"
    text = message.get("content") or message.get("reasoning_content") or ""
    if not text.strip():
        return False, "an empty answer (no content, no reasoning)"
    return True, f"answer: {' '.join(text.split())[:100]}"


def run_curl(snippet: Snippet, key: KeyRef, secret: Secret | None, *, timeout: float = TIMEOUT_S) -> CheckResult:
    """Run one curl snippet as printed; a ConsoleError only when curl itself is missing."""
    if shutil.which("curl") is None:
        raise ConsoleError("--check runs the printed curl command, and curl is not installed",
                           "install curl (apt-get install curl), or drop --check", exit_code=EXIT_UNAVAILABLE)
    env = dict(os.environ)
    if key.needed and not key.file:
        if secret is None:
            return CheckResult(snippet.name, False, f"the snippet reads ${key.env}, and no API key is known: "
                               "set GPT_OSS_CONSOLE_API_KEY_FILE or pass --api-key-file", 2)
        env[key.env] = secret.reveal()
    try:
        proc = subprocess.run(["/bin/sh", "-c", snippet.text], capture_output=True, text=True, env=env,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return CheckResult(snippet.name, False, f"no answer within {timeout:g} s", 124)
    if proc.returncode != 0:
        why = (proc.stdout.strip() or proc.stderr.strip() or "no output").replace("\n", " ")[:200]
        if proc.returncode == 22:
            why = f"HTTP error: {why}"
        elif proc.returncode == 7:
            why = f"could not connect: {why}"
        return CheckResult(snippet.name, False, why, proc.returncode)
    ok, summary = _judge(snippet.name, proc.stdout)
    return CheckResult(snippet.name, ok, summary, 0 if ok else 1)


def check_card(snippets: list[Snippet], key: KeyRef, secret: Secret | None) -> list[CheckResult]:
    return [run_curl(s, key, secret) for s in snippets if s.name in (CURL_CHAT, CURL_TOOL)]

"""The inspector: spot what engines get wrong when turning Harmony into OpenAI fields.

Checks (each yields ``Finding`` events with a stable ``code``):
- ``harmony-leak``: Harmony markers (``<|channel|>`` …) or fragments (``to=functions.``,
  ``assistantfinal``, an ``analysis``/``final`` channel name glued to text) in content,
  reasoning or tool arguments (reference §6).
- ``invalid-json-args``, ``schema-violation``, ``unknown-tool``: per tool call.
- ``tool-calls-missing``: ``finish_reason: "tool_calls"`` with no calls.
- ``empty-stream`` / ``empty-response``: nothing came back.
- ``no-done``: a stream that ended without ``data: [DONE]``.
- ``stream-disconnected``: the connection broke mid-stream.
- ``reasoning-only``: reasoning but no content and no calls (vLLM #24076 shape).
- ``finish-reason-mismatch``: calls came back but finish_reason says otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from console.chat.events import Finding

# Harmony's special tokens; any of them in user-visible text means the parser let it through.
HARMONY_MARKERS = ("<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>", "<|return|>",
                   "<|call|>", "<|endoftext|>", "<|startoftext|>", "<|refusal|>")
_MARKER_RE = re.compile("|".join(re.escape(m) for m in HARMONY_MARKERS))
# Fragments left when markers are stripped as special tokens but the header text is not
# (skip_special_tokens): "analysisUser asks…assistantfinalHello" (sglang PR 9190, issue 9244),
# "commentary to=functions.get_weather json{…}" (Rapid-MLX issue 480), "assistantcode{…}"
# (vllm-mlx PR 562), recipients of the built-in tools ("to=browser.search", openai/harmony
# test-data/test_streamable_parser.txt). Tested against harmony's own renderings with the
# special tokens removed (tests/test_harmony_format.py).
_FRAGMENT_RES = (
    (re.compile(r"\bto=(?:functions|browser|container)\.[A-Za-z_]|\bto=python\b"), "to=functions."),
    (re.compile(r"assistant(?:final|analysis|commentary)"), "assistant<channel>"),
    (re.compile(r"assistant\s?(?:to=\S+\s?)?(?:code|json)\s?[\[{]"), "assistant<content type>"),
    (re.compile(r"\b(?:commentary|analysis)\s(?:json|code)\s?[\[{]"), "<channel> <content type>"),
    (re.compile(r"^\s*(?:analysis|commentary|final)(?=[A-Z<{])"), "channel name"),
    (re.compile(r"<\|constrain\|>json|\bconstrain\|>json"), "<|constrain|>json"),
)


def harmony_leaks(text: str | None) -> list[str]:
    """Distinct leaked markers/fragments found in ``text`` (empty when clean)."""
    if not text:
        return []
    found: list[str] = []
    for m in _MARKER_RE.findall(text):
        if m not in found:
            found.append(m)
    for rx, label in _FRAGMENT_RES:
        m = rx.search(text)
        if not m or (label == "<|constrain|>json" and "<|constrain|>" in found):
            continue
        if label == "to=functions.":  # the recipient's namespace: "to=functions.", "to=browser."
            hit = m.group(0) if m.group(0).endswith("python") else m.group(0)[:-1]
        else:
            hit = label if label == "<|constrain|>json" else m.group(0).strip()
        if hit not in found:
            found.append(hit)
    return found


def leak_findings(text: str | None, where: str, round: int = 0) -> list[Finding]:
    leaks = harmony_leaks(text)
    if not leaks:
        return []
    sample = _excerpt(text or "", leaks[0])
    return [Finding("harmony-leak", f"Harmony {'markers' if len(leaks) > 1 else 'marker'} {', '.join(leaks)} in {where}: {sample}",
                    where, "error", round)]


def _excerpt(text: str, needle: str, width: int = 60) -> str:
    i = text.find(needle)
    if i < 0:
        return repr(text[:width])
    start = max(0, i - width // 2)
    return repr(("…" if start else "") + text[start:start + width] + ("…" if start + width < len(text) else ""))


@dataclass
class CallCheck:
    arguments: Any | None
    problems: list[str]
    findings: list[Finding]


def check_call(name: str, arguments_raw: str, registry: Any, round: int = 0,
               offered: set[str] | None = None) -> CallCheck:
    """Parse and judge one tool call's arguments against the registry."""
    where = f"arguments:{name}"
    problems: list[str] = []
    findings: list[Finding] = []
    args: Any | None = None
    raw = arguments_raw if arguments_raw is not None else ""
    try:
        args = json.loads(raw) if raw.strip() else {}
    except ValueError as e:
        problems.append(f"arguments are not valid JSON ({e.msg} at char {e.pos}): {raw[:120]!r}")
        findings.append(Finding("invalid-json-args", f"{name}: {problems[-1]}", where, "error", round))
    if args is not None and not isinstance(args, dict):
        problems.append(f"arguments must be a JSON object, got {type(args).__name__}")
        findings.append(Finding("invalid-json-args", f"{name}: {problems[-1]}", where, "error", round))
    known = name in registry if registry is not None else True
    if offered is not None and name not in offered:
        known = False
    if not known:
        msg = f"the model called {name!r}, which was not offered"
        problems.append(msg)
        findings.append(Finding("unknown-tool", msg, f"tool:{name}", "error", round))
    elif isinstance(args, dict) and registry is not None:
        for p in registry.validate(name, args):
            problems.append(p)
            findings.append(Finding("schema-violation", f"{name}: {p}", where, "error", round))
    findings += leak_findings(raw, where, round)
    findings += leak_findings(name, f"name:{name}", round)  # e.g. "get_weather<|channel|>commentary"
    if any(f.code == "harmony-leak" for f in findings):
        problems.append("Harmony markers in the arguments")
    return CallCheck(args if isinstance(args, dict) else None, problems, findings)


@dataclass
class RoundCheck:
    """What one request/response round looked like, for the round-level checks."""

    streamed: bool
    content: str = ""
    reasoning: str = ""
    calls: int = 0
    finish_reason: str | None = None
    chunks: int = 0  # data chunks carrying choices
    done_seen: bool = False
    disconnected: str | None = None
    completion_tokens: int | None = None  # from usage, when reported
    findings: list[Finding] = field(default_factory=list)


_CALL_IN_TEXT = re.compile(r"\bfunctions\.([A-Za-z_][\w-]*)")


def check_round(rc: RoundCheck, round: int = 0, offered: set[str] | frozenset[str] = frozenset()) -> list[Finding]:
    out = leak_findings(rc.content, "content", round) + leak_findings(rc.reasoning, "reasoning", round)
    if not rc.calls and offered and not any(f.code == "harmony-leak" for f in out):
        # A call the engine's parser missed: "functions.get_weather:" left in the content.
        m = next((m for m in _CALL_IN_TEXT.finditer(rc.content or "") if m.group(1) in offered), None)
        if m:
            out.append(Finding("call-in-content", f"the content holds an unparsed call to {m.group(1)}: "
                               f"{_excerpt(rc.content, m.group(0))}", "content", "error", round))
    if rc.disconnected:
        out.append(Finding("stream-disconnected", f"mid-stream disconnect, no [DONE]: {rc.disconnected}", "stream", "error", round))
    nothing = not rc.content and not rc.reasoning and not rc.calls
    if rc.disconnected:
        pass
    elif rc.streamed and not rc.done_seen and not (nothing and rc.chunks == 0):
        out.append(Finding("no-done", "the stream ended without data: [DONE]", "stream", "error", round))
    if rc.finish_reason == "tool_calls" and rc.calls == 0:
        out.append(Finding("tool-calls-missing", 'finish_reason is "tool_calls" but no tool calls came back',
                           "tool_calls", "error", round))
    elif rc.calls and rc.finish_reason not in ("tool_calls", None) and not rc.disconnected:
        out.append(Finding("finish-reason-mismatch", f"{rc.calls} tool call(s) but finish_reason is {rc.finish_reason!r}",
                           "tool_calls", "warning", round))
    if nothing and not rc.disconnected and rc.finish_reason != "tool_calls":
        why = f"finish_reason {rc.finish_reason!r}"
        if rc.completion_tokens:
            why += f", yet usage counts {rc.completion_tokens} completion token(s)"
        if rc.streamed:
            if rc.chunks == 0:
                what = "no chunks at all" + ("" if rc.done_seen else " and no [DONE]")
            else:
                what = f"{rc.chunks} chunk(s), none with content, reasoning or tool calls"
            out.append(Finding("empty-stream", f"empty stream: {what} ({why})", "stream", "error", round))
        else:
            out.append(Finding("empty-response", f"no content, reasoning or tool calls ({why})", "content", "error", round))
    elif rc.reasoning and not rc.content and not rc.calls and not rc.disconnected and rc.finish_reason != "tool_calls":
        why = ("max_tokens ran out during reasoning" if rc.finish_reason == "length"
               else f"finish_reason {rc.finish_reason!r}")
        out.append(Finding("reasoning-only", f"only reasoning came back: no content and no tool calls ({why})",
                           "content", "error", round))
    return out

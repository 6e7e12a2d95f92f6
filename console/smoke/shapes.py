"""The ways gpt-oss tool calling is known to break, by name, and which one an answer shows.

A smoke check says *that* an answer is wrong; the shape says *how*, in the words of the public
report that first described it — "arguments streamed as reasoning_content", not only
"reasoning-only". Each detector cites its source. ``classify(answer)`` returns the shapes an
answer shows, most specific first; the raw replay (``console.smoke.replay``) then says whether
the model or the engine's parser produced it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from console.chat.inspect import HARMONY_MARKERS, harmony_leaks


@dataclass(frozen=True)
class Shape:
    code: str
    title: str  # the shape in words, as an operator would search for it
    source: str  # the public report(s) it comes from


@dataclass
class Answer:
    """One response as the checks see it (round 0 of a turn unless said otherwise)."""

    streamed: bool = False
    content: str = ""
    reasoning: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)  # (name, arguments as sent)
    finish_reason: str | None = None
    status: int | None = None  # HTTP status when the server answered with an error
    error: str | None = None
    offered: list[str] = field(default_factory=list)  # tool names offered
    due: str | None = None  # the tool the prompt asks for; None when no call is due
    due_params: list[str] = field(default_factory=list)  # its parameter names
    tool_choice: Any = "auto"
    round: int = 0
    broken: str | None = None  # the stream broke after the answer began
    findings: list[str] = field(default_factory=list)  # the inspector's finding codes


@dataclass(frozen=True)
class Hit:
    shape: Shape
    evidence: str

    def to_dict(self) -> dict[str, str]:
        return {"shape": self.shape.code, "title": self.shape.title, "source": self.shape.source,
                "evidence": self.evidence}


SHAPES: dict[str, Shape] = {s.code: s for s in (
    Shape("harmony-parse-error", "the engine's Harmony parser failed on the model's output",
          "vllm issues 22519, 27243 ('Unexpected token 200012 while expecting start token 200006'); "
          "openai/harmony PR 114 ('Unknown role: assistant<|channel|>commentary')"),
    Shape("tool-choice-unsupported", "tool_choice required / a named tool refused",
          "sglang issue 9980 ('build_ebnf not used with HarmonyParser')"),
    Shape("tool-result-rejected", "the request carrying the tool result was refused",
          "vllm issue 23567 (multi-turn header errors)"),
    Shape("channel-in-tool-name", "the channel glued onto the tool name (name<|channel|>commentary)",
          "vllm issue 32587, PR 35906; ollama issue 11704"),
    Shape("constrain-in-tool-name", "<|constrain|>json taken as the recipient", "vllm PR 35906"),
    Shape("functions-prefix-kept", "the functions. namespace kept in the tool name",
          "cubist38/mlx-openai-server PR 51"),
    Shape("dotted-name-cut", "a dotted tool name cut to its last segment, then dropped as unknown",
          "sglang PR 15140"),
    Shape("space-in-tool-name", "a space in the tool name (to=functions.Web Search)", "LM Studio issue 876"),
    Shape("unknown-tool", "a call to a tool that was not offered",
          "sglang gpt_oss_detector drops them silently unless SGLANG_FORWARD_UNKNOWN_TOOLS"),
    Shape("raw-harmony-in-content", "raw Harmony returned as content",
          "TensorRT-LLM issue 9256"),
    Shape("header-words-in-content", "Harmony header words as text (commentary to=functions.x json{…})",
          "Rapid-MLX issue 480; waybarrios/vllm-mlx PR 562 ('assistantcode{…}')"),
    Shape("channel-words-in-content", "channel words glued to the text (analysis…assistantfinal…)",
          "sglang PR 9190, issue 9244"),
    Shape("call-as-content", "the call returned as content text with empty tool_calls", "vllm issue 22337"),
    Shape("arguments-in-reasoning", "arguments streamed as reasoning_content", "vllm PR 25514"),
    Shape("reasoning-only", "only reasoning came back when a call was due",
          "sglang PR 10576; vllm issue 24076"),
    Shape("content-dropped-with-tools", "content dropped when tools were offered but not needed (streaming)",
          "sglang PR 9657"),
    Shape("commentary-without-tools", "commentary-channel output with no tools offered",
          "vllm PR 23167"),
    Shape("empty-arguments", "a call with an empty string as arguments",
          "sigoden/aichat PR 1217; alibaba/rtp-llm PR 784"),
    Shape("non-object-arguments", "arguments that are JSON but not an object",
          "OpenAI chat API: arguments is a JSON object; SEMOSS PR 1605"),
    Shape("invalid-json-arguments", "arguments that are not JSON",
          "SGLang drops such calls silently (reference sglang-gpt-oss.md §6)"),
    Shape("finish-without-calls", 'finish_reason "tool_calls" with no tool calls', "sglang PR 10576"),
    Shape("answered-in-text", "the model answered in text instead of calling",
          "vllm PR 33306 (~85 % tool-call success without a grammar)"),
    Shape("unneeded-call", "a tool called when none was needed", "vllm PR 23167"),
    Shape("wrong-tool", "another offered tool called than the one asked for",
          "vllm PR 33306 (~85 % tool-call success without a grammar)"),
    Shape("empty-answer", "nothing came back: no content, reasoning or calls",
          "seen on llama-cpp-python 0.3.x (chatml-function-calling) for streamed tool calls, "
          "tests/test_smoke_llama.py"),
    Shape("stream-broken", "the stream broke off or never finished",
          "vllm PR 29972 ('Premature end of chunk coded message body')"),
)}

_PARSE_ERROR = re.compile(r"Unexpected token \d+ while expecting|HarmonyError|Unknown role|"
                          r"unexpected tokens remaining in message header", re.I)
_CHANNEL_NAME = re.compile(r"<\|channel\|>|(?<=[a-z_])(?:commentary|analysis|final)$")
_JSON_CALL = re.compile(r'"name"\s*:\s*"([^"]+)"\s*,\s*"(?:parameters|arguments)"\s*:')
_FUNCTIONS_CALL = re.compile(r"\bfunctions\.([A-Za-z_][\w.-]*)")


def _hit(code: str, evidence: str) -> Hit:
    return Hit(SHAPES[code], evidence)


def _excerpt(text: str, n: int = 80) -> str:
    t = " ".join((text or "").split())
    return repr(t if len(t) <= n else t[: n - 1] + "…")


def _errors(a: Answer) -> list[Hit]:
    if a.broken or "no-done" in a.findings:
        return [_hit("stream-broken", _excerpt(a.broken or "the stream ended without data: [DONE]"))]
    if not a.error:
        return []
    if a.round > 0 and a.status and a.status >= 400:  # the history with the tool result is what failed
        return [_hit("tool-result-rejected", f"HTTP {a.status} in round {a.round + 1}: {_excerpt(a.error)}")]
    if _PARSE_ERROR.search(a.error):
        return [_hit("harmony-parse-error", _excerpt(a.error, 120))]
    forced = a.tool_choice not in (None, "auto", "none")
    if forced and a.status and a.status >= 400:
        return [_hit("tool-choice-unsupported", f"HTTP {a.status} for tool_choice {json.dumps(a.tool_choice)}: "
                                                f"{_excerpt(a.error)}")]
    return []


def _names(a: Answer) -> list[Hit]:
    out = []
    offered = set(a.offered)
    if not offered:  # calls with no tools offered: commentary-without-tools says it
        return []
    for name, _args in a.calls:
        if name in offered:
            continue
        base = name.split("<|", 1)[0]
        if "<|constrain|>" in name or name.strip() in ("json", "<|constrain|>json"):
            out.append(_hit("constrain-in-tool-name", f"tool name {name!r}"))
        elif _CHANNEL_NAME.search(name) and (base in offered or not offered or "<|channel|>" in name):
            out.append(_hit("channel-in-tool-name", f"tool name {name!r}"))
        elif name.startswith("functions.") and name[len("functions."):] in offered:
            out.append(_hit("functions-prefix-kept", f"tool name {name!r}"))
        elif a.due and "." in a.due and name == a.due.rsplit(".", 1)[1]:
            out.append(_hit("dotted-name-cut", f"called {name!r}; {a.due!r} was offered"))
        elif " " in name.strip():
            out.append(_hit("space-in-tool-name", f"tool name {name!r}"))
        else:
            out.append(_hit("unknown-tool", f"called {name!r}; offered: {', '.join(a.offered) or 'none'}"))
    return out


def _arguments(a: Answer) -> list[Hit]:
    out = []
    for name, args in a.calls:
        if args is None or not args.strip():
            out.append(_hit("empty-arguments", f"{name}: arguments {args!r}"))
            continue
        try:
            value = json.loads(args)
        except ValueError:
            out.append(_hit("invalid-json-arguments", f"{name}: {_excerpt(args)}"))
            continue
        if not isinstance(value, dict):
            out.append(_hit("non-object-arguments", f"{name}: {type(value).__name__} {_excerpt(args)}"))
    return out


def _text(a: Answer) -> list[Hit]:
    out = []
    for where, text in (("content", a.content), ("reasoning", a.reasoning)):
        if not text:
            continue
        if any(m in text for m in HARMONY_MARKERS):
            if where == "content":
                out.append(_hit("raw-harmony-in-content", f"content {_excerpt(text)}"))
            continue  # markers in reasoning: the leak finding already names them
        leaks = harmony_leaks(text)
        header = [x for x in leaks if x.startswith("to=") or x.startswith("assistant") and x.endswith(("{", "["))
                  or x == "<channel> <content type>" or " " in x and x.endswith(("{", "["))]
        if where == "content" and (header or re.search(r"\b(?:commentary|analysis)\s+(?:json|code)\s?[{\[]", text)):
            out.append(_hit("header-words-in-content", f"content {_excerpt(text)}"))
        elif leaks:
            out.append(_hit("channel-words-in-content", f"{where} {_excerpt(text)} ({', '.join(leaks)})"))
    return out


def _missing(a: Answer) -> list[Hit]:
    """A call was due and none came: what came instead."""
    if not a.due or a.error:
        return []
    if a.calls:
        names = [n for n, _ in a.calls]
        if a.due not in names and all(n in a.offered for n in names):
            return [_hit("wrong-tool", f"called {', '.join(map(repr, names))}; {a.due!r} was asked for")]
        return []
    offered = set(a.offered)
    if a.due and "." in a.due:
        return [_hit("dotted-name-cut", f"no call came for {a.due!r} (a parser that cuts the name to "
                                        f"{a.due.rsplit('.', 1)[1]!r} finds no such tool and drops the call)")]
    m = _JSON_CALL.search(a.content or "")
    if m and m.group(1).split(".")[-1] in {o.split(".")[-1] for o in offered}:
        return [_hit("call-as-content", f"content {_excerpt(a.content)}")]
    m = next((m for m in _FUNCTIONS_CALL.finditer(a.content or "") if m.group(1) in offered), None)
    if m:
        return [_hit("call-as-content", f"content {_excerpt(a.content)}")]
    keys = [k for k in a.due_params if re.search(r'\{\s*"' + re.escape(k) + r'"\s*:', a.reasoning or "")]
    if keys:
        return [_hit("arguments-in-reasoning", f"reasoning ends {_excerpt((a.reasoning or '')[-80:])}")]
    if a.finish_reason == "tool_calls":
        return [_hit("finish-without-calls", "finish_reason 'tool_calls', no calls")]
    if a.reasoning and not (a.content or "").strip():
        return [_hit("reasoning-only", f"finish_reason {a.finish_reason!r}, reasoning {_excerpt(a.reasoning, 60)}")]
    if (a.content or "").strip():
        return [_hit("answered-in-text", f"content {_excerpt(a.content)}")]
    return [_hit("empty-answer", f"finish_reason {a.finish_reason!r}")]


def _unneeded(a: Answer) -> list[Hit]:
    """No call was due: content must come, and no calls."""
    if a.due or a.error:
        return []
    empty = not (a.content or "").strip()
    if not a.offered and a.calls:
        return [_hit("commentary-without-tools", f"a call to {a.calls[0][0]!r} with no tools offered")]
    if a.calls:
        return [_hit("unneeded-call", f"called {a.calls[0][0]!r}")]
    if empty and a.offered and a.streamed:
        return [_hit("content-dropped-with-tools", f"streamed, tools offered, no content "
                                                   f"(reasoning {'present' if a.reasoning else 'absent'})")]
    if empty and a.reasoning:
        return [_hit("reasoning-only", f"finish_reason {a.finish_reason!r}, reasoning {_excerpt(a.reasoning, 60)}")]
    return []


DETECTORS: tuple[Callable[[Answer], list[Hit]], ...] = (_errors, _names, _arguments, _text, _missing, _unneeded)


def classify(a: Answer) -> list[Hit]:
    """Every shape the answer shows, most specific first (empty for a clean answer)."""
    hits: list[Hit] = []
    for detect in DETECTORS:
        for h in detect(a):
            if all(h.shape.code != x.shape.code for x in hits):
                hits.append(h)
    return hits


def answer_from_turn(turn: Any, *, offered: list[str], due: str | None = None,
                     due_params: list[str] | None = None, tool_choice: Any = "auto", round: int = 0) -> Answer:
    """The answer of one round of a chat turn (``console.chat.session.TurnRecord``)."""
    ex = next((x for x in turn.exchanges if x.round == round), None)
    err = turn.error
    if ex is None:
        return Answer(error=err.message if err else None, status=err.status if err else None,
                      offered=list(offered), due=due, due_params=list(due_params or []), tool_choice=tool_choice,
                      round=round)
    return Answer(streamed=ex.streamed, content=ex.content, reasoning=ex.reasoning,
                  calls=[(c["name"], c["arguments"]) for c in ex.tool_calls], finish_reason=ex.finish_reason,
                  status=ex.status if ex.error else None, error=ex.error, offered=list(offered), due=due,
                  due_params=list(due_params or []), tool_choice=tool_choice, round=round, broken=ex.broken,
                  findings=[f.code for f in turn.findings if f.round == round])

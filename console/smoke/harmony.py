"""Harmony, gpt-oss's own message format, both ways: a prompt from an OpenAI chat request, and
the messages (and tool calls) in a raw completion.

Written from openai/harmony ``docs/format.md`` (the format, not the library: the ``openai-harmony``
package needs its tokenizer file, which a GPU box without internet does not have). The raw
replay (``console.smoke.replay``) sends ``render_prompt`` to an engine's raw completion route and
reads the answer with ``parse_completion``, to tell a model that did not call from a parser
that lost the call.

Standard library only.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

# Special tokens and their ids in o200k_harmony (docs/format.md "Special Tokens";
# src/tiktoken_ext/public_encodings.rs for <|endoftext|>).
SPECIAL_TOKENS: dict[str, int] = {
    "<|endoftext|>": 199999,
    "<|return|>": 200002,
    "<|constrain|>": 200003,
    "<|channel|>": 200005,
    "<|start|>": 200006,
    "<|end|>": 200007,
    "<|message|>": 200008,
    "<|call|>": 200012,
}
TOKEN_TEXT = {v: k for k, v in SPECIAL_TOKENS.items()}
# Tokens that end a message: <|end|> between messages, <|call|> and <|return|> end generation.
END_TOKENS = ("<|end|>", "<|call|>", "<|return|>")
STOP_IDS = {SPECIAL_TOKENS["<|call|>"], SPECIAL_TOKENS["<|return|>"], SPECIAL_TOKENS["<|endoftext|>"]}

IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
KNOWLEDGE_CUTOFF = "2024-06"


# ----------------------------------------------------------------------------- rendering


def render_prompt(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
                  reasoning_effort: str | None = "medium", date: str | None = "today") -> str:
    """The prompt gpt-oss's chat template makes of an OpenAI request, ending with ``<|start|>assistant``.

    System and developer messages of the request become the developer message's instructions;
    tools are declared in the ``functions`` namespace; the chain of thought of turns that
    ended in a final answer is dropped, that of the ongoing turn (tool rounds) is kept.
    ``date``: the "Current date" line ("today", a YYYY-MM-DD string, or None to leave it out).
    """
    messages = [m for m in messages or [] if isinstance(m, dict)]
    functions = [t["function"] for t in tools or [] if isinstance(t, dict) and (t.get("type") or "function") == "function"
                 and isinstance(t.get("function"), dict)]
    system = [IDENTITY, f"Knowledge cutoff: {KNOWLEDGE_CUTOFF}"]
    if date:
        system.append(f"Current date: {_dt.date.today().isoformat() if date == 'today' else date}")
    system.append("")
    system.append(f"Reasoning: {reasoning_effort or 'medium'}")
    system.append("")
    system.append("# Valid channels: analysis, commentary, final. Channel must be included for every message.")
    if functions:
        system.append("Calls to these tools must go to the commentary channel: 'functions'.")
    out = [_message("system", "\n".join(system))]

    instructions = "\n\n".join(_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    dev: list[str] = []
    if instructions:
        dev.append("# Instructions\n\n" + instructions)
    if functions:
        dev.append("# Tools\n\n## functions\n\nnamespace functions {\n\n"
                   + "".join(_render_function(f) for f in functions) + "} // namespace functions")
    if dev:
        out.append(_message("developer", "\n\n".join(dev)))

    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    names: dict[str, str] = {}  # call id → tool name, to name tool results
    for i, m in enumerate(messages):
        role = m.get("role")
        if role == "user":
            out.append(_message("user", _text(m.get("content"))))
        elif role == "assistant":
            reasoning = _text(m.get("reasoning_content") or m.get("reasoning"))
            calls = [c for c in m.get("tool_calls") or [] if isinstance(c, dict)] if isinstance(m.get("tool_calls"), list) else []
            if reasoning and (i > last_user or calls):
                out.append(_message("assistant", reasoning, channel="analysis"))
            content = _text(m.get("content"))
            if content:
                out.append(_message("assistant", content, channel="commentary" if calls else "final"))
            for c in calls:
                fn = c.get("function") if isinstance(c.get("function"), dict) else {}
                names[str(c.get("id") or "")] = str(fn.get("name") or "")
                args = fn.get("arguments")
                args = args if isinstance(args, str) else json.dumps(args or {})
                out.append(f"<|start|>assistant to=functions.{fn.get('name')}<|channel|>commentary "
                           f"<|constrain|>json<|message|>{args}<|call|>")
        elif role == "tool":
            name = m.get("name") or names.get(str(m.get("tool_call_id") or ""), "") or "tool"
            out.append(f"<|start|>functions.{name} to=assistant<|channel|>commentary<|message|>"
                       f"{_text(m.get('content'))}<|end|>")
    return "".join(out) + "<|start|>assistant"


def _message(role: str, content: str, *, channel: str | None = None) -> str:
    head = role + (f"<|channel|>{channel}" if channel else "")
    return f"<|start|>{head}<|message|>{content}<|end|>"


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _render_function(fn: dict[str, Any]) -> str:
    lines = [f"// {line}" for line in _text(fn.get("description")).splitlines()]
    params = fn.get("parameters") if isinstance(fn.get("parameters"), dict) else {}
    props = params.get("properties") if isinstance(params.get("properties"), dict) else {}
    if not props:
        lines.append(f"type {fn.get('name')} = () => any;")
    else:
        lines.append(f"type {fn.get('name')} = (_: {_ts_object(params)}) => any;")
    return "\n".join(lines) + "\n\n"


def _ts_object(schema: dict[str, Any]) -> str:
    req = schema.get("required")
    required = {r for r in req if isinstance(r, str)} if isinstance(req, list) else set()
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    rows = ["{"]
    for name, prop in props.items():
        prop = prop if isinstance(prop, dict) else {}
        rows += [f"// {line}" for line in str(prop.get("description") or "").splitlines()]
        row = f"{name}{'' if name in required else '?'}: {_ts_type(prop)},"
        if "default" in prop:
            d = prop["default"]
            row += f" // default: {d if 'enum' in prop and isinstance(d, str) else json.dumps(d)}"
        rows.append(row)
    rows.append("}")
    return "\n".join(rows)


def _ts_type(schema: dict[str, Any]) -> str:
    if "enum" in schema and isinstance(schema["enum"], list):
        return " | ".join(json.dumps(v) for v in schema["enum"])
    typ = schema.get("type")
    if isinstance(typ, list):
        return " | ".join(_ts_type({**schema, "type": t}) for t in typ if isinstance(t, str)) or "any"
    if typ == "string":
        return "string"
    if typ in ("number", "integer"):
        return "number"
    if typ == "boolean":
        return "boolean"
    if typ == "null":
        return "null"
    if typ == "array":
        item = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        inner = _ts_type(item) if item else "any"
        return f"({inner})[]" if " | " in inner else f"{inner}[]"
    if typ == "object" and isinstance(schema.get("properties"), dict) and schema["properties"]:
        return _ts_object(schema)
    return "any"


# ----------------------------------------------------------------------------- parsing


@dataclass
class RawMessage:
    """One message of a raw completion, as the model wrote its header and content."""

    role: str
    channel: str | None
    recipient: str | None
    content_type: str | None  # "<|constrain|>json", "json", "code", ...
    content: str
    end: str | None  # <|end|>, <|call|>, <|return|>, or None when the text stopped first


@dataclass
class RawCall:
    """A function call found in raw Harmony text, with what is wrong with it."""

    name: str  # the recipient without the "functions." namespace
    recipient: str
    arguments: str
    channel: str | None
    content_type: str | None
    end: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def well_formed(self) -> bool:
        return not self.problems


_SPLIT = re.compile(r"(<\|start\|>|<\|end\|>|<\|call\|>|<\|return\|>|<\|endoftext\|>)")


def parse_completion(text: str, role: str = "assistant") -> list[RawMessage]:
    """The messages in ``text`` — a completion that starts right after the prompt's
    ``<|start|>assistant`` (so its first header has no role), or whole rendered messages.

    Tolerant like harmony's non-strict parser: the recipient may sit in the role or the
    channel part of the header, ``<|constrain|>`` may touch the channel, and a header
    without ``<|message|>`` ends at the first space after the channel name.
    """
    out: list[RawMessage] = []
    header_role: str | None = role if not text.startswith("<|start|>") else None
    buf = ""
    for piece in _SPLIT.split(text or ""):
        if piece == "<|start|>":
            if buf.strip():
                out.append(_parse_message(buf, header_role, None))
            buf, header_role = "", None
        elif piece in END_TOKENS:
            out.append(_parse_message(buf, header_role, piece))
            buf, header_role = "", None
        elif piece == "<|endoftext|>":
            if buf.strip():
                out.append(_parse_message(buf, header_role, None))
            buf, header_role = "", None
        else:
            buf += piece
    if buf.strip():
        out.append(_parse_message(buf, header_role, None))
    return out


def _parse_message(segment: str, role: str | None, end: str | None) -> RawMessage:
    if "<|message|>" in segment:
        header, content = segment.split("<|message|>", 1)
    else:
        # No <|message|>: the header is the role/channel words, the rest is content.
        m = re.match(r"\s*((?:[^\s<]+)?(?:\s*to=\S+)?(?:<\|channel\|>[^\s<]+)?(?:\s*to=[^\s<]+)?)\s?(.*)\Z", segment, re.S)
        header, content = (m.group(1), m.group(2)) if m else ("", segment)
    if role is None:
        m = re.match(r"\s*([^\s<]+)", header)
        role = m.group(1) if m else ""
        header = header[m.end():] if m else header
        if role.startswith("to="):  # "<|start|>to=..." is not a role: keep it for the recipient
            header, role = role + " " + header, "assistant"
    recipient = None
    m = re.search(r"\bto=([^\s<]+)", header)
    if m:
        recipient = m.group(1)
        header = header[:m.start()] + " " + header[m.end():]
    channel = None
    m = re.search(r"<\|channel\|>\s*([^\s<]+)", header)
    if m:
        channel = m.group(1)
        header = header[:m.start()] + " " + header[m.end():]
    ctype = " ".join(header.replace("<|constrain|>", " <|constrain|>").split()) or None
    if ctype:
        ctype = ctype.replace("<|constrain|> ", "<|constrain|>")
    return RawMessage(role=role, channel=channel, recipient=recipient, content_type=ctype, content=content, end=end)


def find_calls(messages: list[RawMessage], offered: set[str] | None = None, *,
               end_unknown: bool = False) -> list[RawCall]:
    """Every message addressed to a function, with the ways it breaks the format.
    ``end_unknown``: the text stopped at an end token the engine did not show (a last call
    without one is then not faulted for it)."""
    calls = []
    for m in messages:
        if not m.recipient or m.role not in ("assistant", "") or m.recipient == "assistant":
            continue
        name = m.recipient[len("functions."):] if m.recipient.startswith("functions.") else m.recipient
        call = RawCall(name, m.recipient, m.content.strip(), m.channel, m.content_type, m.end)
        if m.channel != "commentary":
            call.problems.append(f"the call is on the {m.channel or 'missing'} channel; the system message "
                                 "sends function calls to commentary")
        if m.end == "<|return|>":
            call.problems.append("the call ends with <|return|> instead of <|call|>")
        elif m.end is None and not (end_unknown and m is messages[-1]):
            call.problems.append("the call has no end token (cut off, or max tokens reached)")
        try:
            value = json.loads(call.arguments) if call.arguments else None
        except ValueError:
            call.problems.append("the arguments are not valid JSON")
        else:
            if not isinstance(value, dict):
                call.problems.append("the arguments are not a JSON object")
        if offered is not None and name not in offered:
            call.problems.append(f"{name!r} was not offered")
        calls.append(call)
    return calls


def final_text(messages: list[RawMessage]) -> str:
    return "".join(m.content for m in messages if m.channel == "final")


def analysis_text(messages: list[RawMessage]) -> str:
    return "".join(m.content for m in messages if m.channel == "analysis" and not m.recipient)


def decode_specials(tokens: list[int], pieces: dict[int, str] | None = None) -> str:
    """Token ids as text: Harmony's special tokens by the table above, others from ``pieces``
    (or ``<id>`` placeholders)."""
    pieces = pieces or {}
    return "".join(TOKEN_TEXT.get(t) or pieces.get(t, f"<{t}>") for t in tokens)

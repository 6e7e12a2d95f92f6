"""The test server's "model" in Harmony: what it writes raw, and how a broken parser turns that
into the OpenAI answers engines were seen to give for gpt-oss (engines-and-scale.md §5, §7).

Written apart from ``console.smoke.harmony`` on purpose (the console's renderer and parser are
what the raw replay tests; a peer sharing their code would agree with their bugs). Standard
library only: the server is copied into a bare image.

Shapes come in two kinds:
- parser shapes: the raw text holds a well-formed call or answer (``/generate`` shows it), and
  only the OpenAI answer is wrong — the raw replay must say "parser";
- model shapes: the raw text itself is wrong (no call, ``<|return|>`` after the call, the call on
  the analysis channel, commentary with no tools) — the raw replay must say "model".
"""

from __future__ import annotations

import json
import re
from typing import Any

# fault name → (kind, the public report it reproduces)
SHAPE_FAULTS: dict[str, tuple[str, str]] = {
    "channel_words": ("parser", "analysis…assistantfinal… glued to content (sglang PR 9190)"),
    "channel_in_name": ("parser", "name<|channel|>commentary as the tool name (vllm issue 32587)"),
    "constrain_in_name": ("parser", "<|constrain|>json taken as the recipient (vllm PR 35906)"),
    "functions_prefix": ("parser", "functions. kept in the tool name (mlx-openai-server PR 51)"),
    "dotted_cut": ("parser", "dotted names cut to the last segment and dropped (sglang PR 15140)"),
    "raw_harmony_content": ("parser", "the raw call returned as content (TensorRT-LLM issue 9256)"),
    "header_words": ("parser", "commentary to=functions.x json{…} as content (Rapid-MLX issue 480)"),
    "call_as_content": ("parser", "the call as JSON content with empty tool_calls (vllm issue 22337)"),
    "args_in_reasoning": ("parser", "arguments appended to reasoning_content (vllm PR 25514)"),
    "content_dropped": ("parser", "streamed content dropped when tools are offered but unused (sglang PR 9657)"),
    "missing_constrain": ("parser", "a call without <|constrain|> dropped (sglang §7)"),
    "recipient_in_role": ("parser", "recipient in the role: raw call as content / dropped in streams (sglang §7)"),
    "empty_args": ("parser", "arguments sent as an empty string (aichat PR 1217)"),
    "non_object_args": ("parser", "arguments that are JSON but not an object"),
    "required_unsupported": ("parser", "tool_choice required/named refused (sglang issue 9980)"),
    "parse_error": ("parser", "HTTP 500 'Unexpected token 200012 while expecting start token 200006' (vllm 22519)"),
    "tool_result_rejected": ("parser", "the request with the tool result refused (vllm issue 23567)"),
    "no_call": ("model", "the model answers in text instead of calling"),
    "return_after_call": ("model", "the call ends with <|return|>: dropped silently (sglang §7)"),
    "call_on_analysis": ("model", "the call on the analysis channel: raw block as content (sglang §7)"),
    "commentary_no_tools": ("model", "commentary output with no tools offered (vllm PR 23167)"),
}

START, END, MESSAGE, CHANNEL, CONSTRAIN, RETURN, CALL = (
    "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>", "<|return|>", "<|call|>")
SPECIAL_IDS = {"<|return|>": 200002, "<|constrain|>": 200003, "<|channel|>": 200005, "<|start|>": 200006,
               "<|end|>": 200007, "<|message|>": 200008, "<|call|>": 200012}
_SPECIAL_RE = re.compile("|".join(re.escape(t) for t in SPECIAL_IDS))


# ----------------------------------------------------------------------------- the prompt


def parse_prompt(text: str) -> dict[str, Any] | None:
    """A Harmony prompt back into an OpenAI-style body (messages, tools, reasoning effort).
    None when the text is not a Harmony prompt."""
    if START not in text or not text.rstrip().endswith(f"{START}assistant"):
        return None
    body: dict[str, Any] = {"messages": [], "tools": []}
    for part in text.split(START)[1:]:
        if MESSAGE not in part:
            continue
        header, content = part.split(MESSAGE, 1)
        for stop in (END, CALL, RETURN):
            content = content.split(stop, 1)[0]
        role = header.split(CHANNEL, 1)[0].split(" ", 1)[0].strip()
        if role == "system":
            m = re.search(r"^Reasoning: (\w+)", content, re.M)
            if m:
                body["reasoning_effort"] = m.group(1)
        elif role == "developer":
            body["tools"] = _tools(content)
            instr = re.search(r"# Instructions\n\n(.*?)(?:\n\n# Tools|\Z)", content, re.S)
            if instr:
                body["messages"].append({"role": "system", "content": instr.group(1)})
        elif role == "user":
            body["messages"].append({"role": "user", "content": content})
        elif role == "assistant":
            m = re.search(r"to=functions\.(\S+?)(?:<|\s|$)", header)
            if m:
                body["messages"].append({"role": "assistant", "content": None, "tool_calls": [
                    {"id": f"call_{len(body['messages'])}", "type": "function",
                     "function": {"name": m.group(1), "arguments": content}}]})
            elif "final" in header:
                body["messages"].append({"role": "assistant", "content": content})
        elif role.startswith("functions."):
            body["messages"].append({"role": "tool", "name": role[len("functions."):], "content": content})
    return body


def _tools(developer: str) -> list[dict[str, Any]]:
    """The function declarations of a developer message (the TypeScript-like Harmony syntax)."""
    ns = re.search(r"namespace functions \{\n(.*)\n\} // namespace functions", developer, re.S)
    if not ns:
        return []
    tools = []
    lines = ns.group(1).split("\n")
    desc: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"type (\S+) = (\(\) => any;|\(_: \{)$", line)
        if line.startswith("//"):
            desc.append(line[2:].strip())
        elif m:
            props: dict[str, Any] = {}
            required: list[str] = []
            if m.group(2).startswith("(_"):
                depth = 1
                i += 1
                while i < len(lines) and depth:
                    row = lines[i]
                    if depth == 1:
                        p = re.match(r"(\w+)(\??): (.*?),?(?: // default: .*)?$", row)
                        if p and not row.startswith("//"):
                            props[p.group(1)] = _ts_schema(p.group(3).rstrip(","))
                            if not p.group(2):
                                required.append(p.group(1))
                    depth += row.count("{") - row.count("}")
                    i += 1
                i -= 1
            tools.append({"type": "function", "function": {
                "name": m.group(1), "description": " ".join(desc),
                "parameters": {"type": "object", "properties": props, "required": required}}})
            desc = []
        elif not line.strip():
            desc = []
        i += 1
    return tools


def _ts_schema(ts: str) -> dict[str, Any]:
    ts = ts.strip()
    if ts.startswith('"'):
        return {"type": "string", "enum": [json.loads(v.strip()) for v in ts.split("|")]}
    if ts.endswith("[]"):
        return {"type": "array", "items": _ts_schema(ts[:-2].strip("()"))}
    if ts == "{":
        return {"type": "object"}
    first = ts.split("|")[0].strip()
    # Harmony writes integers as "number"; the rule engine then derives whole numbers from the prompt
    return {"type": {"number": "integer", "boolean": "boolean", "string": "string"}.get(first, "string")}


def render_prompt(body: dict[str, Any]) -> str:
    """What a gpt-oss chat template makes of a request (for llama.cpp's /apply-template)."""
    tools = [t.get("function") or {} for t in body.get("tools") or []]
    sys = ("You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\n\n"
           f"Reasoning: {body.get('reasoning_effort') or 'medium'}\n\n"
           "# Valid channels: analysis, commentary, final. Channel must be included for every message.")
    if tools:
        sys += "\nCalls to these tools must go to the commentary channel: 'functions'."
    out = f"{START}system{MESSAGE}{sys}{END}"
    if tools:
        decl = []
        for f in tools:
            props = (f.get("parameters") or {}).get("properties") or {}
            req = set((f.get("parameters") or {}).get("required") or [])
            if props:
                rows = "\n".join(f"{k}{'' if k in req else '?'}: {_ts(v)}," for k, v in props.items())
                decl.append(f"// {f.get('description', '')}\ntype {f['name']} = (_: {{\n{rows}\n}}) => any;\n")
            else:
                decl.append(f"// {f.get('description', '')}\ntype {f['name']} = () => any;\n")
        out += (f"{START}developer{MESSAGE}# Tools\n\n## functions\n\nnamespace functions {{\n\n"
                + "\n".join(decl) + f"\n}} // namespace functions{END}")
    for m in body.get("messages") or []:
        if m.get("role") == "user":
            out += f"{START}user{MESSAGE}{m.get('content') or ''}{END}"
        elif m.get("role") == "assistant":
            for c in m.get("tool_calls") or []:
                fn = c.get("function") or {}
                out += (f"{START}assistant to=functions.{fn.get('name')}{CHANNEL}commentary {CONSTRAIN}json"
                        f"{MESSAGE}{fn.get('arguments')}{CALL}")
            if m.get("content"):
                out += f"{START}assistant{CHANNEL}final{MESSAGE}{m['content']}{END}"
        elif m.get("role") == "tool":
            out += f"{START}functions.{m.get('name') or 'tool'} to=assistant{CHANNEL}commentary{MESSAGE}{m.get('content')}{END}"
    return out + f"{START}assistant"


def _ts(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    t = schema.get("type")
    return {"integer": "number", "array": "any[]", "object": "object"}.get(t, t or "any")


# ----------------------------------------------------------------------------- the completion


def completion(plan: dict[str, Any], faults: set[str], offered: set[str]) -> str:
    """The raw Harmony the model writes for ``plan`` (one call at most: <|call|> stops generation)."""
    out = f"{CHANNEL}analysis{MESSAGE}{plan.get('reasoning') or ''}{END}"
    calls = plan.get("calls") or []
    if "no_call" in faults and calls:
        calls = []
        plan = {**plan, "content": "I cannot look that up right now."}
    if calls:
        c = calls[0]
        name, args = c["name"], json.dumps(c["arguments"], ensure_ascii=False)
        if "call_on_analysis" in faults:
            return out + f"{START}assistant{CHANNEL}analysis to=functions.{name} code{MESSAGE}{args}{CALL}"
        if "recipient_in_role" in faults:
            head = f"{START}assistant to=functions.{name}{CHANNEL}commentary {CONSTRAIN}json"
        elif "missing_constrain" in faults:
            head = f"{START}assistant{CHANNEL}commentary to=functions.{name} json"
        else:
            head = f"{START}assistant{CHANNEL}commentary to=functions.{name} {CONSTRAIN}json"
        return out + f"{head}{MESSAGE}{args}" + (RETURN if "return_after_call" in faults else CALL)
    content = plan.get("content") or ""
    channel = "commentary" if "commentary_no_tools" in faults and not offered else "final"
    return out + f"{START}assistant{CHANNEL}{channel}{MESSAGE}{content}{RETURN}"


def strip_specials(text: str) -> str:
    return _SPECIAL_RE.sub("", text)


# ----------------------------------------------------------------------------- the parser's mistakes


def bend(reasoning: str | None, content: str | None, calls: list[dict[str, Any]], faults: set[str], *,
         offered: set[str], streamed: bool) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """The OpenAI answer a broken parser makes of the model's output (calls as OpenAI entries)."""
    if calls and "no_call" in faults:
        calls, content = [], "I cannot look that up right now."
    if calls:
        fn = calls[0]["function"]
        name, args = fn["name"], fn["arguments"]
        raw_call = f"{CHANNEL}commentary to=functions.{name} {CONSTRAIN}json{MESSAGE}{args}{CALL}"
        if faults & {"return_after_call", "missing_constrain", "args_in_reasoning"} or (
                "recipient_in_role" in faults and streamed):
            if "args_in_reasoning" in faults:
                reasoning = (reasoning or "") + args
            return reasoning, None, []  # dropped silently
        if "call_on_analysis" in faults:  # sglang §7: streamed, the arguments join the reasoning
            if streamed:
                return (reasoning or "") + args, None, []
            return reasoning, f"{CHANNEL}analysis to=functions.{name} code{MESSAGE}{args}", []
        if "recipient_in_role" in faults or "raw_harmony_content" in faults:
            return reasoning, raw_call, []
        if "header_words" in faults:
            return reasoning, f"commentary to=functions.{name} json{args}", []
        if "call_as_content" in faults:
            return reasoning, json.dumps([{"name": name, "parameters": json.loads(args or "{}")}]), []
        if "dotted_cut" in faults and "." in name:
            if name.rsplit(".", 1)[1] not in offered:
                return reasoning, None, []  # the cut name is not offered: dropped
            fn["name"] = name.rsplit(".", 1)[1]
        if "channel_in_name" in faults:
            fn["name"] = name + "<|channel|>commentary"
        if "constrain_in_name" in faults:
            fn["name"] = "<|constrain|>json"
        if "functions_prefix" in faults:
            fn["name"] = "functions." + name
        if "empty_args" in faults:
            fn["arguments"] = ""
        if "non_object_args" in faults:
            value = json.loads(args or "{}")
            fn["arguments"] = json.dumps(next(iter(value.values()), []) if isinstance(value, dict) else value)
        return reasoning, content, calls
    if "commentary_no_tools" in faults and not offered:
        return reasoning, None, []
    if "content_dropped" in faults and offered and streamed:
        return reasoning, None, []
    if "channel_words" in faults and content:
        return None, f"analysis{reasoning or ''}assistantfinal{content}", []
    return reasoning, content, calls


def refusal(req: dict[str, Any], faults: set[str]) -> tuple[int, dict[str, Any]] | None:
    """An error answer instead of a completion, for the shapes that are errors."""
    choice = req.get("tool_choice")
    if "required_unsupported" in faults and req.get("tools") and (choice == "required" or isinstance(choice, dict)):
        return 400, {"object": "error", "type": "BadRequestError", "code": 400,
                     "message": "build_ebnf is not used with HarmonyParser: tool_choice "
                                f"{json.dumps(choice)} is not supported for gpt-oss"}
    if "parse_error" in faults:
        return 500, {"object": "error", "type": "InternalServerError", "code": 500,
                     "message": "Unexpected token 200012 while expecting start token 200006"}
    if "tool_result_rejected" in faults and any(m.get("role") == "tool" for m in req.get("messages") or []):
        return 400, {"object": "error", "type": "BadRequestError", "code": 400,
                     "message": "unexpected tokens remaining in message header: Some(\"to=functions.get_weather\")"}
    return None


# ----------------------------------------------------------------------------- token ids (llama.cpp flavour)


class Vocabulary:
    """Word-piece ids for the llama.cpp flavour: special tokens keep Harmony's ids, every other
    piece gets a stable id below them, so /completion can return tokens and /detokenize read them."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._pieces: dict[int, str] = {}

    def encode(self, text: str) -> list[int]:
        out = []
        pos = 0
        for m in _SPECIAL_RE.finditer(text):
            out += self._words(text[pos:m.start()])
            out.append(SPECIAL_IDS[m.group(0)])
            pos = m.end()
        return out + self._words(text[pos:])

    def _words(self, text: str) -> list[int]:
        ids = []
        for piece in re.findall(r"\S+\s*|\s+", text):
            if piece not in self._ids:
                self._ids[piece] = 1000 + len(self._ids)
                self._pieces[self._ids[piece]] = piece
            ids.append(self._ids[piece])
        return ids

    def decode(self, ids: list[int], special: bool = False) -> str:
        inverse = {v: k for k, v in SPECIAL_IDS.items()}
        return "".join(inverse.get(i, "") if i in inverse and special else self._pieces.get(i, "") for i in ids)

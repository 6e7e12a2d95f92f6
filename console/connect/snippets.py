"""Ready-to-paste snippets for one server: curl, Python (``openai``), ``.env``, agent JSON.

None of them carries the API key. ``KeyRef`` says where a snippet reads it: a file
(``$(cat FILE)``, ``Path(FILE).read_text()``) or an environment variable
(``$OPENAI_API_KEY``). curl gets its Authorization header on standard input
(``printf … | curl -H @-``), so the key is not on curl's command line where ``ps``
shows it; ``printf`` is a shell builtin, so it is on no command line at all.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass

KEY_ENV = "OPENAI_API_KEY"  # what the openai client and most agents read
NO_KEY = "not-needed"  # what an OpenAI client sends to a server without a key (it insists on one)

CHAT_PROMPT = "Say hello in five words."
TOOL_PROMPT = "What is the weather in Paris?"
MAX_TOKENS = 256
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City name, e.g. Paris"}},
            "required": ["location"],
        },
    },
}

# Snippet names.
CURL_CHAT, CURL_TOOL = "curl-chat", "curl-tool"
PYTHON_CHAT, PYTHON_TOOL = "python-chat", "python-tool"
ENV, AGENT = "env", "agent"


@dataclass(frozen=True)
class KeyRef:
    """Where a snippet reads the API key; ``needed=False`` for a server without one."""

    env: str = KEY_ENV
    file: str | None = None
    needed: bool = True

    def shell(self) -> str:
        """A shell word that expands to the key."""
        if self.file:
            return f'"$(cat {shlex.quote(self.file)})"'
        return f'"${self.env}"'

    def python(self) -> str:
        if not self.needed:
            return _py(NO_KEY)
        if self.file:
            return f"Path({_py(self.file)}).read_text().strip()"
        return f"os.environ[{_py(self.env)}]"

    def describe(self) -> str:
        if not self.needed:
            return "no API key (the server does not ask for one)"
        return f"the file {self.file}" if self.file else f"the environment variable {self.env}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Snippet:
    name: str
    title: str
    lang: str  # "sh", "python", "dotenv", "json"
    text: str
    runs: bool = False  # an executable request (curl/Python), checked against servers in the tests

    def to_dict(self) -> dict:
        return asdict(self)


def _py(text: str) -> str:
    """A Python string literal in double quotes (a JSON string is one)."""
    return json.dumps(text)


def _v1(base_url: str) -> str:
    return base_url.rstrip("/") + "/v1"


def chat_body(model: str) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": CHAT_PROMPT}], "max_tokens": MAX_TOKENS}


def tool_body(model: str) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": TOOL_PROMPT}], "tools": [WEATHER_TOOL],
            "tool_choice": "auto", "max_tokens": MAX_TOKENS}


def curl(base_url: str, body: dict, key: KeyRef) -> str:
    """``curl`` for POST /v1/chat/completions; ``--fail-with-body`` exits 22 on an HTTP error, body shown."""
    url = shlex.quote(_v1(base_url) + "/chat/completions")
    lines = []
    if key.needed:
        lines.append(f"printf 'Authorization: Bearer %s\\n' {key.shell()} |")
        lines.append(f"  curl -sS --fail-with-body {url} -H @- \\")
    else:
        lines.append(f"curl -sS --fail-with-body {url} \\")
    lines.append("  -H 'Content-Type: application/json' \\")
    lines.append(f"  -d {shlex.quote(json.dumps(body))}")
    return "\n".join(lines)


def _python_head(base_url: str, key: KeyRef) -> list[str]:
    imports = ["import json"]
    if key.needed and key.file:
        imports.append("from pathlib import Path")
    elif key.needed:
        imports.append("import os")
    imports += ["", "from openai import OpenAI", ""]
    return imports + [f"client = OpenAI(base_url={_py(_v1(base_url))}, api_key={key.python()})"]


def python_chat(base_url: str, model: str, key: KeyRef) -> str:
    return "\n".join(_python_head(base_url, key) + [
        "reply = client.chat.completions.create(",
        f"    model={_py(model)},",
        f"    messages=[{{\"role\": \"user\", \"content\": {_py(CHAT_PROMPT)}}}],",
        f"    max_tokens={MAX_TOKENS},",
        ")",
        "message = reply.choices[0].message",
        "# gpt-oss thinks first: SGLang returns the thinking as reasoning_content",
        "print(json.dumps({\"reasoning\": getattr(message, \"reasoning_content\", None), \"content\": message.content}))",
    ])


def python_tool(base_url: str, model: str, key: KeyRef) -> str:
    return "\n".join(_python_head(base_url, key) + [
        f"tools = [{json.dumps(WEATHER_TOOL)}]",
        "reply = client.chat.completions.create(",
        f"    model={_py(model)},",
        f"    messages=[{{\"role\": \"user\", \"content\": {_py(TOOL_PROMPT)}}}],",
        "    tools=tools,",
        "    tool_choice=\"auto\",",
        f"    max_tokens={MAX_TOKENS},",
        ")",
        "for call in reply.choices[0].message.tool_calls or []:",
        "    print(json.dumps({\"name\": call.function.name, \"arguments\": json.loads(call.function.arguments)}))",
    ])


def env_values(base_url: str, model: str) -> dict[str, str]:
    """The ``.env`` keys (besides the key): an agent's ``LLM_*`` and ``openai``-compatible tools' ``OPENAI_*``."""
    v1 = _v1(base_url)
    return {"LLM_BASE_URL": v1, "OPENAI_BASE_URL": v1, "LLM_MODEL": model}


def env_text(base_url: str, model: str, key: KeyRef) -> str:
    lines = [f"{k}={v}" for k, v in env_values(base_url, model).items()]
    if not key.needed:
        lines.append(f"{KEY_ENV}={NO_KEY}")
    else:
        source = f'"$(cat {shlex.quote(key.file)})"' if key.file else f'"${key.env}"'
        lines += [f"# {KEY_ENV} is not printed: `gpt-oss-console connect --write-env .env` writes it (0600),",
                  f"# or in a shell: export {KEY_ENV}={source}"]
    return "\n".join(lines)


def agent_config(base_url: str, model: str, key: KeyRef) -> dict:
    """The JSON an agent's LLM block takes: where, which model, and where its key comes from."""
    return {"llm": {"provider": "openai", "base_url": _v1(base_url), "model": model,
                    "api_key_env": KEY_ENV if key.needed else None}}


def all_snippets(base_url: str, model: str, key: KeyRef) -> list[Snippet]:
    return [
        Snippet(CURL_CHAT, "curl: a chat", "sh", curl(base_url, chat_body(model), key), runs=True),
        Snippet(CURL_TOOL, "curl: a tool call", "sh", curl(base_url, tool_body(model), key), runs=True),
        Snippet(PYTHON_CHAT, "Python (openai): a chat", "python", python_chat(base_url, model, key), runs=True),
        Snippet(PYTHON_TOOL, "Python (openai): a tool call", "python", python_tool(base_url, model, key), runs=True),
        Snippet(ENV, ".env for an agent / openai-compatible tools", "dotenv", env_text(base_url, model, key)),
        Snippet(AGENT, "agent JSON", "json", json.dumps(agent_config(base_url, model, key), indent=2)),
    ]

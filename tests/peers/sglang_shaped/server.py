"""An HTTP server shaped like SGLang serving gpt-oss, for tests. Standard library only.

It is copied into a bare Debian + python3 image (the fake ``sglang.launch_server``
runs it), so nothing here may import outside the stdlib.

What it reproduces (see shared/reference/sglang-gpt-oss.md §3 and §6):
- ``/health`` 503 while starting, 200 when ready; ``/health_generate``; ``/v1/models``
  with ``max_model_len``; ``/server_info`` + ``/get_server_info``; ``/model_info`` +
  ``/get_model_info``; ``/flush_cache``; ``/metrics`` with SGLang's names and labels.
- ``/v1/chat/completions``: ``reasoning_content`` deltas, then ``content``; tool calls
  arrive whole in one delta each with ``finish_reason: "tool_calls"``; parallel calls;
  ``usage`` with ``prompt_tokens_details.cached_tokens`` from a simulated prefix cache.
- ``--api-key``: 401 ``{"error": "Unauthorized"}`` on API routes; /health* and /metrics open.

Answers are deterministic: a small rule engine picks the offered tool whose name and
description best match the last user message and derives arguments from its JSON
schema and the prompt; after tool results it answers in content quoting them.

Faults (server-wide via ``faults=``/``--fault``, or per request via the ``X-Fault``
header, a ``+fault`` suffix on the model name, or a ``/fault/<name>[,<name>]/`` path
prefix before ``/v1``): see ``FAULTS``. Server-wide faults hit a chosen share of requests
(``fault_rate``, drawn from ``random.Random(seed)``: the same requests every run); per-request
faults always apply. The gpt-oss failure shapes (``harmony_model.SHAPE_FAULTS``) exist at the
raw-text level too: ``/generate`` given a Harmony prompt answers with the Harmony the "model"
wrote, so a raw replay can tell the model's faults from the parser's.

``flavor`` makes the same server answer like another engine's raw routes: ``vllm``
(``/version``, ``/v1/completions`` with ``skip_special_tokens``) or ``llama.cpp`` (``/props``,
``/apply-template``, ``/completion`` with token ids, ``/detokenize``) instead of SGLang's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable

from . import harmony_model as hm

FAULTS = {
    "leak_content": "Harmony markers in content",
    "leak_reasoning": "Harmony markers in reasoning_content",
    "leak_arguments": "Harmony markers inside tool-call arguments",
    "invalid_json_args": "tool-call arguments that are not JSON",
    "unknown_tool": "a call to a tool that was not offered",
    "tool_calls_missing": 'finish_reason "tool_calls" with no tool calls',
    "disconnect_midstream": "the connection closes mid-stream (no [DONE], broken chunked body)",
    "no_done": "the stream ends cleanly but never sends data: [DONE]",
    "empty_stream": "a stream with no chunks at all, only [DONE]",
    "slow_first_token": "the first token comes after slow_first_token_s (default 3 s)",
    "reasoning_only": "only reasoning_content, never content (vLLM #24076 shape)",
    "refuse_tool_choice": 'HTTP 400 for tool_choice "required" or a named tool (as older engines answered)',
    "reject_extras": "HTTP 400 for reasoning_effort / stream_options, like a strict OpenAI-compatible server",
    **{name: f"{kind} shape: {what}" for name, (kind, what) in hm.SHAPE_FAULTS.items()},
}
FLAVORS = ("sglang", "vllm", "llama.cpp")

MAX_MODEL_LEN = 131072
_WORD = re.compile(r"\S+\s*|\s+")
_READY_LINE = "The server is fired up and ready to roll!"

# ----------------------------------------------------------------------------- tokens


def tokenize(text: str) -> list[str]:
    """Whitespace-ish tokens: each word keeps its trailing space, so ''.join() round-trips."""
    return _WORD.findall(text or "")


def _prompt_tokens(body: dict[str, Any]) -> list[str]:
    """A stable token sequence for a request's prompt (for usage and the prefix cache)."""
    toks: list[str] = []
    if body.get("tools"):
        toks += tokenize(json.dumps(body["tools"], sort_keys=True))
    for m in body.get("messages") or []:
        toks.append(f"<|start|>{m.get('role')}")
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        toks += tokenize(content or "")
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function") or {}
            toks += tokenize(f"{fn.get('name')} {fn.get('arguments')}")
        toks.append("<|end|>")
    return toks


def _common_prefix(a: list[str], b: list[str]) -> int:
    """Length of the shared prefix, by binary search on slice equality (C-speed compares)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class PrefixCache:
    """Longest shared prefix with any earlier prompt, like a radix cache reports."""

    def __init__(self, capacity: int = 16):  # recent prompts only: enough for one conversation at a time
        self._prompts: list[list[str]] = []
        self._cap = capacity
        self._lock = threading.Lock()

    def lookup_and_insert(self, toks: list[str]) -> int:
        with self._lock:
            best = 0
            for p in self._prompts:
                best = max(best, _common_prefix(p, toks))
            self._prompts.append(toks)
            del self._prompts[: -self._cap]
            return best

    def clear(self) -> None:
        with self._lock:
            self._prompts.clear()


# ----------------------------------------------------------------------------- metrics

_TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 25.0, 30.0)
_ITL_BUCKETS = (0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0)
_E2E_BUCKETS = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 150.0, 200.0, 250.0, 300.0)


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]):
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.count = 0
        self.sum = 0.0

    def observe(self, v: float) -> None:
        self.count += 1
        self.sum += v
        for i, b in enumerate(self.buckets):
            if v <= b:
                self.counts[i] += 1


class Metrics:
    """The gauges, counters and histograms SGLang exports with ``--enable-metrics``."""

    def __init__(self, model_name: str, max_total_tokens: int = 1_000_000):
        self.lock = threading.Lock()
        self.labels = f'model_name="{model_name}",tp_rank="0",pp_rank="0"'
        self.running = 0
        self.queued = 0
        self.used_tokens = 0
        self.max_total_tokens = max_total_tokens
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.cached_tokens = 0
        self.requests = 0
        self.aborted = 0
        self.last_throughput = 0.0
        self.ttft = _Histogram(_TTFT_BUCKETS)
        self.itl = _Histogram(_ITL_BUCKETS)
        self.e2e = _Histogram(_E2E_BUCKETS)

    def render(self) -> str:
        L = self.labels
        out: list[str] = []

        def gauge(name: str, help_: str, value: float) -> None:
            out.append(f"# HELP sglang:{name} {help_}\n# TYPE sglang:{name} gauge\nsglang:{name}{{{L}}} {float(value)}")

        def counter(name: str, help_: str, value: float) -> None:
            out.append(f"# HELP sglang:{name} {help_}\n# TYPE sglang:{name} counter\nsglang:{name}{{{L}}} {float(value)}")

        def hist(name: str, help_: str, h: _Histogram) -> None:
            lines = [f"# HELP sglang:{name} {help_}", f"# TYPE sglang:{name} histogram"]
            for b, c in zip(h.buckets, h.counts):
                lines.append(f'sglang:{name}_bucket{{{L},le="{b}"}} {float(c)}')
            lines.append(f'sglang:{name}_bucket{{{L},le="+Inf"}} {float(h.count)}')
            lines.append(f"sglang:{name}_count{{{L}}} {float(h.count)}")
            lines.append(f"sglang:{name}_sum{{{L}}} {h.sum}")
            out.append("\n".join(lines))

        with self.lock:
            total = self.prompt_tokens or 1
            gauge("num_running_reqs", "The number of running requests.", self.running)
            gauge("num_queue_reqs", "The number of requests in the waiting queue.", self.queued)
            gauge("num_used_tokens", "The number of used tokens.", self.used_tokens)
            gauge("token_usage", "The token usage.", self.used_tokens / self.max_total_tokens)
            gauge("swa_token_usage", "The token usage for SWA layers.", self.used_tokens / self.max_total_tokens / 2)
            gauge("gen_throughput", "The generation throughput (token/s).", self.last_throughput)
            gauge("cache_hit_rate", "The prefix cache hit rate.", self.cached_tokens / total)
            gauge("max_total_num_tokens", "Maximum total number of tokens in the KV cache pool.", self.max_total_tokens)
            counter("prompt_tokens_total", "Number of prefill tokens processed.", self.prompt_tokens)
            counter("generation_tokens_total", "Number of generation tokens processed.", self.generation_tokens)
            counter("cached_tokens_total", "Number of cached prompt tokens.", self.cached_tokens)
            counter("num_requests_total", "Number of requests processed.", self.requests)
            counter("num_aborted_requests_total", "Number of requests aborted.", self.aborted)
            hist("time_to_first_token_seconds", "Histogram of time to first token in seconds.", self.ttft)
            hist("inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", self.itl)
            hist("e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", self.e2e)
        return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- rule engine

_STOP = set(
    "a an the is are was be of to in on at for and or with what whats what's how please me my i you your it "
    "this that get tell show give do does can could would will use call now current".split()
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_EXPR = re.compile(r"[-+*/%^().\d\s]*\d[-+*/%^().\d\s]*")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", (text or "").lower()) if w not in _STOP and len(w) > 1}


def _tool_words(tool: dict[str, Any]) -> set[str]:
    fn = tool.get("function") or {}
    words = _words(fn.get("name", "").replace("_", " ")) | _words(fn.get("description", ""))
    # A few obvious synonyms, so "temperature" finds get_weather and "time" finds a clock.
    extra = {"weather": {"temperature", "forecast", "rain", "sunny", "hot", "cold"},
             "clock": {"time", "date", "today", "hour"}, "time": {"clock", "date", "hour"},
             "calculator": {"calculate", "compute", "sum", "plus", "times", "multiply", "math"},
             "calculate": {"calculator", "compute", "sum", "plus", "times", "multiply", "math"}}
    for w in list(words):
        words |= extra.get(w, set())
    return words


def _places(text: str) -> list[str]:
    """Capitalised words after 'in'/'for'/'and'/',' – the cities a weather prompt names."""
    found = re.findall(r"(?:\bin|\bfor|\band|,|\bat)\s+([A-Z][a-zA-Z]+(?:\s[A-Z][a-zA-Z]+)?)", text or "")
    seen: list[str] = []
    for p in found:
        if p not in seen:
            seen.append(p)
    return seen


def _value_for(name: str, schema: dict[str, Any], prompt: str, place: str | None) -> Any:
    """A plausible argument value for one property, derived from the prompt."""
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "string")
    if "enum" in schema:
        low = prompt.lower()
        for v in schema["enum"]:
            if str(v).lower() in low:
                return v
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    if typ == "object":
        return _args_for(schema, prompt, place)
    if typ == "array":
        item = schema.get("items") or {"type": "string"}
        if item.get("type", "string") == "string" and "enum" not in item:
            words = sorted(_words(prompt))[:2] or ["item"]
            return words
        return [_value_for(name, item, prompt, place)]
    if typ in ("number", "integer"):
        nums = _NUMBER.findall(prompt)
        v = float(nums[0]) if nums else 1
        return int(v) if typ == "integer" else v
    if typ == "boolean":
        return False
    lname = name.lower()
    if lname in ("location", "city", "place", "where") and place:
        return place
    if lname in ("expression", "expr", "formula"):
        m = max(_EXPR.findall(prompt), key=lambda s: len(s.strip()), default="").strip()
        return m or "1+1"
    if lname in ("timezone", "tz"):
        m = re.search(r"\b([A-Z][a-z]+/[A-Z][A-Za-z_]+|UTC)\b", prompt)
        return m.group(1) if m else "UTC"
    if place:
        return place
    words = [w for w in re.findall(r"[A-Za-z0-9]+", prompt) if w.lower() not in _STOP]
    return " ".join(words[-3:]) or "test"


def _args_for(schema: dict[str, Any], prompt: str, place: str | None) -> dict[str, Any]:
    props = schema.get("properties") or {}
    required = schema.get("required") or list(props)
    return {k: _value_for(k, props[k], prompt, place) for k in props if k in required}


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                c = " ".join(p.get("text", "") for p in c if isinstance(p, dict))
            return c or ""
    return ""


def plan_answer(body: dict[str, Any]) -> dict[str, Any]:
    """Decide what the model "says": reasoning, content and/or tool calls."""
    messages = body.get("messages") or []
    tools = [t for t in body.get("tools") or [] if t.get("type", "function") == "function"]
    choice = body.get("tool_choice", "auto" if tools else "none")
    prompt = _last_user_text(messages)
    last_role = messages[-1].get("role") if messages else "user"
    effort = body.get("reasoning_effort") or "medium"

    # Long outputs for benchmarks: "stream 20000 tokens" or ignore_eos + max_tokens.
    m = re.search(r"\b(\d{2,7})\s+tokens\b", prompt)
    want = int(m.group(1)) if m else None
    if body.get("ignore_eos") and body.get("max_tokens"):
        want = int(body["max_tokens"])
    if want:
        text = "".join(f"w{i % 1000} " for i in range(want))
        return {"reasoning": "Long output requested.", "content": text, "calls": []}

    if last_role == "tool":
        results = []
        for msg in reversed(messages):
            if msg.get("role") != "tool":
                break
            results.append(str(msg.get("content")))
        results.reverse()
        reasoning = f"I have {len(results)} tool result(s). I will summarise them for the user."
        content = "Here is what the tools returned: " + "; ".join(results) + "."
        return {"reasoning": reasoning, "content": content, "calls": []}

    calls: list[dict[str, Any]] = []
    if tools and choice != "none":
        named = None
        if isinstance(choice, dict):
            named = (choice.get("function") or {}).get("name")
        pw = _words(prompt)
        if named:
            picked = [t for t in tools if t["function"]["name"] == named] or [tools[0]]
        else:
            scored = sorted(((len(pw & _tool_words(t)), i, t) for i, t in enumerate(tools)), key=lambda x: (-x[0], x[1]))
            picked = [t for s, _, t in scored if s > 0 and s == scored[0][0]] if scored[0][0] > 0 else []
            # "weather in Paris and the time": a second tool with a strong match joins in.
            picked += [t for s, _, t in scored if s > 0 and t not in picked and s >= 2]
            if not picked and choice == "required":
                picked = [scored[0][2]]
            if body.get("parallel_tool_calls") is False:
                picked = picked[:1]
        for tool in picked:
            fn = tool["function"]
            params = fn.get("parameters") or {"type": "object", "properties": {}}
            props = params.get("properties") or {}
            places = _places(prompt) if any(k in props for k in ("location", "city", "place")) else []
            if len(places) > 1 and body.get("parallel_tool_calls") is not False and not named:
                for p in places:
                    calls.append({"name": fn["name"], "arguments": _args_for(params, prompt, p)})
            else:
                calls.append({"name": fn["name"], "arguments": _args_for(params, prompt, places[0] if places else None)})

    if calls:
        names = ", ".join(c["name"] for c in calls)
        reasoning = f"The user asks: {prompt.strip()[:200]}. I should call {names}."
        return {"reasoning": _pad_reasoning(reasoning, effort), "content": None, "calls": calls}
    reasoning = f"The user says: {prompt.strip()[:200]}. A short direct answer is enough."
    content = f"You said: {prompt.strip()}" if prompt.strip() else "Hello! How can I help?"
    return {"reasoning": _pad_reasoning(reasoning, effort), "content": content, "calls": []}


def _pad_reasoning(text: str, effort: str) -> str:
    extra = {"low": "", "medium": " Let me double-check the request.", "high": " Let me double-check the request. Every detail matters, so I will verify each step carefully before answering."}
    return text + extra.get(effort, "")


# ----------------------------------------------------------------------------- server


class SGLangShapedServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, *, served_model_name: str, api_key: str | None, startup_delay_s: float,
                 faults: Iterable[str], first_token_delay_s: float, token_interval_s: float,
                 metrics: bool, slow_first_token_s: float = 3.0, cache_report: bool = True,
                 fault_rate: float = 1.0, seed: int = 0, flavor: str = "sglang"):
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(FAULTS)}")
        if flavor not in FLAVORS:
            raise ValueError(f"unknown flavor {flavor!r}; known: {', '.join(FLAVORS)}")
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be within 0..1, got {fault_rate}")
        super().__init__(addr, _Handler)
        self.fault_rate = fault_rate
        self.flavor = flavor
        self._rng = random.Random(seed)
        self.faulted = 0  # chat requests the server-wide faults hit (for tests)
        self.vocab = hm.Vocabulary()
        self.served_model_name = served_model_name
        self.api_key = api_key
        self.faults = frozenset(faults)
        self.first_token_delay_s = first_token_delay_s
        self.token_interval_s = token_interval_s
        self.slow_first_token_s = slow_first_token_s
        self.metrics_enabled = metrics
        self.cache_report = cache_report
        self.started_at = time.monotonic()
        self.ready_at = self.started_at + startup_delay_s
        self.metrics = Metrics(served_model_name)
        self.cache = PrefixCache()
        self.requests_seen: list[dict[str, Any]] = []  # chat request bodies, for tests
        self.streams_open = 0  # chat streams being written now (tests: a cancelled client closes them)
        self.streams_cut = 0  # chat streams the client closed before their end
        self._seq = 0
        self._seq_lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return time.monotonic() >= self.ready_at

    def next_id(self) -> int:
        with self._seq_lock:
            self._seq += 1
            return self._seq

    def draw_faults(self) -> set[str]:
        """The server-wide faults for one request: all of them at rate 1, else a seeded draw."""
        if not self.faults:
            return set()
        with self._seq_lock:
            hit = self.fault_rate >= 1.0 or self._rng.random() < self.fault_rate
            self.faulted += hit
        return set(self.faults) if hit else set()


class _Disconnect(Exception):
    pass


# Routes beyond /v1/models and /v1/chat/completions, per engine the server answers like.
_FLAVOR_ROUTES = {
    "sglang": {"/server_info", "/get_server_info", "/model_info", "/get_model_info", "/flush_cache", "/generate"},
    "vllm": {"/version", "/v1/completions"},
    "llama.cpp": {"/props", "/apply-template", "/completion", "/detokenize"},
}


class _Handler(BaseHTTPRequestHandler):
    server: SGLangShapedServer
    protocol_version = "HTTP/1.1"
    server_version = "uvicorn"
    sys_version = ""

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet, like uvicorn at warning level
        pass

    # -- plumbing

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, status: int, text: str, ctype: str = "text/plain; charset=utf-8") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _split_path(self) -> tuple[str, set[str]]:
        """Strip a ``/fault/<a,b>`` prefix and the query string; return (path, faults)."""
        path = self.path.split("?", 1)[0]
        faults: set[str] = set()
        m = re.match(r"^/fault/([A-Za-z_,]+)(/.*)$", path)
        if m:
            faults |= {f for f in m.group(1).split(",") if f}
            path = m.group(2)
        hdr = self.headers.get("X-Fault")
        if hdr:
            faults |= {f.strip() for f in hdr.split(",") if f.strip()}
        return path, faults

    def _authorized(self) -> bool:
        key = self.server.api_key
        if not key:
            return True
        return self.headers.get("Authorization", "") == f"Bearer {key}"

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # -- routes

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        path, faults = self._split_path()
        body = self._read_body() if method == "POST" else b""
        srv = self.server
        if path in ("/health", "/health_generate"):
            if not srv.ready:
                return self._send_text(503, "")
            return self._send_text(200, "")
        if path == "/metrics":
            if not srv.metrics_enabled:
                return self._send_json(404, {"detail": "Not Found"})
            return self._send_text(200, srv.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
        api = {"/v1/models", "/v1/chat/completions", *_FLAVOR_ROUTES[srv.flavor]}
        if path not in api and not path.startswith("/v1/models/"):
            return self._send_json(404, {"detail": "Not Found"})
        if not self._authorized():
            return self._send_json(401, {"error": "Unauthorized"})
        if not srv.ready:
            return self._send_json(503, {"object": "error", "message": "The server is starting.", "type": "ServiceUnavailable", "code": 503})
        if path == "/v1/models" or path.startswith("/v1/models/"):
            owner = {"sglang": "sglang", "vllm": "vllm", "llama.cpp": "llamacpp"}[srv.flavor]
            card = {"id": srv.served_model_name, "object": "model", "created": int(time.time()), "owned_by": owner,
                    "root": srv.served_model_name, "max_model_len": MAX_MODEL_LEN}
            if path == "/v1/models":
                return self._send_json(200, {"object": "list", "data": [card]})
            return self._send_json(200, card)
        if path in ("/server_info", "/get_server_info"):
            return self._send_json(200, self._server_info())
        if path in ("/model_info", "/get_model_info"):
            return self._send_json(200, {"model_path": srv.served_model_name, "tokenizer_path": srv.served_model_name,
                                         "is_generation": True, "preferred_sampling_params": None})
        if path == "/version":  # vLLM
            return self._send_json(200, {"version": "0.11.0-shaped"})
        if path == "/props":  # llama.cpp's llama-server
            return self._send_json(200, {"build_info": "b6000-shaped", "model_path": f"/models/{srv.served_model_name}.gguf",
                                         "total_slots": 1, "default_generation_settings": {"n_ctx": MAX_MODEL_LEN},
                                         "chat_template": "{# gpt-oss #}"})
        if path == "/flush_cache":
            srv.cache.clear()
            return self._send_text(200, "Cache flushed.\nPlease check backend logs for more details. (When there are running or waiting requests, the operation will not be performed.)\n")
        if method != "POST":
            return self._send_json(405, {"detail": "Method Not Allowed"})
        if path == "/generate":
            return self._generate(body, faults)
        if path in ("/v1/completions", "/completion", "/apply-template", "/detokenize"):
            return self._flavor_route(path, body, faults)
        try:
            req = json.loads(body or b"{}")
            if not isinstance(req, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as e:
            return self._send_json(400, {"object": "error", "message": f"Invalid request body: {e}", "type": "BadRequestError", "code": 400})
        model = str(req.get("model") or "")
        if "+" in model:
            model, _, extra = model.partition("+")
            faults |= {f for f in extra.split(",") if f}
        unknown = faults - set(FAULTS)
        if unknown:
            return self._send_json(400, {"object": "error", "message": f"unknown fault(s): {sorted(unknown)}", "type": "BadRequestError", "code": 400})
        if not req.get("messages"):
            return self._send_json(400, {"object": "error", "message": "messages must not be empty", "type": "BadRequestError", "code": 400})
        srv.requests_seen.append(req)
        faults |= srv.draw_faults()
        refused = hm.refusal(req, faults)
        if refused:
            return self._send_json(*refused)
        extra = next((k for k in ("reasoning_effort", "stream_options") if k in req), None)
        if "reject_extras" in faults and extra:
            return self._send_json(400, {"error": {"message": f"Unrecognized request argument supplied: {extra}",
                                                   "type": "invalid_request_error", "param": extra, "code": None}})
        choice = req.get("tool_choice")
        if "refuse_tool_choice" in faults and req.get("tools") and (choice == "required" or isinstance(choice, dict)):
            return self._send_json(400, {"object": "error", "type": "BadRequestError", "code": 400,
                                         "message": f"tool_choice {json.dumps(choice)} is not supported; use \"auto\" or \"none\""})
        self._chat(req, faults)

    def _server_info(self) -> dict[str, Any]:
        srv = self.server
        return {
            "model_path": srv.served_model_name, "served_model_name": srv.served_model_name,
            "tp_size": 1, "dp_size": 1, "context_length": MAX_MODEL_LEN, "attention_backend": "fa3",
            "reasoning_parser": "gpt-oss", "tool_call_parser": "gpt-oss", "enable_metrics": srv.metrics_enabled,
            "enable_cache_report": srv.cache_report, "mem_fraction_static": 0.85, "chunked_prefill_size": 8192,
            "max_total_num_tokens": srv.metrics.max_total_tokens, "version": "0.5.4-shaped",
            "internal_states": [{"last_gen_throughput": srv.metrics.last_throughput}],
        }

    # -- native API

    def _raw_model(self, prompt: str, faults: set[str]) -> tuple[str, str] | None:
        """(the raw Harmony the "model" writes, its stop token) for a Harmony prompt; None otherwise."""
        body = hm.parse_prompt(prompt)
        if body is None:
            return None
        offered = {t["function"]["name"] for t in body.get("tools") or []}
        text = hm.completion(plan_answer(body), faults, offered)
        stop = next((t for t in (hm.CALL, hm.RETURN) if text.endswith(t)), "")
        return text, stop

    def _generate(self, body: bytes, faults: set[str] | None = None) -> None:
        """SGLang's /generate: raw text in, text out; ``stream`` sends cumulative text per chunk.
        A Harmony prompt gets the model's Harmony (``skip_special_tokens`` and ``no_stop_trim``
        as SGLang applies them)."""
        srv = self.server
        try:
            req = json.loads(body or b"{}")
        except ValueError as e:
            return self._send_json(400, {"error": {"message": f"Invalid request body: {e}"}})
        text = req.get("text")
        if text is None and req.get("input_ids") is None:
            return self._send_json(400, {"error": {"message": "Either text or input_ids should be provided."}})
        raw = self._raw_model(text, (faults or set()) | srv.draw_faults()) if isinstance(text, str) else None
        if raw is not None and not req.get("stream"):
            sp = req.get("sampling_params") or {}
            out, stop = raw
            if stop and not sp.get("no_stop_trim"):
                out = out[: -len(stop)]
            if sp.get("skip_special_tokens", True):
                out = hm.strip_specials(out)
            return self._send_json(200, {"text": out, "meta_info": {
                "id": f"{srv.next_id():032x}", "prompt_tokens": len(tokenize(text)),
                "completion_tokens": len(tokenize(out)), "cached_tokens": 0,
                "finish_reason": {"type": "stop", "matched": hm.SPECIAL_IDS[stop]} if stop else {"type": "length"}}})
        prompt = text if isinstance(text, str) else " ".join(map(str, req.get("input_ids") or []))
        sp = req.get("sampling_params") or {}
        n = int(sp.get("max_new_tokens") or 16)
        out_toks = [f"w{i % 1000} " for i in range(n)]
        ptoks = tokenize(prompt)
        cached = srv.cache.lookup_and_insert(ptoks)
        rid = f"{srv.next_id():032x}"

        def meta(k: int, done: bool) -> dict[str, Any]:
            m: dict[str, Any] = {"id": rid, "prompt_tokens": len(ptoks), "completion_tokens": k, "cached_tokens": cached,
                                 "finish_reason": {"type": "length", "length": k} if done else None}
            return m

        with srv.metrics.lock:
            srv.metrics.requests += 1
            srv.metrics.prompt_tokens += len(ptoks)
            srv.metrics.generation_tokens += n
            srv.metrics.cached_tokens += cached
        if srv.first_token_delay_s:
            time.sleep(srv.first_token_delay_s)
        if not req.get("stream"):
            return self._send_json(200, {"text": "".join(out_toks), "meta_info": meta(n, True)})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            acc = ""
            for i, tok in enumerate(out_toks):
                if i and srv.token_interval_s:
                    time.sleep(srv.token_interval_s)
                acc += tok
                self._chunk(b"data: " + json.dumps({"text": acc, "meta_info": meta(i + 1, i + 1 == n)}).encode() + b"\n\n")
            self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- other engines' raw routes (flavor)

    def _flavor_route(self, path: str, body: bytes, faults: set[str]) -> None:
        srv = self.server
        try:
            req = json.loads(body or b"{}")
        except ValueError as e:
            return self._send_json(400, {"error": {"message": f"Invalid request body: {e}"}})
        faults = faults | srv.draw_faults()
        if path == "/v1/completions":  # vLLM: skip_special_tokens is a sampling parameter, default true
            raw = self._raw_model(str(req.get("prompt") or ""), faults)
            text, stop = raw if raw else ("".join(f"w{i} " for i in range(int(req.get("max_tokens") or 16))), "")
            if stop:
                text = text[: -len(stop)]  # the stop token is not in the text; stop_reason names it
            if req.get("skip_special_tokens", True):
                text = hm.strip_specials(text)
            return self._send_json(200, {"id": f"cmpl-{srv.next_id()}", "object": "text_completion",
                                         "model": srv.served_model_name, "choices": [{
                                             "index": 0, "text": text, "logprobs": None,
                                             "finish_reason": "stop" if stop else "length",
                                             "stop_reason": hm.SPECIAL_IDS[stop] if stop else None}],
                                         "usage": {"prompt_tokens": 1, "completion_tokens": len(tokenize(text))}})
        if path == "/apply-template":  # llama.cpp: the model's chat template, rendered
            return self._send_json(200, {"prompt": hm.render_prompt(req)})
        if path == "/completion":  # llama.cpp: without --special the text has no special tokens
            raw = self._raw_model(str(req.get("prompt") or ""), faults)
            text, stop = raw if raw else ("w0 w1 w2 ", "")
            tokens = srv.vocab.encode(text[: -len(stop)] if stop else text)
            return self._send_json(200, {"content": hm.strip_specials(text[: -len(stop)] if stop else text),
                                         "tokens": tokens if req.get("return_tokens") else [],
                                         "stop": True, "stop_type": "eos" if stop else "limit",
                                         "model": srv.served_model_name})
        if path == "/detokenize":
            return self._send_json(200, {"content": srv.vocab.decode(list(req.get("tokens") or []))})
        return self._send_json(404, {"detail": "Not Found"})

    # -- chat

    def _chat(self, req: dict[str, Any], faults: set[str]) -> None:
        srv = self.server
        t0 = time.monotonic()
        plan = plan_answer(req)
        tools = {t["function"]["name"] for t in req.get("tools") or [] if "function" in t}
        rid = f"{srv.next_id():032x}"
        ptoks = _prompt_tokens(req)
        cached = srv.cache.lookup_and_insert(ptoks)

        reasoning = plan["reasoning"]
        content = plan["content"]
        calls = []
        for i, c in enumerate(plan["calls"]):
            args = json.dumps(c["arguments"], ensure_ascii=False)
            h = hashlib.sha1(f"{rid}{i}{c['name']}".encode()).hexdigest()[:24]
            calls.append({"id": f"call_{h}", "index": i, "type": "function", "function": {"name": c["name"], "arguments": args}})

        # The gpt-oss shapes first (what a broken parser makes of the model's output), then the
        # older faults bend the plan the way broken parsers do.
        reasoning, content, calls = hm.bend(reasoning, content, calls, faults, offered=tools,
                                            streamed=bool(req.get("stream")))
        if "leak_reasoning" in faults:
            reasoning = "<|start|>assistant<|channel|>analysis<|message|>" + (reasoning or "")
        if "leak_content" in faults:
            if content is None and not calls:
                content = ""
            if content is not None:
                content = "<|channel|>final<|message|>assistantfinal" + content
            else:  # a commentary preamble surfacing as content, with the markers left in
                content = "<|start|>assistant<|channel|>commentary to=functions.x<|message|>"
        if calls and "leak_arguments" in faults:
            fn = calls[0]["function"]
            fn["arguments"] = fn["arguments"].replace('"}', '<|call|>"}', 1) if '"}' in fn["arguments"] else '{"q": "to=functions.x<|call|>"}'
        if calls and "invalid_json_args" in faults:
            fn = calls[0]["function"]
            fn["arguments"] = fn["arguments"][:-1] if fn["arguments"].endswith("}") else "{"
        if "unknown_tool" in faults:
            if not calls:
                calls = [{"id": "call_unknown0", "index": 0, "type": "function", "function": {"name": "lookup_secret", "arguments": "{}"}}]
            calls[0]["function"]["name"] = "lookup_secret" if "lookup_secret" not in tools else "lookup_secret_2"
            content = None
        finish = "tool_calls" if calls else "stop"
        if "tool_calls_missing" in faults:
            calls, finish, content = [], "tool_calls", None
        if "reasoning_only" in faults:
            content, calls, finish = None, [], "stop"
        if "empty_stream" in faults:
            reasoning, content, calls = None, None, []

        comp_toks = len(tokenize(reasoning or "")) + len(tokenize(content or "")) + sum(
            len(tokenize(c["function"]["arguments"])) + 2 for c in calls)
        usage = {"prompt_tokens": len(ptoks), "total_tokens": len(ptoks) + comp_toks, "completion_tokens": comp_toks,
                 "prompt_tokens_details": {"cached_tokens": cached} if srv.cache_report else None,
                 "reasoning_tokens": 0}
        first_delay = srv.first_token_delay_s
        if "slow_first_token" in faults:
            first_delay = max(first_delay, srv.slow_first_token_s)
        with srv.metrics.lock:
            srv.metrics.running += 1
        ok = False
        try:
            if req.get("stream"):
                ok = self._stream(req, rid, reasoning, content, calls, finish, usage, faults, first_delay, t0)
            else:
                ok = self._whole(req, rid, reasoning, content, calls, finish, usage, faults, first_delay, t0)
        finally:
            with srv.metrics.lock:
                m = srv.metrics
                m.running -= 1
                m.requests += 1
                m.prompt_tokens += usage["prompt_tokens"]
                m.generation_tokens += comp_toks
                m.cached_tokens += cached
                if not ok:
                    m.aborted += 1
                e2e = time.monotonic() - t0
                m.e2e.observe(e2e)
                if e2e > 0:
                    m.last_throughput = comp_toks / e2e

    def _whole(self, req, rid, reasoning, content, calls, finish, usage, faults, first_delay, t0) -> bool:
        if first_delay:
            time.sleep(first_delay)
        self.server.metrics.ttft.observe(time.monotonic() - t0)
        if "disconnect_midstream" in faults:
            self._hard_close()
            return False
        if "empty_stream" in faults:
            content = ""
        msg: dict[str, Any] = {"role": "assistant", "content": content, "reasoning_content": reasoning,
                               "tool_calls": [{k: v for k, v in c.items() if k != "index"} for c in calls] or None}
        resp = {"id": rid, "object": "chat.completion", "created": int(time.time()), "model": self.server.served_model_name,
                "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": finish,
                             "matched_stop": 200012 if finish == "tool_calls" else 200002}],
                "usage": usage}
        self._send_json(200, resp)
        return True

    def _hard_close(self) -> None:
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
        self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _stream(self, req, rid, reasoning, content, calls, finish, usage, faults, first_delay, t0) -> bool:
        srv = self.server
        created = int(time.time())
        model = srv.served_model_name
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(delta: dict[str, Any] | None, finish_reason: str | None = None, with_usage: dict | None = None,
                  choices: bool = True) -> bytes:
            obj: dict[str, Any] = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model}
            if choices:
                obj["choices"] = [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason,
                                   "matched_stop": None}]
            else:
                obj["choices"] = []
            obj["usage"] = with_usage
            return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"

        if "empty_stream" in faults:
            if first_delay:
                time.sleep(first_delay)
            self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            return True

        pieces: list[bytes] = [event({"role": "assistant", "content": ""})]
        # Reasoning first, one token per chunk, then content, then whole tool calls.
        for tok in tokenize(reasoning or ""):
            pieces.append(event({"role": None, "content": None, "reasoning_content": tok, "tool_calls": None}))
        for tok in tokenize(content or ""):
            pieces.append(event({"role": None, "content": tok, "reasoning_content": None, "tool_calls": None}))
        for c in calls:
            pieces.append(event({"role": None, "content": None, "reasoning_content": None, "tool_calls": [c]}))
        pieces.append(event({"role": None, "content": None, "reasoning_content": None, "tool_calls": None}, finish))
        if include_usage:
            pieces.append(event(None, with_usage=usage, choices=False))
        cut = max(2, len(pieces) // 2) if "disconnect_midstream" in faults else None

        with srv._seq_lock:
            srv.streams_open += 1
        try:
            if first_delay:
                time.sleep(first_delay)
            # The role chunk goes out right away in SGLang; the first token waits for prefill.
            interval = srv.token_interval_s
            last = None
            for i, p in enumerate(pieces):
                if cut is not None and i == cut:
                    self._hard_close()
                    return False
                if i == 1:
                    srv.metrics.ttft.observe(time.monotonic() - t0)
                elif i > 1 and interval:
                    time.sleep(interval)
                now = time.monotonic()
                if last is not None and i > 1:
                    srv.metrics.itl.observe(now - last)
                last = now
                self._chunk(p)
            if "no_done" not in faults:
                self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            with srv._seq_lock:
                srv.streams_cut += 1
            return False
        finally:
            with srv._seq_lock:
                srv.streams_open -= 1


def make_server(host: str = "127.0.0.1", port: int = 0, *, served_model_name: str = "openai/gpt-oss-20b",
                api_key: str | None = None, startup_delay_s: float = 0.0, faults: Iterable[str] = (),
                first_token_delay_s: float = 0.0, token_interval_s: float = 0.0, metrics: bool = True,
                slow_first_token_s: float = 3.0, cache_report: bool = True, fault_rate: float = 1.0,
                seed: int = 0, flavor: str = "sglang") -> SGLangShapedServer:
    """Bind (port 0 = any free port) and return the server; call ``serve_forever()`` on it."""
    return SGLangShapedServer((host, port), served_model_name=served_model_name, api_key=api_key,
                              startup_delay_s=startup_delay_s, faults=faults, first_token_delay_s=first_token_delay_s,
                              token_interval_s=token_interval_s, metrics=metrics,
                              slow_first_token_s=slow_first_token_s, cache_report=cache_report,
                              fault_rate=fault_rate, seed=seed, flavor=flavor)


def start_in_thread(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> tuple[SGLangShapedServer, str]:
    """Start a server on a daemon thread; returns (server, base_url). Stop with ``server.shutdown()``."""
    srv = make_server(host, port, **kwargs)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, name="sglang-shaped", daemon=True)
    t.start()
    h, p = srv.server_address[:2]
    return srv, f"http://{h}:{p}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sglang_shaped.server", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=30000)
    ap.add_argument("--served-model-name", default=None)
    ap.add_argument("--model-path", default="openai/gpt-oss-20b")
    ap.add_argument("--api-key", default=None)
    ap.add_argument("--startup-delay", type=float, default=0.0, help="seconds /health answers 503")
    ap.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS))
    ap.add_argument("--fault-rate", type=float, default=1.0, help="share of requests the --fault(s) hit (0..1)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the fault draw")
    ap.add_argument("--flavor", choices=FLAVORS, default="sglang", help="whose raw routes to answer like")
    ap.add_argument("--first-token-delay", type=float, default=0.0)
    ap.add_argument("--token-interval", type=float, default=0.0)
    ap.add_argument("--slow-first-token", type=float, default=3.0)
    ap.add_argument("--no-metrics", action="store_true")
    ap.add_argument("--enable-metrics", action="store_true", help="accepted for SGLang compatibility (metrics are on)")
    args, _unknown = ap.parse_known_args(argv)  # other SGLang flags are accepted and ignored
    srv = make_server(args.host, args.port, served_model_name=args.served_model_name or args.model_path,
                      api_key=args.api_key, startup_delay_s=args.startup_delay, faults=args.fault,
                      first_token_delay_s=args.first_token_delay, token_interval_s=args.token_interval,
                      metrics=not args.no_metrics, slow_first_token_s=args.slow_first_token,
                      fault_rate=args.fault_rate, seed=args.seed, flavor=args.flavor)
    host, port = srv.server_address[:2]
    print(f"INFO:     Uvicorn running on http://{host}:{port} (Press CTRL+C to quit)", flush=True)

    def announce() -> None:
        time.sleep(max(0.0, srv.ready_at - time.monotonic()))
        print(_READY_LINE, flush=True)

    threading.Thread(target=announce, daemon=True).start()
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

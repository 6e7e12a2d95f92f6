"""The SGLang-shaped test server itself: wire shapes the console relies on, its CLI, stdlib only."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

PEER_DIR = Path(__file__).parent / "peers"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather for a city",
                                           "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                                                          "required": ["location"]}}}]


def sse(resp: httpx.Response) -> list:
    out = []
    for line in resp.iter_lines():
        if line.startswith("data: "):
            data = line[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def test_streamed_shapes(sglang_shaped_server):
    body = {"model": "openai/gpt-oss-20b", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Weather in Paris and in Tokyo?"}], "tools": TOOLS}
    with httpx.stream("POST", sglang_shaped_server.base_url + "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        chunks = sse(r)
    assert chunks[-1] == "[DONE]"
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1] if c["choices"]]
    assert deltas[0]["role"] == "assistant"
    kinds = ["r" if d.get("reasoning_content") else "c" if d.get("content") else "t" if d.get("tool_calls") else "-"
             for d in deltas]
    body_kinds = "".join(k for k in kinds if k != "-")
    assert body_kinds.startswith("r") and body_kinds.endswith("tt") and "c" not in body_kinds  # reasoning, then calls
    calls = [d["tool_calls"][0] for d in deltas if d.get("tool_calls")]
    # Each call arrives whole in one delta (SGLang's gpt-oss parser does not stream arguments).
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"location": "Paris"}, {"location": "Tokyo"}]
    assert [c["index"] for c in calls] == [0, 1] and all(c["id"].startswith("call_") for c in calls)
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1] if c["choices"]][-1] == "tool_calls"
    usage = chunks[-2]["usage"]
    assert chunks[-2]["choices"] == [] and usage["completion_tokens"] > 0 and "cached_tokens" in usage["prompt_tokens_details"]


def test_after_tool_results_answers_in_content(sglang_shaped_server):
    msgs = [{"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
                                                                 "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny, 24 C"}]
    r = httpx.post(sglang_shaped_server.base_url + "/v1/chat/completions",
                   json={"model": "m", "messages": msgs, "tools": TOOLS}).json()
    msg = r["choices"][0]["message"]
    assert "sunny, 24 C" in msg["content"] and msg["tool_calls"] is None and r["choices"][0]["finish_reason"] == "stop"
    assert msg["reasoning_content"]


def test_auth_and_health_routes(sglang_shaped_factory):
    peer = sglang_shaped_factory(api_key="k", startup_delay_s=0.4)
    base = peer.base_url
    assert httpx.get(base + "/health").status_code == 503
    assert httpx.get(base + "/v1/models", headers={"Authorization": "Bearer k"}).status_code == 503
    time.sleep(0.5)
    assert httpx.get(base + "/health").status_code == 200
    assert httpx.get(base + "/health_generate").status_code == 200
    r = httpx.post(base + "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    assert httpx.get(base + "/get_server_info").status_code == 401
    assert httpx.get(base + "/metrics").status_code == 200
    ok = httpx.get(base + "/get_server_info", headers={"Authorization": "Bearer k"})
    assert ok.status_code == 200 and ok.json()["reasoning_parser"] == "gpt-oss"


def test_stdlib_only():
    """The server is copied into a bare python3 image: nothing outside the standard library."""
    # In a fresh interpreter: CPython 3.11's ast.parse can raise a spurious SystemError
    # ("AST constructor recursion depth mismatch") after an earlier RecursionError in-process.
    code = """
import ast, sys, pathlib
bad = []
for path in pathlib.Path(sys.argv[1]).glob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        bad += [f"{path.name}: {n}" for n in names
                if n.split(".")[0] not in sys.stdlib_module_names and n != "__future__"]
print("\\n".join(bad))
"""
    out = subprocess.run([sys.executable, "-c", code, str(PEER_DIR / "sglang_shaped")], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "", f"non-stdlib imports: {out}"


def test_cli_module_runs_with_only_its_parent_on_path(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(PEER_DIR)}
    # Unknown SGLang flags (--tp) are accepted, as the fake launch_server passes them through.
    proc = subprocess.Popen([sys.executable, "-m", "sglang_shaped.server", "--port", str(port),
                             "--served-model-name", "my-model", "--fault", "no_done", "--tp", "2"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert f"Uvicorn running on http://127.0.0.1:{port}" in first
        assert "fired up and ready to roll" in proc.stdout.readline()
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()
        assert models["data"][0]["id"] == "my-model"
        with httpx.stream("POST", f"http://127.0.0.1:{port}/v1/chat/completions",
                          json={"model": "my-model", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as r:
            chunks = sse(r)
        assert chunks and "[DONE]" not in chunks  # the server-wide fault applies
    finally:
        proc.terminate()
        proc.wait(5)


def test_unknown_fault_rejected(sglang_shaped_server):
    from tests.peers.sglang_shaped import make_server

    with pytest.raises(ValueError, match="unknown faults"):
        make_server(faults=["bogus"])
    r = httpx.post(sglang_shaped_server.base_url + "/v1/chat/completions", headers={"X-Fault": "bogus"},
                   json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400 and "unknown fault" in r.json()["message"]


def test_native_generate(sglang_shaped_server):
    base = sglang_shaped_server.base_url
    r = httpx.post(base + "/generate", json={"text": "Hello there", "sampling_params": {"max_new_tokens": 5}}).json()
    assert r["text"] == "w0 w1 w2 w3 w4 " and r["meta_info"]["completion_tokens"] == 5
    assert r["meta_info"]["finish_reason"] == {"type": "length", "length": 5}
    with httpx.stream("POST", base + "/generate", json={"text": "Hello there", "stream": True,
                                                        "sampling_params": {"max_new_tokens": 3}}) as resp:
        chunks = sse(resp)
    assert chunks[-1] == "[DONE]" and [c["text"] for c in chunks[:-1]] == ["w0 ", "w0 w1 ", "w0 w1 w2 "]
    assert chunks[-2]["meta_info"]["cached_tokens"] >= 2  # same prompt as above: prefix cache hit
    assert httpx.post(base + "/generate", json={}).status_code == 400

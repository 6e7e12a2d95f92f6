"""The raw replay's llama.cpp route against the real ``llama-server`` (the binary
tests/peers/setup_llama_server.sh builds, serving SmolLM2 on the loopback): the engine is
recognised by its own ``/props``, ``/apply-template`` renders the model's own chat template,
``/completion`` returns the raw text and its token ids, ``/detokenize`` reads them back — the
routes and fields ``console.smoke.replay`` relies on. (SmolLM2 writes no Harmony, so the verdict
itself is tested on the SGLang-shaped server's llama.cpp flavour: tests/test_smoke_shapes.py.)
"""

from __future__ import annotations

import socket
import subprocess
import time

import httpx
import pytest

from tests.conftest import need

pytestmark = pytest.mark.peer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_cpp():
    from tests.docker.images import LLAMA_SERVER, find_gguf

    need(LLAMA_SERVER.exists(), f"the llama-server binary at {LLAMA_SERVER} (run tests/peers/setup_llama_server.sh)")
    gguf = find_gguf()
    need(gguf is not None, "SmolLM2's GGUF in .cache/llama-venv (run tests/peers/setup_llama.sh)")
    port = _free_port()
    proc = subprocess.Popen([str(LLAMA_SERVER), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port),
                             "-c", "2048", "-t", "2", "--jinja", "--alias", "smollm2-135m"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama-server exited with {proc.returncode}")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama-server was not healthy within 120 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_probe_recognises_llama_server(llama_cpp):
    from console.smoke.replay import probe

    info = await probe(llama_cpp)
    assert info.kind == "llama.cpp" and info.evidence == "/props answered"
    assert info.model_path and info.model_path.endswith(".gguf") and info.version


async def test_raw_route_fields_are_what_the_replay_reads(llama_cpp):
    from console.smoke.replay import Replayer, probe

    replayer = Replayer(llama_cpp, None, "smollm2-135m", timeout_s=120)
    eng = await probe(llama_cpp)
    request = {"model": "smollm2-135m", "max_tokens": 8, "temperature": 0,
               "messages": [{"role": "user", "content": "Say hello."}]}
    async with replayer._http() as http:
        route, raw, err = await replayer._raw(http, eng, request)
        assert (route, err) == ("/completion", None) and isinstance(raw, str) and raw.strip()
        # the model's own template (ChatML for SmolLM2), not our Harmony rendering
        prompt = (await http.post("/apply-template", json={"messages": request["messages"]})).json()["prompt"]
        assert "<|im_start|>user" in prompt and "<|start|>" not in prompt
        body = (await http.post("/completion", json={"prompt": prompt, "n_predict": 8, "temperature": 0,
                                                     "return_tokens": True, "cache_prompt": False})).json()
        assert body["content"] == raw and body["stop_type"] in ("eos", "limit")
        tokens = [t for t in body["tokens"] if isinstance(t, int)]
        assert tokens and await replayer._detokenize(http, tokens) == raw  # ids read back to the same text

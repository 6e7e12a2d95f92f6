"""ServerClient / AsyncServerClient against the SGLang-shaped server."""

from __future__ import annotations

import socket
import time

import pytest

from console.errors import ConsoleError
from console.server.client import AsyncServerClient, ServerClient, openai_base_url, root_url


def test_url_normalisation():
    assert root_url("http://h:1/v1/") == "http://h:1"
    assert root_url("h:1") == "http://h:1"
    assert openai_base_url("http://h:1") == "http://h:1/v1"


def test_routes_against_ready_server(sglang_shaped_server):
    with ServerClient(sglang_shaped_server.base_url + "/v1") as c:
        h = c.health()
        assert h.ready and h.status_code == 200
        models = c.models()
        assert models[0]["id"] == "openai/gpt-oss-20b" and models[0]["max_model_len"] == 131072
        info = c.server_info()
        assert info["tool_call_parser"] == "gpt-oss"
        assert c.model_info()["is_generation"] is True
        text = c.metrics_text()
        assert "sglang:num_running_reqs{" in text and "sglang:time_to_first_token_seconds_bucket{" in text


def test_metrics_parse_with_prometheus_parser(sglang_shaped_server):
    from prometheus_client.parser import text_string_to_metric_families

    with ServerClient(sglang_shaped_server.base_url) as c:
        fams = {f.name: f for f in text_string_to_metric_families(c.metrics_text())}
    assert fams["sglang:time_to_first_token_seconds"].type == "histogram"
    assert fams["sglang:prompt_tokens"].type == "counter"  # the parser strips _total
    sample = fams["sglang:num_running_reqs"].samples[0]
    assert sample.labels["model_name"] == "openai/gpt-oss-20b" and sample.labels["tp_rank"] == "0"


def test_starting_server_is_503_then_ready(sglang_shaped_factory):
    peer = sglang_shaped_factory(startup_delay_s=0.6)
    with ServerClient(peer.base_url) as c:
        h = c.health()
        assert h.status_code == 503 and not h.ready and h.starting
        with pytest.raises(ConsoleError, match="still starting"):
            c.models()
        time.sleep(0.7)
        assert c.health().ready


def test_api_key(sglang_shaped_factory):
    peer = sglang_shaped_factory(api_key="s3cret")
    with ServerClient(peer.base_url) as c:
        assert c.health().ready  # /health stays open
        assert "sglang:" in c.metrics_text()  # so does /metrics
        with pytest.raises(ConsoleError, match="wants an API key") as ei:
            c.models()
        assert ei.value.exit_code == 3 and "--api-key-file" in ei.value.hint
    with ServerClient(peer.base_url, api_key="wrong") as c:
        with pytest.raises(ConsoleError, match="rejected the API key"):
            c.server_info()
    with ServerClient(peer.base_url, api_key="s3cret") as c:
        assert c.model_ids() == ["openai/gpt-oss-20b"]


def test_no_server_plain_words():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ServerClient(f"http://127.0.0.1:{port}") as c:
        with pytest.raises(ConsoleError) as ei:
            c.health()
    assert "no server at" in ei.value.message and "port published" in ei.value.message
    assert ei.value.exit_code == 3


def test_metrics_off(sglang_shaped_factory):
    peer = sglang_shaped_factory(metrics=False)
    with ServerClient(peer.base_url) as c:
        with pytest.raises(ConsoleError, match="no /metrics") as ei:
            c.metrics_text()
    assert "--enable-metrics" in ei.value.hint


async def test_async_client(sglang_shaped_server):
    async with AsyncServerClient(sglang_shaped_server.base_url) as c:
        assert (await c.health()).ready
        assert await c.model_ids() == ["openai/gpt-oss-20b"]
        assert (await c.server_info())["context_length"] == 131072


def test_wait_ready(sglang_shaped_factory):
    peer = sglang_shaped_factory(startup_delay_s=0.5)
    with ServerClient(peer.base_url) as c:
        t0 = time.monotonic()
        assert c.wait_ready(timeout_s=5, interval_s=0.1) == ["openai/gpt-oss-20b"]
        assert time.monotonic() - t0 >= 0.3
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ServerClient(f"http://127.0.0.1:{port}") as c:
        with pytest.raises(ConsoleError, match="not ready within 0.3 s .last: no server at"):
            c.wait_ready(timeout_s=0.3, interval_s=0.1)


async def test_async_wait_ready_api_key(sglang_shaped_factory):
    peer = sglang_shaped_factory(api_key="k")
    async with AsyncServerClient(peer.base_url) as c:
        with pytest.raises(ConsoleError, match="API key"):
            await c.wait_ready(timeout_s=2, interval_s=0.1)
    async with AsyncServerClient(peer.base_url, api_key="k") as c:
        assert await c.wait_ready(timeout_s=2, interval_s=0.1) == ["openai/gpt-oss-20b"]


async def test_async_wait_ready_times_out_with_the_last_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with AsyncServerClient(f"http://127.0.0.1:{port}") as c:
        with pytest.raises(ConsoleError, match="not ready within 0.3 s .last: no server at") as e:
            await c.wait_ready(timeout_s=0.3, interval_s=0.1)
    assert e.value.exit_code == 3


@pytest.mark.parametrize("url", ["http://127.0.0.1:185575", "ftp://host:21", "http://:8000"])
def test_unreachable_urls_are_bad_input_in_words(url):
    with pytest.raises(ConsoleError, match="not a usable server URL") as err:
        ServerClient(url)
    assert err.value.exit_code == 2 and "http://127.0.0.1:8000" in err.value.hint


@pytest.mark.parametrize("command", [["smoke", "--only", "models"], ["metrics"], ["bench"], ["chat", "hi"]])
def test_every_command_refuses_a_bad_url_without_a_traceback(command, capsys):
    from console.cli import main

    code = main([command[0], "--base-url", "http://127.0.0.1:185575", *command[1:]])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "not a usable server URL" in err and "Traceback" not in err + out

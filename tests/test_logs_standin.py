"""The log path end to end on the real Engine: the stand-in SGLang image's start-up and
failure scenarios, read with DockerLogReader, parsed by SGLangScanner, summed by LogStats."""

from __future__ import annotations

import threading
import time

import pytest

from console.logs.docker_reader import DockerLogReader
from console.logs.events import Phase
from console.engines.sglang.scanner import SGLangScanner
from console.logs.stats import LogStats

pytestmark = pytest.mark.docker

ARGV = ["python3", "-m", "sglang.launch_server", "--model-path", "openai/gpt-oss-20b", "--host", "0.0.0.0", "--port", "8000"]


def read_all(docker_client, container) -> LogStats:
    scanner, stats = SGLangScanner(), LogStats()
    for batch in DockerLogReader(container.id, client=docker_client, follow=True):
        stats.apply(scanner.feed(batch.lines))
    return stats


@pytest.mark.parametrize(
    "scenario, extra_args, code, last_phase",
    [
        ("not_enough_memory", [], "not_enough_memory", Phase.WEIGHTS_LOADED),
        ("cuda_oom", [], "cuda_oom", Phase.CUDA_GRAPH),
        ("capture_fail", [], "cuda_graph_failed", Phase.CUDA_GRAPH),
        ("gated_repo", [], "hf_auth", Phase.LOADING_WEIGHTS),
        ("ok", ["--attention-backend", "flashinfer"], "attention_backend", Phase.STARTING),
    ],
)
def test_failure_scenarios_are_diagnosed(docker_client, standin_sglang_image, containers, scenario, extra_args, code, last_phase) -> None:
    c = containers.run(standin_sglang_image, ARGV + extra_args, environment={"FAKE_SGLANG_SCENARIO": scenario, "FAKE_SGLANG_DELAY": "0.05"})
    stats = read_all(docker_client, c)  # follows until the server process exits
    assert [d.code for d in stats.diagnoses][:1] == [code]
    assert stats.phase is last_phase
    assert c.wait(timeout=30)["StatusCode"] == 1


def test_healthy_start_then_crash_mid_serve(docker_client, standin_sglang_image, containers) -> None:
    c = containers.run(
        standin_sglang_image,
        ARGV,
        environment={"FAKE_SGLANG_SCENARIO": "crash_after_ready", "FAKE_SGLANG_DELAY": "0.05",
                     "FAKE_SGLANG_CRASH_AFTER": "2", "FAKE_SGLANG_STATS_INTERVAL": "0.3"},
    )
    scanner, stats = SGLangScanner(), LogStats()
    reached: list[Phase] = []
    ready_seen_with_no_diagnosis = threading.Event()
    for batch in DockerLogReader(c.id, client=docker_client, follow=True):
        reached += stats.apply(scanner.feed(batch.lines))
        if stats.phase is Phase.READY and not stats.diagnoses:
            ready_seen_with_no_diagnosis.set()
    assert ready_seen_with_no_diagnosis.is_set()
    # this build logs capacity before the graphs: a milestone, so the graph steps still count
    assert reached == [Phase.STARTING, Phase.LOADING_WEIGHTS, Phase.WEIGHTS_LOADED, Phase.KV_POOL,
                       Phase.CAPACITY_KNOWN, Phase.CUDA_GRAPH, Phase.CUDA_GRAPH_DONE, Phase.HTTP_UP, Phase.READY]
    assert stats.capacity is not None and stats.capacity.context_len == 131072
    assert stats.last_decode is not None and stats.throughput
    assert [d.code for d in stats.diagnoses] == ["exception"]
    assert "illegal memory access" in stats.diagnoses[0].title


def test_follow_ready_server_then_stop_reading(docker_client, standin_sglang_image, containers) -> None:
    c = containers.run(standin_sglang_image, ARGV, environment={"FAKE_SGLANG_DELAY": "0.05", "FAKE_SGLANG_STATS_INTERVAL": "0.2"})
    reader = DockerLogReader(c.id, client=docker_client, follow=True)
    scanner, stats = SGLangScanner(), LogStats()
    deadline = time.monotonic() + 60
    for batch in reader:
        stats.apply(scanner.feed(batch.lines))
        if stats.last_decode is not None or time.monotonic() > deadline:
            reader.close()
    assert stats.phase is Phase.READY and stats.diagnoses == []
    assert stats.last_decode.running_req is not None
    c.reload()
    assert c.status == "running"  # reading logs never touches the server

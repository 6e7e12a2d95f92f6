"""SGLang log parser: every line variant of the reference (§4), phases, scanner, stats, severity."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.logs.events import (
    BatchStats,
    Capacity,
    CudaGraphBegin,
    CudaGraphEnd,
    Failure,
    HttpUp,
    KVPoolAllocated,
    Phase,
    PhaseChange,
    Ready,
    SlidingWindowPool,
    WeightLoadBegin,
    WeightLoadProgress,
    WeightsLoaded,
)
from console.logs.severity import Severity, severity
from console.engines.sglang.scanner import SGLangScanner, parse_line, split_prefix
from console.logs.stats import LogStats

DATA = Path(__file__).parent / "data" / "logs"


def read(name: str) -> list[str]:
    return (DATA / name).read_text().split("\n")


# ── prefixes ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "line, time, ranks, msg",
    [
        ("[2026-01-05 14:31:10 TP0] Load weight begin.", "2026-01-05 14:31:10", {"TP": 0}, "Load weight begin."),
        ("[2026-01-05 14:31:10 DP1 TP3 EP3] x", "2026-01-05 14:31:10", {"DP": 1, "TP": 3, "EP": 3}, "x"),
        ("[2026-01-05 14:31:10 PP1 TP0] x", "2026-01-05 14:31:10", {"PP": 1, "TP": 0}, "x"),
        ("[2026-01-05 14:31:10] The server is fired up", "2026-01-05 14:31:10", {}, "The server is fired up"),
        ("2026-01-05T14:31:10.123456789Z [2026-01-05 14:31:10 TP0] x", "2026-01-05 14:31:10", {"TP": 0}, "x"),
        ("2026-01-05T14:31:10.1Z plain docker-timestamped", None, {}, "plain docker-timestamped"),
        ("Loading safetensors checkpoint shards: 50%", None, {}, "Loading safetensors checkpoint shards: 50%"),
    ],
)
def test_split_prefix(line, time, ranks, msg) -> None:
    prefix, rest = split_prefix(line)
    assert (prefix.time, prefix.ranks, rest) == (time, ranks, msg)


# ── start-up lines ───────────────────────────────────────────────────────────


def test_weight_load_begin_and_progress() -> None:
    ev = parse_line("[2026-01-05 14:31:05 TP0] Load weight begin. avail mem=78.68 GB")
    assert ev == WeightLoadBegin(78.68, "2026-01-05 14:31:05")
    assert parse_line("Loading safetensors checkpoint shards:  33% Completed | 1/3 [00:01<00:03,  1.52s/it]") == WeightLoadProgress(1, 3)


@pytest.mark.parametrize(
    "line, elapsed, dtype",
    [
        ("[2026-01-05 14:31:10 TP0] Load weight end. type=GptOssForCausalLM, dtype=torch.bfloat16, avail mem=65.09 GB, mem usage=13.59 GB.", None, "torch.bfloat16"),
        ("[2026-02-11 09:02:31 DP0 TP0 EP0] Load weight end. elapsed=19.84 s, type=GptOssForCausalLM, quant=mxfp4, avail mem=47.22 GB, mem usage=30.88 GB.", 19.84, "mxfp4"),
        ("[2026-02-11 09:02:31 TP0] Load weight end. elapsed=3.10 s, type=GptOssForCausalLM, dtype=torch.bfloat16, avail mem=65.09 GB, mem usage=13.59 GB.", 3.10, "torch.bfloat16"),
    ],
)
def test_weight_load_end_variants(line, elapsed, dtype) -> None:
    ev = parse_line(line)
    assert isinstance(ev, WeightsLoaded)
    assert ev.elapsed_s == elapsed
    assert ev.dtype == dtype
    assert ev.model_type == "GptOssForCausalLM"
    assert ev.mem_usage_gb is not None and ev.avail_mem_gb is not None


def test_kv_pool_and_sliding_window_pool() -> None:
    ev = parse_line("[2026-01-05 14:31:09 TP0] KV Cache is allocated. #tokens: 1072332, K size: 24.54 GB, V size: 24.54 GB")
    assert ev == KVPoolAllocated(1072332, 24.54, 24.54, "2026-01-05 14:31:09")
    ev = parse_line("[2026-01-05 14:31:09 TP0] Use sliding window memory pool. full_layer_tokens=1072332, swa_layer_tokens=857865")
    assert ev == SlidingWindowPool(1072332, 857865)


@pytest.mark.parametrize("with_mem", [True, False])
def test_capacity_line(with_mem: bool) -> None:
    line = "[2026-01-05 14:31:17 TP0] max_total_num_tokens=1072332, chunked_prefill_size=8192, max_prefill_tokens=16384, max_running_requests=4096, context_len=131072"
    if with_mem:
        line += ", available_gpu_mem=14.40 GB"
    ev = parse_line(line)
    assert ev == Capacity(1072332, 8192, 16384, 4096, 131072, 14.40 if with_mem else None, "2026-01-05 14:31:17")


def test_capacity_with_disabled_chunked_prefill() -> None:
    ev = parse_line("[2026-01-05 14:31:10 TP0] max_total_num_tokens=5000, chunked_prefill_size=-1, max_prefill_tokens=16384, max_running_requests=8, context_len=4096")
    assert isinstance(ev, Capacity) and ev.chunked_prefill_size == -1


def test_cuda_graph_begin_end() -> None:
    ev = parse_line("[2026-01-05 14:31:10 TP0] Capture cuda graph begin. This can take up to several minutes. avail mem=15.05 GB")
    assert ev == CudaGraphBegin(15.05, "2026-01-05 14:31:10")
    ev = parse_line("[2026-01-05 14:31:17 TP0] Capture cuda graph end. Time elapsed: 6.88 s. mem usage=0.65 GB. avail mem=14.40 GB.")
    assert ev == CudaGraphEnd(6.88, 0.65, 14.40, "2026-01-05 14:31:17")


def test_http_up_and_ready() -> None:
    ev = parse_line("[2026-01-05 14:31:18] INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)")
    assert ev == HttpUp("http://0.0.0.0:8000", 8000, "2026-01-05 14:31:18")
    assert parse_line("[2026-01-05 14:31:20] The server is fired up and ready to roll!") == Ready("2026-01-05 14:31:20")
    assert isinstance(parse_line("[2026-01-05 14:30:58] server_args=ServerArgs(model_path='x')"), PhaseChange)


# ── batch statistics ─────────────────────────────────────────────────────────


def test_prefill_batch_classic() -> None:
    ev = parse_line("[2026-01-05 14:31:19 TP0] Prefill batch. #new-seq: 1, #new-token: 512, #cached-token: 0, token usage: 0.01, #running-req: 0, #queue-req: 0,")
    assert isinstance(ev, BatchStats)
    assert (ev.kind, ev.new_seq, ev.new_token, ev.cached_token, ev.token_usage, ev.running_req, ev.queue_req) == ("prefill", 1, 512, 0, 0.01, 0, 0)
    assert ev.ranks == {"TP": 0} and ev.extra == {}


def test_decode_batch_classic() -> None:
    ev = parse_line("[2026-01-05 14:31:43 TP0] Decode batch. #running-req: 8, #token: 9000, token usage: 0.05, cuda graph: True, gen throughput (token/s): 1350.83, #queue-req: 0,")
    assert isinstance(ev, BatchStats)
    assert (ev.kind, ev.running_req, ev.token, ev.token_usage, ev.cuda_graph, ev.gen_throughput, ev.queue_req) == ("decode", 8, 9000, 0.05, True, 1350.83, 0)


def test_decode_batch_newer_comma_iter_accept_len_swa() -> None:
    ev = parse_line(
        "[2026-02-11 09:03:01 DP0 TP0 EP0] Decode batch [iter 1520], #running-req: 4, #full token: 5200, full token usage: 0.04, "
        "#swa token: 512, swa token usage: 0.00, accept len: 2.71, cuda graph: False, gen throughput (token/s): 786.61, #queue-req: 0,"
    )
    assert isinstance(ev, BatchStats)
    assert ev.iteration == "iter 1520"
    assert (ev.token, ev.token_usage, ev.swa_token, ev.swa_token_usage) == (5200, 0.04, 512, 0.0)
    assert ev.accept_len == 2.71 and ev.cuda_graph is False and ev.gen_throughput == 786.61
    assert ev.ranks == {"DP": 0, "TP": 0, "EP": 0}


@pytest.mark.parametrize("tag", ["[42]", "[iter]", ""])
def test_batch_comma_variant_and_unknown_fields(tag: str) -> None:
    line = f"[2026-01-05 14:31:10 TP1] Prefill batch{(' ' + tag) if tag else ''}, #new-seq: 4, #new-token: 4096, #cached-token: 1024, full token usage: 0.02, swa token usage: 0.01, #running-req: 0, #queue-req: 1, input throughput (token/s): 9812.44, #retracted-req: 0, pre-allocated usage: 0.00"
    ev = parse_line(line)
    assert isinstance(ev, BatchStats) and ev.kind == "prefill"
    assert ev.input_throughput == 9812.44 and ev.cached_token == 1024 and ev.swa_token_usage == 0.01
    assert ev.extra == {"#retracted-req": "0", "pre-allocated usage": "0.00"}


def test_batch_fields_all_optional() -> None:
    ev = parse_line("[2026-01-05 14:31:10 TP0] Decode batch. #running-req: 3")
    assert isinstance(ev, BatchStats) and ev.running_req == 3 and ev.gen_throughput is None and ev.token_usage is None


def test_uninteresting_lines() -> None:
    assert parse_line("[2026-01-05 14:31:19] INFO:     127.0.0.1:51234 - \"GET /get_model_info HTTP/1.1\" 200 OK") is None
    assert parse_line("") is None
    assert parse_line("x" * 100_000) is None
    # harmless: the Responses API is off
    assert parse_line("[2026-01-05 14:31:18] Can not initialize OpenAIServingResponses, error: No module named 'x'") is None


# ── phases over whole logs ───────────────────────────────────────────────────


def phases_of(lines: list[str], batch: int | None = None) -> tuple[list[Phase], LogStats]:
    scanner, stats = SGLangScanner(), LogStats()
    reached: list[Phase] = []
    step = batch or len(lines)
    for i in range(0, len(lines), step):
        reached += stats.apply(scanner.feed(lines[i : i + step]))
    return reached, stats


HEALTHY_ORDER = [
    Phase.STARTING,
    Phase.LOADING_WEIGHTS,
    Phase.WEIGHTS_LOADED,
    Phase.KV_POOL,
    Phase.CUDA_GRAPH,
    Phase.CUDA_GRAPH_DONE,
    Phase.CAPACITY_KNOWN,
    Phase.HTTP_UP,
    Phase.READY,
]


@pytest.mark.parametrize("name", ["healthy_20b.log", "healthy_120b_tp2_newer.log"])
@pytest.mark.parametrize("batch", [None, 1, 3])
def test_healthy_startup_phases_in_order(name: str, batch: int | None) -> None:
    reached, stats = phases_of(read(name), batch)
    assert reached == HEALTHY_ORDER
    assert stats.diagnoses == []
    assert stats.capacity is not None and stats.capacity.context_len == 131072
    assert stats.kv_pool is not None and stats.kv_pool.tokens == stats.capacity.max_total_num_tokens
    assert stats.http is not None and stats.http.port == 8000
    assert stats.weights is not None and stats.weights.model_type == "GptOssForCausalLM"


def test_healthy_stats_feed_live_panel() -> None:
    _, stats = phases_of(read("healthy_20b.log"))
    assert stats.last_decode is not None and stats.last_decode.gen_throughput == 1348.10
    assert stats.latest is stats.last_decode
    assert (stats.latest.running_req, stats.latest.queue_req) == (8, 2)
    assert stats.swa_pool == SlidingWindowPool(1072332, 857865)
    assert stats.cuda_graph is not None and stats.cuda_graph.elapsed_s == 6.88
    # line by line, every decode line counts towards the rolling throughput
    _, stats = phases_of(read("healthy_20b.log"), batch=1)
    assert stats.throughput == pytest.approx((1350.83 + 1348.10) / 2)


def test_newer_format_stats() -> None:
    _, stats = phases_of(read("healthy_120b_tp2_newer.log"))
    assert stats.weights.dtype == "mxfp4" and stats.weights.elapsed_s == 19.91
    assert stats.last_prefill.swa_token_usage == 0.01
    assert stats.last_decode.token == 5600


def test_capacity_is_a_milestone_in_either_order() -> None:
    kv = KVPoolAllocated(10, 1.0, 1.0)
    cap = Capacity(10, 8192, 16384, 8, 4096, None)
    for order in ([kv, cap, CudaGraphBegin(1.0)], [kv, CudaGraphBegin(1.0), cap]):
        stats = LogStats()
        reached = stats.apply(order)
        assert set(reached) == {Phase.KV_POOL, Phase.CUDA_GRAPH, Phase.CAPACITY_KNOWN}
        assert stats.phase is Phase.CUDA_GRAPH  # what is happening now


def test_phases_never_go_back() -> None:
    stats = LogStats()
    stats.apply([Ready("t")])
    assert stats.apply([WeightLoadBegin(1.0)]) == []
    assert stats.phase is Phase.READY


def test_scanner_flood_parses_only_newest_stats() -> None:
    decode = "[2026-01-05 14:31:{s:02d} TP0] Decode batch. #running-req: {r}, #token: 9000, token usage: 0.05, cuda graph: True, gen throughput (token/s): {g}.00, #queue-req: 0,"
    access = '[2026-01-05 14:31:00] INFO:     172.17.0.1:40000 - "POST /v1/chat/completions HTTP/1.1" 200 OK'
    lines = [decode.format(s=i % 60, r=i % 9, g=1000 + i) if i % 7 else access for i in range(10_000)]
    scanner = SGLangScanner()
    events = scanner.feed(lines)
    assert len(events) == 1 and isinstance(events[0], BatchStats)
    assert events[0].gen_throughput == 1000 + 9999
    assert scanner.counts == {"lines": 10_000, "decode": 10_000 - 1429, "prefill": 0, "access": 1429}


def test_scanner_finds_rare_lines_inside_a_flood() -> None:
    decode = "[2026-01-05 14:31:43 TP0] Decode batch. #running-req: 8, #token: 9000, token usage: 0.05, cuda graph: True, gen throughput (token/s): 1.00, #queue-req: 0,"
    lines = [decode] * 5000
    lines[1234] = "[2026-01-05 14:32:00] Health check failed. Server couldn't get a response from detokenizer for last 20 seconds."
    lines[4000] = "[2026-01-05 14:31:18] INFO:     Uvicorn running on http://0.0.0.0:30000 (Press CTRL+C to quit)"
    events = SGLangScanner().feed(lines)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Failure", "HttpUp", "BatchStats"]
    assert events[0].diagnosis.code == "health_check_failed"
    assert events[1].port == 30000


def test_traceback_split_across_batches() -> None:
    lines = read("fail_bad_backend.log")
    idx = next(i for i, line in enumerate(lines) if "Traceback" in line)
    scanner = SGLangScanner()
    first = scanner.feed(lines[: idx + 2])  # header and one frame
    assert not any(isinstance(e, Failure) for e in first)
    rest = scanner.feed(lines[idx + 2 :])
    failures = [e for e in rest if isinstance(e, Failure)]
    assert [f.diagnosis.code for f in failures] == ["attention_backend"]


def test_traceback_cut_short_does_not_diagnose_the_next_line() -> None:
    scanner = SGLangScanner()
    scanner.feed(["[2026-01-05 16:00:00 TP0] Scheduler hit an exception: Traceback (most recent call last):"])
    decode = "[2026-01-05 16:00:01 TP0] Decode batch. #running-req: 1, #token: 9, token usage: 0.00, cuda graph: True, gen throughput (token/s): 1.00, #queue-req: 0,"
    events = scanner.feed([decode] * 3)
    assert [type(e).__name__ for e in events] == ["BatchStats"]


def test_generic_traceback_names_last_exception() -> None:
    lines = [
        "[2026-01-05 16:00:00 TP0] Scheduler hit an exception: Traceback (most recent call last):",
        '  File "/sgl/scheduler.py", line 1, in run',
        "    raise ValueError(\"bad things\")",
        "    ^^^^^^^^^^^^^^^^",
        "ValueError: bad things",
    ]
    events = SGLangScanner().feed(lines)
    assert len(events) == 1 and events[0].diagnosis.code == "exception"
    assert "ValueError: bad things" in events[0].diagnosis.title


# ── severity ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "line, sev",
    [
        ("RuntimeError: Not enough memory. Please try to increase --mem-fraction-static.", Severity.ERROR),
        ("[2026-01-05 14:31:10] Scheduler hit an exception: Traceback (most recent call last):", Severity.ERROR),
        ("[2026-01-05 14:31:10] ERROR:    [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use", Severity.ERROR),
        ("[2026-01-05 14:31:10] Health check failed. Server couldn't get a response", Severity.ERROR),
        ("[2026-01-05 14:31:10] WARNING: something odd", Severity.WARNING),
        ("/usr/lib/python3/x.py:12: UserWarning: deprecated thing", Severity.WARNING),
        ("[2026-01-05 14:31:10] Can not initialize OpenAIServingResponses, error: No module named 'x'", Severity.INFO),
        ("[2026-01-05 14:31:10 TP0] Decode batch. #running-req: 8, #token: 9000, token usage: 0.05, cuda graph: True", Severity.INFO),
        ("", Severity.INFO),
    ],
)
def test_severity(line: str, sev: Severity) -> None:
    assert severity(line) is sev


def test_severity_of_huge_line_is_bounded() -> None:
    assert severity("a" * 200_000 + "Error") is Severity.INFO  # only the head is looked at
    assert severity("Error " + "a" * 200_000) is Severity.ERROR

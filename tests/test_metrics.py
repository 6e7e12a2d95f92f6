"""Serving metrics: SGLang's /metrics page parsed, aggregated over ranks, rates and quantiles."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from console.server import metrics as M

PAGE = (Path(__file__).parent / "data" / "sglang_metrics_tp2.txt").read_text()
LABELS = 'model_name="openai/gpt-oss-120b"'


def test_hand_written_page_with_two_tp_ranks():
    snap = M.parse(PAGE, at=10.0, wall=1000.0)
    assert snap.models == ["openai/gpt-oss-120b"]
    assert snap.tp_ranks == ["0", "1"]
    assert snap.replicas == 1
    g = snap.gauges
    # tp ranks mirror one batch: never summed
    assert g["running"] == 8 and g["queued"] == 3 and g["used_tokens"] == 9000
    assert g["gen_throughput"] == pytest.approx(1350.83)
    assert g["token_usage"] == pytest.approx(0.06)  # the fuller rank
    assert g["swa_token_usage"] == pytest.approx(0.12)
    assert g["cache_hit_rate"] == pytest.approx(0.25)
    assert g["max_total_tokens"] == 180000
    assert snap.per_rank["token_usage"] == {"0": 0.05, "1": 0.06}
    assert snap.counters == {"prompt_tokens": 102400, "generation_tokens": 51200, "cached_tokens": 25600,
                             "requests": 100, "aborted": 2}
    ttft = snap.histograms["ttft"]
    assert ttft.count == 100 and ttft.sum == pytest.approx(7.5)
    # rank 50 lies in (0.05, 0.1]: 20 below, 60 inside → 0.05 + 0.05 * 30/60
    assert ttft.quantile(0.5) == pytest.approx(0.075)
    # rank 90 in (0.1, 0.25]: 80 below, 16 inside → 0.1 + 0.15 * 10/16
    assert ttft.quantile(0.9) == pytest.approx(0.19375)
    assert ttft.quantile(0.99) == pytest.approx(0.25 + 0.25 * 3 / 4)
    e2e = snap.histograms["e2e"]
    assert e2e.quantile(0.99) == pytest.approx(5.0)
    assert e2e.quantile(0.999) == pytest.approx(10.0)  # in +Inf: the highest finite bound
    itl = snap.histograms["itl"]
    assert itl.count == 51100 and 0.002 < itl.quantile(0.5) < 0.004


def _page(replicas: list[tuple[str, str, float, float]]) -> str:
    """Gauges/counters for (dp_rank, tp_rank, running, generation_total) rows."""
    out = ["# TYPE sglang:num_running_reqs gauge"]
    out += [f'sglang:num_running_reqs{{{LABELS},dp_rank="{d}",tp_rank="{t}"}} {r}' for d, t, r, _ in replicas]
    out.append("# TYPE sglang:token_usage gauge")
    out += [f'sglang:token_usage{{{LABELS},dp_rank="{d}",tp_rank="{t}"}} {0.1 * (int(d) + 1)}' for d, t, _, _ in replicas]
    out.append("# TYPE sglang:generation_tokens_total counter")
    out += [f'sglang:generation_tokens_total{{{LABELS},dp_rank="{d}",tp_rank="{t}"}} {g}' for d, t, _, g in replicas]
    return "\n".join(out) + "\n"


def test_data_parallel_replicas_add_up_tp_ranks_do_not():
    rows = [("0", "0", 4, 1000), ("0", "1", 4, 1000), ("1", "2", 6, 500), ("1", "3", 6, 500)]
    snap = M.parse(_page(rows))
    assert snap.replicas == 2
    assert snap.gauges["running"] == 10  # 4 + 6, not 20
    assert snap.gauges["token_usage"] == pytest.approx(0.15)  # mean of 0.1 and 0.2
    assert snap.counters["generation_tokens"] == 1500
    assert snap.per_rank["running"] == {"0": 4, "1": 4, "2": 6, "3": 6}


def test_rates_between_scrapes_and_counter_reset():
    a = M.parse(_page([("0", "0", 1, 1000)]), at=0.0)
    b = M.parse(_page([("0", "0", 1, 1600)]), at=2.0)
    v = M.view(b, a)
    assert v.interval_s == 2.0
    assert v.rates["generation_tokens"] == pytest.approx(300.0)
    restarted = M.parse(_page([("0", "0", 1, 10)]), at=4.0)
    assert "generation_tokens" not in M.view(restarted, b).rates  # no negative rate after a restart
    assert M.view(a).rates == {} and M.view(a).interval_s is None


def _hist_page(counts: list[float], total: float, s: float) -> str:
    bounds = ["0.01", "0.02", "0.04", "+Inf"]
    lines = ["# TYPE sglang:inter_token_latency_seconds histogram"]
    for tp in ("0", "1"):
        for b, c in zip(bounds, counts):
            lines.append(f'sglang:inter_token_latency_seconds_bucket{{{LABELS},tp_rank="{tp}",le="{b}"}} {c}')
        lines.append(f'sglang:inter_token_latency_seconds_count{{{LABELS},tp_rank="{tp}"}} {total}')
        lines.append(f'sglang:inter_token_latency_seconds_sum{{{LABELS},tp_rank="{tp}"}} {s}')
    return "\n".join(lines) + "\n"


def test_interval_quantiles_use_bucket_deltas():
    # first 100 observations all fast (≤10 ms); then 100 more, all in (20, 40] ms
    a = M.parse(_hist_page([100, 100, 100, 100], 100, 0.5), at=0.0)
    b = M.parse(_hist_page([100, 100, 200, 200], 200, 3.5), at=5.0)
    v = M.view(b, a).latency["itl"]
    assert v["total"]["count"] == 200  # tp ranks are one stream of observations, not two
    assert v["total"]["p50"] == pytest.approx(0.01)
    assert v["interval"]["count"] == 100
    assert v["interval"]["p50"] == pytest.approx(0.03)  # 0.02 + 0.02 * 50/100
    assert v["interval"]["mean"] == pytest.approx(0.03)
    assert v["interval"]["p99"] == pytest.approx(0.02 + 0.02 * 0.99)


def test_empty_histogram_has_no_quantiles():
    h = M.Histogram([(0.1, 0.0), (math.inf, 0.0)], 0.0, 0.0)
    assert h.quantile(0.5) is None and h.mean is None


def test_non_sglang_and_malformed_lines():
    snap = M.parse("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 3.0\n")
    assert snap.gauges == {} and snap.counters == {} and snap.histograms == {}
    with pytest.raises(M.MetricsUnreadable) as caught:  # words and what to do, not the parser's ValueError
        M.parse("sglang:num_running_reqs{model_name=\"x\" 1\n")
    assert "not Prometheus text" in caught.value.message and "curl" in caught.value.hint


def test_metrics_url_sits_at_the_root():
    assert M.metrics_url("http://h:8000/v1/") == "http://h:8000/metrics"
    assert M.metrics_url("http://h:8000") == "http://h:8000/metrics"


# -- live pages from the SGLang-shaped server ---------------------------------------------------------


def _chat(base_url: str, n: int, stream: bool = True) -> None:
    import httpx

    for i in range(n):
        body = {"model": "openai/gpt-oss-20b", "stream": stream, "max_tokens": 32,
                "messages": [{"role": "user", "content": f"Say hello number {i}"}]}
        with httpx.stream("POST", base_url + "/v1/chat/completions", json=body, timeout=30) as r:
            assert r.status_code == 200
            r.read()


def test_live_page_of_the_sglang_shaped_server(sglang_shaped_factory):
    peer = sglang_shaped_factory()
    with M.Scraper(peer.base_url + "/v1") as scraper:
        first = scraper.scrape()
        assert first.snapshot.models == ["openai/gpt-oss-20b"]
        assert set(first.snapshot.gauges) >= {"running", "queued", "token_usage", "gen_throughput", "cache_hit_rate"}
        before = first.snapshot.counters.get("requests", 0)
        _chat(peer.base_url, 5)
        second = scraper.scrape()
    assert second.snapshot.counters["requests"] - before == 5
    assert second.rates["requests"] > 0 and second.rates["generation_tokens"] > 0
    ttft = second.latency["ttft"]
    assert ttft["interval"]["count"] == 5
    assert ttft["interval"]["p50"] is not None and ttft["interval"]["p50"] > 0
    assert second.latency["e2e"]["total"]["p99"] >= second.latency["ttft"]["total"]["p50"]
    json.dumps(second.to_dict())  # the CLI's --json output


def test_metrics_disabled_says_so_and_offers_the_fix(sglang_shaped_factory):
    peer = sglang_shaped_factory(metrics=False)
    with pytest.raises(M.MetricsDisabled) as info:
        M.fetch_text(peer.base_url)
    assert "--enable-metrics" in info.value.message
    assert "ENABLE_METRICS" in info.value.hint and info.value.exit_code == 3


def test_unreachable_server():
    with pytest.raises(M.MetricsUnreachable) as info:
        M.fetch_text("http://127.0.0.1:9")
    assert info.value.exit_code == 3


def test_cli_metrics_json_and_disabled(sglang_shaped_factory, capsys):
    from console.cli import main

    peer = sglang_shaped_factory()
    _chat(peer.base_url, 2)
    assert main(["metrics", "--base-url", peer.base_url, "--interval", "0.05", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counters"]["requests"] == 2 and data["latency"]["ttft"]["total"]["count"] == 2

    assert main(["metrics", "--base-url", peer.base_url, "--interval", "0.05"]) == 0
    text = capsys.readouterr().out
    assert "requests running 0" in text and "TTFT ms p50/p90/p99" in text

    off = sglang_shaped_factory(metrics=False)
    assert main(["metrics", "--base-url", off.base_url, "--interval", "0.05"]) == 3
    err = capsys.readouterr().err
    assert "without --enable-metrics" in err and "ENABLE_METRICS" in err


def test_cli_shows_ranks_apart(tmp_path, capsys):
    from console.cli.metrics import format_view

    text = format_view(M.view(M.parse(PAGE)).to_dict())
    assert "KV usage per tp rank: 0:5%  1:6%" in text
    assert "requests running 8  queued 3" in text and "SWA usage 12%" in text
    assert "TTFT ms p50/p90/p99 75/194/438 (n=100)" in text

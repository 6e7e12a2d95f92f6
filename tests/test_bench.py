"""The benchmark: timing accuracy against a server with known delays, statistics, schema, CLI."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import stat
from pathlib import Path

import jsonschema
import pytest

from console.bench import stats
from console.bench.prompts import load_dataset, random_prompts
from console.bench.report import compact_reference, format_result
from console.bench.run import BenchConfig, run_bench
from console.bench.schema import RESULT_SCHEMA, validate
from console.errors import ConsoleError
from tests.peers.timed_server import timed_server

D1, D2 = 300.0, 25.0  # ms: first token after D1, then one every D2 (realistic gpt-oss TTFT at c=16)
OUT = 12


def tolerance(truth_ms: float) -> float:
    return max(1.0, 0.02 * truth_ms)


def assert_close(measured: float, truth: float, what: str) -> None:
    assert abs(measured - truth) <= tolerance(truth), f"{what}: measured {measured:.3f} ms, truth {truth:.3f} ms"


@pytest.fixture(scope="module")
def timed_url():
    with timed_server(D1, D2) as url:
        yield url


def within(lv: dict, truths: dict[str, float]) -> bool:
    return all(abs(lv[m][s] - t) <= tolerance(t) for m, t in truths.items() for s in ("p50", "mean"))


def measure(url: str, truths: dict[str, float], attempts: int = 2, **cfg) -> dict:
    """Run the bench; on a machine shared with other work one run may be disturbed by the
    scheduler, so a run outside the tolerance is repeated once. A real timing error fails both."""
    for _ in range(attempts):
        result = run_bench(BenchConfig(url, **cfg))
        validate(result)
        if within(result["levels"][0], truths):
            break
    return result["levels"][0]


@pytest.mark.parametrize("concurrency,requests", [(1, 8), (16, 32)])
def test_ttft_and_itl_match_the_known_delays(timed_url, concurrency, requests):
    lv = measure(timed_url, {"ttft_ms": D1, "ttft_any_ms": D1, "itl_ms": D2}, concurrency=[concurrency],
                 input_len=32, output_len=OUT, requests=requests, gpu="none")
    assert lv["completed"] == requests and lv["failed"] == 0
    assert lv["total_output_tokens"] == requests * OUT
    for stat in ("p50", "mean"):  # the bar: max(1 ms, 2 %)
        assert_close(lv["ttft_ms"][stat], D1, f"TTFT {stat} at c={concurrency}")
        assert_close(lv["ttft_any_ms"][stat], D1, f"TTFT(any) {stat} at c={concurrency}")
        assert_close(lv["itl_ms"][stat], D2, f"ITL {stat} at c={concurrency}")
        # derived figures: right definition, looser bar (they add up the lateness of two timestamps)
        assert lv["tpot_ms"][stat] == pytest.approx(D2, rel=0.05), f"TPOT {stat}"
        assert lv["e2e_ms"][stat] == pytest.approx(D1 + (OUT - 1) * D2, rel=0.05), f"E2E {stat}"
    assert lv["itl_ms"]["n"] == requests * (OUT - 1)
    # every level keeps `concurrency` streams in flight (less the client's own gaps between
    # requests, which a busy machine stretches)
    assert lv["achieved_concurrency"] == pytest.approx(concurrency, rel=0.25)
    e2e_s = (D1 + (OUT - 1) * D2) / 1000
    assert lv["output_throughput"] == pytest.approx(concurrency * OUT / e2e_s, rel=0.25)


def test_reasoning_first_separates_ttft_from_ttft_any():
    with timed_server(200, 20, reasoning_tokens=4) as url:
        lv = measure(url, {"ttft_any_ms": 200, "ttft_ms": 280}, concurrency=[2], input_len=8, output_len=10,
                     requests=4)
    assert_close(lv["ttft_any_ms"]["p50"], 200, "TTFT to the first reasoning token")
    assert_close(lv["ttft_ms"]["p50"], 200 + 4 * 20, "TTFT to the first content token")
    assert lv["itl_ms"]["n"] == 4 * 5  # gaps between the 6 content chunks only
    # TPOT by bench_serving's definition: (E2E − TTFT) / (output tokens − 1), reasoning tokens counted
    assert lv["tpot_ms"]["p50"] == pytest.approx(5 * 20 / 9, abs=1.0)


def test_result_json_schema_rejects_broken_results(timed_url):
    result = run_bench(BenchConfig(timed_url, model="openai/gpt-oss-120b", concurrency=[1, 2], input_len=8,
                                   output_len=3, requests=2, price_per_hour=4.0, gpu="H100"))
    validate(result)
    assert result["model"] == "openai/gpt-oss-120b" and result["config"]["concurrency"] == [1, 2]
    assert [f["source"] for f in result["reference"]][-1].startswith("seed")
    lv = result["levels"][0]
    assert lv["cost_per_m_output_usd"] == pytest.approx(4.0 / (lv["output_throughput"] * 3600) * 1e6)
    for breakage in (lambda r: r.pop("levels"), lambda r: r["levels"][0].update(failed=-1),
                     lambda r: r["levels"][0]["ttft_ms"].pop("p99"), lambda r: r.update(schema="other")):
        bad = copy.deepcopy(result)
        breakage(bad)
        with pytest.raises(jsonschema.ValidationError):
            validate(bad)
    jsonschema.Draft202012Validator.check_schema(RESULT_SCHEMA)


def test_server_metrics_beside_the_client_numbers(sglang_shaped_server, timed_url):
    from console.bench.report import format_result

    result = run_bench(BenchConfig(sglang_shaped_server.base_url, concurrency=[2], input_len=16, output_len=8,
                                   requests=6, gpu="H100"))
    validate(result)
    sv = result["levels"][0]["server"]
    assert sv["requests"] == 6  # the level's requests, not the warm-up
    assert sv["generation_tokens"] > 0 and sv["ttft_p50_ms"] is not None and sv["e2e_p50_ms"] is not None
    assert "server's own /metrics over each level" in format_result(result)

    no_metrics = run_bench(BenchConfig(timed_url, concurrency=[1], input_len=4, output_len=2, requests=1))
    validate(no_metrics)
    assert no_metrics["levels"][0]["server"] is None
    assert "server /metrics: not available" in format_result(no_metrics)


def test_client_processes_share_one_level(timed_url):
    from console.bench.processes import auto_workers
    from console.bench.run import LevelDone
    from console.bench.runner import Progress

    seen = []
    result = run_bench(BenchConfig(timed_url, concurrency=[4], input_len=16, output_len=6, requests=12, workers=2),
                       seen.append)
    validate(result)
    lv = result["levels"][0]
    assert lv["client_processes"] == 2
    assert lv["completed"] == 12 and lv["failed"] == 0 and lv["total_output_tokens"] == 12 * 6
    assert lv["itl_ms"]["n"] == 12 * 5
    # the shared clock: every TTFT is the server's D1 within a loose bound, even across processes
    assert abs(lv["ttft_ms"]["p50"] - D1) < 0.1 * D1
    assert lv["achieved_concurrency"] == pytest.approx(4, rel=0.3)
    progress = [e for e in seen if isinstance(e, Progress)]
    assert progress and progress[-1].done == 12 and isinstance(seen[-1], LevelDone)
    assert auto_workers(64, cpus=32) == 4 and auto_workers(64, cpus=2) == 1 and auto_workers(4, cpus=64) == 1


def test_percentiles_and_cost():
    assert stats.percentile([], 50) is None
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5  # linear between order statistics, like numpy
    assert stats.percentile([10, 20, 30, 40, 50], 90) == pytest.approx(46.0)
    assert stats.percentile(list(range(101)), 99) == pytest.approx(99.0)
    # 1000 tok/s at $3.60/h → 3.6M tokens per $3.60 → $1 per million
    assert stats.cost_per_million(1000.0, 3.60) == pytest.approx(1.0)
    assert stats.cost_per_million(0.0, 3.60) is None and stats.cost_per_million(10.0, None) is None


def test_random_prompts_are_seeded_and_sized():
    a, b, c = random_prompts(4, 100, seed=1), random_prompts(4, 100, seed=1), random_prompts(4, 100, seed=2)
    assert a == b and a != c
    assert all(len(p.messages[0]["content"].split()) == 100 for p in a)
    assert len({p.messages[0]["content"].split()[0] for p in a}) == 4  # no shared prefix between prompts


def test_dataset_formats(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join([
        json.dumps({"prompt": "one two three", "output_len": 7}),
        json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]}),
        json.dumps({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}),
        "",
    ]))
    rows = load_dataset(f)
    assert [r.output_len for r in rows] == [7, None, None]
    assert rows[0].messages == [{"role": "user", "content": "one two three"}] and rows[0].input_len == 3
    assert rows[2].messages == [{"role": "user", "content": "q"}]
    assert len(load_dataset(f, count=7, seed=3)) == 7
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": 1}\n')
    with pytest.raises(ConsoleError, match="needs 'prompt'"):
        load_dataset(bad)
    with pytest.raises(ConsoleError, match="cannot read"):
        load_dataset(tmp_path / "missing.jsonl")


def test_dataset_output_len_drives_max_tokens(timed_url, tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"prompt": "short one", "output_len": 5}) + "\n")
    lv = run_bench(BenchConfig(timed_url, concurrency=[2], dataset=str(f), output_len=50, requests=4))["levels"][0]
    assert lv["total_output_tokens"] == 4 * 5


def test_tool_load_reports_the_failure_rate():
    from console.bench.toolload import run_tool_load

    with timed_server(5, 1, bad_tool_every=4) as url:  # every 4th tool call has broken JSON arguments
        res = asyncio.run(run_tool_load(url, "timed-model", 8, 40, checks=("tool-auto",)))
    assert res.rounds == 40 and res.failed == 10 and res.failure_rate == 0.25
    assert res.failures == {"invalid-json-args": 10}
    assert "not valid JSON" in res.examples["invalid-json-args"]
    assert res.by_check == {"tool-auto": {"rounds": 40, "failed": 10}}


def test_tool_load_runs_the_smoke_suites_tool_rounds(sglang_shaped_server):
    from console.bench.toolload import ROUNDS, run_tool_load

    res = asyncio.run(run_tool_load(sglang_shaped_server.base_url, sglang_shaped_server.model, 4, 9))
    assert res.rounds == 9 and res.failed == 0, res.to_dict()
    assert set(res.by_check) == set(ROUNDS) == {"tool-auto", "streaming-tool-call", "multi-turn"}


def test_cli_exit_codes_and_json(tmp_path, capsys):
    from console.cli import main

    with timed_server(5, 1, bad_tool_every=4) as url:
        out = tmp_path / "r.json"
        assert main(["bench", "--base-url", url, "--concurrency", "1,2", "--requests", "3", "--input-len", "8",
                     "--output-len", "4", "--json", str(out), "--quiet", "--price-per-hour", "2"]) == 0
        text = capsys.readouterr().out
        assert "out tok/s" in text and f"saved {out}" in text
        validate(json.loads(out.read_text()))
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o600

        assert main(["bench", "--base-url", url + "/v1", "--concurrency", "2", "--requests", "2", "--input-len", "4",
                     "--output-len", "2", "--json", "--quiet"]) == 0
        validate(json.loads(capsys.readouterr().out))

        assert main(["bench", "--base-url", url, "--tool-load", "4", "--tool-rounds", "8"]) == 1
        out = capsys.readouterr().out
        assert "tool-call load: 8 rounds at concurrency 4" in out and "invalid-json-args" in out
        assert main(["bench", "--base-url", url, "--tool-load", "4", "--tool-rounds", "8",
                     "--max-failure-rate", "0.9", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["rounds"] == 8 and 0 < data["failed"] < 8
        saved = tmp_path / "t.json"
        assert main(["bench", "--base-url", url, "--tool-load", "4", "--tool-rounds", "8",
                     "--max-failure-rate", "0.9", "--json", str(saved)]) == 0
        assert f"saved {saved}" in capsys.readouterr().out
        assert json.loads(saved.read_text())["rounds"] == 8
        assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
        assert main(["bench", "--base-url", url, "--concurrency", "0"]) == 2
    capsys.readouterr()
    assert main(["bench", "--base-url", "http://127.0.0.1:9", "--concurrency", "1", "--quiet"]) == 3
    assert main(["bench", "--base-url", "http://127.0.0.1:9", "--model", "m", "--concurrency", "1",
                 "--requests", "1", "--quiet"]) == 3
    assert "no server" in capsys.readouterr().err


def test_wrong_api_key_is_said_once_not_as_n_failures(sglang_shaped_factory, capsys):
    from console.cli import main

    peer = sglang_shaped_factory(api_key="sekret")
    rc = main(["bench", "--base-url", peer.base_url, "--model", peer.model, "--api-key", "wrong",
               "--concurrency", "1", "--requests", "2", "--input-len", "4", "--output-len", "4", "--quiet"])
    assert rc == 3
    err = capsys.readouterr().err
    assert "rejected the API key" in err and "wrong" not in err and "sekret" not in err


def test_failures_during_the_run_exit_1_unless_below_the_threshold(capsys):
    from console.cli import main

    args = ["--concurrency", "2", "--requests", "6", "--input-len", "4", "--output-len", "4", "--quiet"]
    with timed_server(5, 1, fail_every=3) as url:  # the warm-up is answer 1; answers 3 and 6 break off
        assert main(["bench", "--base-url", url, *args]) == 1
        out = capsys.readouterr().out
        assert "2× RemoteProtocolError" in out
        assert main(["bench", "--base-url", url, *args, "--max-failure-rate", "0.5", "--json"]) == 0
        lv = json.loads(capsys.readouterr().out)["levels"][0]
        assert lv["completed"] + lv["failed"] == 6 and lv["failed"] >= 1 and lv["failure_rate"] <= 0.5


@pytest.mark.peer
def test_bench_against_llama_cpp(llama_server, tmp_path):
    # The fixture starts llama.cpp with --interrupt_requests False (its default cuts off a running
    # stream when the next request arrives), so concurrent streams complete; it serves them in turn.
    result = run_bench(BenchConfig(llama_server.base_url, concurrency=[1, 2], input_len=32, output_len=16,
                                   requests=4, price_per_hour=1.0))
    validate(result)
    assert result["model"] == llama_server.model
    for lv in result["levels"]:
        assert lv["completed"] == 4 and lv["failed"] == 0, lv["errors"]
        assert 0 < lv["ttft_ms"]["p50"] <= lv["e2e_ms"]["p50"] < 120_000
        assert lv["ttft_any_ms"]["p50"] <= lv["ttft_ms"]["p50"]
        assert lv["total_output_tokens"] > 0 and lv["output_throughput"] > 0
        assert lv["itl_ms"]["n"] > 0 and 0 < lv["itl_ms"]["p50"] < 10_000
        assert 0 < lv["achieved_concurrency"] <= lv["concurrency"] + 0.01
        assert lv["itl_ms"]["n"] == 4 * 15  # one chunk per token: 16 tokens, 15 gaps per request
        assert lv["cost_per_m_output_usd"] > 0


def test_reference_figures_only_for_the_gpu_and_model_measured(timed_url, capsys, monkeypatch):
    """Issue 10, bug 6: no figures for a GPU that was not detected or has none, no ratio against them,
    an unknown --gpu refused with the known names, and a ratio says when the lengths differ."""
    from console.bench import reference
    from console.cli import main

    assert reference.figures_for("openai/gpt-oss-20b", None) == []
    assert reference.figures_for("openai/gpt-oss-20b", "L4") == []
    assert reference.figures_for("some-other-model", "H100") == []
    assert reference.figures_for("gpt-oss-20b", "H100")
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(Path(__file__).parent / "data" / "nvml" / "no-driver.json"))
    common = ["bench", "--base-url", timed_url, "--model", "openai/gpt-oss-20b", "--concurrency", "1",
              "--requests", "2", "--input-len", "8", "--output-len", "3", "--quiet"]
    assert main(common) == 0
    out = capsys.readouterr().out
    assert "no GPU detected: pass --gpu H100 (etc.) to compare with published figures" in out
    assert "reference figures for" not in out and "×)" not in out
    assert main([*common, "--gpu", "L4"]) == 0
    out = capsys.readouterr().out
    assert "no published figures for gpt-oss-20b on L4-24GB: nothing to compare with" in out and "×)" not in out
    assert main([*common, "--gpu", "FOO"]) == 2
    err = capsys.readouterr().err
    assert "--gpu: unknown GPU 'FOO'; known: A100-40GB" in err and "H100-80GB" in err
    assert main([*common, "--gpu", "H100", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["gpu"] == "H100-80GB" and {f["model"] for f in result["reference"]} == {"gpt-oss-20b"}
    text = format_result(result)
    assert "figure in=1024 out=1024, this run in=8 out=3: not like for like" in text
    compact = compact_reference(result)
    assert any("*" in line for line in compact) and "not like for like" in compact[-1]


def test_detected_gpu_comes_through_the_nvml_seam(monkeypatch):
    """A replayed recording counts as the host's GPU, like everywhere else in the console."""
    from pathlib import Path

    from console.bench import reference

    data = Path(__file__).parent / "data" / "nvml"
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(data / "h100.json"))
    gpu = reference.detect_gpu()
    assert gpu == "NVIDIA H100 80GB HBM3"
    assert {f.model for f in reference.figures_for("openai/gpt-oss-20b", gpu)} == {"gpt-oss-20b"}
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(data / "no-driver.json"))
    assert reference.detect_gpu() is None


def test_timestamps_bracket_the_servers_own_clock(timed_url):
    """The bench's send stamp comes before the server had the request, and its arrival stamp
    after the server wrote the token (one monotonic clock for both processes). The records a
    level hands out carry the answer's id, so they can be matched to the server's."""
    import httpx

    from console.bench.run import LevelDone

    httpx.get(timed_url + "/timed/stats", timeout=5)  # forget earlier tests' answers
    done = []
    run_bench(BenchConfig(timed_url, concurrency=[4], input_len=16, output_len=3, requests=4, gpu="none", warmup=0),
              lambda ev: done.append(ev) if isinstance(ev, LevelDone) else None)
    server = {r["id"]: r for r in httpx.get(timed_url + "/timed/stats", timeout=5).json()["requests"]}
    records = done[-1].records
    assert len(records) == 4 and {r.id for r in records} == set(server)
    for rec in records:
        srv = server[rec.id]
        assert rec.start < srv["t0"] < srv["first_content_sent"] < rec.start + rec.ttft
        assert srv["first_content_sent"] - srv["t0"] >= D1 / 1000  # the server never sends early

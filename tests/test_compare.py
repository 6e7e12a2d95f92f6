"""``compare``: rates and intervals, endpoints and their keys, interleaving, the report and the CLI,
against SGLang-shaped servers (the three-engine must-show is tests/test_compare_peers.py)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from console.cli import main as cli_main
from console.compare import report
from console.compare.endpoints import parse_endpoints
from console.compare.run import CheckRun, CompareConfig, CompareRunner, RunDone
from console.compare.stats import Rate, runs_to_tell_apart, wilson
from console.errors import ConsoleError

QUICK = ["--soak", "0", "--agreement", "0", "--prefix-tokens", "0", "--no-bench", "--quiet"]


# ---------------------------------------------------------------------------------- statistics


def test_wilson_interval_known_values():
    # Textbook values (Newcombe 1998, table I: 1/10 → 0.0179–0.4042; 0/10 → 0–0.2775).
    lo, hi = wilson(1, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.0179, 0.4042)
    assert wilson(0, 10)[0] == 0.0 and round(wilson(0, 10)[1], 4) == 0.2775
    assert wilson(10, 10)[1] == 1.0 and wilson(0, 0) == (0.0, 1.0)
    for k in range(0, 21):  # symmetric: k successes ↔ n−k failures
        lo, hi = wilson(k, 20)
        lo2, hi2 = wilson(20 - k, 20)
        assert abs(lo - (1 - hi2)) < 1e-12 and abs(hi - (1 - lo2)) < 1e-12


def test_tight_enough_to_tell_zero_from_ten_percent():
    assert runs_to_tell_apart() == 35
    assert not Rate(0, 34).decided() and Rate(0, 35).decided()  # clean: 10 % left out
    assert Rate(1, 3).decided() and Rate(1, 3).excludes(0.0)  # a failure: 0 % left out
    assert not Rate(0, 10).excludes(0.0) and Rate(0, 35).excludes(0.10)


# ---------------------------------------------------------------------------------- endpoints


def test_endpoints_and_keys_per_endpoint(tmp_path):
    kf = tmp_path / "a.key"
    kf.write_text("sk-aaaaaaaaaaaaaaaaaaaa1111\n")
    eps = parse_endpoints(["a=127.0.0.1:1/v1", "b-2=http://127.0.0.1:2"], [f"a={kf}"], ["b-2=my-model"],
                          env={"GPT_OSS_CONSOLE_API_KEY_B_2": "sk-bbbbbbbbbbbbbbbbbbbb2222",
                               "GPT_OSS_CONSOLE_API_KEY": "sk-global-must-not-be-used-9999"})
    a, b = eps
    assert (a.name, a.endpoint.base_url, a.endpoint.model) == ("a", "http://127.0.0.1:1", None)
    assert a.endpoint.api_key.reveal() == "sk-aaaaaaaaaaaaaaaaaaaa1111" and "file" in a.endpoint.api_key.source
    assert b.endpoint.api_key.reveal() == "sk-bbbbbbbbbbbbbbbbbbbb2222" and b.endpoint.model == "my-model"
    assert "sk-aaaaaaaaaaaaaaaaaaaa1111" not in repr(a) + json.dumps(a.to_dict())  # masked wherever printed
    only_a = parse_endpoints(["a=127.0.0.1:1"], env={"GPT_OSS_CONSOLE_API_KEY": "sk-global-must-not-be-used"})
    assert only_a[0].endpoint.api_key is None  # one server's key is never sent to another


@pytest.mark.parametrize("endpoints,key_files,needle", [
    ([], [], "no endpoints to compare"),
    (["http://127.0.0.1:1"], [], "is not NAME=URL"),
    (["a b=http://127.0.0.1:1"], [], "not a usable name"),
    (["a=http://127.0.0.1:1", "a=http://127.0.0.1:2"], [], "used twice"),
    (["a=http://127.0.0.1:99999"], [], "not a usable server URL"),
    (["a=http://127.0.0.1:1"], ["b=/tmp/x"], "names no endpoint"),
    (["a=http://127.0.0.1:1"], ["a=/nonexistent/key"], "does not exist"),
])
def test_bad_endpoints_say_what_to_do(endpoints, key_files, needle):
    with pytest.raises(ConsoleError) as e:
        parse_endpoints(endpoints, key_files, env={})
    assert needle in e.value.message and e.value.exit_code == 2


@pytest.mark.parametrize("argv,needle", [
    (["--endpoint", "a=http://127.0.0.1:1", "--repeat", "often"], "--repeat wants a whole number"),
    (["--endpoint", "a=http://127.0.0.1:1", "--only", "tool-auto,nope"], "unknown check(s) nope"),
    (["--endpoint", "a=http://127.0.0.1:1", "--only", "soak"], "unknown check(s) soak"),
    (["--endpoint", "a=http://127.0.0.1:1", "--concurrency", "0"], "values must be ≥ 1"),
])
def test_cli_bad_options_exit_2(capsys, argv, needle):
    assert cli_main(["compare", *argv]) == 2
    assert needle in capsys.readouterr().err


# ---------------------------------------------------------------------------------- runs


async def test_endpoints_are_interleaved_check_by_check(sglang_shaped_factory):
    a, b = sglang_shaped_factory(), sglang_shaped_factory()
    events = []
    cfg = CompareConfig(parse_endpoints([f"a={a.base_url}", f"b={b.base_url}"], env={}),
                        only=["tool-auto", "plain-chat"], repeat=2, soak=0, agreement=0, prefix_tokens=0, bench=False)
    runner = CompareRunner(cfg, events.append)
    result = await runner.run()
    order = [(e.run, e.check, e.endpoint) for e in events if isinstance(e, CheckRun)]
    assert order == [(r, c, ep) for r in (1, 2) for c in ("plain-chat", "tool-auto") for ep in ("a", "b")]
    assert [e.run for e in events if isinstance(e, RunDone)] == [1, 2]
    assert result["exit_code"] == 0 and result["runs"] == 2
    for ep in result["endpoints"]:
        assert ep["checks"]["tool-auto"]["success"]["k"] == 2 and ep["conformance"] == "pass"
    report.validate(result)


async def test_auto_repeat_stops_each_check_when_decided(sglang_shaped_factory):
    clean = sglang_shaped_factory()
    broken = sglang_shaped_factory(faults=["no_call"])  # every run fails: decided after one
    cfg = CompareConfig(parse_endpoints([f"clean={clean.base_url}", f"broken={broken.base_url}"], env={}),
                        only=["tool-auto"], soak=0, agreement=0, prefix_tokens=0, bench=False)
    result = await CompareRunner(cfg).run()
    by = {ep["name"]: ep["checks"]["tool-auto"] for ep in result["endpoints"]}
    assert by["clean"]["pass"] == runs_to_tell_apart() and by["clean"]["decided"]
    assert by["broken"]["fail"] == 1 and by["broken"]["decided"]
    assert by["broken"]["shapes"] == {"answered-in-text": 1}
    assert by["broken"]["replays"][0]["verdict"] == "model"
    assert len(clean.server.requests_seen) > 30 and len(broken.server.requests_seen) < 5
    assert result["exit_code"] == 1


async def test_measures_beside_the_checks(sglang_shaped_factory):
    a = sglang_shaped_factory()
    cfg = CompareConfig(parse_endpoints([f"a={a.base_url}"], env={}), only=["plain-chat"], repeat=1, soak=4,
                        agreement=3, prefix_tokens=300, concurrency=[1], requests=4, input_len=32, output_len=8,
                        price_per_hour=2.0)
    result = await CompareRunner(cfg).run()
    ep = result["endpoints"][0]
    assert ep["soak"]["reported"] and ep["soak"]["passed"] == 4 and 0.5 < ep["soak"]["reuse"] < 1.0
    assert ep["agreement"]["pairs"] == 3 and ep["agreement"]["agree"] == 3
    cc = ep["cold_cached"]
    # cold: only the chat template's opening is shared with earlier prompts; warm: all of it is cached
    assert cc["identical"] is True and cc["cold_cached_tokens"] < 5 and cc["warm_cached_tokens"] == cc["prompt_tokens"]
    [level] = ep["bench"]
    assert level["concurrency"] == 1 and level["completed"] == 4 and level["cost_per_m_output_usd"] > 0
    assert ep["leaks"]["turns"] >= 1 + 4 + 6 + 2 and ep["leaks"]["leaky_turns"] == 0
    md = report.markdown(result)
    for row in ("Harmony leaks per 1,000 turns", "streamed = non-streamed", "prefix-cache reuse",
                "cold vs cached prefix", "TTFT p50 at concurrency 1", "$/M output tokens at $2/h"):
        assert row in md
    report.validate(result)


async def test_leaks_are_counted_per_thousand_turns(sglang_shaped_factory):
    leaky = sglang_shaped_factory(faults=["leak_content"])
    cfg = CompareConfig(parse_endpoints([f"l={leaky.base_url}"], env={}), only=["plain-chat", "streaming"], repeat=3,
                        soak=0, agreement=0, prefix_tokens=0, bench=False)
    ep = (await CompareRunner(cfg).run())["endpoints"][0]
    assert ep["leaks"]["turns"] == 6 and ep["leaks"]["leaky_turns"] == 6 and ep["leaks"]["per_1000"] == 1000
    assert ep["checks"]["plain-chat"]["shapes"] == {"raw-harmony-in-content": 3}


# ---------------------------------------------------------------------------------- the CLI


def test_cli_files_keys_and_exit_codes(sglang_shaped_factory, tmp_path, capsys):
    a = sglang_shaped_factory(api_key="sk-alpha-000000000000000000aaaa")
    b = sglang_shaped_factory(api_key="sk-bravo-000000000000000000bbbb")
    ka, kb = tmp_path / "a.key", tmp_path / "b.key"
    ka.write_text("sk-alpha-000000000000000000aaaa")
    kb.write_text("sk-bravo-000000000000000000bbbb")
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    code = cli_main(["compare", "--endpoint", f"a={a.base_url}", "--endpoint", f"b={b.base_url}",
                     "--api-key-file", f"a={ka}", "--api-key-file", f"b={kb}", "--only", "plain-chat", "--repeat", "2",
                     *QUICK, "--json", str(out_json), "--markdown", str(out_md)])
    out = capsys.readouterr()
    assert code == 0, out
    for f in (out_json, out_md):
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    text = out.out + out.err + out_json.read_text() + out_md.read_text()
    assert "aaaa" in text and "sk-alpha-000000000000000000aaaa" not in text and "sk-bravo-0000" not in text
    data = json.loads(out_json.read_text())
    assert [e["api_key"] for e in data["endpoints"]] == ["sk-…aaaa", "sk-…bbbb"]
    assert out_md.read_text().startswith("| measure | the seed says | a | b |")
    # b's key given to a: a refuses it, and the run says so (exit 3) while b is still compared.
    code = cli_main(["compare", "--endpoint", f"a={a.base_url}", "--endpoint", f"b={b.base_url}",
                     "--api-key-file", f"a={kb}", "--api-key-file", f"b={kb}", "--only", "plain-chat", "--repeat", "1",
                     *QUICK, "--json", "-"])
    data = json.loads(capsys.readouterr().out)
    assert code == 3 and data["exit_code"] == 3
    by = {e["name"]: e for e in data["endpoints"]}
    assert by["a"]["conformance"] == "unreachable" and "rejected the API key" in by["a"]["error"]
    assert by["b"]["checks"]["plain-chat"]["pass"] == 1


def test_cli_unreachable_endpoint(capsys):
    code = cli_main(["compare", "--endpoint", "gone=http://127.0.0.1:9", *QUICK, "--repeat", "1"])
    out = capsys.readouterr()
    assert code == 3 and "unreachable: no server at http://127.0.0.1:9" in out.out
    assert "Traceback" not in out.out + out.err


def test_claims_with_an_sglang_and_a_vllm_endpoint():
    """The seed's engine-to-engine claims are judged when both engines were measured."""
    def ep(name, kind, ttft, tput, identical, leaky):
        return {"name": name, "error": None, "engine": {"kind": kind}, "checks": {},
                "leaks": {"turns": 100, "leaky_turns": leaky},
                "cold_cached": {"identical": identical, "words": 9000, "warm_cached_tokens": None},
                "bench": [{"concurrency": 1, "ttft_ms": {"p50": ttft}, "output_throughput": tput}]}

    claims = {c["claim"]: c for c in report.evaluate_claims(
        {"endpoints": [ep("s", "sglang", 50.0, 300.0, True, 0), ep("v", "vllm", 150.0, 320.0, False, 4)]})}
    assert claims["ttft"]["verdict"] == "does not hold" and "3.00×" in claims["ttft"]["measured"]
    assert claims["throughput"]["verdict"] == "holds" and "94 %" in claims["throughput"]["measured"]
    assert claims["chunked-prefill"]["verdict"].startswith("holds")
    assert claims["leaks"]["verdict"] == "holds: vLLM leaked"

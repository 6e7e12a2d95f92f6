"""The must-show of the bake-off: ``compare`` on three endpoints — the real llama.cpp peer, the
SGLang-shaped server clean, and the same server with an intermittent fault on 10 % of requests
(vLLM/SGLang's "Unexpected token 200012 while expecting start token 200006", seeded) — and the
table tells them apart with nothing else changed: one command, the same options for all three.
"""

from __future__ import annotations

import json

import pytest

from console.cli import main as cli_main
from console.compare import report

pytestmark = pytest.mark.peer


def test_compare_tells_three_endpoints_apart(llama_server, sglang_shaped_factory, tmp_path, capsys):
    clean = sglang_shaped_factory()
    flaky = sglang_shaped_factory(faults=["parse_error"], fault_rate=0.1, seed=1)
    out = tmp_path / "compare.json"
    code = cli_main(["compare", "--endpoint", f"llama.cpp={llama_server.base_url}",
                     "--endpoint", f"sglang={clean.base_url}", "--endpoint", f"sglang-flaky={flaky.base_url}",
                     "--only", "streaming-tool-call", "--temperature", "0", "--max-tokens", "64",
                     "--soak", "0", "--agreement", "0", "--prefix-tokens", "0", "--no-bench", "--quiet",
                     "--json", str(out)])
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    report.validate(result)
    by = {ep["name"]: ep for ep in result["endpoints"]}
    cell = {name: ep["checks"]["streaming-tool-call"] for name, ep in by.items()}

    # The clean server: its failure-rate interval includes 0 % (and, after enough runs, leaves out 10 %).
    lo, hi = cell["sglang"]["failure"]["ci95"]
    assert cell["sglang"]["fail"] == 0 and lo == 0.0 and hi < 0.10 and cell["sglang"]["decided"]
    # The 10 % fault: its interval leaves out 0 %, and the failure is named and judged.
    lo, hi = cell["sglang-flaky"]["failure"]["ci95"]
    assert cell["sglang-flaky"]["fail"] >= 1 and lo > 0.0, cell["sglang-flaky"]
    assert cell["sglang-flaky"]["shapes"] == {"harmony-parse-error": cell["sglang-flaky"]["fail"]}
    assert flaky.server.faulted >= 1 and clean.server.faulted == 0
    # The real llama.cpp peer: measured by the same command, to a decision, with its own words.
    assert cell["llama.cpp"]["decided"] and cell["llama.cpp"]["pass"] + cell["llama.cpp"]["fail"] >= 1
    assert by["llama.cpp"]["engine"]["kind"] == "llama-cpp-python" and by["sglang"]["engine"]["kind"] == "sglang"
    for r in cell["llama.cpp"]["replays"]:  # SmolLM2 writes no Harmony: no raw verdict, and the reason why
        assert r["verdict"] == "no-raw-path" and "not a gpt-oss model" in r["why"]

    assert code == 1 == result["exit_code"]  # an endpoint failed a conformance check
    md = report.markdown(result)
    header = md.splitlines()[0]
    assert header == "| measure | the seed says | llama.cpp | sglang | sglang-flaky |"
    assert "streaming-tool-call" in md and "harmony-parse-error" in md
    assert "llama.cpp" in printed and "sglang-flaky" in printed

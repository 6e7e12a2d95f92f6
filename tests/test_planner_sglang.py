"""The planner against SGLang's own answers.

tests/data/sglang/answers.json was computed by SGLang's code (its ServerArgs
resolution, KV budget and hybrid sliding-window pool configurator), run by
tests/data/sglang/make_answers.py with only the hardware probes patched, for
every catalog GPU × model × TP. The planner must name the same version and
land within 2 % of SGLang on every case; the defaults it mirrors must match
exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.planner import catalog, sglang
from console.planner.fit import DOES_NOT_FIT, plan, weight_bytes_per_gpu
from console.planner.memory import catalog_memory

ANSWERS = json.loads((Path(__file__).parent / "data" / "sglang" / "answers.json").read_text())
CASES = ANSWERS["cases"]


def _id(case: dict) -> str:
    return f"{case['model']}-{case['gpu']}-tp{case['tp']}"


def test_answers_are_for_the_version_the_planner_names():
    assert ANSWERS["sglang_version"] == sglang.VERSION
    assert sglang.IMAGE.endswith(f":v{sglang.VERSION}")
    p = plan("120b", "H100", 1)
    assert p.planned_for == f"SGLang {sglang.VERSION}" and p.engine_version == ANSWERS["sglang_version"]


def test_the_image_and_stock_mode_pin_that_version():
    from console.runtime.spec import STOCK_IMAGE

    from console.publish.bases import bases, default_base

    # docker/Dockerfile's BASE_IMAGE_<NAME> lines, as the publish workflow reads them
    assert default_base().image == sglang.IMAGE == STOCK_IMAGE == f"lmsysorg/sglang:v{ANSWERS['sglang_version']}"
    # one tag family: every base, and every architecture's image, is this release
    assert all(b.image in sglang.IMAGES.values() for b in bases())
    assert all(f"v{sglang.VERSION}" in tag for tag in sglang.IMAGES.values())


def test_every_catalog_gpu_model_and_tp_has_an_answer():
    want = {(g.name, m, t) for g in catalog.GPUS for m in catalog.MODELS for t in (1, 2, 4, 8)}
    assert {(c["gpu"], c["model"], c["tp"]) for c in CASES} == want


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_the_inputs_sglang_was_given_are_still_the_planners(case):
    """A stale answers file (weights or memory model changed) must be regenerated, not ignored."""
    gpu = catalog.lookup_gpu(case["gpu"])
    inputs = case["inputs"]
    assert inputs["gpu_memory_mib"] * catalog.MiB == gpu.memory_total
    assert inputs["free_at_load_bytes"] == catalog_memory(gpu).free[0], "rerun tests/data/sglang/make_answers.py"
    assert inputs["weight_bytes_per_gpu"] == weight_bytes_per_gpu(case["model"], case["tp"])


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_planner_within_two_percent_of_sglang(case):
    p = plan(case["model"], case["gpu"], case["tp"], tp=case["tp"])
    # The defaults SGLang resolved, exactly.
    assert p.mem_fraction_static == case["mem_fraction_static"]
    assert p.chunked_prefill_size == case["chunked_prefill_size"]
    assert p.cuda_graph_max_bs == case["cuda_graph_max_bs"]
    assert p.attention_backend == case["attention_backend"]
    assert p.moe_backend == case["moe_runner_backend"]
    assert p.page_size == case["page_size"]
    assert sglang.SWA_FULL_TOKENS_RATIO == case["swa_full_tokens_ratio"]
    want = case["max_total_num_tokens"]
    if want == 0:  # SGLang stops: "Not enough memory" / weights leave no KV cache
        assert p.verdict == DOES_NOT_FIT and p.max_total_num_tokens == 0, case.get("error")
        return
    assert abs(p.max_total_num_tokens - want) <= 0.02 * want, (p.max_total_num_tokens, want)
    assert p.kv_bytes_per_token_per_gpu == pytest.approx(case["kv_bytes_per_token"])
    assert abs(p.kv_pool_bytes_per_gpu - case["kv_budget_bytes"]) <= 0.02 * case["kv_budget_bytes"]


def test_largest_deviation_is_reported_and_small():
    """The 2 % bar is the contract; the rules mirror SGLang's, so the real spread is tokens, not percent."""
    worst = 0.0
    for case in CASES:
        want = case["max_total_num_tokens"]
        if want:
            got = plan(case["model"], case["gpu"], case["tp"], tp=case["tp"]).max_total_num_tokens
            worst = max(worst, abs(got - want) / want)
    assert worst < 0.001

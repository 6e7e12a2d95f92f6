"""Predicted vs actual KV pool, and which input was off (console/planner/capacity.py).

The "actual" figures are made here with SGLang 0.5.23's arithmetic written out by hand
(tests/test_planner.py: pool_tokens), as the server would log them.
"""

from __future__ import annotations

import json

from console.engines.sglang.scanner import parse_line
from console.planner import plan
from console.planner.capacity import TOLERANCE, Observed, Prediction, check_capacity
from console.runtime.capacity import CapacityWatch, prediction_of
from console.runtime.spec import LABEL_PLAN
from tests.test_planner import H100_FREE, W20_TP1, pool_tokens

GiB = 2**30
PRED = Prediction.from_plan(plan("gpt-oss-20b", "H100-80GB", 1))


def test_as_planned_within_five_percent():
    assert PRED.max_total_num_tokens == pool_tokens(H100_FREE, 0.83, W20_TP1, 1, 24, 12) == 1258404
    check = check_capacity(PRED, Observed(1258404, H100_FREE, W20_TP1, 8192))
    assert check.within and check.causes == () and check.delta == 0
    assert check.summary == "KV pool 1,258,404 tokens, planned 1,258,404 (SGLang 0.5.23): as planned (+0.0 %)"
    # 4.9 % under is still "as planned"; the bar is TOLERANCE
    assert TOLERANCE == 0.05 and check_capacity(PRED, Observed(int(1258404 * 0.951))).within


def test_memory_held_at_load_is_named_with_how_much():
    # another process held 20 GiB when SGLang loaded: free 58.66 GiB, × 0.83 − 13.45 GiB weights
    held_free = H100_FREE - 20 * GiB
    actual = pool_tokens(held_free, 0.83, W20_TP1, 1, 24, 12)
    assert actual == 855479  # ((58.66 − 13.45) − 58.66 × 0.17) GiB // 44,236.8 B
    check = check_capacity(PRED, Observed(actual, held_free, W20_TP1, 8192))
    assert not check.within and round(check.delta, 3) == -0.320
    (cause,) = check.causes
    assert cause.startswith("58.7 GiB was free when the weights began loading, the plan counted 78.7 GiB "
                            "(other processes held 20.0 GiB of it")
    assert cause.endswith(f": {actual - 1258404:+,} tokens")
    assert "beyond 5%" in check.summary and "58.7 GiB was free" in check.summary


def test_heavier_weights_and_another_chunk_size_are_each_named():
    heavy = W20_TP1 + 6 * GiB
    actual = pool_tokens(H100_FREE, 0.83, heavy, 1, 24, 12)
    (cause,) = check_capacity(PRED, Observed(actual, H100_FREE, heavy, 8192)).causes
    assert cause.startswith("the weights took 19.4 GiB per GPU, the plan counted 13.4 GiB")
    # --chunked-prefill-size 16384: reserved 512 + 24576 + 128 + 512 + 74 × 8 = 26320 MiB → 0.677
    small = pool_tokens(H100_FREE, 0.677, W20_TP1, 1, 24, 12)
    check = check_capacity(PRED, Observed(small, H100_FREE, W20_TP1, 16384))
    (cause,) = check.causes
    assert cause.startswith("chunked prefill 16384 (the plan: 8192) moves SGLang 0.5.23's default memory "
                            "split to 0.677")


def test_a_difference_no_logged_input_explains_says_so():
    check = check_capacity(PRED, Observed(600_000, H100_FREE, W20_TP1, 8192))
    (cause,) = check.causes
    assert "the server's own figures (free memory at load, weights, chunked prefill) give 1,258,404 tokens" in cause
    assert "is the image SGLang 0.5.23" in cause and "--mem-fraction-static" in cause


def test_prediction_label_round_trip_and_foreign_labels():
    label = PRED.to_label()
    assert json.loads(label)["version"] == "0.5.23" and Prediction.from_label(label) == PRED
    for junk in (None, "", "{", '{"engine": "sglang"}', "[]"):
        assert Prediction.from_label(junk) is None
    assert prediction_of({"Config": {"Labels": {LABEL_PLAN: label}}}) == PRED
    assert prediction_of({"Config": {"Labels": {}}}) is None and prediction_of(None) is None


def test_watch_folds_the_start_up_lines_in_log_order():
    held_free = H100_FREE - 20 * GiB
    actual = pool_tokens(held_free, 0.83, W20_TP1, 1, 24, 12)
    lines = [
        f"[2026-12-04 10:00:00 TP0] Load weight begin. avail mem={held_free / GiB:.2f} GB",
        f"[2026-12-04 10:00:09 TP0] Load weight end. elapsed=9.1 s, type=GptOssForCausalLM, dtype=torch.bfloat16, "
        f"avail mem={(held_free - W20_TP1) / GiB:.2f} GB, mem usage={W20_TP1 / GiB:.2f} GB.",
        f"[2026-12-04 10:00:10 TP0] KV Cache is allocated. #tokens: {actual}, K size: 17.8 GB, V size: 17.8 GB",
        f"[2026-12-04 10:00:10 TP0] max_total_num_tokens={actual}, chunked_prefill_size=8192, "
        "max_prefill_tokens=16384, max_running_requests=2048, context_len=131072, available_gpu_mem=13.2 GB",
    ]
    watch = CapacityWatch(PRED)
    changed = [watch.feed(parse_line(line)) for line in lines]
    assert changed == [False, False, True, False]  # the KV line gives the figure; the capacity line confirms it
    assert watch.check.actual == actual and not watch.check.within
    assert "other processes held 20.0 GiB" in watch.check.causes[0]
    assert CapacityWatch(None).feed(parse_line(lines[-1])) is False  # no plan on the container: nothing to say

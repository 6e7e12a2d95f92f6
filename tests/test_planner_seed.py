"""The seed README's compatibility table, re-computed by the planner and pinned."""

from __future__ import annotations

from console.planner.seed import SEED_ROWS, seed_rows, seed_table_markdown

EXPECTED_ROWS = [
    # model, GPUs, verdict, TP, pool tokens, max ctx, conc@8k, conc@32k, backend
    ("gpt-oss-120b", "A100-80GB", "fits with a shorter context", 1, 74035, 74035, 9, 2, "triton"),
    ("gpt-oss-120b", "H100-80GB", "fits with a shorter context", 1, 67771, 67771, 8, 2, "fa3"),
    ("gpt-oss-120b", "2× H100-80GB", "fits", 2, 1164390, 131072, 142, 35, "fa3"),
    ("gpt-oss-120b", "H200-141GB", "fits", 1, 1010465, 131072, 123, 30, "fa3"),
    ("gpt-oss-20b", "L40S-48GB", "fits", 1, 504295, 131072, 61, 15, "triton"),
    ("gpt-oss-20b", "RTX-4090-24GB", "fits", 1, 164086, 131072, 20, 5, "triton"),
]


def test_seed_rows_pinned():
    got = [
        (
            r["model"], r["gpus"], r["verdict"], r["tp"], r["max_total_num_tokens"],
            r["max_context"], r["concurrency_8k"], r["concurrency_32k"], r["attention_backend"],
        )
        for r in seed_rows()
    ]
    assert got == EXPECTED_ROWS
    # concurrency is pool // context (1,164,390 // 8,192 = 142, // 32,768 = 35): checked on
    # every computed row, not just on the pinned numbers
    for r in seed_rows():
        pool = r["max_total_num_tokens"]
        assert (r["concurrency_8k"], r["concurrency_32k"]) == (pool // 8192, pool // 32768), r["gpus"]
    assert len(SEED_ROWS) == 6


def test_seed_table_markdown():
    md = seed_table_markdown()
    lines = md.splitlines()
    assert lines[0].startswith("| model | GPUs | verdict | TP |")
    assert "| gpt-oss-120b | 2× H100-80GB | fits | 2 | 1,164,390 | 131,072 | 142 / 35 | `fa3` |" in lines
    assert "| gpt-oss-120b | H100-80GB | fits with a shorter context | 1 | 67,771 | 67,771 | 8 / 2 | `fa3` |" in lines
    # the seed's wrong claims are called out
    for claim in ("TP = all GPUs", "flashinfer", "45–55 tok/s", "211.5 tok/s", "0.95"):
        assert claim in md

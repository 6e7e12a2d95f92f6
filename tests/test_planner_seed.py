"""The seed README's compatibility table, re-computed by the planner and pinned."""

from __future__ import annotations

from console.planner.seed import SEED_ROWS, seed_rows, seed_table_markdown

EXPECTED_ROWS = [
    # model, GPUs, verdict, TP, pool tokens, max ctx, conc@8k, conc@32k, backend (SGLang 0.5.23, clean cards;
    # each pool is pinned with its arithmetic in tests/test_planner.py and against SGLang in test_planner_sglang.py)
    ("gpt-oss-120b", "A100-80GB", "fits with a shorter context", 1, 16719, 16719, 2, 0, "triton"),
    ("gpt-oss-120b", "H100-80GB", "fits with a shorter context", 1, 11997, 11997, 1, 0, "fa3"),
    ("gpt-oss-120b", "2× H100-80GB", "fits", 2, 1063023, 131072, 129, 32, "fa3"),
    ("gpt-oss-120b", "H200-141GB", "fits", 1, 990736, 131072, 120, 30, "fa3"),
    ("gpt-oss-20b", "L40S-48GB", "fits", 1, 575575, 131072, 70, 17, "triton"),
    ("gpt-oss-20b", "RTX-4090-24GB", "fits with a shorter context", 1, 68792, 68792, 8, 2, "triton"),
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
    # concurrency is pool // context (1,063,023 // 8,192 = 129, // 32,768 = 32): checked on
    # every computed row, not just on the pinned numbers
    for r in seed_rows():
        pool = r["max_total_num_tokens"]
        assert (r["concurrency_8k"], r["concurrency_32k"]) == (pool // 8192, pool // 32768), r["gpus"]
    assert len(SEED_ROWS) == 6


def test_seed_table_markdown():
    md = seed_table_markdown()
    lines = md.splitlines()
    assert lines[0].startswith("| model | GPUs | verdict | TP |")
    assert "| gpt-oss-120b | 2× H100-80GB | fits | 2 | 1,063,023 | 131,072 | 129 / 32 | `fa3` |" in lines
    assert "| gpt-oss-120b | H100-80GB | fits with a shorter context | 1 | 11,997 | 11,997 | 1 / 0 | `fa3` |" in lines
    assert "SGLang 0.5.23" in md
    # the seed's wrong claims are called out
    assert "gets 11,997 tokens of context on an H100" in md and "0.95 gives 164,748" in md
    for claim in ("TP = all GPUs", "flashinfer", "45–55 tok/s", "211.5 tok/s", "0.95"):
        assert claim in md

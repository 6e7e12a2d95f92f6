"""The seed README's deployment examples, re-run through the planner.

The seed listed 120b on A100-80GB, H100, 2×H100 and H200 and 20b on L40S and
RTX 4090, with "TP = all GPUs for 120b" and "~45–55 tok/s on H100 for 120b".
``seed_table_markdown()`` renders the planner's answer for those rows and
notes where the seed is wrong; the README includes its output.
"""

from __future__ import annotations

from console.planner.fit import DOES_NOT_FIT, Plan, recommend
from console.planner.sglang import LABEL, VERSION

SEED_ROWS: tuple[tuple[str, str, int], ...] = (
    ("gpt-oss-120b", "A100-80GB", 1),
    ("gpt-oss-120b", "H100-80GB", 1),
    ("gpt-oss-120b", "H100-80GB", 2),
    ("gpt-oss-120b", "H200-141GB", 1),
    ("gpt-oss-20b", "L40S-48GB", 1),
    ("gpt-oss-20b", "RTX-4090-24GB", 1),
)

def seed_notes() -> tuple[str, ...]:
    """Where the seed is wrong, with the planner's numbers (not typed in)."""
    from console.planner.fit import RECIPE_MEM_FRACTION, plan

    h100 = plan("gpt-oss-120b", "H100-80GB", 1)
    recipe = plan("gpt-oss-120b", "H100-80GB", 1, mem_fraction_static=RECIPE_MEM_FRACTION)
    rtx = plan("gpt-oss-20b", "RTX-4090-24GB", 1)
    return (
        "**TP = all GPUs** is right only on 1, 2, 4 or 8 GPUs: TP must divide gpt-oss's 64 query "
        "and 8 KV heads, so a 6-GPU box runs TP=4 (the planner says so and why).",
        "**Attention backend**: SGLang rejects `flashinfer` for gpt-oss; it picks `fa3` on Hopper, "
        "`trtllm_mha` on Blackwell and `triton` elsewhere (A100, L40S, RTX 4090).",
        f"**120b on one 80 GB card** gets {h100.max_total_num_tokens:,} tokens of context on an H100 with "
        f"{LABEL}'s default `--mem-fraction-static` ({h100.mem_fraction_static}), not 131,072: the default "
        f"keeps {h100.reserved_mib / 1024:.1f} GiB for activations and CUDA graphs. The gpt-oss recipe's "
        f"{RECIPE_MEM_FRACTION} gives {recipe.max_total_num_tokens:,} (less headroom: watch for CUDA out of "
        "memory under load).",
        f"**20b on a 24 GB card** (RTX 4090) holds {rtx.max_total_num_tokens:,} tokens with {LABEL}'s default "
        "memory split, not the full 131,072-token context.",
        "**~45–55 tok/s on H100 for 120b** is far below published SGLang numbers: 211.5 tok/s "
        "at batch 1 (SGLang 0.5.1, in/out 1024) and 318.5 tok/s (LMSYS, MXFP4). Measure with "
        "`gpt-oss-console bench` rather than trusting either.",
        "**A100, L40S, RTX 4090**: gpt-oss's MXFP4 path in SGLang was verified on Hopper and "
        "Blackwell; on Ampere and Ada it is unverified.",
    )


def seed_plans() -> list[Plan]:
    return [recommend(model, gpu, count) for model, gpu, count in SEED_ROWS]


def seed_rows() -> list[dict]:
    """One dict per seed row with the columns of the table (for JSON and tests)."""
    rows = []
    for p in seed_plans():
        fits = p.verdict != DOES_NOT_FIT
        rows.append(
            {
                "model": p.model,
                "gpus": p.gpu if p.gpu_count == 1 else f"{p.gpu_count}× {p.gpu}",
                "verdict": p.verdict_text,
                "tp": p.tp,
                "max_total_num_tokens": p.max_total_num_tokens,
                "max_context": p.max_context if fits else 0,
                "concurrency_8k": p.concurrency_at(8192),
                "concurrency_32k": p.concurrency_at(32768),
                "attention_backend": p.attention_backend,
            }
        )
    return rows


def seed_table_markdown() -> str:
    head = (
        "| model | GPUs | verdict | TP | KV pool (tokens) | max context at 1 request "
        "| concurrent requests at 8k / 32k | attention backend |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['model']} | {r['gpus']} | {r['verdict']} | {r['tp']} | "
        f"{r['max_total_num_tokens']:,} | {r['max_context']:,} | "
        f"{r['concurrency_8k']} / {r['concurrency_32k']} | `{r['attention_backend']}` |\n"
        for r in seed_rows()
    )
    notes = "".join(f"- {n}\n" for n in seed_notes())
    foot = (
        f"\n{LABEL} {VERSION} (the version the image pins), its default `--mem-fraction-static`, "
        "clean cards (driver reserve and CUDA context measured on H100/H200), bf16 KV cache, hybrid "
        "sliding-window pool; every pool is within 2 % of SGLang's own code "
        "(tests/data/sglang/answers.json). Where the seed is wrong:\n\n"
    )
    return head + body + foot + notes

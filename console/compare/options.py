"""The compare options, declared once for the CLI's flags and the TUI compare screen's fields.

The same ``Option`` shape and readers as the bench's (``console.bench.options``): one default,
one message per option, naming the flag in the CLI and the field in the screen. The
endpoints themselves (``--endpoint``, ``--api-key-file``, ``--model``, repeatable) are read by
``console.compare.endpoints``.
"""

from __future__ import annotations

from console.bench import options as bench_options
from console.bench.options import Option, OptionError, levels, number, whole
from console.compare.stats import runs_to_tell_apart

# The checks compared by default: every smoke check but "models" (run every time: the model id
# comes from it) and "soak" (the multi-turn cache measure runs its own conversation).
NOT_COMPARED = ("models", "soak")


def repeat_count(text: str, name: str) -> int | None:
    """``auto`` (None: until each interval tells 0 % from 10 %) or a fixed number of runs."""
    if text.strip().lower() == "auto":
        return None
    return whole()(text, name)


def check_names(text: str, name: str) -> list[str]:
    from console.smoke.checks import CHECKS

    names = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in names if c not in CHECKS or c in NOT_COMPARED]
    if unknown or not names:
        known = ", ".join(c for c in CHECKS if c not in NOT_COMPARED)
        raise OptionError(f"{name}: unknown check(s) {', '.join(unknown) or '(none given)'}", f"checks: {known}")
    return names


OPTIONS: tuple[Option, ...] = (
    Option("only", "--only", "Checks", "smoke checks to compare, comma-separated (default: all but models and soak)",
           check_names, placeholder="all", metavar="CHECK,..."),
    Option("repeat", "--repeat", "Repeat",
           f"runs of the checks: N, or auto = until each rate's 95 % interval tells 0 %% from 10 %% "
           f"(≥ {runs_to_tell_apart()} runs of a check that never fails) (default auto)",
           repeat_count, "auto", metavar="N|auto"),
    Option("max_repeat", "--max-repeat", "Max repeat", "most runs with --repeat auto (default 100)", whole(), "100"),
    Option("soak", "--soak", "Multi-turn turns",
           "turns of one tool-calling conversation, for prefix-cache reuse (default 10, 0 skips)", whole(0), "10"),
    Option("agreement", "--agreement", "Stream vs whole",
           "prompts sent both streamed and not, greedy, compared (default 5, 0 skips)", whole(0), "5"),
    Option("prefix_tokens", "--prefix-tokens", "Cached prefix",
           "words of the shared prefix for greedy cold-vs-cached (default 9000: past SGLang's 8192 chunked "
           "prefill; 0 skips)", whole(0), "9000", metavar="N"),
    Option("concurrency", "--concurrency", "Bench levels", "bench concurrency levels (default 1,8)", levels, "1,8"),
    Option("requests", "--requests", "Requests/level", "bench requests per level (default 4 × concurrency, ≥ 16)",
           whole(), placeholder="4 × conc, ≥ 16"),
    Option("input_len", "--input-len", "Input tokens", "bench prompt tokens (default 1024)", whole(), "1024"),
    Option("output_len", "--output-len", "Output tokens", "bench output tokens (default 256)", whole(), "256"),
    Option("no_bench", "--no-bench", "No bench", "skip the latency/throughput levels", switch=True),
    Option("price_per_hour", "--price-per-hour", "Price $/hour", "hourly price of the box → $/M output tokens",
           number(), placeholder="for $/M tokens", metavar="USD"),
    Option("max_tokens", "--max-tokens", "Max tokens", "max_tokens per check request (default 2048)", whole(), "2048"),
    Option("temperature", "--temperature", "Temperature", "sampling temperature of the checks (default: the server's)",
           number(), placeholder="server's"),
    Option("replays", "--replays", "Raw replays", "failed runs per check and endpoint replayed raw (default 1)",
           whole(0), "1"),
    Option("timeout", "--timeout", "Timeout s", "seconds to wait for one request (default 120)", number(0.1), "120"),
)

BY_DEST = {o.dest: o for o in OPTIONS}


def add_arguments(parser) -> None:
    bench_options.add_arguments(parser, OPTIONS)


def read_args(args) -> None:
    bench_options.read_args(args, OPTIONS)

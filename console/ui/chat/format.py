"""Text for stats, findings and tool calls: shared by the widgets and the Markdown export."""

from __future__ import annotations

import json
from typing import Any

from console.chat import events as ev


def _secs(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def stats_line(stats: ev.TurnStats) -> str:
    """One line per message: TTFT (any / content), tokens, tok/s, cached tokens, rounds, finish."""
    parts = [f"TTFT {_secs(stats.ttft_any_s)}"]
    if stats.ttft_content_s is not None and stats.ttft_content_s != stats.ttft_any_s:
        parts[0] += f" (content {_secs(stats.ttft_content_s)})"
    if stats.completion_tokens is not None:
        parts.append(f"{stats.completion_tokens:,} tok")
    if stats.tokens_per_s is not None:
        parts.append(f"{stats.tokens_per_s:,.1f} tok/s")
    if stats.prompt_tokens is not None:
        parts.append(f"prompt {stats.prompt_tokens:,}")
    if stats.cached_tokens is not None:
        parts.append(f"cached {stats.cached_tokens:,}")
    parts.append(f"total {_secs(stats.elapsed_s)}")
    if stats.rounds > 1:
        parts.append(f"{stats.rounds} rounds")
    if stats.finish_reason:
        parts.append(f"finish {stats.finish_reason}")
    return " · ".join(parts)


def finding_line(finding: ev.Finding) -> str:
    mark = "✖" if finding.severity == "error" else "⚠"
    return f"{mark} {finding.code} in {finding.where}: {finding.message}"


COMPACT_WIDTH = 64  # JSON up to this long stays on one line (keeps a call small at 80 columns)


def pretty(value: Any) -> str:
    """JSON on one line when short, indented when not."""
    flat = json.dumps(value, ensure_ascii=False)
    return flat if len(flat) <= COMPACT_WIDTH else json.dumps(value, indent=2, ensure_ascii=False)


def arguments_text(arguments: Any | None, raw: str) -> str:
    """Pretty JSON when the arguments parsed, the raw text (as sent) when they did not."""
    if arguments is None:
        return raw if raw else "(no arguments)"
    return pretty(arguments)


def result_text(result: str) -> str:
    """Results are usually JSON text: pretty-print them when they are."""
    try:
        return pretty(json.loads(result))
    except (ValueError, TypeError):
        return result

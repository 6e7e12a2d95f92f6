"""Text for stats, findings and tool calls: shared by the widgets and the Markdown export."""

from __future__ import annotations

import json
from typing import Any

from console.chat import events as ev


def stats_line(stats: ev.TurnStats) -> str:
    """One line per message: the core's own summary, so the TUI, CLI and transcripts agree."""
    return stats.summary()


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

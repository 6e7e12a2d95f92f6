"""SGLangScanner's shortcuts (flood lines skipped in C, anchors before regexes) never lose a
line that parse_line recognises: every line shape from tests/data/logs and the reference
log formats, alone and hidden inside floods of statistics and access lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from console.logs.events import BatchStats, Failure
from console.engines.sglang.scanner import SGLangScanner, parse_line

DATA = Path(__file__).parent / "data" / "logs"
REFERENCE = Path("/work/shared/reference/sglang-gpt-oss.md")
PREFIX = "[2026-01-05 14:31:10 TP0] "

DECODE = PREFIX + "Decode batch. #running-req: 8, #token: 9000, token usage: 0.05, cuda graph: True, gen throughput (token/s): 1350.83, #queue-req: 0,"
PREFILL = PREFIX + "Prefill batch, #new-seq: 1, #new-token: 512, #cached-token: 0, token usage: 0.01, #running-req: 0, #queue-req: 0,"
TAGGED = "[2026-01-05 14:31:10 DP0 TP0 EP0] Decode batch [iter 1520], #running-req: 4, #full token: 5200, accept len: 2.71,"
ACCESS = '[2026-01-05 14:31:10] INFO:     172.17.0.1:40000 - "POST /v1/chat/completions HTTP/1.1" 200 OK'
# A line carrying two flood marks: a count of marks per batch must not let it stand in for
# another line (it did: three str.count passes equal to the line count meant "all flood").
DOUBLE = PREFIX + 'Decode batch. #running-req: 1, note: "GET / HTTP/1.1" then "GET /x HTTP/1.1"'

# Lines that look like flood lines at first sight but are events.
LOOKALIKES = [
    PREFIX + "Decode batch failed: CUDA out of memory. Tried to allocate 2.00 GiB",
    PREFIX + "Prefill batch aborted: torch.OutOfMemoryError: CUDA out of memory",
    PREFIX + "Decode batch [iter 7] Killed process 4242 (python3)",
    PREFIX + "Decode batch [iter 7] failed: Capture cuda graph failed: boom",
    "[2026-01-05 14:31:10] INFO:     Uvicorn running on http://0.0.0.0:30000 (Press CTRL+C to quit)",
]


def _reference_lines() -> list[str]:
    if not REFERENCE.exists():
        return []
    spans = re.findall(r"`([^`\n]{12,})`", REFERENCE.read_text())
    return [PREFIX + s for s in spans] + spans


def _corpus() -> list[str]:
    lines: list[str] = []
    for path in sorted(DATA.glob("*.log")):
        lines.extend(path.read_text().splitlines())
    lines.extend(_reference_lines())
    lines.extend(LOOKALIKES)
    return list(dict.fromkeys(lines))


def _is_access(line: str) -> bool:
    # Request logs are never server events: a client chooses their text (a URL naming
    # "GatedRepoError" must not diagnose the server), so the scanner skips them on purpose.
    return re.search(r"INFO:     [\d\[]", line) is not None


CORPUS = _corpus()
EVENT_LINES = [
    line for line in CORPUS
    if not _is_access(line) and (ev := parse_line(line)) is not None and not isinstance(ev, BatchStats)
]


def _key(ev) -> object:
    return ("failure", ev.diagnosis.code) if isinstance(ev, Failure) else ev


def test_corpus_covers_the_event_kinds() -> None:
    kinds = {type(parse_line(line)).__name__ for line in EVENT_LINES}
    assert {"WeightLoadBegin", "WeightsLoaded", "KVPoolAllocated", "Capacity", "CudaGraphBegin",
            "CudaGraphEnd", "HttpUp", "Ready", "PhaseChange", "Failure"} <= kinds
    assert len(EVENT_LINES) >= 40


@pytest.mark.parametrize("flood", ["none", "decode", "mixed", "tagged", "double"])
def test_no_recognised_line_is_lost(flood: str) -> None:
    filler = {
        "none": [],
        "decode": [DECODE] * 40,
        "mixed": [DECODE, PREFILL, ACCESS, DECODE] * 10,
        "tagged": [TAGGED, DECODE, ACCESS] * 10,
        "double": [DOUBLE] + [DECODE] * 39,
    }[flood]
    lost = []
    for line in EVENT_LINES:
        want = _key(parse_line(line))
        batch = filler[: len(filler) // 2] + [line] + filler[len(filler) // 2 :]
        got = [_key(ev) for ev in SGLangScanner().feed(batch) if not isinstance(ev, BatchStats)]
        if want not in got:
            lost.append(line)
    assert lost == []


def test_whole_logs_give_the_same_events_in_one_batch_or_line_by_line() -> None:
    for path in sorted(DATA.glob("*.log")):
        lines = path.read_text().splitlines()
        whole = [_key(ev) for ev in SGLangScanner().feed(lines) if not isinstance(ev, BatchStats)]
        one = SGLangScanner()
        single = [_key(ev) for line in lines for ev in one.feed([line]) if not isinstance(ev, BatchStats)]
        assert whole == single, path.name


def test_flood_lines_are_skipped_and_newest_stats_kept() -> None:
    scanner = SGLangScanner()
    events = scanner.feed([DECODE, PREFILL, TAGGED, ACCESS] * 1000)
    assert [type(ev) for ev in events] == [BatchStats, BatchStats]
    decode = [ev for ev in events if ev.kind == "decode"][0]
    assert decode.iteration == "iter 1520"  # the newest decode line is the tagged one
    assert scanner.counts == {"lines": 4000, "decode": 2000, "prefill": 1000, "access": 1000}


@pytest.mark.parametrize("head", ["", "x", PREFIX, PREFIX + "note] ", "2026-01-05T14:31:10.123456789Z " + PREFIX, "] ] "])
@pytest.mark.parametrize("form", ["Decode batch.", "Decode batch,", "Prefill batch.", "Prefill batch,", "Decode batch [iter 3],"])
def test_a_statistics_form_anywhere_is_statistics(head: str, form: str) -> None:
    # The shortcut tests statistics lines at one offset per batch, not at each line's own
    # message start: sound only because parse_line reads such a line as statistics
    # wherever the form stands (and so reports nothing else for it).
    line = head + form + " #running-req: 3, Killed process 1 (out of memory)"
    assert isinstance(parse_line(line), BatchStats)
    batch = [DECODE] * 5 + [line] + [DECODE] * 5
    assert all(isinstance(ev, BatchStats) for ev in SGLangScanner().feed(batch))


def _reference_counts(lines: list[str]) -> dict[str, int]:
    """What the scanner's counts must be, line by line with parse_line (the slow reference)."""
    counts = {"lines": len(lines), "decode": 0, "prefill": 0, "access": 0}
    for line in lines:
        ev = parse_line(line)
        if isinstance(ev, BatchStats):
            counts[ev.kind] += 1
        elif _is_access(line):
            counts["access"] += 1
    return counts


OTHER_RANKS = "[2026-01-05 14:31:10 DP1 TP3 EP3] Prefill batch. #new-seq: 2, #new-token: 64, #running-req: 1,"


@pytest.mark.parametrize("shape", ["all flood", "few others", "many others", "others first"])
def test_counts_match_a_line_by_line_reading(shape: str) -> None:
    # The shortcut counts decode and prefill lines by their letter at the flood offset and
    # finds the other lines by list.index when few, by one compress pass when many: both
    # regimes, and a batch whose flood offset is not the first line's, agree with parse_line.
    lines = {
        "all flood": [DECODE, PREFILL, DECODE, DOUBLE] * 500,
        "few others": ([DECODE] * 60 + [ACCESS, PREFILL, TAGGED, OTHER_RANKS] + [PREFILL] * 30) * 20 + LOOKALIKES,
        "many others": [ACCESS, DECODE, TAGGED, OTHER_RANKS, *LOOKALIKES, PREFILL] * 50 + EVENT_LINES,
        "others first": [OTHER_RANKS, ACCESS] + [DECODE, PREFILL] * 200,
    }[shape]
    scanner = SGLangScanner()
    scanner.feed(lines)
    assert scanner.counts == _reference_counts(lines)

"""Parse SGLang server log lines into typed events (pure, no I/O, no Textual).

The log follower's scanner for SGLang containers (``console.engines.follow.scanner_for``);
it speaks the follower's events (:mod:`console.logs.events`) directly, which is why it is
the fastest of the engines' scanners.

SGLang's format is ``[%(asctime)s%(prefix)s] %(message)s`` where the prefix names the
ranks (`` TP0``, `` DP1 TP3 EP3``); uvicorn adds ``INFO:     ...`` lines and tqdm bars
arrive without a prefix. Formats drift between releases (``batch.`` vs ``batch,``, an
``[iter]`` tag, ``accept len``, sliding-window token fields, a quantization string where
``dtype=`` stood), so every field is parsed by name and every field is optional.

Two entry points:

* :func:`parse_line` — one line → one event or ``None`` (tests, post-mortem, CLI).
* :class:`SGLangScanner` — batches of lines → events, fast enough for 500k-line floods:
  flood lines (batch statistics, access lines) are recognised exactly with C-level
  ``startswith`` passes (no Python frame per line); the other lines are searched for
  anchors. Of the statistics only the newest prefill and decode line of a batch are
  parsed (the live panel shows the latest values).
"""

from __future__ import annotations

import re
from itertools import compress, repeat
from operator import is_, itemgetter, not_

from console.logs.diagnosis import Diagnoser
from console.logs.events import (
    BatchStats,
    Capacity,
    CudaGraphBegin,
    CudaGraphEnd,
    Event,
    Failure,
    HttpUp,
    KVPoolAllocated,
    LinePrefix,
    Phase,
    PhaseChange,
    Ready,
    SlidingWindowPool,
    WeightLoadBegin,
    WeightLoadProgress,
    WeightsLoaded,
)

ENGINE = "sglang"

# ── line anatomy ────────────────────────────────────────────────────────────────

# Optional docker timestamp (``timestamps=1``), then SGLang's bracketed prefix.
_PREFIX = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT[\d:.]+Z )?"
    r"\[(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:[.,]\d+)?(?P<ranks>(?: [A-Z]{2,3}\d+)*)\] ?"
)
_RANK = re.compile(r"([A-Z]{2,3})(\d+)")
_DOCKER_TS = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ")


def split_prefix(line: str) -> tuple[LinePrefix, str]:
    """``[2026-01-05 14:31:10 DP1 TP3] msg`` → (prefix, "msg"); lines without one pass through."""
    m = _PREFIX.match(line)
    if not m:
        m2 = _DOCKER_TS.match(line)
        return LinePrefix(None, {}), line[m2.end():] if m2 else line
    ranks = {k: int(v) for k, v in _RANK.findall(m.group("ranks"))} if m.group("ranks") else {}
    return LinePrefix(m.group("time"), ranks), line[m.end():]


_F = r"([-+]?\d+(?:\.\d+)?)"
_AVAIL = re.compile(r"avail(?:able)?[ _]mem(?:ory)?=\s*" + _F)
_ELAPSED = re.compile(r"elapsed=\s*" + _F)
_TIME_ELAPSED = re.compile(r"Time elapsed:\s*" + _F)
_MEM_USAGE = re.compile(r"mem usage=\s*" + _F)
_TYPE = re.compile(r"type=([\w.]+)")
# ``dtype=torch.bfloat16`` or the newest builds' quantization string in the same slot
_DTYPE = re.compile(r"(?:dtype|quant(?:ization)?)=([^,]+?)(?:,|$)")
_KV = re.compile(r"#tokens:\s*(\d+)(?:.*?K size:\s*" + _F + r")?(?:.*?V size:\s*" + _F + r")?")
_SWA_POOL = re.compile(r"full_layer_tokens=(\d+)(?:.*?swa_layer_tokens=(\d+))?")
_KEYVAL = re.compile(r"(\w+)=\s*([-\w.]+)")
_UVICORN = re.compile(r"Uvicorn running on (\S+)")
_PORT = re.compile(r":(\d+)/?$")
_SHARDS = re.compile(r"Loading \w+ checkpoint shards:.*?\|\s*(\d+)/(\d+)")
_BATCH = re.compile(r"(Prefill|Decode) batch(?:\s*\[(?P<iter>[^\]]*)\])?[.,]\s*")
# ``#new-seq: 1``, ``token usage: 0.05``, ``gen throughput (token/s): 1350.83``, ``cuda graph: True``
_FIELD = re.compile(r"\s*([#A-Za-z][^:,]*?):\s*([^,]*)")

_INT_FIELDS = {
    "#new-seq": "new_seq",
    "#new-token": "new_token",
    "#cached-token": "cached_token",
    "#token": "token",
    "#full token": "token",
    "#swa token": "swa_token",
    "#running-req": "running_req",
    "#queue-req": "queue_req",
}
_FLOAT_FIELDS = {
    "token usage": "token_usage",
    "full token usage": "token_usage",
    "swa token usage": "swa_token_usage",
    "gen throughput (token/s)": "gen_throughput",
    "input throughput (token/s)": "input_throughput",
    "accept len": "accept_len",
}


def _f(m: re.Match[str] | None, group: int = 1) -> float | None:
    if m is None or m.group(group) is None:
        return None
    return float(m.group(group))


def _i(m: re.Match[str] | None, group: int = 1) -> int | None:
    if m is None or m.group(group) is None:
        return None
    return int(m.group(group))


def parse_batch_stats(msg: str, prefix: LinePrefix | None = None) -> BatchStats | None:
    m = _BATCH.search(msg)
    if not m:
        return None
    values: dict[str, object] = {}
    extra: dict[str, str] = {}
    for key, raw in _FIELD.findall(msg, m.end()):
        key = key.strip()
        raw = raw.strip()
        if not raw:
            continue
        try:
            if key in _INT_FIELDS:
                values[_INT_FIELDS[key]] = int(float(raw))
            elif key in _FLOAT_FIELDS:
                values[_FLOAT_FIELDS[key]] = float(raw)
            elif key == "cuda graph":
                values["cuda_graph"] = raw == "True"
            else:
                extra[key] = raw
        except ValueError:
            extra[key] = raw
    return BatchStats(
        kind=m.group(1).lower(),
        time=prefix.time if prefix else None,
        ranks=prefix.ranks if prefix else {},
        iteration=m.group("iter"),
        extra=extra,
        **values,  # type: ignore[arg-type]
    )


def _float_or_none(v: str | None) -> float | None:
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


def _int_or_none(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def parse_line(line: str) -> Event | None:
    """One log line → the event it reports, or ``None`` for an uninteresting line.

    Failures are reported as :class:`Failure` with the :class:`Diagnosis`; a traceback's
    last exception line needs context, which :class:`SGLangScanner` keeps.
    """
    prefix, msg = split_prefix(line.rstrip("\r\n"))
    t = prefix.time
    if "batch" in msg and ("Decode" in msg or "Prefill" in msg):
        stats = parse_batch_stats(msg, prefix)
        if stats is not None:
            return stats
    if msg.startswith("Load weight begin"):
        return WeightLoadBegin(_f(_AVAIL.search(msg)), t)
    if msg.startswith("Load weight end"):
        dt = _DTYPE.search(msg)
        ty = _TYPE.search(msg)
        return WeightsLoaded(
            elapsed_s=_f(_ELAPSED.search(msg)),
            model_type=ty.group(1) if ty else None,
            dtype=dt.group(1).strip() if dt else None,
            avail_mem_gb=_f(_AVAIL.search(msg)),
            mem_usage_gb=_f(_MEM_USAGE.search(msg)),
            time=t,
        )
    if "checkpoint shards" in msg:
        m = _SHARDS.search(msg.rsplit("\r", 1)[-1] or msg)
        if m:
            return WeightLoadProgress(int(m.group(1)), int(m.group(2)))
    if msg.startswith("KV Cache is allocated"):
        m = _KV.search(msg)
        return KVPoolAllocated(_i(m, 1), _f(m, 2), _f(m, 3), t)
    if "sliding window memory pool" in msg:
        m = _SWA_POOL.search(msg)
        return SlidingWindowPool(_i(m, 1), _i(m, 2))
    if "max_total_num_tokens=" in msg:
        kv = dict(_KEYVAL.findall(msg))
        return Capacity(
            max_total_num_tokens=_int_or_none(kv.get("max_total_num_tokens")),
            chunked_prefill_size=_int_or_none(kv.get("chunked_prefill_size")),
            max_prefill_tokens=_int_or_none(kv.get("max_prefill_tokens")),
            max_running_requests=_int_or_none(kv.get("max_running_requests")),
            context_len=_int_or_none(kv.get("context_len")),
            available_gpu_mem_gb=_float_or_none(kv.get("available_gpu_mem")),
            time=t,
        )
    if msg.startswith("Capture cuda graph begin"):
        return CudaGraphBegin(_f(_AVAIL.search(msg)), t)
    if msg.startswith("Capture cuda graph end"):
        return CudaGraphEnd(
            _f(_TIME_ELAPSED.search(msg)) or _f(_ELAPSED.search(msg)),
            _f(_MEM_USAGE.search(msg)),
            _f(_AVAIL.search(msg)),
            t,
        )
    if "Uvicorn running on" in msg and (up := _UVICORN.search(msg)):  # a line cut before its URL says nothing
        url = up.group(1)
        port = _PORT.search(url)
        return HttpUp(url, int(port.group(1)) if port else None, t)
    if "fired up and ready to roll" in msg:
        return Ready(t)
    if msg.startswith("server_args=") or "Init torch distributed begin" in msg:
        return PhaseChange(Phase.STARTING, t)
    diag = Diagnoser.match_line(msg)
    if diag is not None:
        return Failure(diag, line)
    return None


# ── batch scanner ───────────────────────────────────────────────────────────────

# Substrings that mark a line worth parsing (checked on the non-flood lines only).
_ANCHORS = (
    "Load weight ",
    "checkpoint shards",
    "KV Cache is allocated",
    "sliding window memory pool",
    "max_total_num_tokens=",
    "Capture cuda graph",
    "Uvicorn running on",
    "fired up and ready",
    "server_args=",
    "Init torch distributed begin",
    "Traceback (most recent",
) + Diagnoser.ANCHORS
# High-volume lines (batch statistics, uvicorn access lines): recognised by how their
# message starts. Only the forms parse_batch_stats accepts count: "Decode batch failed: …"
# must reach the anchors.
_DECODE = ("Decode batch.", "Decode batch,")
_PREFILL = ("Prefill batch.", "Prefill batch,")
_FLOOD = _DECODE + _PREFILL
# ``Decode batch [iter 7],``: statistics only when the tag is followed by "." or ","
# (_BATCH), so lines starting like this are confirmed with that regex.
_TAGGED = ("Decode batch[", "Decode batch [", "Prefill batch[", "Prefill batch [")
_BATCH_AT = re.compile(r"(?:Prefill|Decode) batch\s*\[[^\]]*\][.,]")
_ACCESS = tuple(f"INFO:     {d}" for d in "0123456789[")  # uvicorn: 'INFO:     1.2.3.4:5 - "GET …'
# "ValueError: …", "torch.OutOfMemoryError: …", "KeyboardInterrupt"
_EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(?::|$)")
_STAT_SCAN_LIMIT = 4096  # lines searched backwards for the newest batch-statistics line


def _classify(lines: list[str]) -> tuple[list[int], int, int, int]:
    """(indices of the lines that are not flood lines, decode, prefill, access line counts).

    Exact, never a guess from counts over the joined text (a line carrying two marks
    would hide another), yet in a flood one C-level ``startswith`` per line and kind
    (``map`` over builtins, no Python frame per line):

    * statistics lines are recognised at the offset where most messages start (the prefix
      ``[time ranks] `` has one length per rank set). Wherever ``Decode batch.`` stands,
      parse_line reads the line as statistics and reports nothing else for it, so that
      offset needs no proof for them. One ``startswith`` pass finds them all; their letter
      at that offset (``D`` or ``P``, one C-level join and count) tells decode from prefill;
    * the rest — access lines, other prefixes, tagged statistics, real events — is tested
      one by one: the message starts after the first ``"] "``; a tag is confirmed with
      _BATCH's regex. Access lines are skipped on purpose: a client chooses their text.
    """
    n = len(lines)
    offsets = [line.find("] ") + 2 for line in (lines[0], lines[n // 2], lines[-1])]
    at = max(set(offsets), key=offsets.count)
    flood = list(map(str.startswith, lines, repeat(_FLOOD), repeat(at)))
    stats = flood.count(True)
    decode = "".join(map(itemgetter(at), lines if stats == n else compress(lines, flood))).count("D")
    prefill = stats - decode
    if stats == n:
        return [], decode, prefill, 0  # the common case under load
    rest = _unset(flood, n - stats)
    others = list(map(lines.__getitem__, rest))
    # Tagged statistics at that offset: the regex itself, still no Python frame per line.
    tagged = list(map(_BATCH_AT.match, others, repeat(at)))
    n_tagged = len(tagged) - tagged.count(None)
    if n_tagged:
        tagged_decode = sum(map(str.startswith, compress(others, tagged), repeat("D"), repeat(at)))
        decode += tagged_decode
        prefill += n_tagged - tagged_decode
        rest = list(compress(rest, map(is_, tagged, repeat(None))))
    access = 0
    candidates: list[int] = []
    for i in rest:
        line = lines[i]
        k = line.find("] ") + 2
        if line.startswith(_ACCESS, k):
            access += 1
        elif line.startswith(_DECODE, k) or (line.startswith(_TAGGED, k) and line[k] == "D" and _BATCH_AT.match(line, k)):
            decode += 1
        elif line.startswith(_PREFILL, k) or (line.startswith(_TAGGED, k) and _BATCH_AT.match(line, k)):
            prefill += 1
        else:
            candidates.append(i)
    return candidates, decode, prefill, access


def _unset(flags: list[bool], count: int) -> list[int]:
    """Indices of the ``count`` False entries: found by ``list.index`` (C) when they are few
    among many (a flood's access lines), else by one ``compress`` pass."""
    if count * 8 > len(flags):
        return list(compress(range(len(flags)), map(not_, flags)))
    out, i = [], -1
    index = flags.index
    for _ in range(count):
        i = index(False, i + 1)
        out.append(i)
    return out


class SGLangScanner:
    """SGLang's :class:`~console.logs.scanner.Scanner`: batches of raw lines → events.
    Keeps the context a traceback needs.

    ``scan(lines)`` returns ``(line index, event)`` pairs in line order (``feed`` the events
    alone), except that batch statistics are
    summarised: per batch only the newest prefill and newest decode line are parsed (the
    live panel shows the latest values). Everything that changes the phase or signals a
    failure is reported for every occurrence.

    Cost: two C-level ``startswith`` passes per batch when every line is a statistics
    line (see :func:`_classify`); the other lines one by one, and the anchor search only
    on those that are not flood lines (start-up lines, errors, tracebacks), which are few
    in a busy log.
    """

    engine = ENGINE

    def __init__(self) -> None:
        self._in_traceback = False
        # lines seen, and how many were decode / prefill statistics or HTTP access lines
        self.counts = {"lines": 0, "decode": 0, "prefill": 0, "access": 0}

    def feed(self, lines: list[str]) -> list[Event]:
        return [ev for _, ev in self.scan(lines)]

    def scan(self, lines: list[str]) -> list[tuple[int, Event]]:
        if not lines:
            return []
        candidates, dec, pre, acc = _classify(lines)
        counts = self.counts
        counts["lines"] += len(lines)
        counts["decode"] += dec
        counts["prefill"] += pre
        counts["access"] += acc
        events: dict[int, Event] = {}
        if self._in_traceback and (not candidates or candidates[0] != 0):
            candidates.insert(0, 0)
        anchors = _ANCHORS
        for idx in candidates:
            if idx in events:
                continue
            line = lines[idx]
            if (self._in_traceback and idx == 0) or any(a in line for a in anchors):
                self._line_events(lines, idx, events)
        # The newest statistics line of each kind (usually among the last few lines).
        want = {"Decode batch", "Prefill batch"}
        stop = max(-1, len(lines) - 1 - _STAT_SCAN_LIMIT)
        for idx in range(len(lines) - 1, stop, -1):
            line = lines[idx]
            for w in want:
                if w in line:
                    ev = parse_line(line)
                    if isinstance(ev, BatchStats):
                        events[idx] = ev
                    want = want - {w}
                    break
            if not want:
                break
        return sorted(events.items())

    def _line_events(self, lines: list[str], idx: int, out: dict[int, Event]) -> None:
        line = lines[idx]
        if "Traceback (most recent" in line:
            # "Initialization failed. warmup error: Traceback ..." names its cause itself
            diag = Diagnoser.match_line(split_prefix(line)[1])
            if diag is not None:
                out[idx] = Failure(diag, line)
            self._in_traceback = True
            self._exc_scan(lines, idx + 1, out)
            return
        if self._in_traceback and idx == 0:
            self._exc_scan(lines, 0, out)
            return
        ev = parse_line(line)
        if ev is not None:
            out[idx] = ev

    def _exc_scan(self, lines: list[str], start: int, out: dict[int, Event]) -> None:
        """Find the exception line that ends a traceback: first unindented, non-chained line."""
        for j in range(start, min(len(lines), start + 400)):
            _, msg = split_prefix(lines[j])
            if not msg or msg[0] in " \t" or msg.startswith(("Traceback", "During handling", "The above exception")):
                continue
            if msg.startswith(("^", "~")):
                continue
            self._in_traceback = False
            if not _EXCEPTION_LINE.match(msg):
                return  # the traceback ended without the usual "SomeError: message" line
            diag = Diagnoser.match_line(msg) or Diagnoser.from_exception(msg)
            out[j] = Failure(diag, lines[j])
            return
        if start + 400 < len(lines):
            self._in_traceback = False  # not a traceback we understand; stop looking

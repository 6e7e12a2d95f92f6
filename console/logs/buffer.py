"""A capped, filterable line buffer (the model behind the Logs pane; no Textual here).

Lines are kept in a plain list; when it grows past ``cap`` plus some slack the oldest are
dropped in one slice deletion, so appending stays amortised O(1) per line. Every line has
an absolute number (``dropped + index``) that stays valid while the line is retained, so
filters, error jumps and the view's cursor survive trimming.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left
from collections.abc import Callable

from console.logs.severity import Severity, may_contain, severity
from console.private_file import write_private
from console.settings.mask import scrub_lines

DEFAULT_CAP = 100_000
_BLOCK = 1024  # lines pre-checked together when searching for errors


class FilterError(ValueError):
    """A regex filter that does not compile; the message is for the operator."""


class LineFilter:
    """Substring (smart case: all-lowercase → case-insensitive) or regex match, optionally
    only lines at or above a severity (``min_severity``); ``text`` may then be empty."""

    def __init__(self, text: str, *, regex: bool = False, min_severity: Severity | None = None) -> None:
        self.text = text
        self.regex = regex
        self.min_severity = min_severity
        ignore_case = text == text.lower()
        if regex:
            try:
                self.pattern = re.compile(text, re.IGNORECASE if ignore_case else 0)
            except re.error as exc:
                raise FilterError(f"bad regex: {exc.msg} at position {exc.pos}") from exc
        else:
            self.pattern = re.compile(re.escape(text), re.IGNORECASE if ignore_case else 0)
        self._ignore_case = ignore_case

    def matcher(self) -> Callable[[str], bool] | None:
        """The text part as a predicate (None: no text part)."""
        if not self.text:
            return None
        if not self.regex:
            needle = self.text
            if self._ignore_case:
                return lambda line: needle in line.lower()
            return lambda line: needle in line
        search = self.pattern.search
        return lambda line: search(line) is not None

    def select(self, lines: list[str]) -> list[int]:
        """Indices of the matching lines."""
        m = self.matcher()
        sev = self.min_severity
        if sev is None:
            return [i for i, line in enumerate(lines) if m(line)] if m else list(range(len(lines)))
        out: list[int] = []
        for b in range(0, len(lines), _BLOCK):  # quiet blocks cost one regex pass
            block = lines[b : b + _BLOCK]
            if not may_contain("\n".join(line[:4096] for line in block), sev):
                continue
            out.extend(b + i for i, line in enumerate(block) if severity(line) >= sev and (m is None or m(line)))
        return out

    def spans(self, line: str) -> list[tuple[int, int]]:
        """Where the filter matches in one line (for highlighting)."""
        if not self.text:
            return []
        return [m.span() for m in self.pattern.finditer(line) if m.end() > m.start()][:64]

    def describe(self) -> str:
        parts = []
        if self.min_severity is not None:
            parts.append("errors only" if self.min_severity >= Severity.ERROR else "errors+warnings")
        if self.text:
            parts.append(f"{'regex' if self.regex else 'text'} {self.text!r}")
        return " & ".join(parts)


class LogBuffer:
    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        self.cap = cap
        self.lines: list[str] = []
        self.dropped = 0  # lines evicted from the front since the start
        self.total = 0  # lines ever appended
        self.max_len = 0  # longest retained line (approximately: never shrinks)
        self.filter: LineFilter | None = None
        self.matches: list[int] = []  # absolute numbers of matching lines (filter active)

    # ── content ──────────────────────────────────────────────────────────────
    def append(self, lines: list[str]) -> None:
        if not lines:
            return
        start = self.dropped + len(self.lines)
        self.lines.extend(lines)
        self.total += len(lines)
        longest = max(map(len, lines))
        if longest > self.max_len:
            self.max_len = longest
        if self.filter is not None:
            self.matches.extend(start + i for i in self.filter.select(lines))
        over = len(self.lines) - self.cap
        if over > max(self.cap // 8, 1):
            del self.lines[:over]
            self.dropped += over
            if self.matches and self.matches[0] < self.dropped:
                del self.matches[: bisect_left(self.matches, self.dropped)]

    def insert_before_last(self, count: int, line: str) -> None:
        """Put ``line`` before the last ``count`` lines (a run marker that belongs a little
        up). Numbers of the lines after it grow by one; only the tail moves."""
        count = max(0, min(count, len(self.lines)))
        if count == 0:
            self.append([line])
            return
        index = len(self.lines) - count
        at = self.dropped + index
        self.lines.insert(index, line)
        self.total += 1
        self.max_len = max(self.max_len, len(line))
        if self.filter is not None:
            i = bisect_left(self.matches, at)
            self.matches[i:] = [m + 1 for m in self.matches[i:]]
            if self.filter.select([line]):
                self.matches.insert(i, at)

    def clear(self) -> None:
        """Start over (a new source): numbering restarts, the filter stays."""
        self.lines.clear()
        self.matches.clear()
        self.dropped = self.total = self.max_len = 0

    def line(self, absolute: int) -> str | None:
        i = absolute - self.dropped
        return self.lines[i] if 0 <= i < len(self.lines) else None

    # ── the view: all lines, or the filtered ones ─────────────────────────────
    def __len__(self) -> int:
        return len(self.matches) if self.filter is not None else len(self.lines)

    def absolute(self, row: int) -> int:
        """View row → absolute line number."""
        return self.matches[row] if self.filter is not None else self.dropped + row

    def row_of(self, absolute: int) -> int | None:
        """Absolute line number → view row (None when filtered out or dropped)."""
        if self.filter is None:
            r = absolute - self.dropped
            return r if 0 <= r < len(self.lines) else None
        i = bisect_left(self.matches, absolute)
        return i if i < len(self.matches) and self.matches[i] == absolute else None

    def set_filter(self, text: str, *, regex: bool = False, min_severity: Severity | None = None) -> None:
        """Filter the view (text/regex and/or a minimum severity); nothing given clears it.
        Raises FilterError for a bad regex (the previous filter stays)."""
        if not text and min_severity is None:
            self.filter, self.matches = None, []
            return
        flt = LineFilter(text, regex=regex, min_severity=min_severity)
        base = self.dropped
        self.matches = [base + i for i in flt.select(self.lines)]
        self.filter = flt

    # ── navigation ───────────────────────────────────────────────────────────
    def find_severity(self, from_row: int, *, forward: bool = True, at_least: Severity = Severity.ERROR) -> int | None:
        """The view row of the next (previous) line at or above a severity, excluding from_row."""
        n = len(self)
        rows = range(from_row + 1, n) if forward else range(min(from_row, n) - 1, -1, -1)
        absolute = self.absolute
        lines, base = self.lines, self.dropped
        # Blocks of lines are pre-checked with one regex pass over their joined text, so a
        # jump through 100k quiet lines costs a few C-level scans, not 100k Python calls.
        for i in range(0, len(rows), _BLOCK):
            block = rows[i : i + _BLOCK]
            texts = [lines[absolute(r) - base][:4096] for r in block]
            if not may_contain("\n".join(texts), at_least):
                continue
            for r, text in zip(block, texts):
                if severity(text) >= at_least:
                    return r
        return None

    # ── export ───────────────────────────────────────────────────────────────
    def rows(self, *, view_only: bool = True) -> list[str]:
        """The view's lines (or every retained line) as a new list: a snapshot a thread may write
        while the buffer goes on growing (the strings are shared, not copied)."""
        if view_only and self.filter is not None:
            return [self.lines[a - self.dropped] for a in self.matches]
        return list(self.lines)

    def save(self, path: str, *, view_only: bool = True, own_dir: bool = False) -> int:
        """Write the view (or every retained line) to ``path``, mode 0600. Returns the line count."""
        rows = self.rows(view_only=view_only)
        write_rows(path, rows, own_dir=own_dir)
        return len(rows)


def write_rows(path: str, rows: list[str], *, own_dir: bool = False) -> None:
    """A log's lines to a private file, its secrets masked as the screen shows them (the
    scrubber: secret names and every live secret value), a chunk at a time."""
    def masked():
        for i in range(0, len(rows), 10_000):
            yield from (line + "\n" for line in scrub_lines(rows[i : i + 10_000]))

    write_private(os.path.expanduser(path), masked(), own_dir=own_dir)

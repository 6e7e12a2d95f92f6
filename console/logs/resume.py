"""Where a followed log stands, so a new stream picks up right after the last line read.

The live stream carries no timestamps (they would cost bytes and a parse per line on every
flood): it only remembers its last lines. After a cut, :meth:`Resume.locate` finds those lines
in the stored log by reading its tail with Docker's timestamps (fixed width, nanoseconds) and
returns a ``since`` one second before the last of them — stdout and stderr are copied by
separate goroutines, so a line stored after it may carry a slightly older time — plus how many
lines of that resumed read were already shown. Docker's ``since`` filter is exact, so skipping
that many leaves nothing missing and nothing twice, log rotation included.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from console.logs.docker_time import STAMP_LEN, second_before


class Resume:
    KEEP = 32  # lines that must match, in order, to recognise where we were
    TAILS: tuple[int | str, ...] = (1024, 16384, 262144, "all")  # tail reads, growing

    def __init__(self) -> None:
        self.recent: deque[str] = deque(maxlen=self.KEEP)
        self.skip = 0  # lines at the start of the next stream that were already shown
        self.lost_at: float | None = None  # wall time the last stream ended
        self.stamps: list[str] = []  # Docker's stamps of ``recent``, once located

    def take(self, lines: list[str]) -> list[str]:
        """The new lines of a batch (cheap: the live path)."""
        if self.skip:
            if len(lines) <= self.skip:
                self.skip -= len(lines)
                return []
            lines, self.skip = lines[self.skip :], 0
        self.recent.extend(lines[-self.KEEP :])
        return lines

    def locate(self, read_tail: Callable[[int | str], list[str]]) -> str | None:
        """``since`` for the resumed read (and :attr:`skip` set), or None when the stored log no
        longer holds our last lines. ``read_tail(n)``: the last n lines, with timestamps."""
        seen = list(self.recent)
        self.skip = 0
        self.stamps = []
        if not seen:
            return None
        for n in self.TAILS:
            stamped = read_tail(n)
            whole = n == "all" or len(stamped) < int(n)
            j = _find_last([line.partition(" ")[2] for line in stamped], seen)
            if j is None:
                if whole:
                    return None
                continue
            since_stamp, since = second_before(stamped[j][:STAMP_LEN])
            if stamped[0][:STAMP_LEN] >= since_stamp and not whole:
                continue  # the resumed read may start before this tail: read a longer one
            self.skip = sum(1 for line in stamped[: j + 1] if line[:STAMP_LEN] >= since_stamp)
            self.stamps = [line[:STAMP_LEN] for line in stamped[j - len(seen) + 1 : j + 1]]
            return since
        return None


    def read_after(self, stamp: str) -> list[str]:
        """Of the lines read last, those stored at or after ``stamp`` (known once located)."""
        n = sum(1 for s in self.stamps if s >= stamp)
        return list(self.recent)[len(self.recent) - n :] if n else []


def _find_last(lines: list[str], seen: list[str]) -> int | None:
    """Index in ``lines`` of the end of the latest run equal to ``seen``."""
    m, last = len(seen), seen[-1]
    for j in range(len(lines) - 1, m - 2, -1):
        if lines[j] == last and lines[j - m + 1 : j + 1] == seen:
            return j
    return None

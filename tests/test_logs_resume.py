"""Finding our place in a followed log after a cut (console.logs.resume): nothing missing,
nothing twice. The Docker-backed cases are in test_logs_follow.py and test_logs_reconnect.py."""

from __future__ import annotations

import calendar

from console.logs.resume import Resume


def _stamped(i: int, text: str | None = None) -> str:
    """Line i of a made-up log, as Docker's tail with timestamps gives it: 4 lines a second."""
    return f"2026-11-26T14:39:{10 + i // 4:02d}.{(i % 4) * 250_000_000:09d}Z {text or f'line {i}'}"


def _log(n: int) -> list[str]:
    return [_stamped(i) for i in range(n)]


def test_resume_finds_the_last_line_read_and_skips_exactly_what_was_shown() -> None:
    r = Resume()
    assert r.take([f"line {i}" for i in range(40)]) == [f"line {i}" for i in range(40)]
    stored = _log(100)  # 60 lines came while the engine was away
    asked: list = []

    def read_tail(n):
        asked.append(n)
        return stored[-n:] if n != "all" else stored

    since = r.locate(read_tail)
    # line 39 is at 14:39:19.75: the resumed read starts a second earlier, at 14:39:18.75,
    # where line 35 is; lines 35..39 were shown already
    assert since == f"{calendar.timegm((2026, 11, 26, 14, 39, 18, 0, 0, 0))}.750000000"
    assert r.skip == 5 and asked == [1024]
    resumed = [line.partition(" ")[2] for line in stored if line[:30] >= "2026-11-26T14:39:18.750000000Z"]
    out = r.take(resumed[:3]) + r.take(resumed[3:])
    assert out == [f"line {i}" for i in range(40, 100)]


def test_resume_reads_longer_tails_until_the_window_is_covered() -> None:
    r = Resume()
    r.TAILS = (2, 10, "all")
    r.take([f"line {i}" for i in range(3)])
    stored = _log(12)
    asked: list = []
    since = r.locate(lambda n: asked.append(n) or (stored[-n:] if n != "all" else stored))
    assert asked == [2, 10, "all"] and since is not None and r.skip == 3  # lines 0..2 all within the second


def test_resume_when_our_lines_are_gone_says_so() -> None:
    r = Resume()
    r.take(["something else", "and more"])
    assert r.locate(lambda n: _log(50)) is None and r.skip == 0
    assert Resume().locate(lambda n: _log(50)) is None  # nothing read yet: the original start

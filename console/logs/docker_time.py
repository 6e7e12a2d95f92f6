"""Docker's timestamps: one parser for log stamps, ``StartedAt``/``FinishedAt`` and the API's
``since``/``until`` parameters.

Docker writes RFC 3339 in UTC with up to nine fractional digits (log stamps always nine, fixed
width; ``State`` times trim trailing zeros; ``0001-01-01T00:00:00Z`` means never). The API takes
``since``/``until`` as unix seconds with a fraction. Instants are kept as exact integers
(seconds, nanoseconds): a float would lose the nanoseconds Docker's filters compare.
"""

from __future__ import annotations

import calendar
import time
from datetime import datetime

STAMP_LEN = 30  # "2026-11-26T14:39:54.059149808Z": a log line's stamp, fixed width


def instant(stamp: str) -> tuple[int, int] | None:
    """``2026-11-26T14:39:54.059149808Z`` → (unix seconds, nanoseconds); None for "never" or
    anything that is not a Docker UTC time."""
    if not stamp or stamp.startswith("0001-") or not stamp.endswith("Z"):
        return None
    head, _, frac = stamp[:-1].partition(".")
    try:
        secs = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    digits = frac[:9]
    if digits and not digits.isdigit():
        return None
    return secs, int((digits + "000000000")[:9])


def parse(stamp: str) -> float | None:
    """Epoch seconds (a float: for clocks and durations, not for Docker's filters)."""
    t = instant(stamp)
    return None if t is None else t[0] + t[1] / 1e9


def stamp_of(secs: int, nanos: int) -> str:
    """The log-stamp form of an instant (fixed width, so stamps compare as strings)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{nanos:09d}Z"


def param(secs: int, nanos: int) -> str:
    """The API's ``since``/``until`` form of an instant."""
    return f"{secs}.{nanos:09d}"


def shifted(t: tuple[int, int], nanos: int) -> tuple[int, int]:
    total = t[0] * 1_000_000_000 + t[1] + nanos
    return divmod(total, 1_000_000_000)


def second_before(stamp: str) -> tuple[str, str]:
    """The instant one second before a log stamp, as a stamp (to compare) and as ``since``."""
    t = instant(stamp)
    if t is None:
        raise ValueError(f"not a Docker timestamp: {stamp!r}")
    s, n = shifted(t, -1_000_000_000)
    return stamp_of(s, n), param(s, n)


def since_param(since: datetime | float | int | str | None) -> str | None:
    """What the API's ``since`` takes, from a datetime, unix seconds, a Docker time or a param."""
    if since is None:
        return None
    if isinstance(since, datetime):
        return f"{since.timestamp():.6f}"
    if isinstance(since, float):
        return f"{since:.6f}"
    if isinstance(since, int):
        return str(since)
    t = instant(since)
    return param(*t) if t is not None else since  # already "1700000000" or "1700000000.5"

"""LogBuffer: cap, filters (text/regex, smart case), error navigation, save with mode 0600."""

from __future__ import annotations

import os
import stat

import pytest

from console.logs.buffer import FilterError, LogBuffer


def test_cap_drops_oldest_and_keeps_absolute_numbers() -> None:
    buf = LogBuffer(cap=100)
    for i in range(0, 1000, 10):
        buf.append([f"line {j}" for j in range(i, i + 10)])
    assert buf.total == 1000
    assert 100 <= len(buf.lines) <= 100 + 100 // 8 + 10
    assert buf.lines[-1] == "line 999"
    first = buf.dropped
    assert buf.line(first) == f"line {first}"
    assert buf.line(first - 1) is None


def test_text_filter_smart_case_and_trim() -> None:
    buf = LogBuffer(cap=50)
    buf.append(["Alpha", "beta", "ALPHA", "gamma"])
    buf.set_filter("alpha")  # all lower-case → case-insensitive
    assert [buf.line(buf.absolute(r)) for r in range(len(buf))] == ["Alpha", "ALPHA"]
    buf.set_filter("Alpha")  # mixed case → exact
    assert len(buf) == 1
    # new lines are filtered as they arrive
    buf.append(["x"] * 100 + ["more Alpha"])
    assert [buf.line(a) for a in buf.matches] == ["more Alpha"]  # the old match was dropped with its line
    buf.set_filter("")
    assert len(buf) == len(buf.lines)


def test_regex_filter_and_bad_regex() -> None:
    buf = LogBuffer()
    buf.append(["#running-req: 8", "#running-req: 12", "#queue-req: 3"])
    buf.set_filter(r"running-req: \d{2}", regex=True)
    assert len(buf) == 1
    with pytest.raises(FilterError, match="bad regex"):
        buf.set_filter("(unclosed", regex=True)
    assert buf.filter is not None and buf.filter.text == r"running-req: \d{2}"  # previous filter kept
    # a regex-looking text filter is a literal
    buf.set_filter("(unclosed")
    assert len(buf) == 0


def test_find_errors_forward_and_backward_with_filter() -> None:
    buf = LogBuffer()
    buf.append(["ok 0", "RuntimeError: a", "ok 2", "WARNING: w", "Traceback (most recent call last):", "ok 5"])
    assert buf.find_severity(-1) == 1
    assert buf.find_severity(1) == 4
    assert buf.find_severity(4) is None
    assert buf.find_severity(5, forward=False) == 4
    assert buf.find_severity(1, forward=False) is None
    buf.set_filter("ok|Traceback", regex=True)
    assert buf.find_severity(-1) == 2  # view row 2 of the filtered view
    assert buf.line(buf.absolute(2)).startswith("Traceback")


def test_save_is_private_and_writes_the_view(tmp_path) -> None:
    buf = LogBuffer()
    buf.append(["a1", "b", "a2"])
    path = tmp_path / "out.log"
    path.write_text("old")
    os.chmod(path, 0o644)
    assert buf.save(str(path)) == 3
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text() == "a1\nb\na2\n"
    buf.set_filter("a")
    assert buf.save(str(tmp_path / "f.log")) == 2
    assert (tmp_path / "f.log").read_text() == "a1\na2\n"
    assert stat.S_IMODE(os.stat(tmp_path / "f.log").st_mode) == 0o600


def test_severity_filter_alone_and_with_text() -> None:
    from console.logs.severity import Severity

    buf = LogBuffer()
    quiet = "[2026-01-05 14:31:43 TP0] Decode batch. #running-req: 8, #token: 9000, token usage: 0.05"
    buf.append([quiet] * 3000 + ["RuntimeError: boom", "WARNING: low disk"] + [quiet] * 3000)
    buf.set_filter("", min_severity=Severity.WARNING)
    assert [buf.line(a) for a in buf.matches] == ["RuntimeError: boom", "WARNING: low disk"]
    assert buf.filter.describe() == "errors+warnings"
    buf.set_filter("", min_severity=Severity.ERROR)
    assert len(buf) == 1
    buf.set_filter("disk", min_severity=Severity.WARNING)
    assert [buf.line(a) for a in buf.matches] == ["WARNING: low disk"]
    buf.append(["Traceback (most recent call last):", "disk WARNING again"])
    assert [buf.line(a) for a in buf.matches] == ["WARNING: low disk", "disk WARNING again"]

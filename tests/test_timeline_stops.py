"""Docker's kill/die/stop sequences → the marks an operator expects (pure: recorded event shapes)."""

from __future__ import annotations

from console.timeline.docker_events import StopFolder


def ev(action: str, t: float, cid: str = "c1", **attrs) -> dict:
    return {"Type": "container", "Action": action, "timeNano": int(t * 1e9),
            "Actor": {"ID": cid, "Attributes": {"name": f"n-{cid}", **attrs}}}


def marks(*events: dict) -> list[tuple[str, str]]:
    folder = StopFolder()
    out = [m for e in events for m in folder.feed(e)] + folder.flush()
    return [(kind, detail) for kind, _, detail, _ in out]


def test_a_graceful_stop_is_one_mark_with_its_exit_code() -> None:
    assert marks(ev("start", 1), ev("kill", 5, signal="15"), ev("die", 5.2, exitCode="0"), ev("stop", 5.3)) == [
        ("start", ""), ("stop", "exit code 0")]


def test_a_stop_past_its_grace_period_says_how_it_ended() -> None:
    assert marks(ev("kill", 5, signal="15"), ev("kill", 15, signal="9"), ev("die", 15.1, exitCode="137"),
                 ev("stop", 15.2)) == [("stop", "exit code 137")]


def test_a_kill_or_a_crash_stays_an_exit() -> None:
    assert marks(ev("kill", 5, signal="9"), ev("die", 5.1, exitCode="137")) == [("exit", "exit code 137")]
    assert marks(ev("die", 9, exitCode="1")) == [("exit", "exit code 1")]


def test_a_die_after_a_sigterm_without_a_stop_is_not_lost() -> None:
    # docker kill -s TERM: no stop event follows; the next event (or the end) lets the exit out
    assert marks(ev("kill", 5, signal="15"), ev("die", 5.1, exitCode="143")) == [("exit", "exit code 143")]
    assert marks(ev("kill", 5, signal="15"), ev("die", 5.1, exitCode="143"), ev("start", 9)) == [
        ("exit", "exit code 143"), ("start", "")]


def test_containers_do_not_mix() -> None:
    assert marks(ev("kill", 5, "a", signal="15"), ev("die", 5.1, "b", exitCode="2"), ev("die", 5.2, "a", exitCode="0"),
                 ev("stop", 5.3, "a")) == [("exit", "exit code 2"), ("stop", "exit code 0")]

"""Asking every host at once, each with a deadline; a failure becomes one line for its row."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping, TypeVar

from console.errors import ConsoleError

T = TypeVar("T")


def gather(items: Mapping[str, T], job: Callable[[T], Any], *, timeout: float) -> dict[str, tuple[Any, BaseException | None]]:
    """``job(item)`` for every item at once → name → (value, error); one not done by ``timeout`` gets a TimeoutError.

    Daemon threads, not an executor: a host that hangs past its deadline must hold up neither
    the answer nor the interpreter's exit (its own timeouts end it later).
    """
    results: dict[str, tuple[Any, BaseException | None]] = {}
    done = threading.Condition()

    def one(name: str, item: T) -> None:
        try:
            value, err = job(item), None
        except BaseException as exc:  # noqa: BLE001 - reported per item, never raised across threads
            value, err = None, exc
        with done:
            results[name] = (value, err)
            done.notify_all()

    for name, item in items.items():
        threading.Thread(target=one, args=(name, item), name=f"fleet-{name}", daemon=True).start()
    deadline = time.monotonic() + timeout
    with done:
        while len(results) < len(items):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            done.wait(left)
        out = dict(results)
    for name in items:
        out.setdefault(name, (None, TimeoutError(f"{name} did not answer within {timeout:g} s")))
    return out


def in_words(exc: BaseException) -> str:
    """A failure as one line: the console's sentence (and its hint), else the exception's own text."""
    if isinstance(exc, ConsoleError):
        return exc.message if not exc.hint else f"{exc.message} ({exc.hint})"
    return str(exc) or type(exc).__name__

"""Shared pieces of the CLI: exit codes, JSON/human output, error reporting."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Callable

from console.errors import ConsoleError

# Exit codes mean the same thing for every command (defined in the core's leaf module).
from console.exit_codes import (  # noqa: F401  (re-exported for the commands)
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)


def add_json_flag(parser, help: str = "print machine-readable JSON") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def whole_number(minimum: int = 1):
    """An argparse ``type``: a whole number ≥ ``minimum`` (argparse turns the error into exit 2)."""
    import argparse

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"wants a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        return value

    return read


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` as JSON or through ``human`` (a function returning text); secrets masked."""
    from console.settings.mask import scrub, scrub_obj

    if as_json or human is None:
        json.dump(scrub_obj(data), sys.stdout, indent=2, default=_default)
        sys.stdout.write("\n")
    else:
        text = human(data)
        if text:
            print(scrub(text))
    sys.stdout.flush()


def _default(obj: Any) -> Any:
    import dataclasses

    from console.settings.mask import scrub_obj

    if dataclasses.is_dataclass(obj):
        return scrub_obj(dataclasses.asdict(obj))
    if hasattr(obj, "to_dict"):
        return scrub_obj(obj.to_dict())
    return scrub_obj(str(obj))


def report_error(exc: ConsoleError, as_json: bool = False) -> int:
    from console.settings.mask import scrub, scrub_obj

    if as_json:
        json.dump(scrub_obj({"error": exc.message, "hint": exc.hint}), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"error: {scrub(exc.message)}", file=sys.stderr)
        if exc.hint:
            print(f"  → {scrub(exc.hint)}", file=sys.stderr)
    return exc.exit_code


def seconds(text: str) -> float:
    """argparse type: a duration above 0 (float() alone takes "nan" and "inf", which no wait can be)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds: give one above 0, such as 30")
    return value


def finite(text: str) -> float:
    """argparse type: a number, not "nan" or "inf" (a server's JSON cannot carry them)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number: give one such as 0.7")
    return value

"""The bench's options, declared once for the CLI's flags and the TUI bench screen's fields.

Each option has its flag, its label in the screen, its default as one would type it,
and a reader that turns text into a value or raises :class:`OptionError`. The CLI
registers the flags with :func:`add_arguments` and reads them with :func:`read_args`;
the screen reads each field with :func:`read_field`. So both have the same defaults
and the same messages, naming the flag in the CLI and the field in the screen.
Light on purpose: the CLI imports it at start-up.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

from console.exit_codes import EXIT_USAGE
from console.errors import ConsoleError


class OptionError(ConsoleError):
    """A value that does not read: the message names the flag or the field."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint, exit_code=EXIT_USAGE)


# -- readers: (text, name) -> value --------------------------------------------------------------------


def whole(minimum: int | None = 1) -> Callable[[str, str], int]:
    def read(text: str, name: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise OptionError(f"{name} wants a whole number, not {text!r}") from None
        if minimum is not None and value < minimum:
            raise OptionError(f"{name} must be ≥ {minimum}")
        return value

    return read


def number(minimum: float = 0.0, maximum: float | None = None) -> Callable[[str, str], float]:
    def read(text: str, name: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):  # float() also reads "nan" and "inf"
            raise OptionError(f"{name} wants a number, not {text!r}")
        if value < minimum or (maximum is not None and value > maximum):
            within = f"between {minimum:g} and {maximum:g}" if maximum is not None else f"≥ {minimum:g}"
            raise OptionError(f"{name} must be {within}")
        return value

    return read


def levels(text: str, name: str) -> list[int]:
    """Concurrency levels: ``1,4,16,64`` (spaces allowed)."""
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise OptionError(f"{name} wants numbers like 1,4,16,64, not {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise OptionError(f"{name} values must be ≥ 1")
    return values


def gpu_name(text: str, name: str) -> str:
    """A GPU the catalog knows, as its catalog name; an unknown one lists the known names."""
    from console.planner.catalog import UnknownName, lookup_gpu

    try:
        return lookup_gpu(text).name
    except UnknownName as exc:
        raise OptionError(f"{name}: {exc}", "leave it out to use the GPU detected here") from None


def dataset_path(text: str, name: str) -> str:
    """A file that can be opened (its lines are read, and judged, by ``prompts.load_dataset``);
    the message is load_dataset's own, so a missing file reads the same whichever finds it."""
    path = os.path.expanduser(text)
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise OptionError(f"cannot read dataset {path}: {exc.strerror}",
                          "give a JSONL file, one prompt per line") from None
    return path


def text_value(text: str, name: str) -> str:
    return text


# -- the options ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    dest: str  # argparse dest, and the screen field's id (with - for _)
    flag: str
    label: str  # the screen's field label (≤ 16 columns)
    help: str  # the CLI's --help line
    read: Callable[[str, str], Any] = text_value
    default: str = ""  # as typed; "" is no value (None), the run's automatic choice
    placeholder: str = ""  # what a blank field means, shown in the screen
    metavar: str | None = None
    switch: bool = False  # a store_true flag; a checkbox in the screen
    tool_load: bool = False  # belongs to the tool-call load rather than the latency bench

    @property
    def field_id(self) -> str:
        return self.dest.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option("model", "--model", "Model", "model id (default: the first one the server lists)",
           placeholder="first one listed"),
    Option("concurrency", "--concurrency", "Concurrency", "levels to run, comma-separated (default 1,4,16,64)",
           levels, "1,4,16,64"),
    Option("input_len", "--input-len", "Input tokens", "prompt tokens (random prompts; default 1024)",
           whole(), "1024"),
    Option("output_len", "--output-len", "Output tokens", "max output tokens (default 1024)", whole(), "1024"),
    Option("requests", "--requests", "Requests/level", "requests per level (default 4 × concurrency, at least 16)",
           whole(), placeholder="4 × conc, ≥ 16"),
    Option("dataset", "--dataset", "Dataset (JSONL)",
           "JSONL prompts: {prompt|messages|conversations, output_len?} per line", dataset_path,
           placeholder="none: random prompts"),
    Option("seed", "--seed", "Seed", "seed for random prompts (default 0)", whole(None), "0"),
    Option("price_per_hour", "--price-per-hour", "Price $/hour", "hourly price of the box → $/M output tokens",
           number(), placeholder="for $/M tokens", metavar="USD"),
    Option("gpu", "--gpu", "Compare with GPU", "GPU to compare with (default: detected through NVML), e.g. H100, H200",
           gpu_name, placeholder="detect (NVML)"),
    Option("no_ignore_eos", "--no-ignore-eos", "Stop early",
           "let the model stop early (default: ignore_eos)", switch=True),
    Option("workers", "--workers", "Client procs",
           "client processes per level (default: one per 16 streams, at most half the CPUs) — "
           "one Python process cannot timestamp thousands of chunks/s on time",
           whole(), placeholder="auto", metavar="N"),
    Option("tool_load", "--tool-load", "Tool-call load",
           "instead of the latency bench: run tool-call rounds N at a time, report the failure rate",
           whole(), placeholder="off: latency bench", metavar="N", tool_load=True),
    Option("tool_rounds", "--tool-rounds", "Tool rounds", "tool rounds in all (default 4 × N)",
           whole(), placeholder="4 × load", metavar="M", tool_load=True),
    Option("max_failure_rate", "--max-failure-rate", "Max fail rate",
           "exit 1 when more than this fraction of requests fail (default 0)",
           number(0.0, 1.0), "0", metavar="FRACTION"),
)

BY_DEST = {o.dest: o for o in OPTIONS}


def read_value(option: Option, text: str | None, name: str) -> Any:
    """``text`` as the option's value; blank (or None) is the default, and no default is None."""
    text = (text or "").strip() or option.default
    return option.read(text, name) if text else None


def read_field(option: Option, text: str) -> Any:
    """A screen field's value; errors name the field by its label."""
    return read_value(option, text, option.label)


def add_arguments(parser, options: tuple[Option, ...] | None = None) -> None:
    """Every option (the bench's unless ``options`` says) as a flag; values stay text until
    :func:`read_args` reads them."""
    for o in OPTIONS if options is None else options:
        if o.switch:
            parser.add_argument(o.flag, action="store_true", help=o.help)
        else:
            parser.add_argument(o.flag, default=o.default or None, metavar=o.metavar, help=o.help)


def read_args(args, options: tuple[Option, ...] | None = None) -> None:
    """Read every option's text in ``args`` in place; a bad one raises :class:`OptionError` (exit 2)."""
    for o in OPTIONS if options is None else options:
        if not o.switch:
            setattr(args, o.dest, read_value(o, getattr(args, o.dest), o.flag))


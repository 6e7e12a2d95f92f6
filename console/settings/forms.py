"""The same declaration as CLI flags and as form-field descriptions.

``add_arguments(parser)`` adds one flag per setting (``--model``, ``--max-model-len``,
``--enable-metrics/--no-enable-metrics``…; secrets only as ``--api-key-file`` style
flags so they never sit in a process list); ``cli_values(args)`` hands the given ones
to :func:`console.settings.resolve.resolve` as ``cli=``. ``form_fields()`` describes
the launch form, group by group, for the TUI to build widgets from.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from .spec import GROUPS, SETTINGS, Setting


def add_arguments(parser: argparse.ArgumentParser, *, include_runtime: bool = True, grouped: bool = True) -> None:
    """Add one flag per setting; unset flags stay absent from the namespace.

    Build the parser with ``allow_abbrev=False``: otherwise ``--api-key VALUE`` would be
    taken as an abbreviation of ``--api-key-file`` instead of being refused.
    """
    groups: dict[str, Any] = {}
    for s in SETTINGS:
        if s.runtime and not include_runtime:
            continue
        target = parser
        if grouped:
            if s.group not in groups:
                groups[s.group] = parser.add_argument_group(f"{s.group} settings")
            target = groups[s.group]
        help_text = f"{s.help} [env {s.env}; default {s.default_text()}]".replace("%", "%%")
        if s.secret:
            target.add_argument(f"{s.cli_flag}-file", dest=s.file_key, metavar="PATH",
                                default=argparse.SUPPRESS, help=f"read the {s.title} from this file. " + help_text)
        elif s.kind == "bool":
            target.add_argument(s.cli_flag, dest=s.key, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            metavar = "|".join(str(c) for c in s.choices) if s.choices and len(s.choices) <= 4 else s.key.upper()
            target.add_argument(s.cli_flag, dest=s.key, metavar=metavar, default=argparse.SUPPRESS, help=help_text)


def cli_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, as raw values for ``resolve(cli=...)``.

    Secret ``--…-file`` flags pass their path (``api_key_file``): ``resolve`` reads the file,
    and a file that cannot be read is a problem with what to do, like any other setting.
    """
    ns = vars(args)
    out: dict[str, Any] = {}
    for s in SETTINGS:
        if s.key in ns:
            out[s.key] = ns[s.key]
        if s.file_key and s.file_key in ns:
            out[s.file_key] = ns[s.file_key]
    return out


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    group: str
    kind: str  # "str" | "int" | "float" | "bool" | "choice" | "args"
    default: Any
    placeholder: str  # what an empty field means: "auto", "SGLang's default", or the default
    choices: tuple[Any, ...]
    allowed: str
    help: str
    env: str
    secret: bool
    runtime: bool


def form_field(s: Setting) -> FormField:
    return FormField(
        key=s.key, label=s.title, group=s.group, kind=s.kind, default=s.default,
        placeholder=s.default_text() if s.default is None else str(s.example or s.default_text()),
        choices=s.choices, allowed=s.allowed_text(), help=s.help, env=s.env, secret=s.secret,
        runtime=s.runtime,
    )


def file_field(s: Setting) -> FormField:
    """A secret's file as a field of its own (a path: saved in profiles, unlike the secret)."""
    return FormField(
        key=s.file_key or "", label=f"{s.title} file", group=s.group, kind="str", default=None,
        placeholder="path (mounted read-only)", choices=(), allowed="a readable file",
        help=f"Read the {s.title} from this file; the container gets it as a read-only file, never in "
        f"its environment or command line. Wins over the {s.title} field.", env=s.file_env or "",
        secret=False, runtime=False,
    )


def with_file_fields(values: dict[str, Any], sources: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Values and sources for the form, a secret's file field included (the file its key was read from)."""
    values, sources = dict(values), dict(sources)
    for s in SETTINGS:
        if s.file_key:
            path = getattr(values.get(s.key), "path", None)
            values[s.file_key] = path
            sources[s.file_key] = sources.get(s.key, "default") if path else "default"
    return values, sources


def form_fields(*, include_entrypoint_only: bool = False) -> dict[str, list[FormField]]:
    """Group → fields, in display order (a secret's file field right after it). SSH settings
    (image-only) are left out unless asked."""
    out: dict[str, list[FormField]] = {g: [] for g in GROUPS}
    for s in SETTINGS:
        if s.key.startswith("ssh_") and not include_entrypoint_only:
            continue
        out[s.group].append(form_field(s))
        if s.file_key:
            out[s.group].append(file_field(s))
    return {g: fields for g, fields in out.items() if fields}

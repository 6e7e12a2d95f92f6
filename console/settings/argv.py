"""Values → the SGLang command line, and the config file that carries its secrets.

Secret flags (``--api-key``) are never part of the command line built here: ``ps`` and
``docker inspect`` show argv. SGLang ≥ 0.5.2 reads options from ``--config FILE.yaml``
(sglang/srt/server_args.py ``prepare_server_args``; values on the command line win over the
file's), so the secrets go into that file (:func:`sglang_config`).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from console.secret import reveal

from .spec import PARSER_OFF, SETTINGS, SGLANG

LAUNCH = ["python3", "-m", "sglang.launch_server"]
CONFIG_FLAG = "--config"


def sglang_args(values: Mapping[str, Any]) -> list[str]:
    """The flags (without ``python3 -m sglang.launch_server``); --host and --port always present."""
    args: list[str] = []
    for s in SETTINGS:
        if s.target != SGLANG or not s.flag or s.secret:
            continue
        value = values.get(s.key)
        if value is None and s.key in ("host", "port"):
            value = s.default  # SGLang's own defaults (127.0.0.1:30000) are never what we want
        if value is None or value is False:
            continue
        if value is True:
            args.append(s.flag)
        elif s.key in ("reasoning_parser", "tool_call_parser") and value == PARSER_OFF:
            continue
        else:
            args += [s.flag, str(value)]
    args += list(values.get("extra_args") or [])
    return args


def to_argv(values: Mapping[str, Any]) -> list[str]:
    """The full argv: ``python3 -m sglang.launch_server --model-path … --host … --port …``."""
    return [*LAUNCH, *sglang_args(values)]


def secret_flags(values: Mapping[str, Any]) -> dict[str, Any]:
    """SGLang's secret flags that are set: ``{"--api-key": Secret}``."""
    return {s.flag: values[s.key] for s in SETTINGS
            if s.secret and s.target == SGLANG and s.flag and values.get(s.key)}


def sglang_config(values: Mapping[str, Any]) -> str | None:
    """The YAML SGLang reads with ``--config`` for the secret flags that are set (None: none set).

    One ``flag-name: "value"`` line each; the value JSON-quoted, which YAML reads as a
    double-quoted scalar (validation keeps keys to printable ASCII).
    """
    flags = secret_flags(values)
    if not flags:
        return None
    lines = ["# SGLang options written by gpt-oss-console (read with --config); keep this file private"]
    lines += [f"{flag[2:]}: {json.dumps(reveal(value))}" for flag, value in flags.items()]
    return "\n".join(lines) + "\n"


def read_sglang_config(text: str) -> dict[str, str]:
    """The ``name: "value"`` lines of a file :func:`sglang_config` wrote (to find a container's key)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, raw = line.partition(":")
        if not sep or line.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(raw.strip())
        except ValueError:
            continue
        if isinstance(value, str):
            out[name.strip()] = value
    return out

"""Values → the SGLang command line."""

from __future__ import annotations

from typing import Any, Mapping

from .mask import mask_secret
from .spec import BY_KEY, PARSER_OFF, SETTINGS, SGLANG

LAUNCH = ["python3", "-m", "sglang.launch_server"]


def sglang_args(values: Mapping[str, Any]) -> list[str]:
    """The flags (without ``python3 -m sglang.launch_server``); --host and --port always present."""
    args: list[str] = []
    for s in SETTINGS:
        if s.target != SGLANG or not s.flag:
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


def redact_argv(argv: list[str], values: Mapping[str, Any] | None = None) -> list[str]:
    """A copy of argv safe to print: the value after --api-key (and any secret value) masked."""
    secrets = {str(v) for k, v in (values or {}).items() if v and k in BY_KEY and BY_KEY[k].secret}
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(mask_secret(arg))
            hide_next = False
        elif arg in ("--api-key", "--admin-api-key"):
            out.append(arg)
            hide_next = True
        elif arg.startswith(("--api-key=", "--admin-api-key=")):
            flag, _, val = arg.partition("=")
            out.append(f"{flag}={mask_secret(val)}")
        elif arg in secrets:
            out.append(mask_secret(arg))
        else:
            out.append(arg)
    return out

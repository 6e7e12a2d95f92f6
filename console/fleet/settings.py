"""The fleet's own settings, declared once: the hosts file's ``[fleet]`` keys, the
``fleet`` command's flags and the docs all come from :data:`FLEET_SETTINGS`.

Precedence, lowest first: default < hosts file < command line. A reader turns the
raw value (TOML value or flag text) into the typed one or raises ``ValueError`` with
the sentence to show; the caller adds where it came from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
POLICIES = ("cache_aware", "round_robin", "power_of_two", "random")
DEFAULT_ROUTER_IMAGE = "lmsysorg/sgl-model-gateway:latest"


def _name(v: Any) -> str:
    if not isinstance(v, str) or not NAME_RE.match(v):
        raise ValueError("must be letters, digits, '.', '_' or '-' (up to 63, not starting with a symbol): "
                         "it names containers")
    return v


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or any(c in v for c in "\x00\n\r"):
        raise ValueError("must be a non-empty string on one line (in quotes in the hosts file)")
    return v.strip()


def _port(v: Any) -> int:
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 65535:
        raise ValueError("must be a port number 1–65535 (no quotes in the hosts file)")
    return v


def _seconds(low: float, high: float) -> Callable[[Any], float]:
    def read(v: Any) -> float:
        if isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                pass
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
            raise ValueError(f"must be a number of seconds from {low:g} to {high:g}")
        return float(v)
    return read


def _ip(v: Any) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(_text(v)))
    except ValueError:
        raise ValueError("must be an IP address of this machine (127.0.0.1, 0.0.0.0, …)") from None


def _fraction(v: Any) -> float:
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            pass
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
        raise ValueError("must be a number from 0 to 1")
    return float(v)


def _count(v: Any) -> int:
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 1_000_000:
        raise ValueError("must be a whole number from 0")
    return v


def _policy(v: Any) -> str:
    if v not in POLICIES:
        raise ValueError(f"must be one of {', '.join(POLICIES)}")
    return v


def _path(v: Any) -> str:
    return os.path.expanduser(_text(v))


@dataclass(frozen=True)
class FleetSetting:
    key: str
    default: Any
    read: Callable[[Any], Any]
    help: str
    metavar: str = "VALUE"

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


FLEET_SETTINGS: tuple[FleetSetting, ...] = (
    FleetSetting("name", "gpt-oss-fleet", _name, "the fleet's name: workers are containers <name>-<host>-<n>", "NAME"),
    FleetSetting("router", "local", _text, "where the router runs: local (a process on this machine) or a host "
                 "name (a container on that host's engine, host network)", "WHERE"),
    FleetSetting("router_bind", None, _ip, "the address the router listens on (default: 127.0.0.1 for a local "
                 "process, 0.0.0.0 for a container on a host)", "ADDRESS"),
    FleetSetting("router_port", 30080, _port, "the router's port (clients use http://ROUTER:PORT/v1)", "PORT"),
    FleetSetting("prometheus_port", 29000, _port, "the router's Prometheus metrics port", "PORT"),
    FleetSetting("policy", "cache_aware", _policy, "the router's load-balancing policy", "POLICY"),
    FleetSetting("cache_threshold", 0.3, _fraction, "cache_aware: a request goes to the worker holding this share "
                 "of its prefix; below it, to the worker with the least cached (higher spreads more)", "F"),
    FleetSetting("balance_abs_threshold", 64, _count, "cache_aware: balance by load instead once the busiest worker "
                 "has this many more requests than the idlest", "N"),
    FleetSetting("health_interval", 10.0, _seconds(1, 3600), "seconds between the router's health checks of each "
                 "worker (3 failures in a row mark it unhealthy)", "S"),
    FleetSetting("router_image", DEFAULT_ROUTER_IMAGE, _text, "the router's image when it runs as a container", "IMAGE"),
    FleetSetting("ssh_config", None, _path, "ssh -F file for every host (default: ssh's own ~/.ssh/config)", "FILE"),
    FleetSetting("timeout", 5.0, _seconds(0.1, 600), "seconds a host may take to answer a status poll", "S"),
)
BY_KEY = {s.key: s for s in FLEET_SETTINGS}


def add_arguments(parser, keys: tuple[str, ...] | None = None) -> None:
    """One flag per setting (default None: 'not given', so the hosts file still counts)."""
    for s in FLEET_SETTINGS:
        if keys is None or s.key in keys:
            choices = POLICIES if s.key == "policy" else None
            default = "" if s.default is None else f" (default {s.default})"
            parser.add_argument(s.flag, dest=f"fleet_{s.key}", metavar=None if choices else s.metavar,
                                choices=choices, default=None, help=f"{s.help}{default}")


def cli_values(args) -> dict[str, Any]:
    """The flags that were given, read by the same readers as the hosts file."""
    out = {}
    for s in FLEET_SETTINGS:
        raw = getattr(args, f"fleet_{s.key}", None)
        if raw is not None:
            try:
                out[s.key] = s.read(raw)
            except ValueError as exc:
                from console.errors import ConsoleError
                from console.exit_codes import EXIT_USAGE

                raise ConsoleError(f"{s.flag} {raw!r} {exc}", exit_code=EXIT_USAGE) from None
    return out


def docs() -> str:
    """The ``[fleet]`` table as Markdown (the README's generated section)."""
    rows = ["| `[fleet]` key | flag | default | what |", "|---|---|---|---|"]
    for s in FLEET_SETTINGS:
        default = "—" if s.default is None else f"`{s.default}`"
        rows.append(f"| `{s.key}` | `{s.flag}` | {default} | {s.help.replace('|', '/')} |")
    return "\n".join(rows)

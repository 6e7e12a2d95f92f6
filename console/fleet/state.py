"""What the fleet must remember between commands: its API key (a file) and where its router runs.

Workers need no record here: they are containers labelled with the fleet's name on
each host, found again by asking each engine. The router is a process or a
container; its state file says which, its URLs and (for a process) its pid and log.

* key:   ``$XDG_CONFIG_HOME/gpt-oss-console/fleet/<name>.key`` (0600; generated once), or the
         operator's own file (``--api-key-file``), whose path the state remembers;
* state: ``$XDG_STATE_HOME/gpt-oss-console/fleet/<name>.json`` (0600).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from console.errors import ConsoleError
from console.exit_codes import EXIT_NOT_FOUND, EXIT_USAGE
from console.fleet.hosts import config_dir
from console.private_file import private_dir, write_private
from console.records import build
from console.secret import Secret, SecretFileError, read_secret_file, world_readable


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "gpt-oss-console" / "fleet"


def key_path(fleet: str) -> Path:
    return config_dir() / "fleet" / f"{fleet}.key"


@dataclass
class RouterState:
    kind: str  # "local" (a process here) or "container" (on ``host``)
    url: str  # where clients and the console reach it
    prometheus_url: str
    pid: int | None = None
    log: str | None = None
    host: str | None = None
    container: str | None = None
    package: str | None = None  # "sglang-router 0.3.2"
    started_at: float | None = None
    proc_start: int | None = None  # the process's start time (ticks since boot): pid + this = one process


@dataclass
class FleetState:
    name: str
    key_file: str | None = None
    router: RouterState | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def state_path(fleet: str) -> Path:
    return state_dir() / f"{fleet}.json"


def load(fleet: str) -> FleetState:
    p = state_path(fleet)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(doc, dict):  # what older versions left out or wrote as null
            doc = {**doc, "name": doc.get("name", fleet), "extra": doc.get("extra") or {}}
        router = doc.get("router") if isinstance(doc, dict) else None
        state = build(FleetState, doc, what="the fleet state", skip=("router",))
        state.router = build(RouterState, router, what="its router") if router is not None else None
        return state
    except FileNotFoundError:
        return FleetState(fleet)
    except (OSError, ValueError) as exc:
        # A damaged record loses only the router's pid: say so, start afresh.
        broken = p.with_suffix(".json.broken")
        try:
            os.replace(p, broken)
        except OSError:
            pass
        raise ConsoleError(f"the fleet state {p} was unreadable ({exc}); moved to {broken}",
                           "run the command again; if a router process is left, fleet down stops it by port") from None


def save(state: FleetState) -> Path:
    private_dir(state_dir())
    return write_private(state_path(state.name), json.dumps(state.to_dict(), indent=2) + "\n")


def api_key(state: FleetState, *, given_file: str | None = None, create: bool = False) -> tuple[Secret, str]:
    """The fleet's key and its file: the operator's file, the remembered one, or a new one (``create``)."""
    path = given_file or state.key_file or str(key_path(state.name))
    try:
        key = read_secret_file(path, what="fleet API key")
    except SecretFileError as exc:
        if not create and not given_file and not state.key_file and not Path(path).exists():
            raise ConsoleError(f"fleet {state.name} has not been started from this machine (no key at {path})",
                               "gpt-oss-console fleet up starts it; --api-key-file FILE names the key of a fleet "
                               "started elsewhere", exit_code=EXIT_NOT_FOUND) from None
        if given_file or state.key_file or not create or Path(path).exists():
            raise ConsoleError(str(exc), "pass --api-key-file FILE, or remove it to let fleet up make a new key",
                               exit_code=EXIT_USAGE) from None
        private_dir(Path(path).parent)
        write_private(path, secrets.token_urlsafe(32) + "\n")
        key = read_secret_file(path, what="fleet API key")
    if world_readable(path):
        raise ConsoleError(f"the fleet API key file {path} is readable by other users",
                           f"chmod 600 {path}", exit_code=EXIT_USAGE)
    return key, path

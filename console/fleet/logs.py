"""Logs of the fleet: any worker's (its host's engine, through the same reader as ``logs``) and the router's.

The router's log is a 0600 file in the state dir when it runs as a local process, its
container's log when it runs on a host.
"""

from __future__ import annotations

import re
import time
from typing import Iterator

from console.errors import ConsoleError
from console.exit_codes import EXIT_NOT_FOUND
from console.fleet import state as ST
from console.fleet.connections import Connections
from console.fleet.hosts import FleetConfig
from console.fleet.ops import find_worker
from console.fleet.router_process import log_path

ROUTER = "router"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the router colours its log when it thinks a terminal reads it


def worker_batches(cfg: FleetConfig, conns: Connections, target: str, *, follow: bool = False,
                   tail: int | str = 200) -> tuple[str, Iterator[list[str]]]:
    """(worker name, batches of lines) from the worker's host."""
    from console.logs.docker_reader import DockerLogReader

    host, w = find_worker(cfg, conns, target)
    reader = DockerLogReader(w.id, client=conns.runtime(host).client, follow=follow, tail=tail)

    def batches() -> Iterator[list[str]]:
        try:
            for batch in reader:
                yield batch.lines
        finally:
            reader.close()

    return w.name, batches()


def router_batches(cfg: FleetConfig, conns: Connections, *, follow: bool = False,
                   tail: int | str = 200, poll_s: float = 0.2) -> Iterator[list[str]]:
    fstate = ST.load(cfg.name)
    r = fstate.router
    if r is not None and r.kind == "container":
        from console.logs.docker_reader import DockerLogReader

        host = cfg.router_host or cfg.host(r.host)
        runtime = conns.runtime(host)
        c = runtime.client.containers.get(r.container)
        for batch in DockerLogReader(c.id, client=runtime.client, follow=follow, tail=tail):
            yield [_ANSI.sub("", ln) for ln in batch.lines]
        return
    path = log_path(cfg.name)
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise ConsoleError(f"no router log for fleet {cfg.name} ({path})", "gpt-oss-console fleet up starts the router",
                           exit_code=EXIT_NOT_FOUND) from None
    with fh:
        lines = [_ANSI.sub("", ln) for ln in fh.read().splitlines()]
        yield lines if tail == "all" else lines[-int(tail):]
        while follow:
            chunk = fh.read()
            if chunk:
                yield [_ANSI.sub("", ln) for ln in chunk.splitlines()]
            else:
                time.sleep(poll_s)


def tail(cfg: FleetConfig, target: str | None, *, n: int = 200) -> tuple[str, list[str]]:
    """The last ``n`` lines of a worker (``target``) or of the router (None / "router"): (title, lines)."""
    conns = Connections(cfg)
    try:
        if target in (None, ROUTER):
            lines = [ln for batch in router_batches(cfg, conns, tail=n) for ln in batch]
            return f"router of {cfg.name}", lines[-n:]
        name, batches = worker_batches(cfg, conns, target, tail=n)
        return name, [ln for batch in batches for ln in batch][-n:]
    finally:
        conns.close()

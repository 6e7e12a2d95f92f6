"""The fleet at a glance: hosts × GPUs × workers, the router and its view, all polled at once.

Every host is asked on its own thread with a deadline (``FleetConfig.timeout``): a slow
or dead host is marked (unreachable, or "did not answer within N s") and never holds up
the rest. The router is asked in parallel with the hosts. Per worker: its container
state (one Docker list call per host), its ``/health`` and ``/metrics`` (running and
queued requests, requests served, generation throughput), and the router's verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.fleet.connections import Connections
from console.fleet.hosts import FleetConfig, Host
from console.fleet.concurrent import gather, in_words
from console.fleet.ops import router_alive
from console.fleet.remote_gpus import HostGpus, query
from console.fleet.router import RouterClient, RouterMetrics, RouterWorker, fetch_metrics
from console.fleet.state import FleetState
from console.fleet.workers import WorkerContainer, list_fleet
from console.secret import Secret


@dataclass
class WorkerStatus:
    container: WorkerContainer
    ready: bool | None = None  # /health 200; None: not asked (container not running)
    running_reqs: float | None = None
    queued_reqs: float | None = None
    requests_total: float | None = None
    gen_throughput: float | None = None
    router: RouterWorker | None = None  # the router's entry for this worker, if listed
    error: str | None = None

    @property
    def phase(self) -> str:
        c = self.container
        if not c.running:
            code = c.exit_code
            return "crashed" if code not in (0, None) else ("stopped" if c.state == "exited" else c.state)
        if self.router is not None and self.router.healthy is False:
            return "unhealthy"
        if self.ready:
            return "ready"
        return "starting" if self.ready is False else "running"

    def to_dict(self) -> dict[str, Any]:
        return {**self.container.to_dict(), "phase": self.phase, "ready": self.ready,
                "running_reqs": self.running_reqs, "queued_reqs": self.queued_reqs,
                "requests_total": self.requests_total, "gen_throughput": self.gen_throughput,
                "router": None if self.router is None else self.router.to_dict(),
                "registered": self.router is not None, "error": self.error}


@dataclass
class HostStatus:
    host: Host
    reachable: bool
    error: str | None = None
    elapsed_s: float | None = None
    gpus: HostGpus | None = None
    workers: list[WorkerStatus] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.host.name, "ssh": self.host.ssh, "reachable": self.reachable, "error": self.error,
                "elapsed_s": None if self.elapsed_s is None else round(self.elapsed_s, 3),
                "gpus": None if self.gpus is None else self.gpus.to_dict(),
                "workers": [w.to_dict() for w in self.workers]}


@dataclass
class RouterStatus:
    kind: str | None = None
    url: str | None = None
    running: bool = False
    workers: list[RouterWorker] = field(default_factory=list)
    metrics: RouterMetrics | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "running": self.running,
                "workers": [w.to_dict() for w in self.workers],
                "metrics": None if self.metrics is None else self.metrics.to_dict(), "error": self.error}


@dataclass
class FleetStatus:
    name: str
    hosts: list[HostStatus]
    router: RouterStatus
    elapsed_s: float
    at: float = field(default_factory=time.time)

    @property
    def workers(self) -> list[WorkerStatus]:
        return [w for h in self.hosts for w in h.workers]

    @property
    def throughput(self) -> float:
        return sum(w.gen_throughput or 0.0 for w in self.workers)

    def to_dict(self) -> dict[str, Any]:
        ws = self.workers
        return {
            "fleet": self.name, "elapsed_s": round(self.elapsed_s, 3), "at": self.at,
            "router": self.router.to_dict(), "hosts": [h.to_dict() for h in self.hosts],
            "summary": {
                "hosts": len(self.hosts), "reachable": sum(h.reachable for h in self.hosts),
                "workers": len(ws), "ready": sum(w.phase == "ready" for w in ws),
                "gen_throughput": round(self.throughput, 2),
                "running_reqs": sum(w.running_reqs or 0 for w in ws),
            },
        }


# The four series a status row shows. A worker's /metrics is ~11 KB of histograms: parsing only
# these lines (samples and their # TYPE/# HELP) is ~10× cheaper, and a poll parses one page per worker.
_SHOWN = ("num_running_reqs", "num_queue_reqs", "gen_throughput", "num_requests_total")


def _wanted_series(text: str) -> str:
    keep = tuple(f"sglang:{n}" for n in _SHOWN) + tuple(f"# {k} sglang:{n}" for k in ("TYPE", "HELP") for n in _SHOWN)
    return "\n".join(line for line in text.splitlines() if line.startswith(keep)) + "\n"


def _worker_probe(c: WorkerContainer, key: Secret | None, http, timeout: float) -> WorkerStatus:
    """/health and /metrics of one worker, on the poll's shared HTTP client (one client, one TLS
    context for every worker: building an httpx client costs more than the two requests)."""
    import httpx

    from console.server import metrics as M

    ws = WorkerStatus(c)
    if not c.running or not c.url:
        return ws
    headers = {"Authorization": f"Bearer {key.reveal()}"} if key else {}
    try:
        ws.ready = http.get(c.url.rstrip("/") + "/health", headers=headers, timeout=timeout).status_code == 200
    except httpx.HTTPError as exc:
        ws.ready, ws.error = False, f"{c.url} does not answer ({type(exc).__name__})"
        return ws
    try:
        snap = M.parse(_wanted_series(M.fetch_text(c.url, timeout=timeout, client=http)))
        ws.running_reqs = snap.gauges.get("running")
        ws.queued_reqs = snap.gauges.get("queued")
        ws.gen_throughput = snap.gauges.get("gen_throughput")
        ws.requests_total = snap.counters.get("requests")
    except ConsoleError as exc:
        ws.error = exc.message
    return ws


def host_status(cfg: FleetConfig, conns: Connections, host: Host, key: Secret | None, http, *,
                gpus: bool = True) -> HostStatus:
    """One host: its GPUs (over SSH) while its containers and workers are asked (Docker, HTTP)."""
    import threading

    started = time.monotonic()
    budget = cfg.timeout
    transport = conns.transport(host)
    transport.connect(budget)  # one authentication, before the two halves share the master
    got: dict[str, Any] = {}

    def ask_gpus() -> None:
        try:
            got["gpus"] = query(transport, timeout=budget)
        except BaseException as exc:  # noqa: BLE001 - raised below, on the poll's thread
            got["error"] = exc

    side = threading.Thread(target=ask_gpus, daemon=True) if gpus else None
    if side:
        side.start()
    try:
        containers = list_fleet(conns.runtime(host, timeout=budget), cfg.name)
    except ConsoleError:
        conns.forget(host)  # a broken Docker connection is rebuilt on the next poll
        raise
    left = max(0.5, budget - (time.monotonic() - started))
    workers = [_worker_probe(c, key, http, min(2.0, left)) for c in containers]
    if side:
        side.join(max(0.1, budget - (time.monotonic() - started)))
        if "error" in got:
            raise got["error"]
    return HostStatus(host, True, None, time.monotonic() - started, got.get("gpus"), workers)


def router_status(fstate: FleetState, key: Secret | None, *, timeout: float) -> RouterStatus:
    r = fstate.router
    rs = RouterStatus(kind=r.kind if r else None, url=r.url if r else None)
    if r is None:
        rs.error = "no router: gpt-oss-console fleet up starts one"
        return rs
    if key is None or not router_alive(r, key):
        rs.error = "the router does not answer at " + r.url
        return rs
    rs.running = True
    try:
        with RouterClient(r.url, key, timeout=timeout) as rc:
            rs.workers = rc.workers()
        rs.metrics = fetch_metrics(r.prometheus_url, timeout=timeout)
    except ConsoleError as exc:
        rs.error = exc.message
    return rs


def poll_client():
    """The HTTP client a status poll uses (one per poll, or kept across polls by the TUI)."""
    import httpx

    return httpx.Client(limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))


def collect(cfg: FleetConfig, conns: Connections, fstate: FleetState, key: Secret | None, *,
            gpus: bool = True, http=None) -> FleetStatus:
    """Everything at once; each host (and the router) gets ``cfg.timeout`` seconds.

    ``http``: an ``httpx.Client`` to reuse across polls (the TUI keeps one); else one for this poll.
    """
    started = time.monotonic()
    own = http is None
    http = http or poll_client()
    hosts = list(cfg.hosts.values())
    router_key = "\0router"  # not a valid host name: no clash

    def job(item):
        if item is None:
            return router_status(fstate, key, timeout=min(3.0, cfg.timeout))
        return host_status(cfg, conns, item, key, http, gpus=gpus)

    try:
        answers = gather({**{h.name: h for h in hosts}, router_key: None}, job, timeout=cfg.timeout)
    finally:
        if own:  # a host past its deadline may still hold it: closing makes its request fail, not hang
            http.close()
    statuses = []
    for h in hosts:
        value, err = answers[h.name]
        if err is not None:
            statuses.append(HostStatus(h, False, in_words(err)))
        else:
            statuses.append(value)
    rvalue, rerr = answers[router_key]
    router = rvalue if rerr is None else RouterStatus(error=in_words(rerr))
    by_url = {w.url: w for w in router.workers}
    for hs in statuses:
        for ws in hs.workers:
            ws.router = by_url.get(ws.container.url.rstrip("/"))
    return FleetStatus(cfg.name, statuses, router, time.monotonic() - started)

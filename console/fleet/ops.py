"""Up, drain, down: the fleet's lifecycle, shared by ``gpt-oss-console fleet`` and the Fleet area.

* **up** converges on the plan: the router runs (started if needed), every planned worker
  runs, is ready and is registered. A worker that is up and answers is kept; one that
  crashed or was drained is launched again (the replacement is deregistered first and
  registered once ready). Workers launch on all hosts at once.
* **drain** takes one worker out without losing a request: deregister it (the router
  sends it nothing new), wait until its ``sglang:num_running_reqs`` and queue stay 0,
  then stop it.
* **down** stops the router (it finishes requests in flight) and removes the fleet's
  containers on every host.

Everything blocks; run it on a worker thread. Progress arrives as :class:`FleetEvent`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from console.errors import ConsoleError
from console.exit_codes import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE
from console.fleet import router_process as RP
from console.fleet.concurrent import gather, in_words
from console.fleet.connections import Connections
from console.fleet.events import FleetEvent, Listener, quiet
from console.fleet.hosts import FleetConfig, Host
from console.fleet.plan import FleetPlan, detected, plan_fleet
from console.fleet.remote_gpus import HostGpus, query
from console.fleet.router import RouterClient, RouterUnavailable
from console.fleet.state import FleetState, RouterState, save
from console.fleet.workers import WorkerContainer, WorkerSpec, build_worker, container_name, list_fleet
from console.secret import Secret


@dataclass
class WorkerOutcome:
    name: str
    host: str
    url: str
    action: str  # kept, started, replaced, failed
    error: str | None = None
    time_to_ready_s: float | None = None
    diagnoses: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class UpResult:
    plan: FleetPlan
    router: RouterState | None
    workers: list[WorkerOutcome] = field(default_factory=list)
    host_errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.router is not None and all(w.action != "failed" for w in self.workers) and bool(self.workers)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "router": None if self.router is None else self.router.__dict__,
                "workers": [w.to_dict() for w in self.workers], "host_errors": self.host_errors,
                "warnings": self.warnings, "plan": self.plan.to_dict()}


# -- GPUs and plan ------------------------------------------------------------------------------


def host_gpus(cfg: FleetConfig, conns: Connections, *, on_event: Listener = quiet) -> tuple[dict[str, HostGpus], dict[str, str]]:
    """Every host's GPUs at once; the second dict says why a host has none to offer."""
    hosts = list(cfg.hosts.values())
    answers = gather({h.name: h for h in hosts}, lambda h: query(conns.transport(h), timeout=cfg.timeout),
                     timeout=cfg.timeout + 2)
    found: dict[str, HostGpus] = {}
    problems: dict[str, str] = {}
    for host in hosts:
        value, err = answers[host.name]
        if err is not None:
            problems[host.name] = in_words(err)
            on_event(FleetEvent("gpus", problems[host.name], host=host.name, ok=False))
            continue
        found[host.name] = value
        inv = value.inventory
        if inv.error and not inv.gpus:
            problems[host.name] = inv.error
            on_event(FleetEvent("gpus", inv.error, host=host.name, ok=False))
        else:
            names = sorted({g.name for g in inv.gpus})
            on_event(FleetEvent("gpus", f"{len(inv.gpus)} GPU(s): {', '.join(names)}", host=host.name, ok=True))
    return found, problems


def make_plan(cfg: FleetConfig, model: str, gpus: dict[str, HostGpus], problems: dict[str, str], *,
              tp: int | None = None, context: int | None = None) -> FleetPlan:
    """Each host planned from the memory its GPUs have free now (the planner's ``detected_memory``)."""
    from console.planner import detected_memory

    hosts = list(cfg.hosts.values())
    cards = {h.name: detected(h, gpus[h.name].inventory) for h in hosts if h.name in gpus and h.name not in problems}
    memory = {}
    for name, card in cards.items():
        if card is not None:
            spec, indices = card
            memory[name] = detected_memory(spec, [s for s in gpus[name].samples if s.index in indices])
    return plan_fleet(model, hosts, cards, tp=tp, context=context, problems=problems, memory=memory)


# -- the router ----------------------------------------------------------------------------------


def router_alive(state: RouterState | None, key: Secret) -> bool:
    if state is None:
        return False
    if state.kind == "local" and not RP.is_ours(state):
        return False
    with RouterClient(state.url, key, timeout=3.0) as rc:
        return rc.healthy()


def ensure_router(cfg: FleetConfig, conns: Connections, fstate: FleetState, key: Secret, key_file: str, *,
                  on_event: Listener = quiet) -> RouterState:
    """The running router, or a new one (a local process, or a container on ``cfg.router``)."""
    if router_alive(fstate.router, key):
        on_event(FleetEvent("router", f"running at {fstate.router.url}", ok=True))
        return fstate.router
    if cfg.router_host is None:
        install = RP.detect()
        on_event(FleetEvent("router", f"starting {install.label} on this machine (policy {cfg.policy})"))
        state = RP.start_local(cfg, install, key_file)
    else:
        host = cfg.router_host
        runtime = conns.runtime(host)
        address = conns.transport(host).address()
        on_event(FleetEvent("router", f"starting {cfg.router_image} on {host.name} (policy {cfg.policy})", host=host.name))
        state = RP.start_container(cfg, runtime, key, address=address)
    fstate.router = state
    save(fstate)
    on_event(FleetEvent("router", f"up at {state.url} (metrics {state.prometheus_url}/metrics)", ok=True))
    return state


# -- up -------------------------------------------------------------------------------------------


@dataclass
class UpOptions:
    model: str
    values_for: Callable[[Any], dict[str, Any]]  # a replica's Plan → its resolved launch settings
    image_mode: str | None = None  # None: the profile's IMAGE_MODE setting
    extra_env: dict[str, str] = field(default_factory=dict)
    gpu_request: bool = True
    tp: int | None = None
    context: int | None = None
    ready_timeout: float = 1800.0


def up_options(*, profile: str | None = None, cli: dict[str, Any] | None = None, image_mode: str | None = None,
               extra_env: dict[str, str] | None = None, tp: int | None = None, context: int | None = None,
               ready_timeout: float = 1800.0) -> UpOptions:
    """Worker settings as ``launch`` resolves them (default < profile < planner < env < flags), per host's plan."""
    from console.planner import UnknownName, lookup_model
    from console.planner.settings_map import plan_settings
    from console.runtime.service import resolve_values

    cli = dict(cli or {})
    base = resolve_values(profile=profile, cli=cli)
    model = str(base.values.get("model") or "")
    try:
        name = lookup_model(model.rsplit("/", 1)[-1]).name
    except UnknownName:
        raise ConsoleError(f"the fleet plans gpt-oss only; {model!r} is not gpt-oss-20b or gpt-oss-120b",
                           "pass --model openai/gpt-oss-120b (or 20b)", exit_code=EXIT_USAGE) from None
    gpu_request = str(base.values.get("gpus") or "").strip().lower() != "none"

    def values_for(replica_plan) -> dict[str, Any]:
        vals = resolve_values(profile=profile, planner=plan_settings(replica_plan), cli=cli)
        if vals.errors:
            raise ConsoleError("invalid worker settings: " + "; ".join(p.message for p in vals.errors),
                               "fix them in the profile, the environment or the flags", exit_code=EXIT_USAGE)
        return vals.values

    return UpOptions(model=name, values_for=values_for, image_mode=image_mode, extra_env=dict(extra_env or {}),
                     gpu_request=gpu_request, tp=tp, context=context, ready_timeout=ready_timeout)


def up(cfg: FleetConfig, conns: Connections, fstate: FleetState, key: Secret, key_file: str, opts: UpOptions, *,
       on_event: Listener = quiet) -> UpResult:
    gpus, problems = host_gpus(cfg, conns, on_event=on_event)
    fplan = make_plan(cfg, opts.model, gpus, problems, tp=opts.tp, context=opts.context)
    for hp in fplan.hosts:
        if hp.replicas:
            on_event(FleetEvent("plan", f"{hp.replicas} × {fplan.model} at TP={hp.tp} on {hp.gpu}", host=hp.host, ok=True))
        elif hp.problem and hp.host not in problems:
            on_event(FleetEvent("plan", f"no worker: {hp.problem}", host=hp.host, ok=False))
    result = UpResult(plan=fplan, router=None, host_errors=dict(problems))
    if not fplan.workers:
        raise ConsoleError("no host can run a worker: " + "; ".join(f"{h.host}: {h.problem}" for h in fplan.hosts),
                           "gpt-oss-console fleet plan shows why per host", exit_code=EXIT_FAILED)
    result.router = ensure_router(cfg, conns, fstate, key, key_file, on_event=on_event)
    fstate.model = fplan.model
    save(fstate)
    by_host: dict[str, list] = {}
    for slot in fplan.workers:
        by_host.setdefault(slot.host, []).append(slot)
    plans = {hp.host: hp for hp in fplan.hosts}

    def host_job(host: Host) -> list[WorkerOutcome]:
        transport = conns.transport(host)
        runtime = conns.runtime(host)
        address = transport.address()
        existing = {w.name: w for w in list_fleet(runtime, cfg.name)}
        out = []
        for slot in by_host.get(host.name, []):
            values = opts.values_for(plans[host.name].replica_plans[slot.replica])  # each replica its own plan
            spec = build_worker(values, fleet=cfg.name, host=host, address=address, slot=slot, key=key,
                                image_mode=opts.image_mode, extra_env=opts.extra_env, gpu_request=opts.gpu_request)
            for w in spec.launch.warnings:
                if w not in result.warnings:
                    result.warnings.append(w)
            out.append(_bring_up(spec, existing.get(spec.name), runtime, result.router, key, opts, on_event))
        return out

    hosts = [cfg.hosts[h] for h in by_host]
    answers = gather({h.name: h for h in hosts}, host_job, timeout=opts.ready_timeout + 120)
    for host in hosts:
        outcomes, err = answers[host.name]
        if err is not None:
            result.host_errors[host.name] = in_words(err)
            on_event(FleetEvent("failed", in_words(err), host=host.name, ok=False))
            for slot in by_host[host.name]:
                name = container_name(cfg.name, host.name, slot.replica)
                result.workers.append(WorkerOutcome(name, host.name, "", "failed", in_words(err)))
            continue
        result.workers.extend(outcomes)
    return result


def _bring_up(spec: WorkerSpec, existing: WorkerContainer | None, runtime, router: RouterState, key: Secret,
              opts: UpOptions, on_event: Listener) -> WorkerOutcome:
    from console.runtime.monitor import Monitor
    from console.runtime.phases import RunPhase
    from console.server.client import ServerClient

    name, host = spec.name, spec.slot.host
    if existing is not None and existing.running:
        try:
            with ServerClient(spec.url, api_key=key.reveal(), timeout=3.0) as sc:
                healthy = sc.health().ready
        except ConsoleError:
            healthy = False
        if healthy:
            _register(router, spec.url, key, name, on_event)
            on_event(FleetEvent("kept", f"running and ready at {spec.url}", host=host, worker=name, ok=True))
            return WorkerOutcome(name, host, spec.url, "kept")
        container_id = existing.id  # starting (or hung): follow it until ready
        action = "kept"
    else:
        action = "started"
        if existing is not None:
            action = "replaced"
            code = existing.exit_code
            why = "crashed" if code not in (0, None) else "stopped"
            on_event(FleetEvent("launch", f"{why} ({existing.status}): launching a replacement", host=host, worker=name))
            _deregister(router, spec.url, key, name, on_event)
        else:
            on_event(FleetEvent("launch", f"launching on GPUs {','.join(map(str, spec.slot.gpus)) or 'none'} "
                                          f"at {spec.url}", host=host, worker=name))
        try:  # the key goes in as a file, copied before the container starts (spec.launch.secrets_copied)
            container = runtime.launch(spec.launch, replace=True)
        except ConsoleError as exc:
            on_event(FleetEvent("failed", in_words(exc), host=host, worker=name, ok=False))
            return WorkerOutcome(name, host, spec.url, "failed", in_words(exc))
        container_id = container.id

    def on_update(snap) -> None:
        on_event(FleetEvent("phase", snap.phase.label + (f" — {snap.detail}" if snap.detail and snap.detail != snap.phase.label else ""),
                            host=host, worker=name))

    monitor = Monitor(runtime, container_id, base_url=spec.url, api_key=key.reveal(), on_update=on_update,
                      settings=spec.launch.describe())
    try:
        snap = monitor.run(until_ready=True, timeout=opts.ready_timeout)
    finally:
        monitor.stop()
    if snap.phase is not RunPhase.READY:
        diags = [d.title for d in snap.diagnoses]
        why = f"{snap.phase.label}" + (f": {diags[0]}" if diags else "")
        if snap.exit_code is not None:
            why += f" (exit code {snap.exit_code})"
        on_event(FleetEvent("failed", f"not ready — {why}", host=host, worker=name, ok=False))
        return WorkerOutcome(name, host, spec.url, "failed", why, diagnoses=diags)
    on_event(FleetEvent("ready", f"ready in {snap.time_to_ready_s or 0:.1f} s", host=host, worker=name, ok=True))
    try:
        _register(router, spec.url, key, name, on_event)
    except ConsoleError as exc:
        return WorkerOutcome(name, host, spec.url, "failed", in_words(exc), snap.time_to_ready_s)
    return WorkerOutcome(name, host, spec.url, action, None, snap.time_to_ready_s)


def _register(router: RouterState, url: str, key: Secret, name: str, on_event: Listener) -> None:
    with RouterClient(router.url, key) as rc:
        listed = next((w for w in rc.workers() if w.url == url.rstrip("/")), None)
        if listed is not None and listed.healthy is False:
            rc.remove(url)  # a stale entry from the worker it replaces: start afresh, healthy
            rc.wait_listed(url, present=False, timeout=30)
            listed = None
        if listed is None:
            rc.add(url, key)
            rc.wait_listed(url, present=True, timeout=60)
    on_event(FleetEvent("register", f"registered with the router at {router.url}", worker=name, ok=True))


def _deregister(router: RouterState, url: str, key: Secret, name: str, on_event: Listener) -> bool:
    with RouterClient(router.url, key) as rc:
        if not rc.remove(url):
            return False
        rc.wait_listed(url, present=False, timeout=30)
    on_event(FleetEvent("deregister", "removed from the router", worker=name, ok=True))
    return True


# -- finding a worker ----------------------------------------------------------------------------


def find_worker(cfg: FleetConfig, conns: Connections, target: str) -> tuple[Host, WorkerContainer]:
    """A worker by container name, URL or HOST/REPLICA (``gpu1/0``)."""
    host_hint, _, rep = target.partition("/")
    hosts = [cfg.hosts[host_hint]] if rep and host_hint in cfg.hosts else list(cfg.hosts.values())
    answers = gather({h.name: h for h in hosts}, lambda h: list_fleet(conns.runtime(h), cfg.name),
                     timeout=cfg.timeout + 10)
    found = []
    for host in hosts:
        workers, err = answers[host.name]
        for w in workers or []:
            if target in (w.name, w.url, w.url.rstrip("/"), f"{w.host}/{w.replica}"):
                found.append((host, w))
    if not found:
        unreachable = [h.name for h in hosts if answers[h.name][1] is not None]
        extra = f" (not asked: {', '.join(unreachable)} did not answer)" if unreachable else ""
        raise ConsoleError(f"no worker of fleet {cfg.name} matches {target!r}{extra}",
                           "gpt-oss-console fleet status lists the workers (name, URL or HOST/REPLICA)",
                           exit_code=EXIT_NOT_FOUND)
    if len(found) > 1:
        raise ConsoleError(f"{target!r} matches {len(found)} workers", "name one by container name",
                           exit_code=EXIT_USAGE)
    return found[0]


# -- drain ----------------------------------------------------------------------------------------


@dataclass
class DrainResult:
    worker: str
    url: str
    deregistered: bool
    waited_s: float
    running_at_stop: float | None
    stopped: bool
    removed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def in_flight(url: str, *, timeout: float = 2.0) -> float | None:
    """Requests the worker is running or has queued (``sglang:num_running_reqs`` + queue), None if unreadable."""
    from console.server import metrics as M

    try:
        snap = M.parse(M.fetch_text(url, timeout=timeout))
    except ConsoleError:
        return None
    return snap.gauges.get("running", 0.0) + snap.gauges.get("queued", 0.0)


def drain(cfg: FleetConfig, conns: Connections, fstate: FleetState, key: Secret, target: str, *,
          timeout: float = 600.0, quiet_s: float = 1.0, stop_timeout: int = 30, remove: bool = False,
          unknown_grace_s: float = 30.0, on_event: Listener = quiet) -> DrainResult:
    host, w = find_worker(cfg, conns, target)
    runtime = conns.runtime(host)
    deregistered = False
    if fstate.router is not None:
        try:
            deregistered = _deregister(fstate.router, w.url, key, w.name, on_event)
        except RouterUnavailable as exc:
            on_event(FleetEvent("deregister", f"router unreachable ({exc.message}): nothing new reaches it anyway",
                                worker=w.name, ok=None))
    started = time.monotonic()
    running = None
    if w.running:
        on_event(FleetEvent("drain", "waiting for its requests to finish", worker=w.name))
        quiet_since = None
        while True:
            running = in_flight(w.url)
            now = time.monotonic()
            if running is None:  # no /metrics (started without --enable-metrics) or gone: wait blind
                grace = min(unknown_grace_s, max(0.0, timeout - (now - started)))
                on_event(FleetEvent("drain", f"its /metrics cannot be read: waiting {grace:g} s for requests "
                                             "in flight before stopping it", worker=w.name))
                time.sleep(grace)
                break
            if running == 0:
                quiet_since = quiet_since or now
                if now - quiet_since >= quiet_s:  # a request routed just before removal has arrived by now
                    break
            else:
                quiet_since = None
            if now - started > timeout:
                raise ConsoleError(f"{w.name} still has {running:g} request(s) after {timeout:g} s",
                                   "it stays deregistered and running; run drain again or stop it with fleet down",
                                   exit_code=EXIT_FAILED)
            time.sleep(0.2)
    waited = time.monotonic() - started
    stopped = False
    if w.running:
        container = runtime.client.containers.get(w.id)
        runtime.stop(container, timeout=stop_timeout)
        stopped = True
        on_event(FleetEvent("stop", f"stopped after {waited:.1f} s of draining", worker=w.name, ok=True))
    removed = False
    if remove:
        runtime.remove(runtime.client.containers.get(w.id), force=True)
        removed = True
    return DrainResult(w.name, w.url, deregistered, round(waited, 2), running, stopped, removed)


# -- down -----------------------------------------------------------------------------------------


@dataclass
class DownResult:
    router_stopped: bool
    removed: list[str] = field(default_factory=list)
    host_errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def down(cfg: FleetConfig, conns: Connections, fstate: FleetState, *, stop_timeout: int = 30,
         on_event: Listener = quiet) -> DownResult:
    result = DownResult(router_stopped=False)
    r = fstate.router
    if r is not None and r.kind == "local":
        result.router_stopped = RP.stop_local(r)
        on_event(FleetEvent("stop", "router stopped" if result.router_stopped else "router was not running", ok=True))

    def host_job(host: Host) -> list[str]:
        runtime = conns.runtime(host)
        gone = []
        for role in ("router", "worker"):  # the router first: it stops taking requests
            for w in list_fleet(runtime, cfg.name, role=role):
                c = runtime.client.containers.get(w.id)
                if w.running:
                    runtime.stop(c, timeout=stop_timeout)
                runtime.remove(c, force=True)
                gone.append(w.name)
                on_event(FleetEvent("remove", f"{role} stopped and removed", host=host.name, worker=w.name, ok=True))
        return gone

    hosts = list(cfg.hosts.values())
    if cfg.router_host is not None and cfg.router_host.name not in cfg.hosts:
        hosts.append(cfg.router_host)
    answers = gather({h.name: h for h in hosts}, host_job, timeout=stop_timeout + cfg.timeout + 60)
    for host in hosts:
        gone, err = answers[host.name]
        if err is not None:
            result.host_errors[host.name] = in_words(err)
            on_event(FleetEvent("failed", in_words(err), host=host.name, ok=False))
        else:
            result.removed += gone
            if r is not None and r.kind == "container" and r.container in gone:
                result.router_stopped = True
    fstate.router = None
    save(fstate)
    return result

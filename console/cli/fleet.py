"""``fleet``: several GPU boxes, data-parallel gpt-oss workers behind SGLang's router.

``plan`` (replicas × TP per host, the pool in total), ``up`` (router + workers, registered),
``status`` (hosts × GPUs × workers and the router, polled at once), ``drain`` (one worker out,
no request lost), ``down``, ``logs``. Hosts come from the hosts file
(``~/.config/gpt-oss-console/hosts.toml``) or ``--host``; see ``console/fleet/hosts.py``.
"""

from __future__ import annotations

import sys

from console.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_json_flag, emit
from console.errors import ConsoleError

HELP = "several GPU hosts behind SGLang's router: plan, up, status, drain, down, logs"
ORDER = 60

GiB = 1024**3
# Launch settings `fleet up` takes as flags (from the one declaration; the rest come from --profile / env).
UP_SETTINGS = ("model", "image", "served_model_name", "gpus", "max_model_len", "enable_metrics")


def register(parser) -> None:
    from console.fleet import settings as FS

    sub = parser.add_subparsers(dest="fleet_command", metavar="SUBCOMMAND")

    def common(p, *, settings: tuple[str, ...] = ("name", "ssh_config", "timeout")) -> None:
        p.add_argument("--host", action="append", metavar="HOST", dest="hosts",
                       help="a host: its name in the hosts file, local, context:DOCKER_CONTEXT, or an SSH "
                            "destination (alias, user@box, ssh://user@box:port); repeatable (default: the hosts file's)")
        p.add_argument("--hosts-file", metavar="FILE", help="the hosts file (default ~/.config/gpt-oss-console/hosts.toml)")
        FS.add_arguments(p, settings)
        add_json_flag(p)

    p = sub.add_parser("plan", help="replicas × TP per host from the planner, what the router adds, the pool in total")
    common(p)
    p.add_argument("--model", default="gpt-oss-120b", help="gpt-oss-20b or gpt-oss-120b (default 120b)")
    p.add_argument("--tp", type=int, help="tensor-parallel size per replica (default: the planner's choice)")
    p.add_argument("--context", type=int, metavar="TOKENS", help="context to plan concurrency for (default 131072)")
    p.add_argument("--gpu", help="plan for this catalog GPU on every host instead of asking the hosts")
    p.add_argument("--count", type=int, default=8, help="with --gpu: GPUs per host (default 8)")
    p.set_defaults(func=run_plan)

    p = sub.add_parser("up", help="start the router and a worker per GPU group on each host; register them")
    common(p, settings=tuple(s.key for s in FS.FLEET_SETTINGS))
    _add_up_settings(p)
    p.add_argument("--profile", "-p", metavar="NAME", help="launch profile the workers start from")
    p.add_argument("--image-mode", choices=("auto", "project", "stock"), default="auto",
                   help="as for launch: project (env-driven image, key as a file) or stock (lmsysorg/sglang)")
    p.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE", help="extra env for every worker")
    p.add_argument("--tp", type=int, help="tensor-parallel size per replica (default: the planner's choice)")
    p.add_argument("--context", type=int, metavar="TOKENS", help="context to plan for (default: the model's)")
    p.add_argument("--api-key-file", metavar="FILE",
                   help="the one API key of the router and the workers (default: one the fleet generates, 0600)")
    p.add_argument("--ready-timeout", type=float, default=1800.0, metavar="S",
                   help="give up on a worker not ready after S s (default 1800)")
    p.set_defaults(func=run_up)

    p = sub.add_parser("status", help="hosts × GPUs × workers, the router and its metrics (hosts polled at once)")
    common(p)
    p.add_argument("--no-gpus", action="store_true", help="skip the GPU query (one SSH command less per host)")
    p.set_defaults(func=run_status)

    p = sub.add_parser("drain", help="take one worker out: deregister, wait for its requests, stop it")
    common(p)
    p.add_argument("worker", help="container name, URL or HOST/REPLICA (fleet status lists them)")
    p.add_argument("--wait", type=float, default=600.0, metavar="S", help="longest wait for requests in flight (600)")
    p.add_argument("--remove", action="store_true", help="also remove the stopped container")
    p.set_defaults(func=run_drain)

    p = sub.add_parser("down", help="stop the router and remove the fleet's containers on every host")
    common(p)
    p.set_defaults(func=run_down)

    p = sub.add_parser("logs", help="a worker's log (or the router's: logs router)")
    common(p)
    p.add_argument("worker", help="container name, URL, HOST/REPLICA, or router")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("--tail", "-n", default="200", metavar="N", help="the last N lines (default 200; all for all)")
    p.set_defaults(func=run_logs)
    parser.set_defaults(func=lambda args: (parser.print_help(), EXIT_USAGE)[1])


def _add_up_settings(p) -> None:
    import argparse

    from console.settings.spec import BY_KEY

    group = p.add_argument_group("worker settings (the rest: --profile, or the launch settings' env vars)")
    for key in UP_SETTINGS:
        s = BY_KEY[key]
        kwargs = {"action": argparse.BooleanOptionalAction} if s.kind == "bool" else {"metavar": key.upper()}
        group.add_argument(s.cli_flag, dest=key, default=argparse.SUPPRESS, help=s.help.replace("%", "%%"), **kwargs)


# -- shared ------------------------------------------------------------------------------------


def _config(args):
    """The hosts file, narrowed by --host, with the flags over the file's [fleet] values."""
    from console.fleet import hosts as H
    from console.fleet import settings as FS

    cfg = H.load(args.hosts_file)
    cfg = cfg.with_settings(FS.cli_values(args))
    return H.select(cfg, args.hosts)


def _say(text: str, as_json: bool) -> None:
    if not as_json:
        print(text, file=sys.stderr, flush=True)


def _printer(as_json: bool):
    def on_event(ev) -> None:
        _say(ev.line(), as_json)
    return on_event


def _key(fstate, args, *, create: bool = False, required: bool = True):
    from console.fleet import state as ST

    try:
        return ST.api_key(fstate, given_file=getattr(args, "api_key_file", None), create=create)
    except ConsoleError:
        if required:
            raise
        return None, None


# -- plan --------------------------------------------------------------------------------------


def run_plan(args) -> int:
    from console.fleet import ops
    from console.fleet.connections import Connections
    from console.fleet.plan import plan_fleet
    from console.planner import UnknownName, lookup_gpu, lookup_model

    cfg = _config(args)
    try:
        lookup_model(args.model)
    except UnknownName as exc:
        raise ConsoleError(str(exc), exit_code=EXIT_USAGE) from None
    if args.gpu:
        try:
            spec = lookup_gpu(args.gpu)
        except UnknownName as exc:
            raise ConsoleError(str(exc), "gpt-oss-console plan --list-gpus lists the catalog", exit_code=EXIT_USAGE) from None
        cards = {h.name: (spec, list(h.gpus or range(args.count))) for h in cfg.hosts.values()}
        fplan = plan_fleet(args.model, list(cfg.hosts.values()), cards, tp=args.tp, context=args.context)
    else:
        conns = Connections(cfg)
        try:
            gpus, problems = ops.host_gpus(cfg, conns, on_event=_printer(args.json))
            fplan = ops.make_plan(cfg, args.model, gpus, problems, tp=args.tp, context=args.context)
        finally:
            conns.close()
    emit(fplan.to_dict(), args.json, lambda d: format_plan(fplan))
    return EXIT_OK if fplan.workers else EXIT_FAILED


def format_plan(fp) -> str:
    rows = [f"{fp.model}: {fp.replicas} replica(s) on {sum(1 for h in fp.hosts if h.replicas)} host(s)"]
    for h in fp.hosts:
        if h.replicas:
            p = h.replica_plan
            idle = f", GPUs {','.join(map(str, h.idle))} idle" if h.idle else ""
            rows.append(f"  {h.host:<12} {h.replicas} × TP={h.tp} on {h.gpu}{idle}: {p.max_total_num_tokens:,} KV tokens "
                        f"and up to {p.max_context:,} tokens of context per replica")
        else:
            rows.append(f"  {h.host:<12} no worker: {h.problem}")
    if fp.replicas:
        ctx = fp.context
        rows.append(f"  fleet        {fp.kv_tokens_total:,} KV tokens in all; {fp.concurrency_at(ctx):,} concurrent "
                     f"request(s) at {ctx:,} tokens, {fp.concurrency_at(8192):,} at 8k")
    rows += [f"  note         {n}" for n in fp.notes]
    for w in fp.workers:
        rows.append(f"  worker       {w.host}/{w.replica}: GPUs {','.join(map(str, w.gpus))}, port {w.port}")
    return "\n".join(rows)


# -- up ----------------------------------------------------------------------------------------


def run_up(args) -> int:
    from console.fleet import ops
    from console.fleet import state as ST
    from console.fleet.connections import Connections
    from console.fleet.workers import planner_settings
    from console.runtime.service import resolve_values
    cfg = _config(args)
    as_json = args.json
    cli = {k: getattr(args, k) for k in UP_SETTINGS if hasattr(args, k)}
    model = str(cli.get("model") or resolve_values(profile=args.profile, cli=cli).values.get("model") or "")
    from console.planner import UnknownName, lookup_model

    try:
        model_name = lookup_model(model.rsplit("/", 1)[-1]).name
    except UnknownName:
        raise ConsoleError(f"the fleet plans gpt-oss only; {model!r} is not gpt-oss-20b or gpt-oss-120b",
                           "pass --model openai/gpt-oss-120b (or 20b)", exit_code=EXIT_USAGE) from None
    extra_env = {}
    for item in args.env:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise ConsoleError(f"--env {item!r} is not KEY=VALUE", exit_code=EXIT_USAGE)
        extra_env[k] = v
    gpu_request = str(cli.get("gpus", "")).strip().lower() != "none"

    def values_for(replica_plan) -> dict:
        vals = resolve_values(profile=args.profile, planner=planner_settings(replica_plan), cli=cli)
        if vals.errors:
            raise ConsoleError("invalid worker settings: " + "; ".join(p.message for p in vals.errors),
                               exit_code=EXIT_USAGE)
        return vals.values

    fstate = ST.load(cfg.name)
    key, key_file = _key(fstate, args, create=True)
    fstate.key_file = key_file
    ST.save(fstate)
    opts = ops.UpOptions(model=model_name, values_for=values_for, image_mode=args.image_mode, extra_env=extra_env,
                         gpu_request=gpu_request, tp=args.tp, context=args.context, ready_timeout=args.ready_timeout)
    conns = Connections(cfg)
    try:
        result = ops.up(cfg, conns, fstate, key, key_file, opts, on_event=_printer(as_json))
    finally:
        conns.close()
    for w in result.warnings:
        _say(f"warning: {w}", as_json)
    emit(result.to_dict(), as_json, _up_text)
    return EXIT_OK if result.ok else EXIT_FAILED


def _up_text(d) -> str:
    ready = [w for w in d["workers"] if w["action"] != "failed"]
    out = [f"router {d['router']['url']} · {len(ready)}/{len(d['workers'])} worker(s) ready"]
    for w in d["workers"]:
        out.append(f"  {w['name']:<32} {w['action']:<9} {w['url']}" + (f"  {w['error']}" if w["error"] else ""))
    for host, err in d["host_errors"].items():
        out.append(f"  {host}: {err}")
    if ready:
        out.append(f"clients: {d['router']['url']}/v1 with the fleet's API key (gpt-oss-console fleet status)")
    return "\n".join(out)


# -- status ------------------------------------------------------------------------------------


def run_status(args) -> int:
    from console.fleet import state as ST
    from console.fleet.connections import Connections
    from console.fleet.status import collect

    cfg = _config(args)
    fstate = ST.load(cfg.name)
    key, _ = _key(fstate, args, required=False)
    conns = Connections(cfg)
    try:
        st = collect(cfg, conns, fstate, key, gpus=not args.no_gpus)
    finally:
        conns.close()
    emit(st.to_dict(), args.json, lambda d: format_status(st))
    return EXIT_OK


def _gpu_cell(hs) -> str:
    if hs.gpus is None:
        return "-"
    inv = hs.gpus.inventory
    if not inv.gpus:
        return "no GPU"
    used = sum(s.memory_used or 0 for s in hs.gpus.samples)
    total = sum(g.memory_total or 0 for g in inv.gpus)
    names = {g.name.replace("NVIDIA ", "") for g in inv.gpus}
    return f"{len(inv.gpus)}× {'/'.join(sorted(names))[:18]} {used / GiB:.0f}/{total / GiB:.0f}G"


def _num(v, fmt="{:g}") -> str:
    return "-" if v is None else fmt.format(v)


def format_status(st) -> str:
    r = st.router
    ws = st.workers
    ready = sum(w.phase == "ready" for w in ws)
    head = f"fleet {st.name} · "
    head += f"router {r.url} ({r.kind})" if r.running else f"router: {r.error or 'not running'}"
    head += f" · {ready}/{len(ws)} worker(s) ready · {st.throughput:.1f} tok/s · {st.elapsed_s:.2f} s"
    rows = [head, f"{'HOST':<10} {'GPUS':<28} {'WORKER':<26} {'PHASE':<9} {'ROUTER':<9} {'RUN':>4} {'REQS':>6} {'TOK/S':>7}"]
    for hs in st.hosts:
        if not hs.reachable:
            rows.append(f"{hs.host.name:<10} unreachable: {hs.error}")
            continue
        if not hs.workers:
            rows.append(f"{hs.host.name:<10} {_gpu_cell(hs):<28} (no worker)")
        for i, w in enumerate(hs.workers):
            c = w.container
            router = "-" if w.router is None else ("healthy" if w.router.healthy else "UNHEALTHY")
            rows.append(f"{hs.host.name if i == 0 else '':<10} {_gpu_cell(hs) if i == 0 else '':<28} "
                        f"{c.name[-26:]:<26} {w.phase:<9} {router:<9} {_num(w.running_reqs):>4} "
                        f"{_num(w.requests_total):>6} {_num(w.gen_throughput, '{:.1f}'):>7}")
    m = r.metrics
    if m is not None:
        rows.append(f"router metrics: {_num(m.requests_total)} request(s) routed"
                    + "".join(f" · {u.split('//')[-1]} {'up' if v else 'DOWN'}" for u, v in sorted(m.health.items())))
    return "\n".join(rows)


# -- drain / down ------------------------------------------------------------------------------


def run_drain(args) -> int:
    from console.fleet import ops
    from console.fleet import state as ST
    from console.fleet.connections import Connections

    cfg = _config(args)
    fstate = ST.load(cfg.name)
    key, _ = _key(fstate, args)
    conns = Connections(cfg)
    try:
        res = ops.drain(cfg, conns, fstate, key, args.worker, timeout=args.wait, remove=args.remove,
                        on_event=_printer(args.json))
    finally:
        conns.close()
    emit(res.to_dict(), args.json,
         lambda d: f"{d['worker']} drained in {d['waited_s']} s and stopped" if d["stopped"] else f"{d['worker']} was not running")
    return EXIT_OK


def run_down(args) -> int:
    from console.fleet import ops
    from console.fleet import state as ST
    from console.fleet.connections import Connections

    cfg = _config(args)
    fstate = ST.load(cfg.name)
    conns = Connections(cfg)
    try:
        res = ops.down(cfg, conns, fstate, on_event=_printer(args.json))
    finally:
        conns.close(end_ssh=True)
    emit(res.to_dict(), args.json, lambda d: f"removed {len(d['removed'])} container(s)"
         + ("; router stopped" if d["router_stopped"] else "")
         + "".join(f"\n  {h}: {e}" for h, e in d["host_errors"].items()))
    return EXIT_OK if not res.host_errors else EXIT_FAILED


# -- logs --------------------------------------------------------------------------------------


def run_logs(args) -> int:
    from console.fleet import ops
    from console.fleet import state as ST
    from console.fleet.connections import Connections
    from console.logs.docker_reader import DockerLogReader

    tail = args.tail
    if tail != "all" and not str(tail).isdigit():
        raise ConsoleError(f"--tail {tail!r} is not a number", "use --tail 200 or --tail all", exit_code=EXIT_USAGE)
    cfg = _config(args)
    fstate = ST.load(cfg.name)
    if args.worker == "router":
        return _router_logs(cfg, fstate, args)
    conns = Connections(cfg)
    try:
        host, w = ops.find_worker(cfg, conns, args.worker)
        runtime = conns.runtime(host)
        reader = DockerLogReader(w.id, client=runtime.client, follow=args.follow, tail=tail)
        _print_batches(reader, args.json, w.name)
    finally:
        conns.close()
    return EXIT_OK


def _print_batches(reader, as_json: bool, source: str) -> None:
    import json

    out = sys.stdout
    try:
        for batch in reader:
            if as_json:
                out.write("".join(json.dumps({"source": source, "line": ln}) + "\n" for ln in batch.lines))
            else:
                out.write("\n".join(batch.lines) + "\n")
            out.flush()
    except KeyboardInterrupt:
        reader.close()


def _router_logs(cfg, fstate, args) -> int:
    import time

    from console.fleet.router_process import log_path

    r = fstate.router
    if r is not None and r.kind == "container":
        from console.fleet.connections import Connections
        from console.logs.docker_reader import DockerLogReader

        conns = Connections(cfg)
        try:
            runtime = conns.runtime(cfg.router_host or cfg.host(r.host))
            c = runtime.client.containers.get(r.container)
            _print_batches(DockerLogReader(c.id, client=runtime.client, follow=args.follow, tail=args.tail),
                           args.json, "router")
        finally:
            conns.close()
        return EXIT_OK
    path = log_path(cfg.name)
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise ConsoleError(f"no router log for fleet {cfg.name} ({path})", "gpt-oss-console fleet up starts the router",
                           exit_code=4) from None
    with fh:
        lines = fh.read().splitlines()
        if args.tail != "all":
            lines = lines[-int(args.tail):]
        _emit_lines(lines, args.json)
        while args.follow:
            chunk = fh.read()
            if chunk:
                _emit_lines(chunk.splitlines(), args.json)
            else:
                time.sleep(0.2)
    return EXIT_OK


def _emit_lines(lines, as_json: bool) -> None:
    import json

    if as_json:
        sys.stdout.write("".join(json.dumps({"source": "router", "line": ln}) + "\n" for ln in lines))
    elif lines:
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()

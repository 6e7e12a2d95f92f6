"""``fleet``: several GPU boxes, data-parallel gpt-oss workers behind SGLang's router.

``plan`` (replicas × TP per host, the pool in total), ``up`` (router + workers, registered),
``status`` (hosts × GPUs × workers and the router, polled at once), ``drain`` (one worker out,
no request lost), ``down``, ``logs``. Hosts come from the hosts file
(``~/.config/gpt-oss-console/hosts.toml``) or ``--host``; see ``console/fleet/hosts.py``.
"""

from __future__ import annotations

import sys

from console.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_json_flag, emit, seconds
from console.errors import ConsoleError

HELP = "several GPU hosts behind SGLang's router: plan, up, status, drain, down, logs"
ORDER = 60

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
    p.add_argument("--image-mode", choices=("auto", "project", "stock"), default=None,
                   help="as for launch: project (env-driven image, key as a file) or stock (lmsysorg/sglang); "
                   "default: the profile's IMAGE_MODE, else auto")
    p.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE", help="extra env for every worker")
    p.add_argument("--tp", type=int, help="tensor-parallel size per replica (default: the planner's choice)")
    p.add_argument("--context", type=int, metavar="TOKENS", help="context to plan for (default: the model's)")
    p.add_argument("--api-key-file", metavar="FILE",
                   help="the one API key of the router and the workers (default: one the fleet generates, 0600)")
    p.add_argument("--ready-timeout", type=seconds, default=1800.0, metavar="S",
                   help="give up on a worker not ready after S s (default 1800)")
    p.set_defaults(func=run_up)

    p = sub.add_parser("status", help="hosts × GPUs × workers, the router and its metrics (hosts polled at once)")
    common(p)
    p.add_argument("--no-gpus", action="store_true", help="skip the GPU query (one SSH command less per host)")
    p.set_defaults(func=run_status)

    p = sub.add_parser("drain", help="take one worker out: deregister, wait for its requests, stop it")
    common(p)
    p.add_argument("worker", help="container name, URL or HOST/REPLICA (fleet status lists them)")
    p.add_argument("--wait", type=seconds, default=600.0, metavar="S", help="longest wait for requests in flight (600)")
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
    from console.fleet.report import plan_text
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
    emit(fplan.to_dict(), args.json, lambda d: plan_text(fplan))
    return EXIT_OK if fplan.workers else EXIT_FAILED


# -- up ----------------------------------------------------------------------------------------


def run_up(args) -> int:
    from console.fleet import ops
    from console.fleet import state as ST
    from console.fleet.connections import Connections
    from console.fleet.report import up_text

    cfg = _config(args)
    as_json = args.json
    extra_env = {}
    for item in args.env:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise ConsoleError(f"--env {item!r} is not KEY=VALUE", exit_code=EXIT_USAGE)
        extra_env[k] = v
    cli = {k: getattr(args, k) for k in UP_SETTINGS if hasattr(args, k)}
    opts = ops.up_options(profile=args.profile, cli=cli, image_mode=args.image_mode, extra_env=extra_env,
                          tp=args.tp, context=args.context, ready_timeout=args.ready_timeout)
    fstate = ST.load(cfg.name)
    key, key_file = _key(fstate, args, create=True)
    fstate.key_file = key_file
    ST.save(fstate)
    conns = Connections(cfg)
    try:
        result = ops.up(cfg, conns, fstate, key, key_file, opts, on_event=_printer(as_json))
    finally:
        conns.close()
    for w in result.warnings:
        _say(f"warning: {w}", as_json)
    emit(result.to_dict(), as_json, up_text)
    return EXIT_OK if result.ok else EXIT_FAILED


# -- status ------------------------------------------------------------------------------------


def run_status(args) -> int:
    from console.fleet import state as ST
    from console.fleet.connections import Connections
    from console.fleet.report import status_text
    from console.fleet.status import collect

    cfg = _config(args)
    fstate = ST.load(cfg.name)
    key, _ = _key(fstate, args, required=False)
    conns = Connections(cfg)
    try:
        st = collect(cfg, conns, fstate, key, gpus=not args.no_gpus)
    finally:
        conns.close()
    emit(st.to_dict(), args.json, lambda d: status_text(st))
    return EXIT_OK


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
    import json

    from console.fleet import logs as L
    from console.fleet.connections import Connections

    tail = args.tail
    if tail != "all" and not str(tail).isdigit():
        raise ConsoleError(f"--tail {tail!r} is not a number", "use --tail 200 or --tail all", exit_code=EXIT_USAGE)
    cfg = _config(args)
    conns = Connections(cfg)
    try:
        if args.worker == L.ROUTER:
            source, batches = L.ROUTER, L.router_batches(cfg, conns, follow=args.follow, tail=tail)
        else:
            source, batches = L.worker_batches(cfg, conns, args.worker, follow=args.follow, tail=tail)
        out = sys.stdout
        try:
            for lines in batches:
                if not lines:
                    continue
                if args.json:
                    out.write("".join(json.dumps({"source": source, "line": ln}) + "\n" for ln in lines))
                else:
                    out.write("\n".join(lines) + "\n")
                out.flush()
        except KeyboardInterrupt:
            pass
    finally:
        conns.close()
    return EXIT_OK

"""``launch``: start an engine (SGLang by default; --engine vllm|llamacpp) in Docker from settings,
then follow it until it is ready."""

from __future__ import annotations

import sys
import time

from console.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_json_flag, emit, seconds
from console.errors import ConsoleError

HELP = "launch SGLang, vLLM or llama.cpp in Docker (settings from a profile, env and flags) and follow it until ready"
ORDER = 20


def register(parser) -> None:
    from console.settings import add_arguments

    parser.add_argument("--profile", "-p", metavar="NAME", help="start from this saved profile")
    parser.add_argument(
        "--allow-public", action="store_true", help="publish on a non-local address even without an API key (warns)"
    )
    parser.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment variable for the container (repeatable; e.g. NCCL_DEBUG=INFO); "
                        "adds to --extra-env")
    parser.add_argument("--replace", action="store_true",
                        help="stop and remove a running console container of the same name first (applies new settings)")
    parser.add_argument("--detach", "-d", action="store_true", help="return once the container has started")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the equivalent docker run command and exit (it runs as printed: secrets are "
                             "mounted from files, written 0400 under the state dir when they did not come from one)")
    parser.add_argument("--compose", metavar="FILE", help="write a compose file for these settings and exit")
    parser.add_argument("--save-profile", metavar="NAME", help="save these settings as a profile (secrets left out)")
    parser.add_argument("--timeout", type=seconds, default=None, metavar="S", help="give up waiting for ready after S s")
    add_json_flag(parser)
    add_arguments(parser)
    _add_engine_arguments(parser)
    parser.set_defaults(func=run)


def _add_engine_arguments(parser) -> None:
    """The engines' own settings (declared in console/engines/<name>), one group per engine."""
    import argparse

    from console import engines
    from console.settings.spec import BY_KEY

    for engine in engines.all_engines():
        own = [s for s in engine.settings if s.key not in BY_KEY]
        if not own:
            continue
        group = parser.add_argument_group(f"{engine.label} settings (with --engine {engine.name})")
        for s in own:
            text = f"{s.help} [env {s.env}; default {s.default_text()}]".replace("%", "%%")
            if s.kind == "bool":
                group.add_argument(s.cli_flag, dest=s.key, action=argparse.BooleanOptionalAction,
                                   default=argparse.SUPPRESS, help=text)
            else:
                group.add_argument(s.cli_flag, dest=s.key, metavar=s.key.upper(), default=argparse.SUPPRESS, help=text)


def _say(text: str, as_json: bool) -> None:
    if not as_json:
        print(text, file=sys.stderr, flush=True)


def resolve_from_args(args):
    from console import engines
    from console.runtime.service import resolve_values
    from console.settings import cli_values

    own = {s.key: getattr(args, s.key) for e in engines.all_engines() for s in e.settings if hasattr(args, s.key)}
    return resolve_values(profile=args.profile, cli=cli_values(args) | own)


def run(args) -> int:
    from console.runtime import profiles
    from console.runtime.build import build_spec

    as_json = args.json
    vals = resolve_from_args(args)
    for note in vals.notes:
        _say(f"note: {note}", as_json)
    for p in vals.warnings:
        _say(f"warning: {p.message}", as_json)
    if vals.errors:
        if as_json:
            emit({"error": "invalid settings", "problems": [p.message for p in vals.errors]}, True)
        else:
            for p in vals.errors:
                print(f"error: {p.message}", file=sys.stderr)
        return EXIT_USAGE
    profile = args.profile or args.save_profile or profiles.DEFAULT_PROFILE
    from console.settings.validate import extra_env_problems

    problems = extra_env_problems(args.env)  # the same rules as --extra-env and the form's field
    if problems:
        raise ConsoleError(problems[0].message.replace("GPT_OSS_EXTRA_ENV", "--env"), exit_code=EXIT_USAGE)
    extra_env = dict(item.split("=", 1) for item in args.env)
    spec = build_spec(vals.values, profile=profile, allow_public=args.allow_public, extra_env=extra_env)
    for w in spec.warnings:
        _say(f"warning: {w}", as_json)
    if args.save_profile:
        path = profiles.save(profiles.Profile(args.save_profile, vals.values))
        _say(f"saved profile {args.save_profile} → {path}", as_json)
    if args.compose:
        from console.private_file import write_private

        try:  # 0600 like the TUI's export: it names the server, its ports and folders
            write_private(args.compose, spec.compose())
        except OSError as exc:
            raise ConsoleError(f"cannot write {args.compose}: {exc.strerror or exc}",
                               "check that the folder exists and is writable", exit_code=EXIT_USAGE) from None
        _say(f"wrote {args.compose}", as_json)
    if args.dry_run or args.compose:
        written = _write_secret_files(spec)
        if written:
            _say(f"secrets for this command written to {', '.join(written)} (0400, read-only in the container)",
                 as_json)
        emit(spec.describe() | {"docker_run": spec.docker_run()}, as_json, lambda d: d["docker_run"])
        return EXIT_OK
    from console.runtime.capacity import predict

    # The plan for these settings on this box, kept on the container: the log's pool is checked against it
    # (SGLang's pool rule; the other engines' plans are `plan --engine`'s).
    spec.prediction = predict(vals.values) if spec.engine == "sglang" else None
    if spec.prediction is not None:
        p = spec.prediction
        _say(f"plan: KV pool {p.max_total_num_tokens:,} tokens per replica ({p.planned_for}, TP={p.tp}, "
             f"{p.free_at_load / 2**30:.1f} GiB free per GPU now)", as_json)
    return launch_and_follow(spec, vals.values, args)


def _write_secret_files(spec) -> list[str]:
    """The console's copies of the secrets the printed command mounts (so it runs as printed)."""
    try:
        return spec.write_secret_files()
    except OSError as exc:
        raise ConsoleError(f"cannot write the secret files the command mounts: {exc.strerror or exc}",
                           "check that the state folder ($XDG_STATE_HOME or ~/.local/state) is writable",
                           exit_code=EXIT_USAGE) from None


def launch_and_follow(spec, values, args) -> int:
    from console.runtime import service
    from console.runtime.lifecycle import Runtime
    from console.runtime.phases import PhaseTracker, RunPhase

    as_json = args.json
    runtime = Runtime()
    layers: dict[str, float] = {}
    stall_after = float(values["stall_after"])
    tracker = PhaseTracker(stall_after=stall_after)

    def on_pull(p) -> None:
        if tracker.advance(RunPhase.PULLING, "pulling image"):
            _say(f"[{tracker.elapsed:6.1f}s] pulling {spec.image}", as_json)
        tracker.activity()
        now = time.monotonic()
        if now - layers.get(p.layer, 0) > 1.0 or p.status.startswith(("Pull complete", "Already")):
            layers[p.layer] = now
            pct = f" {p.fraction:.0%}" if p.fraction is not None else ""
            _say(f"  pull {p.layer}: {p.status}{pct}", as_json)

    _say(f"launching {spec.name} ({spec.image}, {spec.mode} mode) on {spec.base_url}", as_json)
    info = service.launch(runtime, spec, on_progress=on_pull, replace=args.replace)
    if args.detach:
        emit({"container": info.name, "id": info.id, "base_url": spec.base_url, "phase": "starting"},
             as_json, lambda d: f"started {d['container']} ({d['id'][:12]}); follow it with: "
                                f"gpt-oss-console logs -f {d['container']}")
        return EXIT_OK

    monitor = service.monitor_for(runtime, info, tracker=tracker, stall_after=stall_after,
                                  on_update=None if as_json else ProgressPrinter(), settings=spec.settings)
    return follow_until_ready(monitor, spec.name, as_json, timeout=args.timeout, extra={"launch": spec.describe()})


class ProgressPrinter:
    """One stderr line per change the operator can see: a new phase, new words within it, a
    stall, Docker's reachability, the launch's plan against the logged pool (once). Words that
    change within a phase are printed under it, without its label again ("loading weights"
    twice in a row read as a repeat)."""

    def __init__(self) -> None:
        self._last: tuple | None = None
        self._phase = None
        self._check = ""
        self._progress: tuple | None = None

    def __call__(self, snap) -> None:
        line = self._line(snap)
        if line is not None:
            _say(f"[{snap.elapsed_s:6.1f}s] {line}", False)
        progress = snap.progress_step
        if progress is not None and progress != self._progress:  # a shard, a tenth downloaded
            self._progress = progress
            _say(f"[{snap.elapsed_s:6.1f}s]   {snap.progress}", False)
        check = getattr(snap, "capacity_check", None)
        if check is not None and check.summary != self._check:
            self._check = check.summary
            _say(f"  {check.summary}", False)

    def _line(self, snap) -> str | None:
        stalled = snap.stalled_s is not None
        key = (snap.docker_error, snap.phase, snap.detail, stalled)
        if key == self._last:
            return None
        self._last = key
        if snap.docker_error:
            return f"Docker: {snap.docker_error}"
        detail = snap.detail if snap.detail and snap.detail != snap.phase.label else ""
        if snap.phase == self._phase and not stalled:
            return f"  {detail}" if detail else None
        self._phase = snap.phase
        line = snap.phase.label + (f" — {detail}" if detail else "")
        if stalled:
            line += f"  (no progress for {snap.stalled_s:.0f}s: stalled?)"
        return line


def follow_until_ready(monitor, name: str, as_json: bool, *, timeout: float | None, extra: dict | None = None) -> int:
    """Run ``monitor`` until ready (exit 0) or exited/timed out (exit 1, with the diagnosis); shared with restart."""
    try:
        snap = monitor.run(until_ready=True, timeout=timeout)
    except KeyboardInterrupt:
        monitor.stop()
        _say(f"stopped following; {name} keeps running (gpt-oss-console stop to end it)", as_json)
        raise
    finally:
        monitor.stop()
    result = snap.to_dict() | (extra or {})
    if snap.phase.label == "ready":
        emit(result, as_json, lambda d: f"ready in {d['time_to_ready_s']}s at {d['base_url']}" + (
            f"\n{d['capacity_check']['summary']}" if d.get("capacity_check") else ""))
        return EXIT_OK
    if snap.phase.label != "exited":
        result["still_running"] = True  # gave up waiting; the container goes on
    emit(result, as_json, lambda d: _failure_text(d, name))
    return EXIT_FAILED


def _failure_text(d, name: str) -> str:
    out = []
    if d["phase"] == "exited":
        what = f"the server exited (exit code {d['exit_code']}"
        what += ", OOM-killed by the kernel)" if d["oom_killed"] else ")"
        out.append(what)
    else:
        out.append(f"not ready: {d['phase']} after {d['elapsed_s']}s — stopped waiting, {name} is still running "
                   f"(gpt-oss-console logs -f {name} follows it; gpt-oss-console stop {name} ends it)")
    for diag in d["diagnoses"]:
        out.append(f"  cause: {diag['title']}")
        out.append(f"  fix:   {diag['fix']}")
        if diag.get("line"):
            out.append(f"  log:   {diag['line'][:200]}")
    if not d["diagnoses"] and d["phase"] == "exited":
        out.append("  no known failure in the log: see gpt-oss-console logs")
    if d.get("crash_bundle"):
        out.append(f"  crash bundle: {d['crash_bundle']}")
    return "\n".join(out)

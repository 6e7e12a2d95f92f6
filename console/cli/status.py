"""``status``: the containers the console manages, their phase, drift and crashes."""

from __future__ import annotations

from console.cli.common import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK, add_json_flag, emit

HELP = "show the server containers the console manages: phase, time to ready, drift, crashes"
ORDER = 21


def register(parser) -> None:
    parser.add_argument("container", nargs="?", help="only this container (name, id prefix or profile)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _none_text(want: str | None) -> str:
    if want:
        return f"no console container matches {want!r} (gpt-oss-console status lists the console's containers)"
    return "no containers started by the console (gpt-oss-console launch starts one)"


def _human(rows, want: str | None = None) -> str:
    if not rows:
        return _none_text(want)
    out = []
    for r in rows:
        head = f"{r['name']}  [{r['phase']}]  profile={r['profile'] or '-'}  {r['base_url'] or ''}"
        out.append(head)
        bits = [f"engine {r.get('engine') or 'sglang'}", f"image {r['image']}", f"docker status {r['status']}"]
        if r.get("time_to_ready_s") is not None:
            bits.append(f"ready in {r['time_to_ready_s']}s")
        if r.get("exit_code") is not None:
            bits.append(f"exit code {r['exit_code']}" + (" (OOM-killed)" if r["oom_killed"] else ""))
        out.append("  " + ", ".join(bits))
        if r.get("capacity_check"):
            out.append(f"  {r['capacity_check']['summary']}")
        if r.get("drift"):
            out.append(f"  drift: running settings differ from profile {r['profile']!r}"
                       f" (launch --profile {r['profile']} --replace applies it)")
        for d in r.get("diagnoses") or []:
            out.append(f"  cause: {d['title']}\n  fix:   {d['fix']}")
        if r.get("crash_bundle"):
            out.append(f"  crash bundle: {r['crash_bundle']}")
    return "\n".join(out)


def run(args) -> int:
    from console.runtime.lifecycle import Runtime
    from console.runtime.service import status

    runtime = Runtime()
    want = args.container
    # Pick the container before its log is replayed: the others' logs are not read at all.
    only = (lambda i: want in (i.name, i.profile) or i.id.startswith(want)) if want else None
    rows = status(runtime, only=only)
    doc: dict = {"containers": rows}
    if not rows:
        doc["error"] = _none_text(want)
    emit(doc, args.json, lambda d: _human(d["containers"], want))
    if not rows:
        return EXIT_NOT_FOUND
    return EXIT_OK if any(r["phase"] == "ready" for r in rows) else EXIT_FAILED

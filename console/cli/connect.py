"""``gpt-oss-console connect``: how to reach the server from where you sit, and what to paste."""

from __future__ import annotations

import os
import sys

from console.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, emit
from console.errors import ConsoleError

HELP = "how to reach the server from where you sit: URLs, SSH tunnel, curl/Python/.env snippets (--check runs them)"
ORDER = 45
FORMATS = ("text", "curl", "python", "env", "json", "ssh")


def register(parser) -> None:
    from console.connect.routes import KINDS

    parser.add_argument("--base-url", default=None,
                        help="the server as this machine reaches it (default: env GPT_OSS_CONSOLE_BASE_URL, else the "
                             "console's running container, else http://127.0.0.1:8000)")
    parser.add_argument("--bind", default=None, metavar="ADDRESS",
                        help="the address the server listens on when it is not the URL's host (0.0.0.0: every address)")
    parser.add_argument("--model", default=None, help="model name for the snippets (default: ask /v1/models)")
    parser.add_argument("--api-key-file", default=None, metavar="FILE",
                        help="the API key, in a file; the snippets read it from there (default: "
                             "GPT_OSS_CONSOLE_API_KEY_FILE / GPT_OSS_CONSOLE_API_KEY, snippets read $OPENAI_API_KEY)")
    parser.add_argument("--format", "-f", choices=FORMATS, default="text",
                        help="what to print: everything (text), only the curl / Python / .env snippets, "
                             "the whole card as JSON, or the SSH tunnel command")
    parser.add_argument("--via", choices=KINDS, default=None,
                        help="the route the snippets use (default: the first listed: the most widely usable)")
    parser.add_argument("--write-env", metavar="PATH",
                        help="set LLM_BASE_URL, OPENAI_BASE_URL, LLM_MODEL and OPENAI_API_KEY in this .env "
                             "(other lines kept; 0600; the old file kept as PATH.bak)")
    parser.add_argument("--force", action="store_true", help="with --write-env: replace keys that hold other values")
    parser.add_argument("--check", action="store_true",
                        help="run the printed curl snippets (a chat and a tool call) with curl; exit 1 if one fails")
    parser.set_defaults(func=run)


def _endpoint(args):
    """The endpoint and the address it listens on: flags, then the environment, then a running container."""
    from console.secret import SecretFileError, read_secret_file
    from console.server.endpoint import BASE_URL_ENV, endpoint_from_env

    try:
        endpoint = endpoint_from_env()
        key = read_secret_file(args.api_key_file, what="API key") if args.api_key_file else None
    except SecretFileError as exc:
        raise ConsoleError(str(exc), exit_code=EXIT_USAGE) from None
    if key is not None:
        endpoint = endpoint.with_(api_key=key)
    if args.model:
        endpoint = endpoint.with_(model=args.model)
    if args.base_url:
        return endpoint.with_(base_url=args.base_url), args.bind, None
    if os.environ.get(BASE_URL_ENV):
        return endpoint, args.bind, None
    found = _running_container()
    if found is None:
        return endpoint, args.bind, "no --base-url, no GPT_OSS_CONSOLE_BASE_URL and no running console container"
    info, container_key = found
    endpoint = endpoint.with_(base_url=info.base_url, model=endpoint.model or info.served_model or info.model or None)
    if endpoint.api_key is None and container_key:
        from console.secret import Secret

        endpoint = endpoint.with_(api_key=Secret(container_key, source=f"container {info.name}"))
    return endpoint, args.bind or info.bind, None


def _running_container():
    """(ContainerInfo, its API key) of the one running console container; None without Docker or with 0 or 2+."""
    try:
        from console.runtime.lifecycle import Runtime, api_key_of

        runtime = Runtime()
        running = [i for i in runtime.owned(include_stopped=False) if i.base_url]
        if len(running) != 1:
            return None
        return running[0], api_key_of(runtime.client.api.inspect_container(running[0].id))
    except ConsoleError:  # no Docker Engine: the default URL it is
        return None


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def format_text(card, checks, update) -> str:
    lines = [f"{card.model} at {card.endpoint.base_url} — API key: {card.key.describe()}", "", "Reach it:"]
    width = max(len(r.kind) for r in card.routes)
    for r in card.routes:
        lines.append(f"  {r.kind:<{width}}  {r.base_url}  {r.where}")
        if r.first:
            lines.append(f"  {'':<{width}}  first: {r.first}")
    lines += ["", f"Snippets use {card.route.base_url} ({card.route.kind}); OpenAI base URL "
                  f"{card.route.base_url.rstrip('/')}/v1", ""]
    for s in card.snippets:
        lines += [f"── {s.title} ──", s.text, ""]
    return "\n".join(lines).rstrip() + _tail(checks, update)


def _tail(checks, update) -> str:
    out = []
    if update is not None:
        out.append(update.describe())
    for c in checks:
        out.append(f"{'✓' if c.ok else '✗'} {c.name}: {c.summary}")
    return ("\n\n" + "\n".join(out)) if out else ""


def _tunnel_only(card, env) -> str:
    tunnels = [r.first for r in card.routes if r.first]
    if tunnels:
        return "\n".join(tunnels)
    from console.connect.routes import ssh_user, tunnel_command

    _say("note: this is not an SSH session, so the host name below is this machine's own: "
         "use the name your machine reaches it by")
    return tunnel_command(card.server, os.uname().nodename, user=ssh_user(env))


def run(args) -> int:
    from console.connect.card import build_card, key_ref, served_model
    from console.connect.snippets import KEY_ENV

    as_json = args.format == "json"
    args.json = as_json  # errors come out as JSON too
    endpoint, bind, why_default = _endpoint(args)
    if why_default and not as_json:
        _say(f"note: {why_default}: describing {endpoint.base_url}")
    model = endpoint.model
    needed = bool(endpoint.api_key)
    if model is None:
        from console.server.client import AuthRejected

        try:
            model = served_model(endpoint)
        except AuthRejected as exc:
            hint = ("check the key in GPT_OSS_CONSOLE_API_KEY_FILE / --api-key-file" if endpoint.api_key else
                    "give the key: --api-key-file FILE, or GPT_OSS_CONSOLE_API_KEY_FILE")
            raise ConsoleError(exc.message, hint, exit_code=exc.exit_code) from None
        except ConsoleError as exc:
            raise ConsoleError(exc.message, (exc.hint + "; " if exc.hint else "") + "or pass --model NAME to print "
                               "the snippets anyway", exit_code=exc.exit_code) from None
    key = key_ref(endpoint, key_file=os.path.abspath(args.api_key_file) if args.api_key_file else None, needed=needed)
    card = build_card(endpoint, model, bind=bind, via=args.via, key=key)

    update = None
    if args.write_env:
        values = card.env_updates()
        if KEY_ENV not in values and not as_json:
            _say(f"note: {KEY_ENV} not written: no key is known (give it with --api-key-file)")
        from console.connect.dotenv import update_env_file

        update = update_env_file(args.write_env, values, force=args.force)
    checks = []
    if args.check:
        from console.connect.check import check_card

        checks = check_card(card.snippets, card.key, endpoint.api_key)

    fmt = args.format
    if fmt == "json":
        data = card.to_dict() | {"checks": [c.to_dict() for c in checks]}
        if update is not None:
            data["env_file"] = update.to_dict()
        emit(data, True)
    elif fmt == "text":
        print(format_text(card, checks, update))
    else:
        if fmt == "ssh":
            print(_tunnel_only(card, os.environ))
        else:
            names = {"curl": ("curl-chat", "curl-tool"), "python": ("python-chat", "python-tool"), "env": ("env",)}[fmt]
            print("\n\n".join(f"# {s.title}\n{s.text}" for s in card.snippets if s.name in names))
        tail = _tail(checks, update)
        if tail:
            _say(tail.strip())
    return EXIT_FAILED if any(not c.ok for c in checks) else EXIT_OK

"""Which server a client command (chat, smoke, bench, metrics) talks to: one set of flags.

``--base-url``, ``--api-key-file``, ``--api-key`` (kept for scripts, with a warning: ``ps``
shows every process's arguments to every user), ``--model`` and ``--profile``; the
environment (``GPT_OSS_CONSOLE_BASE_URL``, ``GPT_OSS_CONSOLE_API_KEY[_FILE]``) and a launch
profile fill what the flags leave out (:func:`console.server.endpoint.resolve_endpoint`).
"""

from __future__ import annotations

import sys

from console.server.endpoint import (
    API_KEY_ENV, API_KEY_FILE_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, MODEL_ENV, Endpoint, resolve_endpoint,
)

PS_WARNING = (f"warning: --api-key puts the key where `ps` shows it to every user of this machine: "
              f"use --api-key-file FILE, or {API_KEY_FILE_ENV} / {API_KEY_ENV}")


def add_endpoint_arguments(parser, *, model: bool = True, model_help: str | None = None) -> None:
    parser.add_argument("--base-url", default=None,
                        help=f"server URL, e.g. {DEFAULT_BASE_URL} (with or without /v1; env {BASE_URL_ENV}; "
                             f"default: the profile's server, else {DEFAULT_BASE_URL})")
    parser.add_argument("--api-key-file", metavar="FILE", default=None,
                        help=f"read the API key from FILE (env {API_KEY_FILE_ENV}, or {API_KEY_ENV})")
    parser.add_argument("--api-key", metavar="KEY", default=None,
                        help="the API key itself (shown to every user by ps: prefer --api-key-file)")
    parser.add_argument("--profile", metavar="NAME", default=None,
                        help="talk to the server this launch profile starts (its address, key and model)")
    if model:
        parser.add_argument("--model", default=None,
                            help=model_help or f"model id (env {MODEL_ENV}; default: the first one /v1/models lists)")


def endpoint_from_args(args) -> Endpoint:
    """The endpoint for ``args`` (warns on stderr when the key came as --api-key VALUE)."""
    if getattr(args, "api_key", None) and not getattr(args, "api_key_file", None):
        print(PS_WARNING, file=sys.stderr, flush=True)
    base = None
    if getattr(args, "profile", None):
        from console.runtime import profiles

        base = profiles.endpoint(args.profile)
    return resolve_endpoint(base_url=args.base_url, api_key=getattr(args, "api_key", None),
                            api_key_file=getattr(args, "api_key_file", None), model=getattr(args, "model", None),
                            base=base)

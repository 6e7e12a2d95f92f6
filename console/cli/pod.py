"""``gpt-oss-console pod``: a RunPod pod template (or a compose file) for the published image."""

from __future__ import annotations

import os
import sys

from console.cli.common import EXIT_OK, EXIT_USAGE, emit
from console.errors import ConsoleError

HELP = "a RunPod pod template (JSON for its API) or a docker compose file for the published image on a cloud pod"
ORDER = 47
IMAGE_ENV = "GPT_OSS_CONSOLE_IMAGE"


def register(parser) -> None:
    from console.connect.pod import API_KEY_SECRET
    from console.publish.bases import TRAITS
    from console.settings import add_arguments

    parser.add_argument("--base", choices=list(TRAITS), default="hopper", help="the hardware the pod runs on")
    parser.add_argument("--version", default=None, help="the image version to tag (default: this console's)")
    parser.add_argument("--name", default=None, help="the template's name (RunPod wants it unique)")
    parser.add_argument("--api-key-secret", default=API_KEY_SECRET, metavar="NAME",
                        help=f"the RunPod secret holding the API key (default {API_KEY_SECRET})")
    parser.add_argument("--hf-token-secret", default=None, metavar="NAME",
                        help="a RunPod secret holding a Hugging Face token (for gated or private repos)")
    parser.add_argument("--format", choices=("runpod", "compose"), default="runpod",
                        help="runpod: the template JSON; compose: a docker compose file for any other cloud VM")
    parser.add_argument("--output", "-o", metavar="FILE", help="write it to FILE (0600) instead of printing it")
    parser.add_argument("--profile", "-p", metavar="NAME", help="start from this saved launch profile")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from console.cli.launch import resolve_from_args
    from console.connect.pod import compose_file, pod_spec, runpod_template

    vals = resolve_from_args(args)
    if vals.errors:
        for p in vals.errors:
            print(f"error: {p.message}", file=sys.stderr)
        return EXIT_USAGE
    # --image is the launch setting: here the published image, REGISTRY/OWNER/NAME[:TAG]; without a tag
    # the pod pulls VERSION-BASE, as the publish workflow tags it. The local default is no use to a pod.
    image = vals.values.get("image") if vals.sources.get("image") != "default" else os.environ.get(IMAGE_ENV)
    spec = pod_spec(vals.values, vals.sources, image=image or "", base=args.base, version=args.version,
                    name=args.name, hf_token_secret=args.hf_token_secret, api_key_secret=args.api_key_secret)
    if args.format == "runpod":
        import json

        text = json.dumps(runpod_template(spec), indent=2) + "\n"
    else:
        text = compose_file(spec)
    if not args.output:
        sys.stdout.write(text)
        return EXIT_OK
    from console.private_file import write_private

    try:
        write_private(args.output, text)
    except OSError as exc:
        raise ConsoleError(f"cannot write {args.output}: {exc.strerror or exc}",
                           "check that the folder exists and is writable", exit_code=EXIT_USAGE) from None
    emit({"path": args.output}, False, lambda d: f"wrote {d['path']}")
    return EXIT_OK

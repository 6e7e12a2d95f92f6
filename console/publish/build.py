"""The image's build command, its tags and its OCI labels: one definition for CI and the tests.

    python3 -m console.publish matrix                       # the bases, as a GitHub Actions matrix
    python3 -m console.publish build --base hopper --image REGISTRY/OWNER/gpt-oss-sglang \\
        --version 1.2.0 --revision SHA --source URL --builder buildx --push
    python3 -m console.publish build --base hopper --image test/x --version 0.0.0 \\
        --base-image <stand-in> --builder legacy            # what the tests run
    python3 -m console.publish settings                     # the settings table (Markdown)

The registry is whatever ``--image`` names (the workflow takes it from repository variables);
nothing here knows a registry.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from console.publish.bases import DOCKERFILE, TRAITS, Base, BasesError, bases, get

REPO = DOCKERFILE.parents[1]
TITLE = "gpt-oss-sglang"
DESCRIPTION_LIMIT = 512  # some registries show (or keep) only this much of the description


def tags(image: str, version: str, base: Base) -> list[str]:
    """``IMAGE:1.2.0-hopper`` and ``IMAGE:latest-hopper``; the default base also gets ``IMAGE:1.2.0``, ``:latest``."""
    names = [f"{version}-{base.name}", f"latest-{base.name}"]
    if base.default:
        names += [version, "latest"]
    return [f"{image}:{name}" for name in names]


def image_ref(image: str, version: str, base_name: str) -> str:
    """The tag a pod pulls for ``base_name`` (what ``tags`` pushed first)."""
    if base_name not in TRAITS:
        raise BasesError(f"unknown base {base_name!r}: use one of {', '.join(TRAITS)}")
    return f"{image}:{version}-{base_name}"


def description(base: Base) -> str:
    """The settings table in plain words: every env setting (with its default where it has one),
    within the registries' limit."""
    from console.settings.spec import SETTINGS

    head = f"openai/gpt-oss-20b / gpt-oss-120b on SGLang ({base.hardware}), configured by env: "
    items = [f"{s.env}={s.default_text()}" if s.default is not None else s.env for s in SETTINGS if not s.runtime]
    text = head + ", ".join(items) + ". Docs: docker/README.md"
    if len(text) > DESCRIPTION_LIMIT:  # whole names only: cut at a comma
        text = text[:DESCRIPTION_LIMIT - 1].rsplit(",", 1)[0] + "…"
    return text


def settings_markdown() -> str:
    from console.settings.docs import markdown_table

    return markdown_table()


def labels(base: Base, *, version: str, revision: str, source: str = "", created: str | None = None) -> dict[str, str]:
    out = {
        "org.opencontainers.image.title": TITLE,
        "org.opencontainers.image.description": description(base),
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.created": created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.base.name": base.image,
    }
    if source:
        out["org.opencontainers.image.source"] = source
        out["org.opencontainers.image.documentation"] = f"{source.rstrip('/')}/blob/{revision}/docker/README.md"
    return out


def build_argv(base: Base, *, image: str, version: str, revision: str, source: str = "", created: str | None = None,
               builder: str = "buildx", push: bool = False, base_image: str | None = None) -> list[str]:
    """The ``docker`` argv that builds (and with ``push``, pushes) ``base`` from the repository root."""
    if builder not in ("buildx", "legacy"):
        raise ValueError(f"builder {builder!r}: use buildx or legacy")
    if push and builder != "buildx":
        raise ValueError("--push needs --builder buildx")
    argv = ["docker", "buildx", "build", "--platform", base.platform] if builder == "buildx" else ["docker", "build"]
    argv += ["--file", "docker/Dockerfile", "--build-arg", f"BASE_IMAGE={base_image or base.image}",
             "--build-arg", f"VERSION={version}", "--build-arg", f"REVISION={revision}"]
    for key, value in labels(base, version=version, revision=revision, source=source, created=created).items():
        argv += ["--label", f"{key}={value}"]
    for tag in tags(image, version, base):
        argv += ["--tag", tag]
    if push:
        argv.append("--push")
    return argv + ["."]


def matrix() -> dict:
    return {"include": [{"base": b.name, "platform": b.platform} for b in bases()]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m console.publish", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("matrix", help="the bases as a GitHub Actions matrix (JSON)")
    sub.add_parser("settings", help="the settings table (Markdown)")
    b = sub.add_parser("build", help="build (and push) the image for one base")
    b.add_argument("--base", required=True, choices=list(TRAITS))
    b.add_argument("--image", required=True, help="repository to tag, e.g. REGISTRY/OWNER/gpt-oss-sglang")
    b.add_argument("--version", required=True, help="e.g. 1.2.0 (a git tag v1.2.0 without its v)")
    b.add_argument("--revision", default=os.environ.get("GITHUB_SHA", "unknown"))
    b.add_argument("--source", default="", help="the repository's URL, for the source label")
    b.add_argument("--created", default=None, help="RFC 3339 time for the created label (default: now)")
    b.add_argument("--builder", choices=("buildx", "legacy"), default="buildx")
    b.add_argument("--push", action="store_true")
    b.add_argument("--base-image", default=None, help="build on this image instead of the pinned base (tests)")
    b.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "matrix":
            print(json.dumps(matrix()))
            return 0
        if args.cmd == "settings":
            print(settings_markdown())
            return 0
        cmd = build_argv(get(args.base), image=args.image, version=args.version.removeprefix("v"),
                         revision=args.revision, source=args.source, created=args.created, builder=args.builder,
                         push=args.push, base_image=args.base_image)
    except (BasesError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(cmd))
        return 0
    env = dict(os.environ, DOCKER_BUILDKIT="0") if args.builder == "legacy" else None
    return subprocess.run(cmd, cwd=REPO, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())

"""Setting values (from the one declaration) → a :class:`LaunchSpec`.

Which setting goes where is read from the declaration: ``target`` says whether
a setting is an SGLang flag, something the image's entrypoint reads, or how the
console runs the container. Nothing here lists settings by hand except the
container-level ones the spec needs by name.
"""

from __future__ import annotations

import os
import re
from typing import Any

from console.runtime.errors import LaunchRefused
from console.runtime.secret_files import IN_CONTAINER, SGLANG_CONFIG, SecretFile
from console.runtime.spec import LaunchSpec, check_publish, settings_hash
from console.secret import Secret, as_secret
from console.settings.spec import IMAGE_MODES


def declaration():
    from console.settings import spec as decl

    return decl


def secret_keys() -> set[str]:
    return {s.key for s in declaration().SETTINGS if s.secret}


def hashed(values: dict[str, Any]) -> dict[str, Any]:
    """The values that shape the server (what drift compares): not how the console watches it.
    IMAGE_MODE auto counts as unset: containers from before the setting hashed without it."""
    watch = {s.key for s in declaration().SETTINGS if s.watch}
    return {k: v for k, v in values.items() if k not in watch and not (k == "image_mode" and v in (None, "auto"))}


def sglang_argv(values: dict[str, Any]) -> list[str]:
    """SGLang's flags for ``values``: the declaration's own builder, the one the image uses too."""
    from console.settings import sglang_args

    return list(sglang_args(values))


def image_env(values: dict[str, Any]) -> dict[str, str]:
    """The env vars the project's entrypoint reads (every non-container setting that is set);
    a secret as its ``*_FILE`` path in the container, never its value."""
    import shlex

    env: dict[str, str] = {}
    for s in declaration().SETTINGS:
        value = values.get(s.key)
        if s.target == "container" or value is None or value == "" or value == []:
            continue
        if s.secret:
            env[s.file_env] = f"{IN_CONTAINER}/{s.key}"
        elif s.kind == "bool":
            env[s.env] = "true" if value else "false"
        elif s.kind == "args":
            env[s.env] = shlex.join(str(a) for a in value)
        else:
            env[s.env] = str(value)
    return env


def secret_files(values: dict[str, Any], mode: str) -> tuple[list[SecretFile], dict[str, str], list[str]]:
    """The files a container gets for its secrets, the env naming them and SGLang's extra args.

    Project image: one file per secret, named by its ``*_FILE`` variable. Stock SGLang: the API
    key inside SGLang's own ``--config`` YAML, the HF token in a file ``HF_TOKEN_PATH`` names
    (huggingface_hub reads its token there); the image has no entrypoint for the SSH password.
    """
    from console.settings import CONFIG_FLAG, sglang_config

    files: list[SecretFile] = []
    env: dict[str, str] = {}
    args: list[str] = []
    for s in declaration().SETTINGS:
        value = as_secret(values.get(s.key))
        if not s.secret or value is None:
            continue
        own = value.path if isinstance(value, Secret) else None
        if mode == "project":
            files.append(SecretFile(s.key, value, own))
        elif s.key == "hf_token":
            files.append(SecretFile(s.key, value, own))
            env["HF_TOKEN_PATH"] = f"{IN_CONTAINER}/{s.key}"
    config = sglang_config(values) if mode == "stock" else None
    if config:
        files.append(SecretFile(SGLANG_CONFIG, Secret(config)))
        args = [CONFIG_FLAG, f"{IN_CONTAINER}/{SGLANG_CONFIG}"]
    return files, env, args


def pick_mode(image: str, mode: str = "auto") -> str:
    if mode not in IMAGE_MODES:
        raise LaunchRefused(f"unknown image mode {mode!r}", "use auto, project or stock")
    if mode != "auto":
        return mode
    # Upstream's image (and anything named like it) has no env-driven entrypoint.
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return "stock" if repo.endswith("lmsysorg/sglang") or repo.endswith("/sglang") else "project"


def parse_gpus(raw: Any) -> str | list[int] | None:
    text = ("" if raw is None else str(raw)).strip().lower()
    if text in ("", "none", "no", "0gpus", "cpu"):
        return None
    if text == "all":
        return "all"
    if not re.fullmatch(r"\d+(\s*,\s*\d+)*", text):
        raise LaunchRefused(f"GPUs {raw!r} not understood", "use all, none, or device indices such as 0,1")
    return [int(x) for x in text.split(",")]


def _safe_name(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", text).strip("-.") or "gpt-oss-sglang"


def build_spec(
    values: dict[str, Any],
    *,
    profile: str = "default",
    image_mode: str | None = None,
    allow_public: bool = False,
    extra_env: dict[str, str] | None = None,
) -> LaunchSpec:
    """Build the spec, refusing unsafe publishing; ``values`` are resolved setting values.

    ``image_mode``: None takes the IMAGE_MODE setting; ``extra_env`` adds to (and wins over) the
    EXTRA_ENV setting's KEY=VALUE items (the CLI's -e)."""
    secrets = secret_keys()
    image = values.get("image") or declaration().DEFAULT_IMAGE
    mode = pick_mode(image, image_mode or values.get("image_mode") or "auto")
    port = int(values.get("port") or declaration().DEFAULT_PORT)
    host_port = int(values.get("host_port") or port)
    bind = str(values.get("publish_address") or "127.0.0.1")
    api_key = as_secret(values.get("api_key"))
    warnings = check_publish(bind, api_key, allow_public)

    files, secret_env, secret_args = secret_files(values, mode)
    environment: dict[str, str] = {}
    if mode == "project":
        environment = image_env(values)
        command = None
    else:
        from console.settings import LAUNCH

        command = [*LAUNCH, *sglang_argv(values), *secret_args]
        environment.update(secret_env)  # the HF token's file, for SGLang's downloads
    # Extra container env (NCCL_DEBUG, proxies…): passed as given (validation refused the declared names).
    environment.update(dict(item.split("=", 1) for item in values.get("extra_env") or [] if "=" in item))
    environment.update(extra_env or {})
    hf_cache = values.get("hf_cache")
    hf_cache = os.path.expanduser(str(hf_cache)) if hf_cache and str(hf_cache).lower() != "none" else None
    shm = values.get("shm_size") or None
    model = str(values.get("model") or "")
    return LaunchSpec(
        name=_safe_name(str(values.get("container_name") or f"gpt-oss-{profile}")),
        profile=profile,
        image=image,
        mode=mode,
        command=command,
        environment=environment,
        container_port=port,
        host_port=host_port,
        bind=bind,
        gpus=parse_gpus(values.get("gpus", "all")),
        shm_size=str(shm) if shm else None,
        hf_cache=hf_cache,
        settings=dict(values),
        secret_files=files,
        settings_hash=settings_hash(hashed(values), secrets),
        model=model,
        served_model=str(values.get("served_model_name") or model),
        api_key=api_key,
        warnings=warnings,
    )

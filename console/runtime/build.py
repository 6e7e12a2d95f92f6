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
    The default engine and IMAGE_MODE auto count as unset: containers from before those settings hashed
    without them."""
    decl = declaration()
    watch = {s.key for s in decl.SETTINGS if s.watch}
    if values.get("container_name") == decl.DEFAULT_CONTAINER_NAME:
        # The name that runs: a default name that followed the engine hashes as that name set by
        # hand (re-attach reads it back from the container; a profile hashes the same way).
        values = {**values, "container_name": container_name(values, engine_for(values).name)}
    return {k: v for k, v in values.items()
            if k not in watch and not (k == "engine" and v in (None, decl.DEFAULT_ENGINE))
            and not (k == "image_mode" and v in (None, "auto"))}


def engine_for(values: dict[str, Any]):
    """The :class:`console.engines.base.Engine` the values name (UnknownEngine: exit 2, the known ones listed)."""
    from console import engines

    return engines.get(values.get("engine") or None)


def engine_command(engine, values: dict[str, Any]) -> tuple[list[SecretFile], dict[str, str], list[str]]:
    """A stock vLLM or llama.cpp launch: (secret files, env naming them, the container's command).

    Their stock images' entrypoints are the engine's ``command`` (``vllm serve``, ``llama-server``),
    so the container's command is the rest of the argv.

    The argv comes from the engine (its flags for the common settings, its own settings'
    defaults, EXTRA_ARGS); secrets never in it: the API key through the engine's key-file flag
    (llama.cpp's --api-key-file) or its options file (vLLM's --config), the HF token in a file
    HF_TOKEN_PATH names. A setting only SGLang has, set, is refused with what to do.
    """
    from console.engines.base import EngineSettingError

    decl = declaration()
    for key, why in engine.not_taken().items():
        s = decl.BY_KEY[key]
        if values.get(key) not in (None, False, "", s.default):
            raise EngineSettingError(f"{engine.label} does not take {s.env}: {why}",
                                     f"unset {s.env} for --engine {engine.name} (an engine's own flag can go in "
                                     "EXTRA_ARGS)")
    files: list[SecretFile] = []
    env: dict[str, str] = {}
    key_args: list[str] = []
    key = as_secret(values.get("api_key"))
    if key is not None:
        if engine.key_file_flag:
            files.append(SecretFile("api_key", key, key.path))
            key_args = engine.key_file_argv(f"{IN_CONTAINER}/api_key") or []
        elif engine.config_file:
            files.append(SecretFile(engine.config_file, Secret(engine_config(key))))
            key_args = [engine.config_flag, f"{IN_CONTAINER}/{engine.config_file}"]
        else:
            raise LaunchRefused(f"{engine.label} cannot read its API key from a file, and the console never puts "
                                "a key in argv or env (ps and docker inspect show them)",
                                "leave API_KEY unset and publish on 127.0.0.1 only, or put a proxy with the key in front")
    token = as_secret(values.get("hf_token"))
    if token is not None:  # the engines that reach here read it from the file HF_TOKEN_PATH names
        files.append(SecretFile("hf_token", token, token.path))
        env["HF_TOKEN_PATH"] = f"{IN_CONTAINER}/hf_token"
    plain = {k: v for k, v in values.items() if k not in secret_keys()}
    argv = engine.argv(plain)
    return files, env, [*argv[len(engine.command):], *key_args]


def engine_config(key: Secret) -> str:
    """The options file an engine reads with ``--config``: its API key, JSON-quoted (a YAML string)."""
    import json

    return ("# options written by gpt-oss-console (read with --config); keep this file private\n"
            f"api-key: {json.dumps(key.reveal())}\n")


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
    # Upstream's image (the engine's pinned stock image, any tag) and anything named like it has no
    # env-driven entrypoint.
    from console import engines

    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return "stock" if engines.get("sglang").is_stock_image(image) or repo.endswith("/sglang") else "project"


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


def container_name(values: dict[str, Any], engine: str, profile: str = "default") -> str:
    """The container's name: the one set; the declared default (SGLang's, gpt-oss-sglang) follows
    the engine, as the image does — gpt-oss-vllm, gpt-oss-llamacpp — so an SGLang and a vLLM
    launch with default names do not take each other's container; empty: gpt-oss-<profile>."""
    name = str(values.get("container_name") or f"gpt-oss-{profile}")
    if name == declaration().DEFAULT_CONTAINER_NAME:
        name = f"gpt-oss-{engine}"
    return _safe_name(name)


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
    engine = engine_for(values)
    sglang = engine.name == declaration().DEFAULT_ENGINE
    image = values.get("image") or declaration().DEFAULT_IMAGE
    image_mode = image_mode or values.get("image_mode") or "auto"
    if not sglang and image == declaration().DEFAULT_IMAGE:
        image = engine.stock_image().image  # the project's image runs SGLang
    if not sglang and image_mode == "project":
        raise LaunchRefused(f"the project's image runs SGLang, not {engine.label}",
                            f"use --image-mode auto or stock with --engine {engine.name}")
    mode = pick_mode(image, image_mode) if sglang else "stock"
    port = int(values.get("port") or declaration().DEFAULT_PORT)
    host_port = int(values.get("host_port") or port)
    bind = str(values.get("publish_address") or "127.0.0.1")
    api_key = as_secret(values.get("api_key"))
    warnings = check_publish(bind, api_key, allow_public)

    environment: dict[str, str] = {}
    if not sglang:
        files, secret_env, command = engine_command(engine, values)
        environment.update(secret_env)
    elif mode == "project":
        files, _, _ = secret_files(values, mode)
        environment = image_env(values)
        command = None
    else:
        from console.settings import LAUNCH

        files, secret_env, secret_args = secret_files(values, mode)
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
        name=container_name(values, engine.name, profile),
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
        engine=engine.name,
    )

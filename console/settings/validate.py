"""Checks on resolved values, each problem saying what to do.

``gpus`` (optional) is what the caller knows of the GPUs the server will get:
a list of objects or dicts with ``name``, ``memory_mib`` and ``compute_cap``
(e.g. ``"9.0"``). Fit questions (does 120b fit, which TP) belong to the planner;
here only rules that need no memory model.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from console.secret import reveal

from .argv import CONFIG_FLAG, secret_flags
from .resolve import Problem, gpt_oss_variant, is_known_model
from .spec import BY_KEY, GPT_OSS_BACKENDS, REFUSED_BACKENDS, SETTINGS, Setting

_SHM = re.compile(r"^\d+(\.\d+)?[bkmgBKMG]?[bB]?$")
_GPUS = re.compile(r"^(all|none|\d+(,\d+)*)$", re.IGNORECASE)  # none: no GPU request (CPU-only hosts, tests)
_CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")  # the Docker Engine's own rule


def _field(gpu: Any, name: str) -> Any:
    return gpu.get(name) if isinstance(gpu, Mapping) else getattr(gpu, name, None)


def compute_major(gpu: Any) -> int | None:
    cap = _field(gpu, "compute_cap")
    if cap is None:
        return None
    try:
        return int(str(cap).split(".")[0])
    except ValueError:
        return None


def _range_problem(s: Setting, value: float) -> Problem | None:
    lo, hi = s.minimum, s.maximum
    bad = (lo is not None and (value <= lo if s.exclusive else value < lo)) or (
        hi is not None and (value >= hi if s.exclusive else value > hi)
    )
    if bad:
        return Problem(s.key, f"{s.env}={value} is out of range: use {s.allowed_text()}")
    return None


def check_model(model: str | None) -> Problem | None:
    if not model:
        return Problem("model", "MODEL is empty: set MODEL=openai/gpt-oss-20b or openai/gpt-oss-120b")
    if is_known_model(model):
        return None
    variant = gpt_oss_variant(model)
    if variant:
        return Problem("model", f"MODEL={model} is taken to be {variant} (same architecture and MXFP4 "
                       "checkpoint assumed) for the fit and TP checks", "warning")
    looks_like_gpt_oss = "gpt-oss" in model.lower() or "gpt_oss" in model.lower()
    looks_like_path = model.startswith(("/", "./", "~")) or re.fullmatch(r"[\w.-]+/[\w.-]+", model)
    if looks_like_gpt_oss and not model.startswith(("/", "./", "~")):
        return Problem("model", f"unknown model {model!r}: use openai/gpt-oss-20b or openai/gpt-oss-120b")
    if not looks_like_path:
        return Problem(
            "model", f"unknown model {model!r}: use openai/gpt-oss-20b or openai/gpt-oss-120b "
            "(or a Hugging Face repo id like org/name, or a local path)")
    return Problem("model", f"MODEL={model} is not gpt-oss: it is passed on as is, and the fit, TP and "
                   "parser checks do not apply to it", "warning")


def extra_env_problems(items: Iterable[str]) -> list[Problem]:
    """EXTRA_ENV: KEY=VALUE items, none of them a variable a declared setting (or its file) sets."""
    from .spec import ENV_NAME

    env = BY_KEY["extra_env"].env
    declared = {n: s for s in SETTINGS for n in (s.env, *s.aliases, s.file_env) if n}
    out: list[Problem] = []
    for n, item in enumerate(items, 1):
        key, sep, _ = str(item).partition("=")
        if not sep or not re.fullmatch(ENV_NAME, key):
            # The item itself may be a pasted secret: say only which one it is.
            out.append(Problem("extra_env", f"{env}: item {n} is not KEY=VALUE: write each as NAME=value "
                               "(letters, digits and _ in the name), quoted if the value has spaces"))
        elif key in declared:
            s = declared[key]
            where = "as a file (never in the container's env)" if s.secret else "once"
            out.append(Problem("extra_env", f"{env} sets {key}, which the {s.title} setting sets {where}: "
                               f"use that setting instead"))
    return out


def validate(values: Mapping[str, Any], *, gpus: Iterable[Any] | None = None) -> list[Problem]:
    """All problems with ``values``; errors first, then warnings."""
    out: list[Problem] = []
    model = values.get("model")
    model_problem = check_model(model)
    if model_problem:
        out.append(model_problem)
    gpt_oss = gpt_oss_variant(model) is not None
    gpu_list = list(gpus) if gpus is not None else None

    for s in SETTINGS:
        value = values.get(s.key)
        if value is None:
            continue
        if s.pattern and not re.fullmatch(s.pattern, str(reveal(value))):
            # Never the value itself in the message: it is likely a secret.
            out.append(Problem(s.key, f"{s.env} has characters it cannot carry (it is sent in an HTTP header): "
                               f"use {s.allowed}, e.g. from `openssl rand -hex 16`"))
        if s.kind in ("int", "float") and not isinstance(value, bool):
            if s.choices and value not in s.choices:
                if s.key == "tensor_parallel_size":
                    out.append(Problem(s.key, f"TENSOR_PARALLEL_SIZE={value} is not valid for gpt-oss: use "
                                       "1, 2, 4 or 8 (its 64 query and 8 KV heads must split evenly), or "
                                       "leave it unset to pick automatically"))
                else:
                    out.append(Problem(s.key, f"{s.env}={value} is not allowed: use {s.allowed_text()}"))
            elif s.key == "chunked_prefill" and value == 0:
                out.append(Problem(s.key, "CHUNKED_PREFILL=0 is not allowed: use -1 to disable chunking "
                                   "or a positive chunk size such as 8192"))
            elif (p := _range_problem(s, value)) is not None:
                if s.key == "max_model_len" and not gpt_oss and value > (s.maximum or 0):
                    continue  # other models may allow more; SGLang checks
                out.append(p)

    backend = values.get("attention_backend")
    if backend is not None:
        if backend in REFUSED_BACKENDS:
            out.append(Problem("attention_backend", f"ATTENTION_BACKEND={backend} will not run: "
                               f"{REFUSED_BACKENDS[backend]}. Use triton, fa3 (Hopper) or trtllm_mha "
                               "(Blackwell), or leave it unset"))
        elif backend not in GPT_OSS_BACKENDS:
            out.append(Problem("attention_backend", f"unknown ATTENTION_BACKEND={backend!r}: use one of "
                               f"{', '.join(GPT_OSS_BACKENDS)}, or leave it unset to let SGLang pick"))
        elif backend == "trtllm_mha" and gpu_list:
            majors = {compute_major(g) for g in gpu_list}
            if majors - {10}:
                name = _field(gpu_list[0], "name") or "this GPU"
                out.append(Problem("attention_backend", f"ATTENTION_BACKEND=trtllm_mha is Blackwell-only "
                                   f"(sm100) and {name} is not: use fa3 on Hopper or triton, or leave it unset"))

    for key in ("reasoning_parser", "tool_call_parser"):
        value = values.get(key)
        s = BY_KEY[key]
        if value is not None and value not in s.choices:
            if gpt_oss:
                out.append(Problem(key, f"{s.env}={value} is not a gpt-oss parser: use gpt-oss (SGLang's "
                                   "key; harmony and gpt_oss are accepted) or none"))
            else:
                out.append(Problem(key, f"{s.env}={value} is passed to SGLang unchecked", "warning"))

    tp = values.get("tensor_parallel_size")
    if tp and gpu_list is not None and tp in BY_KEY["tensor_parallel_size"].choices and tp > len(gpu_list):
        out.append(Problem("tensor_parallel_size", f"TENSOR_PARALLEL_SIZE={tp} needs {tp} GPUs but "
                           f"{len(gpu_list)} are visible: give the container more GPUs or lower it"))

    shm = values.get("shm_size")
    if shm and not _SHM.match(str(shm)):
        out.append(Problem("shm_size", f"{BY_KEY['shm_size'].env}={shm!r} is not a size: use a number with b, k, m or g (e.g. 32g)"))
    name = values.get("container_name")
    if name and not _CONTAINER_NAME.fullmatch(str(name)):
        # Said, not quietly rewritten: the container must be the one the field names.
        out.append(Problem("container_name", f"{BY_KEY['container_name'].env}={name!r} is not a name Docker "
                           "accepts: use two or more letters, digits, '_', '.' or '-', starting with a letter "
                           "or digit (e.g. gpt-oss-sglang)"))
    gpus_sel = values.get("gpus")
    if gpus_sel and not _GPUS.match(str(gpus_sel).replace(" ", "")):
        out.append(Problem("gpus", f"{BY_KEY['gpus'].env}={gpus_sel!r} is not understood: use all, none or device indices like 0,1"))

    extra = values.get("extra_args") or []
    given = {a.split("=", 1)[0] for a in extra if a.startswith("--")}
    for s in SETTINGS:
        if s.flag and values.get(s.key) not in (None, False) and s.flag in given:
            out.append(Problem("extra_args", f"EXTRA_ARGS sets {s.flag}, which {s.env} already sets: set it once"))
    if CONFIG_FLAG in given and secret_flags(values):
        names = " and ".join(BY_KEY[k].env for k in BY_KEY if BY_KEY[k].flag in secret_flags(values))
        out.append(Problem("extra_args", f"EXTRA_ARGS sets {CONFIG_FLAG}, but {names} reaches SGLang in a config "
                           f"file of its own and SGLang reads only one: put it in your file and leave {names} "
                           f"unset, or drop {CONFIG_FLAG}"))
    for alias, canonical in (("--tp", "tensor_parallel_size"), ("--tensor-parallel-size", "tensor_parallel_size"),
                             ("--model", "model")):
        if alias in given and values.get(canonical) is not None:
            out.append(Problem("extra_args", f"EXTRA_ARGS sets {alias}, which {BY_KEY[canonical].env} "
                               "already sets: set it once"))

    out.extend(extra_env_problems(values.get("extra_env") or []))

    if not values.get("api_key"):
        if values.get("publish_address") == "0.0.0.0":
            out.append(Problem("api_key", f"{BY_KEY['publish_address'].env}=0.0.0.0 exposes the API to the network without an "
                               "API key: set API_KEY (or API_KEY_FILE), or publish on 127.0.0.1", "warning"))
    if values.get("ssh_password"):
        out.append(Problem("ssh_password", "SSH_PASSWORD is set: root can log in over SSH with a password. "
                           "Anyone who guesses it owns this container and its GPUs; use SSH_PUBLIC_KEY instead",
                           "warning"))
    out.sort(key=lambda p: not p.is_error)
    return out

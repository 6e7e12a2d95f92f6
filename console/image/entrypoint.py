"""The image's entrypoint: env → checked SGLang command line → ``exec``.

Run by docker/entrypoint.sh as ``python3 -m console.image.entrypoint [ARGS]``.

1. Read the settings (env, aliases, ``*_FILE`` secrets) from the one declaration.
2. Detect GPUs with nvidia-smi; fill what the operator left unset (TP from the
   planner, the attention backend SGLang would pick for the arch).
3. Refuse impossible configs with one line per problem and a non-zero exit,
   before SGLang starts; warn about legal-but-surprising ones with numbers.
4. Start sshd if SSH_PUBLIC_KEY / PUBLIC_KEY (or, loudly, SSH_PASSWORD) is set.
5. Print one summary (value and source of each setting, secrets masked) and
   ``exec`` SGLang so it becomes PID 1 and ``docker stop``'s SIGTERM reaches it.
   The API key reaches SGLang in a private ``--config`` file (SGLang ≥ 0.5.2; older
   ones only take ``--api-key`` on the command line), never in argv that ``ps`` shows;
   an HF token read from a file stays in that file (``HF_TOKEN_PATH``). With an API key
   SGLang would print it (its start-up ``server_args`` line), so then the entrypoint
   stays PID 1, masks it in SGLang's output and forwards signals instead
   (:mod:`console.image.supervise`).

Arguments starting with ``-`` are extra SGLang flags; any other first argument
is run instead of SGLang (``docker run IMAGE bash``).
Exit codes: 2 bad settings, 3 no usable GPU, 1 SSH set-up failed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from console import settings as S
from console.image import gpus as gpu_detect
from console.image.ssh import start_sshd, valid_public_key
from console.secret import reveal

NAME = "gpt-oss-image"
EXIT_SETTINGS = 2
EXIT_NO_GPU = 3
EXIT_SSH = 1

# Settings the summary shows (container-level ones are the console's business).
SUMMARY_SKIP_TARGETS = (S.CONTAINER,)


class Refusal(Exception):
    def __init__(self, lines: list[str], code: int):
        super().__init__(lines[0] if lines else "")
        self.lines = lines
        self.code = code


@dataclass
class Prepared:
    """Everything decided before exec: what tests and the console can inspect."""

    argv: list[str]
    resolution: S.Resolution
    gpus: list[Any] | None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # key → why auto chose it
    env: dict[str, str] = field(default_factory=dict)


def _gpu_summary(gpus: list[Any]) -> str:
    from collections import Counter

    counts = Counter((g.name, g.memory_mib, g.compute_cap) for g in gpus)
    parts = [f"{n}× {name} ({mem} MiB, sm{cc[0]}{cc[1]})" for (name, mem, cc), n in counts.items()]
    return ", ".join(parts)


def _plan(model: str, gpus: list[Any], values: dict[str, Any], prep: Prepared) -> None:
    """Fill TP / attention backend from the planner and refuse what cannot fit."""
    from console.planner import DOES_NOT_FIT, FITS_SHORTER, PlanError, gpu_from_nvml, plan
    from console.planner.settings_map import auto_settings

    # Mixed cards: plan for the smallest, since every TP rank must hold its share.
    smallest = min(gpus, key=lambda g: g.memory_mib)
    if len({(g.name, g.memory_mib) for g in gpus}) > 1:
        prep.warnings.append(f"mixed GPUs ({_gpu_summary(gpus)}): planning for the smallest, {smallest.name}")
    spec = gpu_from_nvml(smallest.name, smallest.memory_total, smallest.compute_cap)
    count = len(gpus)
    res = prep.resolution
    tp = values.get("tensor_parallel_size")
    # SGLang sizes its pool from what is free when it loads, a moment from now: plan from that.
    memory = None
    if all(g.memory_free_mib is not None for g in gpus):
        from console.planner.memory import free_memory

        memory = free_memory(spec, {g.index: g.memory_free_mib * 1024 * 1024 for g in gpus})
    try:
        p = plan(model, spec, count, tp=tp, context_length=values.get("max_model_len"),
                 mem_fraction_static=values.get("mem_fraction_static"),
                 chunked_prefill_size=values.get("chunked_prefill"), memory=memory)
    except PlanError as exc:
        raise Refusal([f"{exc}"], EXIT_SETTINGS) from None
    where = f"{count}× {spec.name}" if count > 1 else f"one {spec.name}"
    if p.verdict == DOES_NOT_FIT:
        hint = _fix_hint(model, spec, count, p.tp, values, p)
        raise Refusal([f"{model} does not fit on {where} at TP={p.tp}: {p.reasons[0]}. {hint}"], EXIT_SETTINGS)
    # What the operator left to start-up (TP, attention backend) comes from the plan, through the
    # same plan → settings mapping the console's launch form and `plan` use.
    why = {"tensor_parallel_size": p.tp_reason,
           "attention_backend": f"{p.planned_for}'s choice for {spec.arch} ({spec.sm})"}
    for key, value in auto_settings(p, values).items():
        res.set(key, value, S.AUTO)
        prep.reasons[key] = why.get(key, f"planned for {p.planned_for}")
    pool = p.max_total_num_tokens
    asked = values.get("max_model_len")
    fraction = f"mem_fraction_static {p.mem_fraction_static}" + (
        "" if p.mem_fraction_source == "given" else f" ({p.planned_for} default)")
    if p.verdict == FITS_SHORTER:
        if asked:
            prep.warnings.append(
                f"MAX_MODEL_LEN={asked:,} is longer than the KV pool holds for one request: about {pool:,} "
                f"tokens on {where} at TP={p.tp} with {fraction}. SGLang starts and caps requests at the "
                f"pool; for the full length raise MEM_FRACTION_STATIC or add GPUs, or set "
                f"MAX_MODEL_LEN={p.recommended_context_length}")
        else:
            prep.notes.append(
                f"the model's {p.context_length:,}-token context is longer than the KV pool (about {pool:,} "
                f"tokens on {where} at TP={p.tp} with {fraction}); SGLang caps requests at the pool")
    else:
        prep.notes.append(f"plan: KV pool about {pool:,} tokens on {where} at TP={p.tp} "
                          f"({p.concurrency} request(s) of {p.context_length:,} tokens at once; "
                          f"{p.planned_for}, {p.free_at_load_bytes / 1024**3:.1f} GiB free per GPU)")
    prep.warnings.extend(p.warnings)


def _fix_hint(model: str, spec: Any, count: int, tp: int, values: dict[str, Any], failed: Any = None) -> str:
    """The smallest change that makes the plan fit, in words (the ways below are for empty GPUs)."""
    from console.planner import PlanError, plan
    from console.planner.fit import TP_CHOICES, default_mem_fraction_static, valid_tp_sizes
    from console.planner.sglang import SGLANG

    fraction = values.get("mem_fraction_static")

    def fits(n: int, t: int, f: float | None) -> bool:
        try:
            return plan(model, spec, n, tp=t, mem_fraction_static=f).fits
        except PlanError:  # an input the planner refuses: not a way to fit
            return False

    if failed is not None and failed.held_bytes >= 512 * 1024**2 and fits(count, tp, fraction):
        return (f"Free the GPUs: {failed.held_bytes / 1024**3:.1f} GiB of them is held by other processes "
                "(nvidia-smi on the host shows which)")

    for t in valid_tp_sizes(model, count):
        if t != tp and fits(count, t, fraction):
            return f"Set TENSOR_PARALLEL_SIZE={t} ({count} GPUs are visible) or leave it unset"
    if fraction is not None and fits(count, tp, None):
        default = default_mem_fraction_static(spec.memory_total, tp)
        return f"Raise MEM_FRACTION_STATIC ({SGLANG.label} {SGLANG.version}'s default here is {default}) or leave it unset"
    alt = " or use openai/gpt-oss-20b" if model.endswith("120b") else ""
    for n in TP_CHOICES:
        if n > count and fits(n, n, fraction):
            return f"Give the container {n}× {spec.name} (TENSOR_PARALLEL_SIZE={n}){alt}, or a larger GPU"
    return f"Use a GPU with more memory{alt}"


def prepare(env: dict[str, str] | None = None, args: list[str] | None = None, *,
            detect=gpu_detect.detect) -> Prepared:
    """Decide the SGLang command line; raises Refusal. Pure apart from nvidia-smi."""
    env = dict(os.environ if env is None else env)
    res = S.resolve(env)
    if args:
        extra = list(res.values.get("extra_args") or []) + list(args)
        res.set("extra_args", extra, S.CLI if not res.values.get("extra_args") else "env+cli")
    prep = Prepared(argv=[], resolution=res, gpus=None)
    prep.notes.extend(res.notes)
    if res.errors:
        raise Refusal([p.message for p in res.errors], EXIT_SETTINGS)

    values = res.values
    model = values["model"]
    # Errors that need no GPU knowledge come first: a typo should not wait on the driver.
    early = [p.message for p in S.validate(values) if p.is_error]
    key = values.get("ssh_public_key")
    if key and not valid_public_key(key):
        early.append("SSH_PUBLIC_KEY does not look like an OpenSSH public key (ssh-ed25519 AAAA…): "
                     "paste the contents of your .pub file")
    if early:
        raise Refusal(early, EXIT_SETTINGS)
    try:
        gpus = detect()
    except gpu_detect.GpuDetectError as exc:
        raise Refusal([f"{exc}: run the container with --gpus all (NVIDIA Container Toolkit) and check "
                       "nvidia-smi on the host"], EXIT_NO_GPU) from None
    prep.gpus = gpus
    problems = S.validate(values, gpus=[{"name": g.name, "compute_cap": g.compute_cap_text} for g in gpus]
                          if gpus else None)
    errors = [p.message for p in problems if p.is_error]
    if errors:
        raise Refusal(errors, EXIT_SETTINGS)
    prep.warnings.extend(p.message for p in problems if not p.is_error)

    if gpus is None:
        prep.warnings.append("no nvidia-smi in this container: GPU auto-detection skipped; SGLang picks TP=1 "
                             "and its own attention backend unless TENSOR_PARALLEL_SIZE / ATTENTION_BACKEND are set")
    elif S.gpt_oss_variant(model):
        _plan(S.gpt_oss_variant(model), gpus, values, prep)
    elif values.get("tensor_parallel_size") is None:
        prep.notes.append(f"{model} is not gpt-oss: TP left to SGLang (1) unless TENSOR_PARALLEL_SIZE is set")

    if values.get("host") in ("127.0.0.1", "localhost", "::1"):
        prep.warnings.append(
            f"HOST={values['host']} is the container's own loopback: a published port (-p) cannot reach SGLang. "
            "Leave HOST unset (0.0.0.0) and publish on 127.0.0.1 instead to keep it local")
    if values.get("host") == "0.0.0.0" and not values.get("api_key"):
        prep.warnings.append(
            "no API key and SGLang listens on 0.0.0.0: anyone who can reach the published port can use the "
            "model. Set API_KEY (or API_KEY_FILE), or publish on 127.0.0.1 only (-p 127.0.0.1:PORT:PORT)")
    prep.argv = S.to_argv(values)
    prep.env = _child_env(env, values)
    return prep


def _child_env(env: dict[str, str], values: dict[str, Any]) -> dict[str, str]:
    """SGLang's environment: the HF token where huggingface_hub reads it; no other secrets.

    A token from a file stays in the file: ``HF_TOKEN_PATH`` names it (huggingface_hub reads
    its token from there). One given as a value goes in as ``HF_TOKEN``, as it came.
    """
    # Every name a secret can arrive under, from the declaration: a secret added there
    # cannot leak into SGLang's environment by being missed here.
    secret_names = {n for s in S.SETTINGS if s.secret for n in (s.env, *s.aliases, s.file_env) if n}
    out = {k: v for k, v in env.items() if k not in secret_names}
    token = values.get("hf_token")
    if token and getattr(token, "path", None):
        out["HF_TOKEN_PATH"] = token.path
    elif token:
        out["HF_TOKEN"] = out["HUGGING_FACE_HUB_TOKEN"] = reveal(token)
    return out


def sglang_reads_config() -> bool:
    """Does the installed SGLang take ``--config FILE.yaml`` (0.5.2 and later)? Read from its files,
    not by importing it (an import of sglang takes seconds)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("sglang")
    except (ImportError, ValueError):
        return False
    for root in (spec.submodule_search_locations or []) if spec else []:
        for where in (("srt", "utils"), ("srt",)):
            if os.path.exists(os.path.join(root, *where, "server_args_config_parser.py")):
                return True
    return False


def place_secrets(prep: Prepared, *, reads_config: bool | None = None, folder: str | None = None) -> list[str]:
    """The argv SGLang runs with: its secret flags in a private ``--config`` file when it reads one,
    else on its command line (masked in its log by the supervisor). Returns the secret values."""
    values = prep.resolution.values
    flags = S.secret_flags(values)
    if not flags:
        return []
    if reads_config is None:
        reads_config = sglang_reads_config()
    if reads_config:
        folder = folder or tempfile.mkdtemp(prefix="gpt-oss-sglang-")  # 0700
        path = os.path.join(folder, "secrets.yaml")  # SGLang wants the .yaml suffix
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(S.sglang_config(values) or "")
        prep.argv = [*prep.argv, S.CONFIG_FLAG, path]
        prep.notes.append(f"{', '.join(flags)} passed to SGLang in {path} (0600), not on its command line")
    else:
        prep.argv = [*prep.argv, *(x for flag, v in flags.items() for x in (flag, reveal(v)))]
        prep.warnings.append("this SGLang has no --config (older than 0.5.2), so the API key is on its command "
                             "line, where processes in this container can see it: use a newer base image")
    return [reveal(v) for v in flags.values()]


def summary_lines(prep: Prepared) -> list[str]:
    res = prep.resolution
    values = res.values
    head = f"{NAME}: serving {values['model']}"
    if prep.gpus:
        head += f" on {_gpu_summary(prep.gpus)}"
    lines = [head]
    width = max(len(s.env) for s in S.SETTINGS)
    for s in S.SETTINGS:
        if s.target in SUMMARY_SKIP_TARGETS:
            continue
        value = values.get(s.key)
        source = res.sources.get(s.key, S.DEFAULT)
        if s.secret:
            shown = S.mask_secret(reveal(value)) if value else "(not set)"
        elif s.kind == "args":
            shown = " ".join(value) if value else "(none)"
        elif value is None:
            shown = "(not set)" if s.default_text() == "unset" else s.default_text()
        elif s.key == "ssh_public_key":
            first = str(value).split()
            shown = f"{first[0]} …{first[2] if len(first) > 2 else ''}" if first else "(not set)"
        else:
            shown = str(value).lower() if isinstance(value, bool) else str(value)
        origin = res.origins.get(s.key)
        where = f"{source} {origin}" if origin and origin != s.env else source
        why = prep.reasons.get(s.key)
        lines.append(f"  {s.env:<{width}}  {shown:<28} [{where}{': ' + why if why else ''}]")
    for note in prep.notes:
        lines.append(f"{NAME}: note: {note}")
    for warning in prep.warnings:
        lines.append(f"{NAME}: WARNING: {warning}")
    how = "run (masking the API key in SGLang's log)" if values.get("api_key") else "exec"
    lines.append(f"{NAME}: {how} {' '.join(S.redact_argv(prep.argv, values))}")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and not argv[0].startswith("-"):
        os.execvp(argv[0], argv)  # `docker run IMAGE bash`: run that instead
    try:
        prep = prepare(dict(os.environ), argv)
    except Refusal as refusal:
        for line in refusal.lines:
            print(f"{NAME}: error: {line}", file=sys.stderr)
        return refusal.code
    values = prep.resolution.values
    key, password = values.get("ssh_public_key"), values.get("ssh_password")
    if key or password:
        try:
            prep.notes.extend(start_sshd(key, password))
        except RuntimeError as exc:
            print(f"{NAME}: error: {exc}", file=sys.stderr)
            return EXIT_SSH
    place_secrets(prep)
    print("\n".join(summary_lines(prep)), flush=True)
    sys.stderr.flush()
    if values.get("api_key"):
        from console.image import supervise

        secrets = [reveal(values[s.key]) for s in S.SETTINGS if s.secret and values.get(s.key)]
        return supervise.run(prep.argv, prep.env, secrets)
    os.execvpe(prep.argv[0], prep.argv, prep.env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())

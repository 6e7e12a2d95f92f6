"""Crash bundles: one 0600 JSON file per exited container, for bug reports and post-mortems.

Holds what an operator needs to learn why the server died without the console
running at the time: exit code, OOM flag, phase history, diagnoses, the last
log lines, a GPU snapshot, and the settings and argv used — secrets masked.
Written under ``$XDG_STATE_HOME/gpt-oss-console/crashes/`` (dir 0700).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, Iterable

from console.private_file import write_private

DEFAULT_LINES = 300


def crashes_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "gpt-oss-console" / "crashes"


def _secret_env_names() -> set[str]:
    from console.settings import SETTINGS

    names = set()
    for s in SETTINGS:
        if s.secret:
            names.add(s.env)
            names.update(s.aliases)
    return names


def _mask(value: str) -> str:
    from console.settings import mask_secret

    return mask_secret(value)


def masked_env(env_list: Iterable[str]) -> dict[str, str]:
    secret = _secret_env_names()
    out = {}
    for item in env_list:
        key, _, value = item.partition("=")
        out[key] = _mask(value) if key in secret and value else value
    return out


def masked_argv(argv: list[str], secrets: Iterable[str] = ()) -> list[str]:
    from console.settings import redact_argv

    argv = redact_argv(list(argv))
    return [_scrub(a, secrets) for a in argv]


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, _mask(s))
    # Tokens that look like HF or OpenAI-style keys, wherever they appear in a log line.
    return re.sub(r"\b(hf_|sk-)[A-Za-z0-9_-]{12,}", lambda m: _mask(m.group(0)), text)


def gpu_snapshot() -> dict[str, Any]:
    """Whatever the GPU module can say right now; never fails."""
    try:
        from console.gpu import snapshot  # type: ignore[attr-defined]

        snap = snapshot()
        return snap if isinstance(snap, dict) else _jsonable(snap)
    except Exception as exc:  # no driver, no GPU module yet: say so in the bundle
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: getattr(o, "__dict__", str(o))))


def bundle_path(name: str, container_id: str, finished_at: str) -> Path:
    stamp = re.sub(r"[^0-9T]", "", finished_at)[:15] or time.strftime("%Y%m%dT%H%M%S")
    return crashes_dir() / f"{name}-{container_id[:12]}-{stamp}.json"


def write_bundle(
    attrs: dict[str, Any],
    log_lines: list[str],
    *,
    phases: dict[str, Any] | None = None,
    diagnoses: list[Any] | None = None,
    settings: dict[str, Any] | None = None,
    last_n: int = DEFAULT_LINES,
) -> Path:
    """Write (or overwrite) the bundle for the exited container described by ``attrs``."""
    state = attrs.get("State") or {}
    cfg = attrs.get("Config") or {}
    name = (attrs.get("Name") or "").lstrip("/") or "container"
    env = masked_env(cfg.get("Env") or [])
    secret_values = [
        item.partition("=")[2] for item in cfg.get("Env") or [] if item.partition("=")[0] in _secret_env_names()
    ]
    cmd = list(cfg.get("Cmd") or [])
    if "--api-key" in cmd:
        i = cmd.index("--api-key")
        if i + 1 < len(cmd):
            secret_values.append(cmd[i + 1])
    secret_keys = {k for k in (settings or {}) if _is_secret_key(k)}
    secret_values += [str(settings[k]) for k in secret_keys if settings and settings.get(k)]
    doc = {
        "container": {"name": name, "id": attrs.get("Id", ""), "image": cfg.get("Image", "")},
        "labels": cfg.get("Labels") or {},
        "exit_code": state.get("ExitCode"),
        "oom_killed": bool(state.get("OOMKilled")),
        "error": state.get("Error") or None,
        "started_at": state.get("StartedAt"),
        "finished_at": state.get("FinishedAt"),
        "phases": phases,
        "diagnoses": [diagnosis_dict(d) for d in (diagnoses or [])],
        "argv": masked_argv(list(cfg.get("Entrypoint") or []) + cmd, secret_values),
        "environment": env,
        "settings": {k: (_mask(str(v)) if k in secret_keys and v else v) for k, v in (settings or {}).items()},
        "gpu": gpu_snapshot(),
        "log_tail": [_scrub(line, secret_values) for line in log_lines[-last_n:]],
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = bundle_path(name, attrs.get("Id", ""), state.get("FinishedAt") or "")
    write_private(path, json.dumps(doc, indent=2, default=str), own_dir=True)
    return path


def _is_secret_key(key: str) -> bool:
    from console.settings import BY_KEY

    return key in BY_KEY and BY_KEY[key].secret


def diagnosis_dict(d: Any) -> dict[str, Any]:
    if isinstance(d, dict):
        return d
    return {k: getattr(d, k, None) for k in ("code", "title", "fix", "line")}


def list_bundles() -> list[Path]:
    d = crashes_dir()
    return sorted(d.glob("*.json"), key=lambda p: p.stat().st_mtime) if d.is_dir() else []

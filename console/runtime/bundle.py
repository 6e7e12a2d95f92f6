"""Crash bundles: one 0600 JSON file per exited container, for bug reports and post-mortems.

Holds what an operator needs to learn why the server died without the console
running at the time: exit code, OOM flag, phase history, diagnoses, the last
log lines, a GPU snapshot, and the settings and argv used — secrets masked.
Written under ``$XDG_STATE_HOME/gpt-oss-console/crashes/`` (dir 0700).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Iterable

from console.private_file import state_dir, write_private
from console.runtime.secret_files import known_secrets
from console.settings.mask import redact_argv, scrub_lines, scrub_obj

DEFAULT_LINES = 300


def crashes_dir() -> Path:
    return state_dir() / "crashes"


def masked_env(env_list: Iterable[str]) -> dict[str, str]:
    """A container's ``KEY=VALUE`` env as a dict, secrets masked (by name and by value)."""
    return scrub_obj(dict(item.partition("=")[::2] for item in env_list))


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
    # The container's own secrets, read back from its files: alive while this runs, so the
    # scrubber masks them wherever they turn up (SGLang prints its API key at start).
    held = known_secrets(attrs)  # noqa: F841  (kept alive on purpose)
    cmd = list(cfg.get("Cmd") or [])
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
        "argv": redact_argv(list(cfg.get("Entrypoint") or []) + cmd),
        "environment": masked_env(cfg.get("Env") or []),
        "settings": scrub_obj(dict(settings or {})),
        "gpu": gpu_snapshot(),
        "log_tail": scrub_lines([str(line) for line in log_lines[-last_n:]]),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = bundle_path(name, attrs.get("Id", ""), state.get("FinishedAt") or "")
    doc["diagnoses"] = scrub_obj(doc["diagnoses"])  # a diagnosis quotes a log line
    write_private(path, json.dumps(doc, indent=2, default=str), own_dir=True)
    return path


def diagnosis_dict(d: Any) -> dict[str, Any]:
    if isinstance(d, dict):
        return d
    return {k: getattr(d, k, None) for k in ("code", "title", "fix", "line")}


def list_bundles() -> list[Path]:
    d = crashes_dir()
    return sorted(d.glob("*.json"), key=lambda p: p.stat().st_mtime) if d.is_dir() else []

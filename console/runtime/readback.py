"""The settings a console container runs with, read back from Docker's ``inspect``.

For the Launch form when it watches a server it did not launch: the form shows what runs, not
only the profile the server came from (which it may have drifted from). Read back: the
settings the project image's entrypoint reads from env, or SGLang's flags in a stock container's
command (what follows them unmatched is the extra args), and the container's own image, name,
published address and port, and image mode. Never a secret: keys reach containers as files, and
nothing here reads those.
"""

from __future__ import annotations

from typing import Any

from console.runtime import spec as S
from console.runtime.lifecycle import published
from console.settings.argv import CONFIG_FLAG, LAUNCH
from console.settings.spec import CONTAINER, SETTINGS, SGLANG


def _from_env(env_items: list[str]) -> dict[str, Any]:
    by_env = {s.env: s for s in SETTINGS if s.target != CONTAINER and not s.secret}
    out: dict[str, Any] = {}
    for item in env_items:
        name, sep, value = item.partition("=")
        s = by_env.get(name)
        if sep and s is not None and value != "":
            out[s.key] = value
    return out


def _from_argv(argv: list[str]) -> dict[str, Any]:
    if argv[: len(LAUNCH)] == LAUNCH:
        argv = argv[len(LAUNCH):]
    by_flag = {s.flag: s for s in SETTINGS if s.target == SGLANG and s.flag and not s.secret}
    out: dict[str, Any] = {}
    extra: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        s = by_flag.get(token)
        if token == CONFIG_FLAG:  # the console's own secrets file
            i += 2
            continue
        if s is None:
            extra.append(token)
        elif s.kind == "bool":
            out[s.key] = True
        elif i + 1 < len(argv):
            out[s.key] = argv[i + 1]
            i += 1
        i += 1
    for s in by_flag.values():  # a switch left out is off (sglang_args writes only the ones that are on)
        if s.kind == "bool" and s.key not in out:
            out[s.key] = False
    if extra:
        out["extra_args"] = extra
    return out


def settings_of(attrs: dict[str, Any]) -> dict[str, Any]:
    """Raw values (as a form or ``resolve(cli=…)`` takes them) of the settings the container shows."""
    cfg = attrs.get("Config") or {}
    labels = cfg.get("Labels") or {}
    mode = labels.get(S.LABEL_MODE, "")
    out = _from_argv(list(cfg.get("Cmd") or [])) if mode == "stock" else _from_env(list(cfg.get("Env") or []))
    if cfg.get("Image"):
        out["image"] = cfg["Image"]
    if attrs.get("Name"):
        out["container_name"] = attrs["Name"].lstrip("/")
    where = published(attrs)
    if where is not None:
        out["publish_address"], out["host_port"] = where[0], str(where[1])
    if mode in ("project", "stock") and cfg.get("Image"):
        from console.runtime.build import pick_mode

        if pick_mode(cfg["Image"], "auto") != mode:  # auto would not have chosen it: it was asked for
            out["image_mode"] = mode
    return out

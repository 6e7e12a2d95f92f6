"""What the TUI remembers between runs: the last profile, endpoints, bench settings, the chat model.

One JSON file, ``<config dir>/ui-state.json`` (0600, written atomically through
console/private_file.py), one section per area: ``remembered("launch")`` reads a section,
``remember("launch", profile="big")`` merges values into it. Secrets never go here (a
``Secret`` is refused: keys live in their own files). A damaged or unreadable file reads as
empty, so a start never fails on it; the next ``remember`` writes a good one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from console.private_file import write_private
from console.secret import Secret

FILE_NAME = "ui-state.json"


def state_path() -> Path:
    """The file, in the same config dir as the profiles (``$XDG_CONFIG_HOME/gpt-oss-console``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base, "gpt-oss-console", FILE_NAME)


def _read_all() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}


def remembered(section: str) -> dict[str, Any]:
    """The values remembered for ``section`` (an area's name); {} when none."""
    return dict(_read_all().get(section, {}))


def remember(section: str, **values: Any) -> None:
    """Merge ``values`` into ``section`` (a value of None forgets that key). Plain JSON values only."""
    for key, value in values.items():
        if isinstance(value, Secret):
            raise TypeError(f"{section}.{key}: a secret is never remembered in the UI state")
    data = _read_all()
    part = dict(data.get(section, {}))
    for key, value in values.items():
        if value is None:
            part.pop(key, None)
        else:
            part[key] = value
    data[section] = part
    write_private(state_path(), json.dumps(data, indent=1, sort_keys=True) + "\n", own_dir=True)

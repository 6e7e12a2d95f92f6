"""What the TUI remembers between runs: the last profile, endpoints, bench settings, the chat model.

One JSON file, ``<config dir>/ui-state.json`` (0600, written atomically through
console/private_file.py), one section per area: ``remembered("launch")`` reads a section,
``remember("launch", profile="big")`` merges values into it. Secrets never go here (a
``Secret`` is refused: keys live in their own files). A damaged file reads as empty, so a
start never fails on it; ``problem()`` says so in one sentence, and the next ``remember``
keeps the damaged file aside (``ui-state.json.damaged``) before writing a good one.
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


# The words first, the path last: a toast wraps a long path, and what matters should lead.
_KEPT_ASIDE = f"The next remembered change keeps it aside as {FILE_NAME}.damaged:"


def _load() -> tuple[dict[str, dict[str, Any]], str | None]:
    """The sections, and a sentence when the file exists but cannot be used."""
    path = state_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as exc:
        return {}, (f"The remembered settings could not be read ({exc.__class__.__name__}): starting from "
                    f"defaults. {_KEPT_ASIDE} {path}")
    if not isinstance(data, dict):
        return {}, f"The remembered settings file holds no settings object: starting from defaults. {_KEPT_ASIDE} {path}"
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}, None


def _read_all() -> dict[str, dict[str, Any]]:
    return _load()[0]


def problem() -> str | None:
    """One sentence when the remembered state could not be read (the console starts from defaults)."""
    return _load()[1]


def remembered(section: str) -> dict[str, Any]:
    """The values remembered for ``section`` (an area's name); {} when none."""
    return dict(_read_all().get(section, {}))


def remember(section: str, **values: Any) -> None:
    """Merge ``values`` into ``section`` (a value of None forgets that key). Plain JSON values only."""
    for key, value in values.items():
        if isinstance(value, Secret):
            raise TypeError(f"{section}.{key}: a secret is never remembered in the UI state")
    data, damaged = _load()
    if damaged:
        try:  # nothing lost: the operator can still look at what was there
            os.replace(state_path(), state_path().with_name(FILE_NAME + ".damaged"))
        except OSError:
            pass
    part = dict(data.get(section, {}))
    for key, value in values.items():
        if value is None:
            part.pop(key, None)
        else:
            part[key] = value
    data[section] = part
    write_private(state_path(), json.dumps(data, indent=1, sort_keys=True) + "\n", own_dir=True)

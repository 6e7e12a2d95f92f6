"""Update a ``.env`` file in place: only the keys asked for, everything else kept byte for byte.

The file is the operator's (an agent's configuration, with their comments and other
keys). So: lines that do not define one of our keys are never touched; a key that
already holds a *different* value is refused unless ``force`` (and the refusal names
each such key, secrets masked); a key missing from the file is appended. The new file
replaces the old one atomically and 0600 (``console.private_file``), and the old one is
kept beside it as ``NAME.bak`` (0600 too: it may hold a key).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from console.errors import ConsoleError
from console.exit_codes import EXIT_FAILED, EXIT_USAGE
from console.private_file import write_private
from console.secret import Secret

# Blanks, not \s: on an empty value ``\s*`` took the line's own newline, and the new value landed
# on a line of its own.
_LINE = re.compile(r"^(?P<lead>[ \t]*(?:export[ \t]+)?)(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)(?P<eq>[ \t]*=[ \t]*)"
                   r"(?P<value>.*?)(?P<nl>\r?\n)?$", re.S)
_PLAIN = re.compile(r"^[A-Za-z0-9_./:@%+,~=-]*$")  # written without quotes
ADDED_BY = "# added by gpt-oss-console connect"


def parse_value(raw: str) -> str:
    """A dotenv value as python-dotenv and docker compose read it (the common subset)."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if raw.startswith("'") and "'" in raw[1:]:
        return raw[1:raw.index("'", 1)]
    if raw.startswith('"'):
        out, i = [], 1
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(raw[i + 1], "\\" + raw[i + 1]))
                i += 2
                continue
            if ch == '"':
                break
            out.append(ch)
            i += 1
        return "".join(out)
    # unquoted: an inline comment starts at " #"
    cut = re.search(r"\s#", raw)
    return (raw[:cut.start()] if cut else raw).strip()


def format_value(value: str) -> str:
    if value and _PLAIN.match(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


@dataclass
class EnvUpdate:
    path: Path
    changed: list[str] = field(default_factory=list)  # replaced a different value (force)
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    backup: Path | None = None
    created: bool = False

    @property
    def wrote(self) -> bool:
        return bool(self.changed or self.added)

    def describe(self) -> str:
        """``/x/.env updated: added LLM_MODEL; already set LLM_BASE_URL (old file: /x/.env.bak)``."""
        parts = []
        for label, keys in (("added", self.added), ("replaced", self.changed), ("already set", self.unchanged)):
            if keys:
                parts.append(f"{label} {', '.join(keys)}")
        where = "created" if self.created and self.wrote else "updated" if self.wrote else "unchanged"
        backup = f" (old file: {self.backup})" if self.backup else ""
        return f"{self.path} {where}: {'; '.join(parts) or 'nothing to do'}{backup}"

    def to_dict(self) -> dict:
        return {"path": str(self.path), "changed": self.changed, "added": self.added, "unchanged": self.unchanged,
                "backup": str(self.backup) if self.backup else None, "created": self.created}


def _shown(value: str | Secret) -> str:
    return value.masked if isinstance(value, Secret) else repr(value)


def _reveal(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else str(value)


def update_env_file(path: str | os.PathLike, updates: Mapping[str, str | Secret], *, force: bool = False) -> EnvUpdate:
    """Set ``updates`` in the ``.env`` at ``path`` (created when absent, in an existing folder)."""
    target = Path(path).expanduser()
    if target.is_symlink() or target.exists():
        target = target.resolve()  # write the file a link points to, not over the link
    if target.is_dir():
        raise ConsoleError(f"{target} is a folder", "give the .env file's path, e.g. ./.env", exit_code=EXIT_USAGE)
    if not target.parent.is_dir():
        raise ConsoleError(f"the folder {target.parent} does not exist", "create it, or give another path",
                           exit_code=EXIT_USAGE)
    result = EnvUpdate(target)
    try:
        original = target.read_bytes().decode("utf-8") if target.exists() else None
    except UnicodeDecodeError:
        raise ConsoleError(f"{target} is not UTF-8 text", "is this the .env file?", exit_code=EXIT_USAGE) from None
    except OSError as exc:
        raise ConsoleError(f"cannot read {target}: {exc.strerror}", "check its permissions",
                           exit_code=EXIT_USAGE) from None
    result.created = original is None
    # Lines end at \n only (python-dotenv and compose agree): str.splitlines would also cut at
    # \x85, \u2028… inside a value, and write it back as two lines.
    parts = (original or "").split("\n")
    lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    found: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        m = _LINE.match(line)
        if m and m.group("key") in updates:
            found.setdefault(m.group("key"), []).append(i)

    conflicts = []
    for key, value in updates.items():
        if key not in found:
            continue
        current = parse_value(_LINE.match(lines[found[key][-1]]).group("value"))  # the last one wins
        if current == _reveal(value):
            result.unchanged.append(key)
        elif force:
            result.changed.append(key)
        else:
            old = Secret(current) if isinstance(value, Secret) else current
            conflicts.append(f"{key} holds {_shown(old)}, not {_shown(value)}")
    if conflicts:
        raise ConsoleError(f"{target} already sets " + "; ".join(conflicts) + " — nothing was written",
                           "pass --force to replace those values (the old file is kept as .bak)",
                           exit_code=EXIT_FAILED)

    for key in result.changed:
        for i in found[key]:
            m = _LINE.match(lines[i])
            lines[i] = f"{m.group('lead')}{key}{m.group('eq')}{format_value(_reveal(updates[key]))}{m.group('nl') or ''}"
    missing = [k for k in updates if k not in found]
    if missing:
        newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        lines.append(ADDED_BY + newline)
        lines += [f"{k}={format_value(_reveal(updates[k]))}{newline}" for k in missing]
        result.added = missing
    if not result.wrote:
        return result
    if original is not None:
        result.backup = write_private(target.with_name(target.name + ".bak"), original)
    write_private(target, "".join(lines))
    return result

"""Secrets (API keys, HF tokens) as a value type that never prints itself.

``Secret`` is what every layer passes around: ``str``/``repr``/``format``/JSON show the mask,
only ``reveal()`` gives the value, at the one place that must send it (an HTTP header, a file
the container reads). Stdlib only: the image's entrypoint uses it too.
"""

from __future__ import annotations

import os
import stat


def mask_secret(value: str | None) -> str:
    """``sk-abcdef…f3a9`` → ``sk-…f3a9``; short values show nothing but their presence.

    Keeps a recognisable prefix (up to and including the first ``-``/``_`` within the
    first four characters: ``sk-``, ``hf_``) and the last four characters, and only
    when the secret is long enough that these eight reveal little of it.
    """
    if not value:
        return "(not set)"
    if len(value) < 16:
        return "••••"
    head = ""
    for i, ch in enumerate(value[:4]):
        if ch in "-_":
            head = value[: i + 1]
            break
    return f"{head}…{value[-4:]}"


class Secret:
    """A secret value: shown masked everywhere, revealed only on purpose."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str = ""):
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = str(value)
        self.source = source  # where it came from, for messages: "env GPT_OSS_CONSOLE_API_KEY", "file /run/key"

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask_secret(self._value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def to_dict(self) -> str:  # what JSON encoders that honour to_dict() print
        return self.masked

    def __reduce__(self):  # pickling would write the value: refuse
        raise TypeError("a Secret is not pickled; write it with console.private_file instead")


class SecretFileError(ValueError):
    """A secret file that cannot be used, with what to do (plain words, no value)."""


def read_secret_file(path: str | os.PathLike, *, what: str = "secret") -> Secret:
    """The stripped contents of ``path`` as a Secret; a clear error when missing, empty or unreadable."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            # Files usually end with a newline; only surrounding whitespace is stripped.
            value = fh.read().strip()
    except FileNotFoundError:
        raise SecretFileError(f"the {what} file {path} does not exist: create it (mode 600) or fix the path") from None
    except IsADirectoryError:
        raise SecretFileError(f"the {what} file {path} is a directory: give the file inside it") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise SecretFileError(f"the {what} file {path} cannot be read ({reason}): check its permissions") from None
    if not value:
        raise SecretFileError(f"the {what} file {path} is empty: write the {what} into it")
    return Secret(value, source=f"file {path}")


def world_readable(path: str | os.PathLike) -> bool:
    """True when others can read ``path`` (worth a warning for a secret file)."""
    try:
        return bool(os.stat(path).st_mode & (stat.S_IROTH | stat.S_IRGRP))
    except OSError:
        return False

"""Secrets (API keys, HF tokens) as a value type that never prints itself, and the scrubber.

``Secret`` is what every layer passes around: ``str``/``repr``/``format``/JSON show the mask,
only ``reveal()`` gives the value, at the one place that must send it (an HTTP header, a file
the container reads). Every live ``Secret`` is known to :class:`Scrubber`, which masks those
values wherever they turn up in text, and whatever follows a secret's name (``api_key='…'``,
``API_KEY=…``, ``--api-key …``, ``Bearer …``) even when the value is not known here.
:func:`console.settings.mask.scrub` is the one scrubber, with the names from the settings
declaration. Stdlib only: the image's entrypoint uses it too.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import weakref
from typing import Any, Iterable


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
    """A secret value: shown masked everywhere, revealed only on purpose.

    ``path``: the file it was read from, when it was (exports mount that file rather than
    writing the value anywhere).
    """

    __slots__ = ("_value", "source", "path", "__weakref__")

    def __init__(self, value: str, source: str = "", path: str | None = None):
        if isinstance(value, Secret):
            path = path or value.path
            value = value.reveal()
        self._value = str(value)
        self.source = source  # where it came from, for messages: "env GPT_OSS_CONSOLE_API_KEY", "file /run/key"
        self.path = path
        _remember(self)

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

    def __copy__(self) -> "Secret":  # immutable: copies (dataclasses.asdict deep-copies) are itself
        return self

    def __deepcopy__(self, memo) -> "Secret":
        return self


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
    except ValueError:  # a NUL in the path: no file can have that name
        raise SecretFileError(f"the {what} file name {path!r} has a NUL character: give the file's path") from None
    if not value:
        raise SecretFileError(f"the {what} file {path} is empty: write the {what} into it")
    return Secret(value, source=f"file {path}", path=path)


def reveal(value: "Secret | str | None") -> str | None:
    """The plain value of a Secret (or of a plain string, passed through): for the one place that sends it."""
    return value.reveal() if isinstance(value, Secret) else value


def as_secret(value: "Secret | str | None", source: str = "") -> "Secret | None":
    """``value`` as a Secret (None and "" stay None)."""
    if value is None or value == "":
        return None
    return value if isinstance(value, Secret) else Secret(value, source)


# ── the values this process holds ──────────────────────────────────────────────────────────
# Every Secret alive is a value known at run time: the scrubber masks it in any output without
# each output path having to be handed it. Values shorter than MIN_KNOWN_LEN are left out: a key
# like "k" would mask every k in a log; those are masked only where a secret's name introduces them.
MIN_KNOWN_LEN = 8
_live: dict[int, str] = {}
_live_lock = threading.Lock()
_live_version = [0]


def _remember(secret: Secret) -> None:
    value = secret._value
    if len(value) < MIN_KNOWN_LEN:
        return
    key = id(secret)
    with _live_lock:
        _live[key] = value
        _live_version[0] += 1
    weakref.finalize(secret, _forget, key)


def _forget(key: int) -> None:
    with _live_lock:
        if _live.pop(key, None) is not None:
            _live_version[0] += 1


def known_values() -> tuple[str, ...]:
    """The distinct values of every Secret alive now (longest first)."""
    with _live_lock:
        return tuple(sorted(set(_live.values()), key=len, reverse=True))


# ── the scrubber ────────────────────────────────────────────────────────────────────────────
# What ends an unquoted value after a secret's name: whitespace, quotes and the punctuation that
# separates fields in Python reprs, JSON, shell lines and URLs.
_UNQUOTED_END = r"\s'\",;)}\]&"
# Values that say "no secret here" (SGLang prints api_key=None) or are already masked.
_NOT_A_VALUE = {"none", "null", "nil", "(not set)", "unset", "set", ""}
_MASKS = {"••••", "****", "***", "(not set)"}
_MASK_SHAPE = re.compile(r".{0,4}….{0,4}")  # what mask_secret leaves of a long value


def _stem(name: str) -> str:
    """``--api-key`` / ``API_KEY`` / ``api_key`` → ``api[-_]key`` (case is ignored by the pattern)."""
    parts = [p for p in re.split(r"[-_]+", name.strip("-").lower()) if p]
    return r"[-_]".join(re.escape(p) for p in parts)


class Scrubber:
    """Masks secrets in text: the values known at run time wherever they appear, and the value
    after any of ``names`` in the shapes logs and exports use::

        api_key='…'  API_KEY=…  "api_key": "…"  api-key: …  --api-key …  Authorization: Bearer …

    A name matches inside a longer one that ends with it (``admin_api_key``, ``SGLANG_API_KEY``)
    but not one that goes on (``API_KEY_FILE=/run/…`` is a path, left alone). Cheap when there is
    nothing to mask: a few substring tests on the lowered text decide that before any regex runs.
    """

    def __init__(self, names: Iterable[str] = (), values: Iterable[Any] = (), *, live: bool = True):
        stems = sorted({_stem(n) for n in names if _stem(n)}, key=len, reverse=True)
        self.names = tuple(names)
        self._values = tuple(sorted({str(reveal(v)) for v in values if v}, key=len, reverse=True))
        self.live = live
        # The quick test: each stem as a literal in text folded to lower case with '-' as '_'
        # ("api_key"), plus "bearer"; a needle holding another ("ssh_password") is implied by it.
        literal = {n.strip("-").lower().replace("-", "_") for n in names} | ({"bearer"} if names else set())
        literal = {n for n in literal if n and not any(m != n and m in n for m in literal)}
        self._needles = tuple(sorted(literal))
        self._needles_b = tuple(n.encode() for n in self._needles)
        alt = "|".join(stems) or r"(?!x)x"
        pattern = (
            # name=value, "name": "value" / "name":"value" (a quoted key), name: value (YAML, headers:
            # a space after the colon, so a path like /run/…/api_key:/mnt/… is not taken for one)
            rf"(?P<pre>(?:{alt})(?:['\"]?[ \t]*=[ \t]*|['\"][ \t]*:[ \t]*|[ \t]*:[ \t]+)"
            # --flag value / --flag=value, and HTTP's Bearer token
            rf"|--(?:[a-z0-9]+[-_])*?(?:{alt})(?:[ \t]+|=)|bearer[ \t]+)"
            rf"(?:'(?P<sq>[^'\r\n]*)'?|\"(?P<dq>[^\"\r\n]*)\"?|(?P<bare>[^{_UNQUOTED_END}]+))"
        )
        self._re = re.compile(pattern, re.IGNORECASE)
        self._re_b = re.compile(pattern.encode(), re.IGNORECASE)
        self._cache: tuple = (-1, _Replacements((), ()), _Replacements((), ()))

    def with_values(self, *values: Any) -> "Scrubber":
        """A scrubber that also masks ``values`` (plain strings or Secrets)."""
        return Scrubber(self.names, (*self._values, *values), live=self.live)

    def values_only(self) -> "Scrubber":
        """The same values, no name rules: for a relay that is handed every secret it must mask."""
        return Scrubber((), self._values, live=self.live)

    # -- the values to replace ----------------------------------------------------------
    def _known(self) -> tuple:
        """The known values' replacements (text, bytes), rebuilt when a Secret comes or goes."""
        version = _live_version[0] if self.live else 0
        if self._cache[0] != version:
            live = known_values() if self.live else ()
            values = tuple(sorted(set(self._values) | set(live), key=len, reverse=True))
            masks = tuple(mask_secret(v) for v in values)
            values_b = tuple(v.encode("utf-8", "surrogateescape") for v in values)
            self._cache = (version, _Replacements(values, masks),
                           _Replacements(values_b, tuple(m.encode() for m in masks)))
        return self._cache[1:]

    # -- text ------------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """``text`` with every secret masked (the same object back when there is none)."""
        if not text:
            return text
        text = self._known()[0].apply(text)
        return self._names(text)

    def _names(self, text: str) -> str:
        """Mask what follows a secret's name; the regex runs only where a name's literal occurs
        (it tries every position, ~30x the cost of the substring tests)."""
        folded = text.lower().replace("-", "_")
        if any(n in folded for n in self._needles):
            text = self._re.sub(_masked_match, text)
        return text

    def scrub_lines(self, lines: list[str]) -> list[str]:
        """Each line scrubbed; one quick test over the whole batch when nothing needs it."""
        if not lines:
            return lines
        joined = "\n".join(lines)
        values = self._known()[0].values
        if any(v in joined for v in values):
            return [self.scrub(line) for line in lines]
        folded = joined.lower().replace("-", "_")
        if not any(n in folded for n in self._needles):
            return lines
        return [self._names(line) for line in lines]

    def scrub_bytes(self, data: bytes) -> bytes:
        """Bytes (a process's output, complete lines) with every secret masked."""
        if not data:
            return data
        data = self._known()[1].apply(data)
        if not self._needles_b:
            return data
        # bytes.lower() and the '-' → '_' fold keep every offset, so a hit in the folded copy
        # names the line to rewrite: the regex (it tries every position) sees only those lines.
        folded = data.lower().replace(b"-", b"_")
        lines: set[tuple[int, int]] = set()
        for needle in self._needles_b:
            at = folded.find(needle)
            while at != -1:
                start = data.rfind(b"\n", 0, at) + 1
                end = data.find(b"\n", at)
                end = len(data) if end == -1 else end
                lines.add((start, end))
                at = folded.find(needle, end)
        if not lines:
            return data
        out, done = [], 0
        for start, end in sorted(lines):
            out += [data[done:start], self._re_b.sub(_masked_match, data[start:end])]
            done = end
        out.append(data[done:])
        return b"".join(out)

    def scrub_argv(self, argv: Iterable[str]) -> list[str]:
        """A copy of ``argv`` safe to print: the word after a secret's flag masked, and every known value."""
        out: list[str] = []
        hide_next = False
        for arg in argv:
            arg = str(arg)
            if hide_next:
                out.append(mask_secret(arg))
                hide_next = False
                continue
            if arg.startswith("--") and "=" not in arg and self._is_flag(arg):
                hide_next = True
                out.append(arg)
                continue
            out.append(self.scrub(arg))
        return out

    def _is_flag(self, arg: str) -> bool:
        m = self._re.match(arg + " x")
        return bool(m) and m.start() == 0 and m.group("pre").startswith("--")

    def scrub_obj(self, obj: Any) -> Any:
        """A JSON-like structure with secrets masked: Secrets, known values, and the value of any
        key that names a secret (``{"api_key": "k"}`` → ``{"api_key": "••••"}``)."""
        if isinstance(obj, Secret):
            return obj.masked
        if isinstance(obj, dict):
            return {k: (self._masked_field(v) if isinstance(k, str) and self._names_secret(k)
                        else self.scrub_obj(v)) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.scrub_obj(v) for v in obj]
        if isinstance(obj, str):
            return self.scrub(obj)
        return obj

    def _names_secret(self, key: str) -> bool:
        """True for a field name that holds a secret (``api_key``, ``HF_TOKEN``, ``admin_api_key``)."""
        m = self._re.search(key + "=x")
        return bool(m) and m.end() == len(key) + 2 and m.group("bare") == "x"

    def _masked_field(self, value: Any) -> Any:
        if value is None or isinstance(value, bool) or value == "":
            return value
        if isinstance(value, (dict, list, tuple)):
            return self.scrub_obj(value)
        text = value.masked if isinstance(value, Secret) else str(value)
        return text if _masked_value(text) is None else mask_secret(text)


class _Replacements:
    """Known values and their masks (str or bytes), replaced in one pass where that is enough."""

    def __init__(self, values: tuple, masks: tuple):
        self.values, self.masks = values, masks
        # A replacement can form a new occurrence only across a mask: when a suffix of a mask
        # begins a value, a prefix of it ends a value, or a value holds it. Otherwise one pass
        # is exact; else repeat until none is left (each replacement shortens the text: it ends).
        self.recur = any(_overlaps(v, m) or m in v for v in values for m in masks)  # any value, any mask

    def apply(self, text):
        changed = True
        while changed:
            changed = False
            for value, shown in zip(self.values, self.masks):
                if value in text:
                    text = text.replace(value, shown)
                    changed = self.recur
        return text


def _overlaps(value, mask) -> bool:
    return any(value.startswith(mask[i:]) or value.endswith(mask[:i]) for i in range(1, len(mask)))


def _masked_value(value: str) -> str | None:
    """The mask for a value found after a secret's name; None when it is no secret or already masked."""
    if value.strip().lower() in _NOT_A_VALUE or value in _MASKS or _MASK_SHAPE.fullmatch(value):
        return None
    return mask_secret(value)


def _masked_match(m: re.Match) -> str | bytes:
    """A name-led match with its value (whichever of the quoted/bare groups took it) masked."""
    group = next(g for g in ("sq", "dq", "bare") if m.group(g) is not None)
    value = m.group(group)
    is_bytes = isinstance(value, bytes)
    shown = _masked_value(value.decode("utf-8", "surrogateescape") if is_bytes else value)
    if shown is None:
        return m.group(0)
    start, end = m.start(group) - m.start(), m.end(group) - m.start()
    whole = m.group(0)
    return whole[:start] + (shown.encode() if is_bytes else shown) + whole[end:]


def world_readable(path: str | os.PathLike) -> bool:
    """True when others can read ``path`` (worth a warning for a secret file)."""
    try:
        return bool(os.stat(path).st_mode & (stat.S_IROTH | stat.S_IRGRP))
    except OSError:
        return False

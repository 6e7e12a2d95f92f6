"""Env (and profile, CLI) → typed values, with the source of each value.

Precedence, lowest first: default < profile < env (alias < name < *_FILE) < cli.
The entrypoint later fills what is still ``None`` and marked auto (source ``auto``).
Parse failures become problems; nothing here raises for bad input.

Secret settings resolve to :class:`console.secret.Secret` values (``.path`` set when read
from a file). A file can be named in every layer: ``API_KEY_FILE`` in the env, ``api_key_file``
in a profile or form, ``--api-key-file`` on the command line (the key's ``file_key``).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Mapping

from console.secret import Secret, SecretFileError
from console.secret import read_secret_file as _read_secret

from .spec import BY_FILE_KEY, BY_KEY, KNOWN_MODELS, PARSER_OFF, SETTINGS, Setting

# Sources, in the words the start-up summary uses.
DEFAULT, PROFILE, ENV, ALIAS, FILE, CLI, AUTO = "default", "profile", "env", "alias", "file", "cli", "auto"

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n", ""}


@dataclass
class Problem:
    key: str
    message: str  # says what is wrong and what to do
    level: str = "error"  # "error" stops the launch, "warning" does not

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def __str__(self) -> str:
        return self.message


@dataclass
class Resolution:
    values: dict[str, Any]
    sources: dict[str, str]
    origins: dict[str, str] = field(default_factory=dict)  # key → env var / file that gave it
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def set(self, key: str, value: Any, source: str, origin: str = "", note: str | None = None) -> None:
        self.values[key] = value
        self.sources[key] = source
        if origin:
            self.origins[key] = origin
        else:
            self.origins.pop(key, None)
        if note:
            self.notes.append(note)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


class ParseError(ValueError):
    pass


def parse_value(setting: Setting, raw: Any) -> tuple[Any, str | None]:
    """Raw text (or an already typed value) → (typed value, normalisation note or None)."""
    if raw is None:
        return None, None
    note = None
    kind = setting.kind
    if kind == "bool":
        if isinstance(raw, bool):
            return raw, None
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        raise ParseError(f"{setting.env}={raw!r} is not a switch: use true or false")
    if kind == "args":
        if isinstance(raw, (list, tuple)):
            return [str(a) for a in raw], None
        try:
            return shlex.split(str(raw)), None
        except ValueError as exc:
            raise ParseError(f"{setting.env} cannot be split like a shell line ({exc}): check its quotes") from None
    text = raw if not isinstance(raw, str) else raw.strip()
    if isinstance(text, str) and text == "":
        return None, None
    if isinstance(text, str) and setting.value_aliases:
        canon = setting.value_aliases.get(text) or setting.value_aliases.get(text.lower())
        if canon and canon != text:
            note = f"{setting.env}={text} normalised to {canon}"
            text = canon
    if kind == "int" or (kind == "choice" and setting.choices and isinstance(setting.choices[0], int)):
        try:
            value: Any = int(str(text), 10)
        except ValueError:
            allowed = setting.allowed_text()
            raise ParseError(f"{setting.env}={raw!r} is not a whole number: use digits"
                             + (f" ({allowed})" if allowed else "")) from None
    elif kind == "float":
        try:
            value = float(str(text))
        except ValueError:
            raise ParseError(f"{setting.env}={raw!r} is not a number: use one such as 0.9") from None
    else:
        value = str(text)
    if kind == "choice" and isinstance(value, str):
        value = value.lower() if value.lower() in [str(c) for c in setting.choices] else value
    if setting.secret:
        value = raw if isinstance(raw, Secret) else Secret(value, source=setting.env)
    return value, note


def read_secret_file(path: str, setting: Setting | None = None) -> Secret:
    """A secret setting's file → Secret (raises SecretFileError with what to do)."""
    return _read_secret(os.path.expanduser(str(path)), what=setting.title if setting else "secret")


def resolve(
    env: Mapping[str, str] | None = None,
    *,
    profile: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
    read_files: bool = True,
) -> Resolution:
    """Layer defaults, a profile (key → value), the env and CLI values into one Resolution."""
    env = os.environ if env is None else env
    res = Resolution(values={}, sources={})
    for s in SETTINGS:
        res.set(s.key, s.default, DEFAULT)

    def apply(s: Setting, raw: Any, source: str, origin: str) -> None:
        try:
            value, note = parse_value(s, raw)
        except ParseError as exc:
            res.problems.append(Problem(s.key, str(exc)))
            return
        if value is None and s.kind != "args":
            return  # empty means "not set": keep the lower layer
        res.set(s.key, value, source, origin, note)

    def apply_file(s: Setting, path: Any, source: str, origin: str) -> None:
        """The secret in file ``path`` (an empty path: not set)."""
        path = "" if path is None else str(path).strip()
        if not path:
            return
        if not read_files:
            res.set(s.key, None, FILE, origin)
            return
        try:
            value = read_secret_file(path, s)
        except SecretFileError as exc:
            where = {FILE: f"{origin}={path}", CLI: f"{origin} {path}"}.get(source, f"profile {origin} = {path}")
            res.problems.append(Problem(s.key if source == FILE else s.file_key, f"{where}: {exc}"))
            return
        res.set(s.key, value, source, origin)

    for key, raw in (profile or {}).items():
        if key in BY_KEY:
            apply(BY_KEY[key], raw, PROFILE, "")
        elif key in BY_FILE_KEY:
            apply_file(BY_FILE_KEY[key], raw, PROFILE, key)
        else:
            res.notes.append(f"profile key {key!r} is not a launch setting; ignored")

    for s in SETTINGS:
        # Aliases first (lowest), then the main name, then the file: later wins.
        used = [a for a in s.aliases if env.get(a, "") != ""]
        for alias in reversed(used):
            apply(s, env[alias], ALIAS, alias)
        if used and env.get(s.env, "") != "":
            res.notes.append(f"{s.env} and {used[0]} both set; {s.env} wins")
        elif used:
            res.notes.append(f"{used[0]} read as {s.env}")
        if env.get(s.env, "") != "":
            apply(s, env[s.env], ENV, s.env)
        if s.file_env and env.get(s.file_env, "") != "":
            if env.get(s.env, "") != "":
                res.notes.append(f"{s.env} and {s.file_env} both set; the file wins")
            apply_file(s, env[s.file_env], FILE, s.file_env)

    for key, raw in (cli or {}).items():
        if key in BY_KEY and raw is not None:
            apply(BY_KEY[key], raw, CLI, BY_KEY[key].cli_flag)
        elif key in BY_FILE_KEY and raw is not None:
            s = BY_FILE_KEY[key]
            apply_file(s, raw, CLI, f"{s.cli_flag}-file")

    # The parsers' default (gpt-oss) only makes sense for gpt-oss: another model gets
    # none unless they were set on purpose.
    if gpt_oss_variant(res.values.get("model")) is None:
        for key in ("reasoning_parser", "tool_call_parser"):
            if res.sources.get(key) == DEFAULT:
                res.set(key, PARSER_OFF, DEFAULT)
                res.notes.append(f"{BY_KEY[key].env} left off: the gpt-oss parser only fits gpt-oss models")
    return res


def is_known_model(model: str | None) -> bool:
    """One of the two published ids exactly."""
    return model in KNOWN_MODELS


def gpt_oss_variant(model: str | None) -> str | None:
    """The published id a MODEL stands for: the id itself, or a local folder / mirror
    whose last path part is ``gpt-oss-20b`` / ``gpt-oss-120b`` (same checkpoint assumed)."""
    if not model:
        return None
    if model in KNOWN_MODELS:
        return model
    base = model.rstrip("/").rsplit("/", 1)[-1].lower()
    return next((m for m in KNOWN_MODELS if m.endswith("/" + base)), None)


def model_size(model: str | None) -> str | None:
    """``"20b"`` / ``"120b"`` for gpt-oss (by id, folder or mirror name), else None."""
    variant = gpt_oss_variant(model)
    return variant.rsplit("-", 1)[1] if variant else None

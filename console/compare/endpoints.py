"""The endpoints of a bake-off: ``NAME=URL`` pairs, a key for each from a file or the environment.

A key is never taken from a command-line value (``ps`` shows argv): ``--api-key-file NAME=FILE``,
else ``GPT_OSS_CONSOLE_API_KEY_FILE_<NAME>``, else ``GPT_OSS_CONSOLE_API_KEY_<NAME>`` (NAME in
capitals, other characters as ``_``). No key is shared between endpoints: one server's key is
never sent to another.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE
from console.secret import Secret, SecretFileError, read_secret_file
from console.server.endpoint import API_KEY_ENV, API_KEY_FILE_ENV, Endpoint

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
EXAMPLE = "--endpoint sglang=http://127.0.0.1:30000"


@dataclass(frozen=True)
class Named:
    name: str
    endpoint: Endpoint

    def to_dict(self) -> dict:
        return {"name": self.name, **self.endpoint.to_dict()}


def env_suffix(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def key_env_names(name: str) -> tuple[str, str]:
    """The file and value variables that hold ``name``'s key."""
    return f"{API_KEY_FILE_ENV}_{env_suffix(name)}", f"{API_KEY_ENV}_{env_suffix(name)}"


def _pairs(values: list[str], flag: str, what: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        name, sep, rest = v.partition("=")
        name, rest = name.strip(), rest.strip()
        if not sep or not name or not rest:
            raise ConsoleError(f"{flag} {v!r} is not NAME={what}", f"e.g. {flag} sglang={'http://127.0.0.1:30000' if what == 'URL' else '/run/keys/sglang'}",
                               exit_code=EXIT_USAGE)
        if not _NAME.match(name):
            raise ConsoleError(f"{flag}: {name!r} is not a usable name",
                               "use letters, digits, '.', '_' or '-' (at most 32), starting with a letter or digit",
                               exit_code=EXIT_USAGE)
        out.append((name, rest))
    return out


def parse_endpoints(endpoints: list[str], key_files: list[str] | None = None, models: list[str] | None = None,
                    env: Mapping[str, str] | None = None) -> list[Named]:
    """Endpoints from ``--endpoint NAME=URL``, keys from ``--api-key-file NAME=FILE`` or the
    environment, models from ``--model NAME=ID``. Bad input is a ConsoleError (exit 2)."""
    from console.server.client import root_url

    env = os.environ if env is None else env
    pairs = _pairs(endpoints or [], "--endpoint", "URL")
    if not pairs:
        raise ConsoleError("no endpoints to compare", f"name each one: {EXAMPLE} --endpoint vllm=http://127.0.0.1:8000",
                           exit_code=EXIT_USAGE)
    names = [n for n, _ in pairs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConsoleError(f"endpoint name(s) used twice: {', '.join(dup)}", "give each endpoint its own name",
                           exit_code=EXIT_USAGE)
    urls = [root_url(u) for _, u in pairs]  # a URL no request can reach: exit 2, in words
    files = dict(_pairs(key_files or [], "--api-key-file", "FILE"))
    chosen = dict(_pairs(models or [], "--model", "ID"))
    for flag, given in (("--api-key-file", files), ("--model", chosen)):
        stray = sorted(set(given) - set(names))
        if stray:
            raise ConsoleError(f"{flag} names no endpoint: {', '.join(stray)}", f"endpoints: {', '.join(names)}",
                               exit_code=EXIT_USAGE)
    out = []
    for (name, _), url in zip(pairs, urls):
        file_var, value_var = key_env_names(name)
        key: Secret | None = None
        try:
            if name in files:
                key = read_secret_file(files[name], what=f"API key of {name}")
            elif env.get(file_var):
                key = read_secret_file(env[file_var], what=f"API key of {name}")
            elif env.get(value_var):
                key = Secret(env[value_var], source=f"env {value_var}")
        except SecretFileError as e:
            raise ConsoleError(str(e), exit_code=EXIT_USAGE) from None
        out.append(Named(name, Endpoint(base_url=url, api_key=key, model=chosen.get(name))))
    return out

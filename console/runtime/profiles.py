"""Launch profiles: named sets of setting values as TOML in the XDG config dir.

``$XDG_CONFIG_HOME/gpt-oss-console/profiles/<name>.toml`` (dir 0700, files
0600, written atomically). Secrets are dropped unless the operator asks to keep
them; then they live only in that 0600 file. A secret read from a file keeps its
path (``api_key_file = "/…"``): the profile remembers where the key is, not the key. A file that does not parse is
never overwritten: it is moved aside and the error names the file and line.
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from console.errors import ConsoleError
from console.exit_codes import EXIT_NOT_FOUND, EXIT_USAGE
from console.private_file import write_private

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_PROFILE = "default"


class ProfileError(ConsoleError):
    exit_code = EXIT_USAGE


class ProfileNotFound(ProfileError):
    exit_code = EXIT_NOT_FOUND


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "gpt-oss-console"


def profiles_dir() -> Path:
    return config_dir() / "profiles"


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise ProfileError(
            f"invalid profile name {name!r}",
            "use letters, digits, '.', '_' or '-' (up to 64 characters, not starting with a symbol)",
        )
    return name


@dataclass
class Profile:
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    keep_secrets: bool = False
    saved_at: float | None = None

    @property
    def path(self) -> Path:
        return profiles_dir() / f"{self.name}.toml"


def _secret_names() -> set[str]:
    from console.settings import SETTINGS

    return {s.key for s in SETTINGS if s.secret}


def path_for(name: str) -> Path:
    return profiles_dir() / f"{check_name(name)}.toml"


def list_profiles() -> list[str]:
    d = profiles_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.toml") if NAME_RE.match(p.stem))


def load(name: str) -> Profile:
    path = path_for(name)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProfileNotFound(
            f"no profile named {name!r}",
            f"saved profiles: {', '.join(list_profiles()) or 'none'} (in {profiles_dir()})",
        ) from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(
            f"profile {path} is not valid TOML: {exc}",
            "fix the file by hand (nothing was changed), or delete it and save the profile again",
        ) from None
    meta = doc.get("profile", {}) if isinstance(doc.get("profile"), dict) else {}
    values = doc.get("settings", {})
    if not isinstance(values, dict):
        raise ProfileError(f"profile {path}: [settings] must be a table", "fix the file by hand")
    return Profile(
        name=name,
        values=dict(values),
        keep_secrets=bool(meta.get("keep_secrets", False)),
        saved_at=meta.get("saved_at"),
    )


def _dump(profile: Profile, secrets: Iterable[str]) -> bytes:
    import tomli_w

    from console.secret import Secret, reveal
    from console.settings.spec import BY_KEY

    secrets = set(secrets)
    values: dict[str, Any] = {}
    for k, v in sorted(profile.values.items()):
        if v is None:
            continue
        path = v.path if isinstance(v, Secret) else None
        if path and k in BY_KEY and BY_KEY[k].file_key:
            values[BY_KEY[k].file_key] = path
        if profile.keep_secrets or k not in secrets:
            values[k] = reveal(v)
    doc = {
        "profile": {"name": profile.name, "keep_secrets": profile.keep_secrets, "saved_at": time.time()},
        "settings": values,
    }
    return tomli_w.dumps(doc).encode("utf-8")


def save(profile: Profile, secrets: Iterable[str] | None = None) -> Path:
    """Write ``profile``; an existing file that does not parse is kept aside, not lost."""
    path = path_for(profile.name)
    if path.exists():
        try:
            tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            aside = path.with_name(f"{path.name}.invalid-{int(time.time())}")
            os.replace(path, aside)
    write_private(path, _dump(profile, _secret_names() if secrets is None else secrets), own_dir=True, fsync=True)
    profile.saved_at = time.time()
    return path


def endpoint(name: str):
    """The server a profile launches, for the client commands: where it publishes, its key (kept in
    the profile, or its key file) and the model name it serves."""
    from console.server.endpoint import Endpoint
    from console.settings import resolve

    res = resolve({}, profile=load(name).values)
    problems = [p.message for p in res.errors if p.key.startswith("api_key")]
    if problems:
        raise ProfileError(f"profile {name}: {problems[0]}", "fix the profile's API key file")
    v = res.values
    host = str(v.get("publish_address") or "127.0.0.1")
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    host = f"[{host}]" if ":" in host else host
    return Endpoint(base_url=f"http://{host}:{v.get('host_port') or v.get('port')}", api_key=v.get("api_key"),
                    model=v.get("served_model_name") or v.get("model"))


def duplicate(name: str, new_name: str) -> Profile:
    src = load(name)
    if path_for(new_name).exists():
        raise ProfileError(f"profile {new_name!r} already exists", "pick another name or delete it first")
    copy = Profile(name=new_name, values=dict(src.values), keep_secrets=src.keep_secrets)
    save(copy, secrets=())  # the source file already decided which secrets it holds
    return copy


def delete(name: str) -> None:
    path = path_for(name)
    try:
        path.unlink()
    except FileNotFoundError:
        raise ProfileNotFound(f"no profile named {name!r}") from None

"""Secrets reach containers as read-only files, never as env values or argv the console chooses.

``docker inspect`` shows a container's env and command; ``ps`` on the host shows every
process's argv. So each secret a launch needs becomes a file mounted read-only under
``/run/secrets/gpt-oss-console/`` in the container: the operator's own file when the secret
came from one, else a 0400 copy the console writes under its state dir
(``$XDG_STATE_HOME/gpt-oss-console/secrets/<container>/``, folder 0700). The image's
entrypoint reads them as ``API_KEY_FILE`` / ``HF_TOKEN_FILE``; a stock SGLang image gets its
API key in a ``--config`` YAML and the HF token through ``HF_TOKEN_PATH``.

Files are kept while the container exists (a restart mounts them again) and deleted when the
console removes it. A Docker Engine on another host would read a bind mount's path on that
host, so there the files are copied into the created container instead (:func:`copy_into`,
``LaunchSpec.secrets_copied``): the same paths, root-owned 0400, in its own filesystem.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from console.private_file import private_dir, state_dir, write_private
from console.secret import Secret, SecretFileError, read_secret_file

IN_CONTAINER = "/run/secrets/gpt-oss-console"
SGLANG_CONFIG = "sglang.yaml"  # SGLang's --config wants the .yaml suffix
VLLM_CONFIG = "vllm.yaml"  # vLLM's --config (console.engines.vllm's config_file)
CONFIG_FILES = (SGLANG_CONFIG, VLLM_CONFIG)  # option files holding the API key as `api-key: "…"`
FILE_MODE = 0o400


@dataclass(frozen=True)
class SecretFile:
    """One file the container gets: ``name`` in IN_CONTAINER, holding ``content``."""

    name: str
    content: Secret
    source: str | None = None  # the operator's own file, mounted as it is (None: the console writes one)

    @property
    def container_path(self) -> str:
        return f"{IN_CONTAINER}/{self.name}"


def secrets_dir(container_name: str) -> Path:
    return state_dir() / "secrets" / container_name


def host_path(sf: SecretFile, container_name: str) -> str:
    return sf.source or str(secrets_dir(container_name) / sf.name)


def write(files: Iterable[SecretFile], container_name: str) -> list[Path]:
    """Write the console's own files (0400 in a 0700 folder); the operator's files stay as they are."""
    ours = [f for f in files if not f.source]
    if not ours:
        return []
    folder = private_dir(secrets_dir(container_name))
    private_dir(folder.parent)
    return [write_private(folder / f.name, f.content.reveal() + ("" if f.name in CONFIG_FILES else "\n"),
                          mode=FILE_MODE) for f in ours]


def copy_into(container, files: Iterable[SecretFile]) -> None:
    """Copy each file into a created (not yet started) container: root-owned, 0400, under
    IN_CONTAINER (``docker inspect`` shows neither the path's content nor a mount)."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:
        parts = IN_CONTAINER.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            folder = tarfile.TarInfo("/".join(parts[:i]))
            folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755 if i < len(parts) else 0o700, now
            tar.addfile(folder)
        for f in files:
            data = (f.content.reveal() + ("" if f.name in CONFIG_FILES else "\n")).encode()
            info = tarfile.TarInfo(f.container_path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), FILE_MODE, now
            tar.addfile(info, io.BytesIO(data))
    if not container.put_archive("/", buf.getvalue()):
        raise OSError(f"Docker did not accept the secret files into {container.name}")


def forget(container_name: str) -> None:
    """Delete the console's files for a container it removed."""
    shutil.rmtree(secrets_dir(container_name), ignore_errors=True)


def mounts(attrs: dict[str, Any]) -> dict[str, str]:
    """Container path → host path of a container's secret mounts (from ``inspect``)."""
    out = {}
    for m in attrs.get("Mounts") or []:
        dest = str(m.get("Destination") or "")
        if dest.startswith(IN_CONTAINER + "/"):
            out[dest] = str(m.get("Source") or "")
    return out


def read_back(attrs: dict[str, Any], name: str) -> Secret | None:
    """The secret a container was given as file ``name`` (or in its SGLang/vLLM config, for the API key),
    read from this host's copy; None when it has none or the file is not readable here."""
    found = mounts(attrs)
    path = found.get(f"{IN_CONTAINER}/{name}")
    if path:
        try:
            return read_secret_file(path, what=name.replace("_", " "))
        except SecretFileError:
            return None
    config = next((found[f"{IN_CONTAINER}/{c}"] for c in CONFIG_FILES if f"{IN_CONTAINER}/{c}" in found), None)
    if config and name == "api_key":
        from console.settings import read_sglang_config

        try:
            with open(config, encoding="utf-8") as fh:
                value = read_sglang_config(fh.read()).get("api-key")
        except OSError:
            return None
        return Secret(value, source=f"file {config}") if value else None
    return None


def known_secrets(attrs: dict[str, Any]) -> list[Secret]:
    """Every secret of a container readable here: the scrubber masks them in its log from then on."""
    out = []
    for dest in mounts(attrs):
        name = os.path.basename(dest)
        if name in CONFIG_FILES:
            name = "api_key"
        secret = read_back(attrs, name)
        if secret:
            out.append(secret)
    return out

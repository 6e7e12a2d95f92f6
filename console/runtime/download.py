"""How much of a model's checkpoint is in the HF cache the container writes to: the download
part of the loading-weights phase, measured (SGLang downloads the weights after "Load weight
begin" and logs nothing while it does).

The cache is the host folder mounted at the container's HF cache path; the checkpoint's size
comes from the planner's catalog (known models only). The folder is walked with os.scandir
(a checkpoint is a few dozen files): cheap enough every couple of seconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from console.planner.catalog import MODELS
from console.runtime.spec import HF_CACHE_IN_CONTAINER, LABEL_MODEL

GiB = 1024**3


def folder_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path`` (blobs and .incomplete downloads)."""
    total = 0
    stack = [str(path)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue  # a download renamed or removed under us: counted on the next look
    return total


class DownloadWatch:
    """The model's folder in the mounted HF cache and the checkpoint's published size."""

    def __init__(self, folder: Path, total_bytes: int) -> None:
        self.folder = folder
        self.total_bytes = total_bytes

    @classmethod
    def for_container(cls, attrs: dict[str, Any]) -> "DownloadWatch | None":
        """From ``docker inspect``: the host folder mounted at the HF cache path and the model
        label. None when there is no such mount here, or the model's size is not known."""
        model = ((attrs.get("Config") or {}).get("Labels") or {}).get(LABEL_MODEL, "")
        spec = next((m for m in MODELS.values() if m.hf_id == model), None)
        host = next((m.get("Source") for m in attrs.get("Mounts") or []
                     if m.get("Destination") == HF_CACHE_IN_CONTAINER), None)
        if spec is None or not host or not os.path.isdir(host):
            return None  # no cache mount, or the engine's host is not this one
        org, _, name = model.partition("/")
        return cls(Path(host) / "hub" / f"models--{org}--{name}", int(spec.checkpoint_gib * GiB))

    def sample(self) -> int:
        return folder_bytes(self.folder) if self.folder.is_dir() else 0

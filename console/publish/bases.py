"""The SGLang bases the image is built on, read from ``docker/Dockerfile`` (the one list).

Each ``ARG BASE_IMAGE_<NAME>=<image>`` line there is a base; ``ARG BASE_IMAGE=${BASE_IMAGE_<NAME>}``
names the default. What a Dockerfile cannot say (the platform, RunPod's compute category,
the hardware in words) is in ``TRAITS`` here, and a base missing from either side is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "docker" / "Dockerfile"

# name → (platform, RunPod template category, hardware in words)
TRAITS = {
    "hopper": ("linux/amd64", "NVIDIA", "Hopper H100 / H200 (also A100, L40S, RTX 4090)"),
    "blackwell": ("linux/amd64", "NVIDIA", "Blackwell B200 / GB200"),
    "spark": ("linux/arm64", "NVIDIA", "DGX Spark (GB10, arm64)"),
    "amd": ("linux/amd64", "AMD", "AMD MI300X (ROCm)"),
}

_ARG = re.compile(r"^ARG\s+BASE_IMAGE_([A-Z0-9_]+)=(\S+)\s*$", re.M)
_DEFAULT = re.compile(r"^ARG\s+BASE_IMAGE=\$\{BASE_IMAGE_([A-Z0-9_]+)\}\s*$", re.M)


class BasesError(ValueError):
    """The Dockerfile's base list and TRAITS disagree, or a base is unknown (said in words)."""


@dataclass(frozen=True)
class Base:
    name: str
    image: str
    platform: str
    category: str  # RunPod's template category: NVIDIA or AMD
    hardware: str
    default: bool = False


def bases(dockerfile: Path = DOCKERFILE) -> list[Base]:
    text = dockerfile.read_text(encoding="utf-8")
    found = {name.lower(): image for name, image in _ARG.findall(text)}
    default = _DEFAULT.search(text)
    if not found or default is None:
        raise BasesError(f"{dockerfile} has no ARG BASE_IMAGE_<NAME>=… lines with ARG BASE_IMAGE=${{BASE_IMAGE_<NAME>}}")
    unknown, missing = set(found) - set(TRAITS), set(TRAITS) - set(found)
    if unknown or missing:
        raise BasesError(f"{dockerfile} and console/publish/bases.py TRAITS disagree: "
                         f"only in the Dockerfile {sorted(unknown)}, only in TRAITS {sorted(missing)}")
    chosen = default.group(1).lower()
    return [Base(name, found[name], *TRAITS[name], default=name == chosen) for name in TRAITS]


def get(name: str, dockerfile: Path = DOCKERFILE) -> Base:
    for base in bases(dockerfile):
        if base.name == name:
            return base
    raise BasesError(f"unknown base {name!r}: use one of {', '.join(TRAITS)}")


def default_base(dockerfile: Path = DOCKERFILE) -> Base:
    return next(b for b in bases(dockerfile) if b.default)

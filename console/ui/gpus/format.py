"""Plain-text cells for GPU telemetry. ``None`` (NVML said NotSupported) is "n/a"."""

from __future__ import annotations

import re

NA = "n/a"
GiB = 1024**3


def gib(n: int | float | None, digits: int = 1) -> str:
    return NA if n is None else f"{n / GiB:.{digits}f}"


def vram(used: int | None, total: int | None) -> str:
    if used is None and total is None:
        return NA
    return f"{gib(used)}/{gib(total)}"


def pct(n: float | int | None) -> str:
    return NA if n is None else f"{n:.0f}%"


def temp(c: int | None) -> str:
    return NA if c is None else f"{c}°C"


def power(w: float | None, limit: float | None) -> str:
    if w is None and limit is None:
        return NA
    now = "?" if w is None else f"{w:.0f}"
    cap = "?" if limit is None else f"{limit:.0f}"
    return f"{now}/{cap}"


def mhz(n: int | None) -> str:
    return NA if n is None else f"{n}"


def pcie(gen: int | None, gen_max: int | None) -> str:
    if gen is None and gen_max is None:
        return NA
    return f"{gen if gen is not None else '?'}/{gen_max if gen_max is not None else '?'}"


def short_name(name: str) -> str:
    """"NVIDIA H100 80GB HBM3" → "H100 80GB HBM3": the vendor is the same on every row."""
    return re.sub(r"^NVIDIA\s+(GeForce\s+)?", "", name).strip() or name


def tokens(n: int) -> str:
    """131072 → "128K"; 1234567 → "1.2M"."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}K"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)


def parse_tokens(text: str) -> int | None:
    """"32k"/"32K" → 32768, "131072" → 131072; None when not a number."""
    t = text.strip().lower().replace(",", "").replace("_", "")
    if not t:
        return None
    scale = 1
    if t.endswith("k"):
        t, scale = t[:-1], 1024
    try:
        value = float(t) * scale
    except ValueError:
        return None
    return int(value) if value >= 1 else None

"""Showing a secret without revealing it."""

from __future__ import annotations


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

"""The one secret scrubber: names from the settings declaration, values from every live Secret.

Every output the console produces (screens, previews, exports, logs, bundles, transcripts, JSON)
passes text through :func:`scrub` (or a structure through :func:`scrub_obj`). The names are
each ``secret=True`` setting's key, env name, aliases and flags, so a secret added to the
declaration is masked everywhere without touching this file; the values are those of every
:class:`console.secret.Secret` this process holds (an API key typed into a form, read from a
file, found in a container's secret mount), wherever they appear. Stdlib only (ships in the image).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from console.secret import Scrubber, mask_secret

from .spec import SETTINGS


# Secrets an engine prints that are no setting of ours: SGLang's ServerArgs has
# ssl_keyfile_password (a name ending in one of these matches too, e.g. admin_api_key).
ENGINE_SECRET_NAMES = ("password",)


def secret_names() -> tuple[str, ...]:
    """Every name a secret setting is known by: ``api_key``, ``API_KEY``, ``--api-key``, aliases…"""
    names: list[str] = list(ENGINE_SECRET_NAMES)
    for s in SETTINGS:
        if s.secret:
            names += [s.key, s.env, *s.aliases, s.cli_flag]
            if s.flag:
                names.append(s.flag)
    return tuple(dict.fromkeys(names))


SCRUBBER = Scrubber(secret_names())


@lru_cache(maxsize=32)
def scrubber_with(names: tuple[str, ...]) -> Scrubber:
    """The one scrubber, also knowing ``names`` (an engine's own secret flags, say)."""
    return Scrubber((*SCRUBBER.names, *names))


def scrub(text: str) -> str:
    return SCRUBBER.scrub(text)


def scrub_lines(lines: list[str]) -> list[str]:
    return SCRUBBER.scrub_lines(lines)


def scrub_obj(obj: Any) -> Any:
    return SCRUBBER.scrub_obj(obj)


def redact_argv(argv: Iterable[str], values: Any = None) -> list[str]:
    """A copy of argv safe to print (``values``: more secrets to mask, e.g. resolved settings)."""
    extra = [v for k, v in (values or {}).items() if v and _is_secret(k)] if values else []
    scrubber = SCRUBBER.with_values(*extra) if extra else SCRUBBER
    return scrubber.scrub_argv(argv)


def _is_secret(key: str) -> bool:
    return any(s.key == key and s.secret for s in SETTINGS)


__all__ = ["SCRUBBER", "mask_secret", "redact_argv", "scrub", "scrub_lines", "scrub_obj", "scrubber_with",
           "secret_names"]

"""One server the console talks to: base URL, API key, model — and where each came from.

``endpoint_from_env()`` is the single reader of the client-side environment
(``GPT_OSS_CONSOLE_BASE_URL``, ``GPT_OSS_CONSOLE_API_KEY`` / ``GPT_OSS_CONSOLE_API_KEY_FILE``,
``GPT_OSS_CONSOLE_MODEL``) for every command and area that needs a server; ``resolve_endpoint()``
layers flags > environment > a base endpoint (a launch profile's server,
:func:`console.runtime.profiles.endpoint`) > defaults for the client commands.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Mapping

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE
from console.secret import Secret, SecretFileError, as_secret, read_secret_file

BASE_URL_ENV = "GPT_OSS_CONSOLE_BASE_URL"
API_KEY_ENV = "GPT_OSS_CONSOLE_API_KEY"
API_KEY_FILE_ENV = "GPT_OSS_CONSOLE_API_KEY_FILE"
MODEL_ENV = "GPT_OSS_CONSOLE_MODEL"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Endpoint:
    base_url: str = DEFAULT_BASE_URL
    api_key: Secret | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_key", as_secret(self.api_key))  # a plain string still arrives as a Secret

    def with_(self, **changes) -> "Endpoint":
        return replace(self, **changes)

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header: the one place a key is revealed on its way to a server."""
        from console.server.client import bearer

        return bearer(self.api_key)

    def to_dict(self) -> dict:
        return {"base_url": self.base_url, "api_key": self.api_key.masked if self.api_key else None,
                "model": self.model}


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The fields the environment sets (only those)."""
    out: dict[str, Any] = {}
    if env.get(API_KEY_FILE_ENV):
        out["api_key"] = read_secret_file(env[API_KEY_FILE_ENV], what="API key")
    elif env.get(API_KEY_ENV):
        out["api_key"] = Secret(env[API_KEY_ENV], source=f"env {API_KEY_ENV}")
    if env.get(BASE_URL_ENV):
        out["base_url"] = env[BASE_URL_ENV]
    if env.get(MODEL_ENV):
        out["model"] = env[MODEL_ENV]
    return out


def endpoint_from_env(env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint the environment describes; the key file wins over the key value.

    Raises ``console.secret.SecretFileError`` when the key file is named but unusable.
    """
    return Endpoint(**_from_env(os.environ if env is None else env))


def endpoint_or_problem(env: Mapping[str, str] | None = None, *,
                        default_base_url: str = DEFAULT_BASE_URL) -> tuple[Endpoint, str | None]:
    """For the console's areas: the environment's endpoint, and a sentence when its key file is
    unusable (the endpoint then has no key) instead of an exception at start-up.
    ``default_base_url``: what an unset URL means ("" for "no endpoint yet")."""
    env = os.environ if env is None else env
    problem = None
    try:
        fields = _from_env(env)
    except SecretFileError as exc:
        fields = _from_env({k: v for k, v in env.items() if k not in (API_KEY_FILE_ENV, API_KEY_ENV)})
        problem = f"{API_KEY_FILE_ENV}: {exc}"
    fields.setdefault("base_url", default_base_url)
    return Endpoint(**fields), problem


def resolve_endpoint(*, base_url: str | None = None, api_key: Secret | str | None = None,
                     api_key_file: str | None = None, model: str | None = None, base: Endpoint | None = None,
                     env: Mapping[str, str] | None = None) -> Endpoint:
    """Flags > environment > ``base`` (e.g. a profile's server) > defaults, field by field.

    Raises ConsoleError (exit 2) for a key file that cannot be used, with what to do.
    """
    env = os.environ if env is None else env
    fields: dict[str, Any] = {}
    if base is not None:
        fields.update(base_url=base.base_url, model=base.model)
        if base.api_key:
            fields["api_key"] = base.api_key
    try:
        fields.update(_from_env(env))
        if api_key_file:
            fields["api_key"] = read_secret_file(api_key_file, what="API key")
        elif api_key:
            fields["api_key"] = as_secret(api_key, "--api-key")
    except SecretFileError as exc:
        raise ConsoleError(str(exc), f"or give the key another way: {API_KEY_FILE_ENV} or a profile",
                           exit_code=EXIT_USAGE) from None
    if base_url:
        fields["base_url"] = base_url
    if model:
        fields["model"] = model
    return Endpoint(**fields)

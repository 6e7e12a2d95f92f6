"""One server the console talks to: base URL, API key, model — and where each came from.

``endpoint_from_env()`` is the single reader of the client-side environment
(``GPT_OSS_CONSOLE_BASE_URL``, ``GPT_OSS_CONSOLE_API_KEY`` / ``GPT_OSS_CONSOLE_API_KEY_FILE``,
``GPT_OSS_CONSOLE_MODEL``) for every command and area that needs a server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Mapping

from console.secret import Secret, read_secret_file

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

    def with_(self, **changes) -> "Endpoint":
        return replace(self, **changes)

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header: the one place a key is revealed on its way to a server."""
        return {"Authorization": f"Bearer {self.api_key.reveal()}"} if self.api_key else {}

    def to_dict(self) -> dict:
        return {"base_url": self.base_url, "api_key": self.api_key.masked if self.api_key else None,
                "model": self.model}


def endpoint_from_env(env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint the environment describes; the key file wins over the key value.

    Raises ``console.secret.SecretFileError`` when the key file is named but unusable.
    """
    env = os.environ if env is None else env
    key: Secret | None = None
    if env.get(API_KEY_FILE_ENV):
        key = read_secret_file(env[API_KEY_FILE_ENV], what="API key")
    elif env.get(API_KEY_ENV):
        key = Secret(env[API_KEY_ENV], source=f"env {API_KEY_ENV}")
    return Endpoint(base_url=env.get(BASE_URL_ENV) or DEFAULT_BASE_URL, api_key=key,
                    model=env.get(MODEL_ENV) or None)

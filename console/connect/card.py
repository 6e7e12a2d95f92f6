"""One server's connect card: its routes, the one snippets use, and the snippets.

``build_card`` is pure (no network): the caller says the model. ``served_model`` asks
the server's ``/v1/models`` when nobody said which model it serves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Mapping

from console.connect import routes as R
from console.connect.snippets import KeyRef, Snippet, all_snippets
from console.server.endpoint import Endpoint


@dataclass(frozen=True)
class Card:
    endpoint: Endpoint
    server: R.Server
    model: str
    key: KeyRef
    routes: list[R.Route]
    route: R.Route  # the one the snippets use
    snippets: list[Snippet] = field(default_factory=list)

    def snippet(self, name: str) -> Snippet:
        return next(s for s in self.snippets if s.name == name)

    @property
    def tunnel(self) -> R.Route | None:
        return next((r for r in self.routes if r.first), None)

    def env_updates(self) -> dict:
        """What ``--write-env`` sets: the URLs and model, and the key itself when it is known
        (it goes only into the operator's 0600 file, never on screen)."""
        from console.connect.snippets import KEY_ENV, NO_KEY, env_values

        values: dict = dict(env_values(self.route.base_url, self.model))
        if not self.key.needed:
            values[KEY_ENV] = NO_KEY
        elif self.endpoint.api_key is not None:
            values[KEY_ENV] = self.endpoint.api_key
        return values

    def to_dict(self) -> dict:
        return {
            "server": self.endpoint.to_dict(),
            "model": self.model,
            "key": self.key.to_dict() | {"read_from": self.key.describe()},
            "base_url": self.route.base_url,
            "openai_base_url": self.route.base_url.rstrip("/") + "/v1",
            "route": self.route.to_dict(),
            "routes": [r.to_dict() for r in self.routes],
            "snippets": {s.name: s.text for s in self.snippets},
        }


def key_ref(endpoint: Endpoint, *, key_file: str | None = None, needed: bool | None = None) -> KeyRef:
    """Snippets read the key from the file it came from, else from ``$OPENAI_API_KEY``."""
    if needed is None:
        needed = bool(endpoint.api_key)
    if key_file is None and endpoint.api_key is not None:
        source = endpoint.api_key.source or ""
        if source.startswith("file "):
            key_file = os.path.abspath(source[len("file "):])
    return KeyRef(file=key_file, needed=needed)


def build_card(endpoint: Endpoint, model: str, *, bind: str | None = None, via: str | None = None,
               key: KeyRef | None = None, env: Mapping[str, str] | None = None,
               addresses: Callable[[], list[str]] | None = None) -> Card:
    server = R.Server.from_url(endpoint.base_url, bind)
    found = R.routes(server, env, addresses)
    chosen = R.pick(found, via)
    key = key or key_ref(endpoint)
    return Card(endpoint, server, model, key, found, chosen, all_snippets(chosen.base_url, model, key))


def served_model(endpoint: Endpoint, timeout: float = 10.0) -> str:
    """The first model ``/v1/models`` lists (ConsoleError, in words, when the server cannot say)."""
    from console.server.client import ServerClient

    key = endpoint.api_key.reveal() if endpoint.api_key else None
    with ServerClient(endpoint.base_url, key, timeout=timeout) as client:
        ids = client.model_ids()
    if not ids:
        from console.errors import ConsoleError
        from console.exit_codes import EXIT_UNAVAILABLE

        raise ConsoleError(f"{endpoint.base_url} lists no model on /v1/models", "pass --model NAME",
                           exit_code=EXIT_UNAVAILABLE)
    return ids[0]

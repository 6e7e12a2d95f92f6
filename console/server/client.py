"""Talk to a running SGLang (or any OpenAI-compatible) server's plain HTTP routes.

``ServerClient`` (blocking, for workers and the CLI) and ``AsyncServerClient`` share
one set of route rules and error wording. httpx is imported when a client is made,
never at import time. Every failure is a ``ConsoleError`` in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.exit_codes import EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE
from console.errors import ConsoleError
from console.secret import Secret, as_secret, reveal

# Where a key comes from, for a 401's hint: the command line and the console both read it there.
KEY_HINT = "--api-key-file FILE or GPT_OSS_CONSOLE_API_KEY_FILE; in the console, the API key field"

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Health:
    status_code: int
    ready: bool  # 200: ready; 503: starting (or shutting down)
    detail: str

    @property
    def starting(self) -> bool:
        return self.status_code == 503


# SGLang's info routes, newest first: the default of server_info (the engines pass their own
# Probes.info; this package cannot import console.engines, which reads its metric names).
SGLANG_INFO = ("/server_info", "/get_server_info")


def root_url(base_url: str) -> str:
    """``http://h:p/v1/`` → ``http://h:p``: SGLang's own routes live at the root.

    Every client path goes through here, so a URL no request could reach (no host, a port
    outside 1–65535, another scheme) is refused once, in words, instead of surfacing as a
    socket error from deep inside the HTTP stack.
    """
    from urllib.parse import urlsplit

    url = base_url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if url.endswith("/v1"):
        url = url[:-3]
    hint = "use a URL like http://127.0.0.1:8000"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError outside 0–65535
    except ValueError as exc:
        raise ConsoleError(f"not a usable server URL: {base_url!r} ({exc})", hint, exit_code=EXIT_USAGE) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ConsoleError(f"not a usable server URL: {base_url!r}", hint, exit_code=EXIT_USAGE)
    return url


def openai_base_url(base_url: str) -> str:
    """The base URL an OpenAI client wants (ends in /v1)."""
    return root_url(base_url) + "/v1"


def bearer(api_key: Secret | str | None) -> dict[str, str]:
    """The Authorization header: where a client's key is revealed on its way to the server.

    Raises ConsoleError for a key an HTTP header cannot carry (a character outside printable
    ASCII: a stray byte from copying, a file in another encoding), before any request is sent;
    the message says where the key came from, never the key."""
    if not api_key:
        return {}
    value = reveal(api_key) or ""
    bad = next((i for i, c in enumerate(value) if not " " < c < "\x7f"), None)
    if bad is not None:
        src = getattr(api_key, "source", "") or "the key given"
        raise ConsoleError(f"the API key ({src}) holds a character an HTTP header cannot carry, at position {bad + 1}",
                           "API keys are printable ASCII without spaces: check the file or variable it came from",
                           exit_code=EXIT_USAGE)
    return {"Authorization": f"Bearer {value}"}


_auth_headers = bearer  # the name the clients import


def _connect_error(url: str, exc: Exception) -> ConsoleError:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return ConsoleError(f"{url} did not answer in time ({type(exc).__name__})",
                            "the server may be busy or still loading; retry, or raise --timeout",
                            exit_code=EXIT_UNAVAILABLE)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ConsoleError(f"not an http(s) URL: {url}", "use a URL like http://127.0.0.1:8000", exit_code=EXIT_USAGE)
    return ConsoleError(f"no server at {url}: is it running / is the port published?",
                        f"connection failed: {exc}", exit_code=EXIT_UNAVAILABLE)


class AuthRejected(ConsoleError):
    """401: waiting or retrying cannot help, unlike a server that is still starting."""


def check_response(resp: Any, what: str, *, api_key: str | None) -> None:
    """Raise a ConsoleError for non-2xx answers, worded for people."""
    code = resp.status_code
    if code < 300:
        return
    url = str(resp.request.url)
    if code == 401:
        if api_key:
            raise AuthRejected(f"the server rejected the API key ({what})",
                               "check that it is the key the server was started with", exit_code=EXIT_UNAVAILABLE)
        raise AuthRejected(f"the server wants an API key ({what})", KEY_HINT, exit_code=EXIT_UNAVAILABLE)
    if code == 503:
        raise ConsoleError(f"the server at {root_url(url)} is still starting ({what} answered 503)",
                           "wait for 'ready' in the logs, or for /health to answer 200", exit_code=EXIT_UNAVAILABLE)
    text = (resp.text or "").strip().replace("\n", " ")[:300]
    if code == 404 and what == "metrics":
        raise ConsoleError("the server has no /metrics", "launch SGLang with --enable-metrics", exit_code=EXIT_UNAVAILABLE)
    raise ConsoleError(f"{what}: HTTP {code} from {url}", text or None, exit_code=EXIT_FAILED)


def _json(resp: Any, what: str) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise ConsoleError(f"{what}: the server answered something that is not JSON",
                           (resp.text or "")[:200] or None) from None


def _models_from(body: Any) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise ConsoleError("/v1/models: no 'data' list in the answer", str(body)[:200])
    return [m for m in data if isinstance(m, dict) and "id" in m]


def _not_ready(base_url: str, timeout_s: float, last: ConsoleError | None) -> ConsoleError:
    """The one error both ``wait_ready`` loops end with (sync and async cannot share the loop itself)."""
    why = f" (last: {last.message})" if last is not None else ""
    return ConsoleError(f"{base_url} was not ready within {timeout_s:g} s{why}",
                        "check the server's logs", exit_code=EXIT_UNAVAILABLE)


class ServerClient:
    """Blocking client: ``health()``, ``models()``, ``server_info()``, ``model_info()``, ``metrics_text()``."""

    def __init__(self, base_url: str, api_key: Secret | str | None = None, timeout: float = DEFAULT_TIMEOUT):
        import httpx

        self.base_url = root_url(base_url)
        self.api_key = as_secret(api_key)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=_auth_headers(api_key))

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str) -> Any:
        import httpx

        try:
            return self._http.get(path)
        except httpx.HTTPError as e:
            raise _connect_error(self.base_url + path, e) from None

    def health(self) -> Health:
        r = self._get("/health")
        return Health(r.status_code, r.status_code == 200, (r.text or "").strip()[:200])

    def models(self) -> list[dict[str, Any]]:
        r = self._get("/v1/models")
        check_response(r, "/v1/models", api_key=self.api_key)
        return _models_from(_json(r, "/v1/models"))

    def model_ids(self) -> list[str]:
        return [m["id"] for m in self.models()]

    def server_info(self, routes: tuple[str, ...] = SGLANG_INFO) -> dict[str, Any]:
        """The running server's description: the first of ``routes`` that exists (an engine's
        ``Engine.probes.info``: vLLM's /v1/models, llama.cpp's /props; default SGLang's)."""
        return self._info(*routes)

    def model_info(self) -> dict[str, Any]:
        return self._info("/model_info", "/get_model_info")

    def _info(self, *routes: str) -> dict[str, Any]:
        for path in routes:
            r = self._get(path)
            if r.status_code not in (404, 405):  # a route this build lacks (older SGLang: /get_…)
                break
        check_response(r, routes[0], api_key=self.api_key)
        return _json(r, routes[0])

    def metrics_text(self) -> str:
        r = self._get("/metrics")
        check_response(r, "metrics", api_key=self.api_key)
        return r.text

    def wait_ready(self, timeout_s: float = 600.0, interval_s: float = 1.0) -> list[str]:
        """Poll until /health is 200 *and* /v1/models answers; return the model ids.

        One 200 from /health is not enough: older SGLang builds answer 200 while loading.
        Connection refused counts as "not yet" until the deadline.
        """
        import time

        deadline = time.monotonic() + timeout_s
        last: ConsoleError | None = None
        while True:
            try:
                if self.health().ready:
                    return self.model_ids()
            except AuthRejected:
                raise
            except ConsoleError as e:
                last = e
            if time.monotonic() >= deadline:
                raise _not_ready(self.base_url, timeout_s, last)
            time.sleep(interval_s)


class AsyncServerClient:
    """The same routes for asyncio code (the TUI's async workers, the smoke suite)."""

    def __init__(self, base_url: str, api_key: Secret | str | None = None, timeout: float = DEFAULT_TIMEOUT):
        import httpx

        self.base_url = root_url(base_url)
        self.api_key = as_secret(api_key)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=_auth_headers(api_key))

    async def __aenter__(self) -> AsyncServerClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str) -> Any:
        import httpx

        try:
            return await self._http.get(path)
        except httpx.HTTPError as e:
            raise _connect_error(self.base_url + path, e) from None

    async def health(self) -> Health:
        r = await self._get("/health")
        return Health(r.status_code, r.status_code == 200, (r.text or "").strip()[:200])

    async def models(self) -> list[dict[str, Any]]:
        r = await self._get("/v1/models")
        check_response(r, "/v1/models", api_key=self.api_key)
        return _models_from(_json(r, "/v1/models"))

    async def model_ids(self) -> list[str]:
        return [m["id"] for m in await self.models()]

    async def server_info(self, routes: tuple[str, ...] = SGLANG_INFO) -> dict[str, Any]:
        return await self._info(*routes)

    async def model_info(self) -> dict[str, Any]:
        return await self._info("/model_info", "/get_model_info")

    async def _info(self, *routes: str) -> dict[str, Any]:
        for path in routes:
            r = await self._get(path)
            if r.status_code not in (404, 405):
                break
        check_response(r, routes[0], api_key=self.api_key)
        return _json(r, routes[0])

    async def metrics_text(self) -> str:
        r = await self._get("/metrics")
        check_response(r, "metrics", api_key=self.api_key)
        return r.text

    async def wait_ready(self, timeout_s: float = 600.0, interval_s: float = 1.0) -> list[str]:
        """Async twin of ``ServerClient.wait_ready``."""
        import asyncio
        import time

        deadline = time.monotonic() + timeout_s
        last: ConsoleError | None = None
        while True:
            try:
                if (await self.health()).ready:
                    return await self.model_ids()
            except AuthRejected:
                raise
            except ConsoleError as e:
                last = e
            if time.monotonic() >= deadline:
                raise _not_ready(self.base_url, timeout_s, last)
            await asyncio.sleep(interval_s)

"""SGLang's router (SGL Model Gateway) over HTTP: its worker API, health and Prometheus metrics.

Worker API (sglang-router 0.3, smg 1.x): ``POST /workers {"url", "api_key"}`` (202, added in
the background), ``GET /workers``, ``DELETE /workers/{id}``; older routers take the URL
itself in the DELETE path or only the legacy ``/add_worker``, ``/remove_worker``,
``/list_workers``. The router's ``--api-key`` is required on every route (client and
admin) and is what it sends to the workers, so the fleet uses one key for all.

The worker's own key goes in the POST body: without it the router cannot read the
worker's ``/server_info``, registers it under model ``unknown`` and sends it nothing.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.exit_codes import EXIT_FAILED, EXIT_UNAVAILABLE
from console.secret import Secret


class RouterUnavailable(ConsoleError):
    exit_code = EXIT_UNAVAILABLE


class RouterRefused(ConsoleError):
    exit_code = EXIT_FAILED


@dataclass(frozen=True)
class RouterWorker:
    url: str
    id: str | None = None
    model_id: str | None = None
    healthy: bool | None = None
    load: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "id": self.id, "model_id": self.model_id, "healthy": self.healthy, "load": self.load}


@dataclass
class RouterMetrics:
    """The router's own Prometheus series (``smg_*``; ``sgl_router_*`` in older releases)."""

    requests_total: float | None = None  # client requests routed
    active: dict[str, float] = field(default_factory=dict)  # worker url → requests in flight through the router
    health: dict[str, float] = field(default_factory=dict)  # worker url → 1 healthy / 0 not
    circuit: dict[str, float] = field(default_factory=dict)  # worker url → circuit-breaker state (0 closed)
    succeeded: dict[str, float] = field(default_factory=dict)  # worker url → requests it answered (circuit breaker)
    ttft_p50_s: float | None = None
    series: dict[str, float] = field(default_factory=dict)  # every unlabelled gauge/counter, by name

    def to_dict(self) -> dict[str, Any]:
        return {"requests_total": self.requests_total, "active": self.active, "health": self.health,
                "circuit": self.circuit, "succeeded": self.succeeded, "ttft_p50_s": self.ttft_p50_s,
                "series": self.series}


def normalise_url(url: str) -> str:
    return url.rstrip("/")


class RouterClient:
    def __init__(self, base_url: str, api_key: Secret | None = None, *, timeout: float = 5.0):
        import httpx

        self.base_url = normalise_url(base_url)
        headers = {"Authorization": f"Bearer {api_key.reveal()}"} if api_key else {}
        self.api_key = api_key
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RouterClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs):
        import httpx

        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise RouterUnavailable(f"the router at {self.base_url} did not answer {method} {path} in time",
                                    "gpt-oss-console fleet status says whether it runs") from None
        except httpx.HTTPError as exc:
            raise RouterUnavailable(f"the router at {self.base_url} cannot be reached ({type(exc).__name__})",
                                    "start it with gpt-oss-console fleet up") from None

    def _check(self, resp, what: str) -> None:
        if resp.status_code == 401:
            raise RouterRefused(f"the router refused the fleet's API key ({what})",
                                "it was started with another key: gpt-oss-console fleet down, then fleet up")
        if resp.status_code >= 400:
            raise RouterRefused(f"the router answered {resp.status_code} to {what}: {resp.text[:200]}")

    # -- health ---------------------------------------------------------------------------
    def healthy(self) -> bool:
        try:
            return self._request("GET", "/health").status_code == 200
        except RouterUnavailable:
            return False

    def readiness(self) -> dict[str, Any]:
        resp = self._request("GET", "/readiness")
        try:
            return resp.json()
        except ValueError:
            return {"status": "ready" if resp.status_code == 200 else "not ready"}

    # -- workers --------------------------------------------------------------------------
    def workers(self) -> list[RouterWorker]:
        resp = self._request("GET", "/workers")
        if resp.status_code == 404:  # routers before the /workers API
            resp = self._request("GET", "/list_workers")
            self._check(resp, "GET /list_workers")
            return [RouterWorker(normalise_url(u)) for u in (resp.json().get("urls") or [])]
        self._check(resp, "GET /workers")
        out = []
        for w in resp.json().get("workers") or []:
            out.append(RouterWorker(url=normalise_url(str(w.get("url", ""))), id=w.get("id"),
                                    model_id=w.get("model_id"), healthy=w.get("is_healthy"), load=w.get("load")))
        return out

    def add(self, url: str, api_key: Secret | None) -> None:
        body: dict[str, Any] = {"url": normalise_url(url)}
        if api_key:
            body["api_key"] = api_key.reveal()
        resp = self._request("POST", "/workers", json=body)
        if resp.status_code == 404:
            resp = self._request("POST", "/add_worker", params={"url": normalise_url(url)})
        self._check(resp, f"adding {url}")

    def remove(self, url: str) -> bool:
        """Deregister ``url``; False when the router did not list it."""
        url = normalise_url(url)
        match = [w for w in self.workers() if w.url == url]
        if not match:
            return False
        w = match[0]
        if w.id:
            resp = self._request("DELETE", f"/workers/{urllib.parse.quote(w.id, safe='')}")
        else:
            resp = self._request("DELETE", f"/workers/{urllib.parse.quote(url, safe='')}")
            if resp.status_code == 404:
                resp = self._request("POST", "/remove_worker", params={"url": url})
        self._check(resp, f"removing {url}")
        return True

    def wait_listed(self, url: str, *, present: bool, healthy: bool | None = None, timeout: float = 60.0,
                    interval: float = 0.2) -> RouterWorker | None:
        """Poll ``GET /workers`` until ``url`` is (not) listed — registration and removal are asynchronous."""
        url = normalise_url(url)
        deadline = time.monotonic() + timeout
        while True:
            found = next((w for w in self.workers() if w.url == url), None)
            if present and found and (healthy is None or found.healthy == healthy):
                return found
            if not present and found is None:
                return None
            if time.monotonic() > deadline:
                state = "not listed" if found is None else f"listed, healthy={found.healthy}"
                raise RouterRefused(f"the router did not {'register' if present else 'drop'} {url} within "
                                    f"{timeout:g} s ({state})", "its log says why: gpt-oss-console fleet logs router")
            time.sleep(interval)

    def loads(self) -> dict[str, int]:
        resp = self._request("GET", "/get_loads")
        self._check(resp, "GET /get_loads")
        return {normalise_url(w.get("worker", "")): int(w.get("load", -1)) for w in resp.json().get("workers") or []}


# -- the router's Prometheus port ---------------------------------------------------------------


def fetch_metrics(prometheus_url: str, *, timeout: float = 3.0) -> RouterMetrics:
    import httpx

    try:
        resp = httpx.get(prometheus_url.rstrip("/") + "/metrics", timeout=timeout)
    except httpx.HTTPError as exc:
        raise RouterUnavailable(f"the router's metrics at {prometheus_url} cannot be read ({type(exc).__name__})",
                                "is the router running? gpt-oss-console fleet status") from None
    if resp.status_code != 200:
        raise RouterUnavailable(f"the router's metrics at {prometheus_url} answered {resp.status_code}")
    return parse_metrics(resp.text)


def parse_metrics(text: str) -> RouterMetrics:
    from prometheus_client.parser import text_string_to_metric_families

    m = RouterMetrics()
    total = 0.0
    for fam in text_string_to_metric_families(text):
        name = fam.name.replace("sgl_router_", "smg_")  # older releases' prefix
        for s in fam.samples:
            sname = s.name.replace("sgl_router_", "smg_")
            worker = normalise_url(s.labels.get("worker", "")) if "worker" in s.labels else None
            if sname in ("smg_router_requests_total", "smg_router_requests"):
                total += s.value
            elif worker and name == "smg_worker_requests_active":
                m.active[worker] = s.value
            elif worker and name == "smg_worker_health":
                m.health[worker] = s.value
            elif worker and name == "smg_worker_cb_state":
                m.circuit[worker] = s.value
            elif worker and sname.startswith("smg_worker_cb_outcomes") and s.labels.get("outcome") == "success":
                m.succeeded[worker] = m.succeeded.get(worker, 0.0) + s.value
            elif not s.labels and fam.type in ("gauge", "counter"):
                m.series[sname] = s.value
        if name == "smg_router_ttft_seconds" and fam.type == "histogram":
            m.ttft_p50_s = _p50(fam.samples)
    m.requests_total = total  # no series yet: nothing routed yet
    return m


def _p50(samples) -> float | None:
    buckets = sorted((float(s.labels["le"]), s.value) for s in samples
                     if s.name.endswith("_bucket") and "le" in s.labels)
    if not buckets or buckets[-1][1] <= 0:
        return None
    half = buckets[-1][1] / 2
    for le, count in buckets:
        if count >= half:
            return None if le == float("inf") else le
    return None

"""SGLang's Prometheus ``/metrics``: parse, aggregate across ranks, rates and latency quantiles.

Parsing is ``prometheus_client``'s own parser (escaping, histograms and label sets
are its job). On top of it this module knows SGLang's metric names and how to add
them up:

* Tensor-parallel ranks of one replica serve the *same* batch, so a gauge or
  counter repeated under several ``tp_rank`` labels is one quantity seen several
  times: aggregate across ``tp_rank`` with ``max`` (for counters and histograms:
  the lowest rank's series), never a sum, which would multiply by TP.
* Series that differ in anything else (``dp_rank``, ``model_name``, ...) are
  separate replicas: counts, throughputs, counters and histogram buckets add up;
  ratios (token usage, cache hit rate) average.

Counters become rates between two scrapes; histograms give P50/P90/P99 by linear
interpolation inside the bucket (what PromQL's ``histogram_quantile`` does), both
cumulative (since start) and over the last interval (bucket deltas).

A server started without ``--enable-metrics`` answers 404: :class:`MetricsDisabled`
says so and names the fix.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Iterable

from console.errors import ConsoleError
from console.exit_codes import EXIT_UNAVAILABLE

PREFIX = "sglang:"

# Gauges: our short name -> (SGLang metric, kind). "count" adds across replicas,
# "ratio" averages; both take the max across tp ranks of one replica.
GAUGES: dict[str, tuple[str, str]] = {
    "running": ("num_running_reqs", "count"),
    "queued": ("num_queue_reqs", "count"),
    "used_tokens": ("num_used_tokens", "count"),
    "token_usage": ("token_usage", "ratio"),
    "swa_token_usage": ("swa_token_usage", "ratio"),
    "gen_throughput": ("gen_throughput", "count"),
    "cache_hit_rate": ("cache_hit_rate", "ratio"),
    "max_total_tokens": ("max_total_num_tokens", "count"),
}
# Counters: short name -> SGLang metric without the ``_total`` suffix (the parser strips it).
COUNTERS: dict[str, str] = {
    "prompt_tokens": "prompt_tokens",
    "generation_tokens": "generation_tokens",
    "cached_tokens": "cached_tokens",
    "requests": "num_requests",
    "aborted": "num_aborted_requests",
}
HISTOGRAMS: dict[str, str] = {
    "ttft": "time_to_first_token_seconds",
    "itl": "inter_token_latency_seconds",
    "e2e": "e2e_request_latency_seconds",
}
QUANTILES = (0.5, 0.9, 0.99)

ENABLE_HINT = (
    "relaunch with metrics on: `gpt-oss-console launch --enable-metrics` (ENABLE_METRICS=1 in the "
    "image's environment), or add --enable-metrics to SGLang's command line"
)


class MetricsDisabled(ConsoleError):
    """The server is up but has no /metrics: it was started without --enable-metrics."""

    exit_code = EXIT_UNAVAILABLE  # something the command needs is not there

    def __init__(self, url: str):
        super().__init__(f"{url} answered 404: the server was started without --enable-metrics", ENABLE_HINT)


class MetricsUnreachable(ConsoleError):
    exit_code = EXIT_UNAVAILABLE


class MetricsUnreadable(ConsoleError):
    """The page at /metrics is not Prometheus text (a proxy's page, another service on the port)."""

    exit_code = EXIT_UNAVAILABLE


@dataclass
class Histogram:
    """Cumulative buckets ``[(upper_bound, cumulative_count), ...]`` ending with +Inf."""

    buckets: list[tuple[float, float]]
    count: float
    sum: float

    def quantile(self, q: float) -> float | None:
        """Prometheus ``histogram_quantile``: linear interpolation within the bucket.

        ``None`` when the histogram is empty. A rank falling in the +Inf bucket
        returns the highest finite bound (the best the buckets can say).
        """
        if not self.buckets or self.count <= 0:
            return None
        rank = q * self.count
        prev_bound, prev_count = 0.0, 0.0
        for bound, cum in self.buckets:
            if cum >= rank and cum > prev_count:
                if math.isinf(bound):
                    return prev_bound
                # the first bucket's lower edge is 0 (latencies are never negative)
                return prev_bound + (bound - prev_bound) * (rank - prev_count) / (cum - prev_count)
            prev_bound, prev_count = (bound if not math.isinf(bound) else prev_bound), cum
        return prev_bound

    def quantiles(self, qs: Iterable[float] = QUANTILES) -> dict[str, float | None]:
        return {f"p{round(q * 100)}": self.quantile(q) for q in qs}

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count > 0 else None

    def minus(self, older: "Histogram | None") -> "Histogram":
        """The observations made since ``older`` (a counter reset returns ``self``)."""
        if older is None or older.count > self.count:
            return self
        old = dict(older.buckets)
        buckets = [(b, max(0.0, c - old.get(b, 0.0))) for b, c in self.buckets]
        return Histogram(buckets, self.count - older.count, self.sum - older.sum)

    @staticmethod
    def add(hists: list["Histogram"]) -> "Histogram | None":
        if not hists:
            return None
        total: dict[float, float] = {}
        for h in hists:
            for b, c in h.buckets:
                total[b] = total.get(b, 0.0) + c
        return Histogram(sorted(total.items()), sum(h.count for h in hists), sum(h.sum for h in hists))


@dataclass
class MetricsSnapshot:
    """One scrape, aggregated. ``per_rank`` keeps each gauge per ``tp_rank`` for display."""

    at: float  # time.monotonic() of the scrape
    wall: float  # time.time() of the scrape
    gauges: dict[str, float] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    per_rank: dict[str, dict[str, float]] = field(default_factory=dict)  # gauge -> {tp_rank: value}
    models: list[str] = field(default_factory=list)
    tp_ranks: list[str] = field(default_factory=list)
    replicas: int = 0  # distinct non-tp label sets carrying gauges


def _replica_key(labels: dict[str, str], rank_label: str | None = "tp_rank") -> tuple:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in (rank_label, "le")))


def _rank_order(rank: str) -> tuple:
    return (0, int(rank)) if rank.isdigit() else (1, rank)


def parse(text: str, at: float | None = None, wall: float | None = None, names=None) -> MetricsSnapshot:
    """Parse a Prometheus text page into an aggregated :class:`MetricsSnapshot`.

    ``names``: another engine's metric names (a ``console.engines.base.MetricNames``: prefix,
    gauges, counters, histograms, rank_label) mapped onto the same short names; default SGLang's.
    """
    from prometheus_client.parser import text_string_to_metric_families

    prefix = names.prefix if names is not None else PREFIX
    gauges = names.gauges if names is not None else GAUGES
    counters = names.counters if names is not None else COUNTERS
    histograms = names.histograms if names is not None else HISTOGRAMS
    rank_label = names.rank_label if names is not None else "tp_rank"

    snap = MetricsSnapshot(at=time.monotonic() if at is None else at, wall=time.time() if wall is None else wall)
    # metric -> replica -> tp_rank -> value (gauges, counters)
    scalars: dict[str, dict[tuple, dict[str, float]]] = {}
    # metric -> replica -> tp_rank -> {"buckets": {le: c}, "count": c, "sum": s}
    hists: dict[str, dict[tuple, dict[str, dict]]] = {}
    models: set[str] = set()
    ranks: set[str] = set()

    try:
        fams = list(text_string_to_metric_families(text))
    except Exception as exc:  # noqa: BLE001 - the parser raises ValueError, KeyError, IndexError… on bad text
        first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), text[:80])
        raise MetricsUnreadable(
            f"the server's /metrics page is not Prometheus text ({type(exc).__name__}"
            f"{': ' + str(exc)[:80] if str(exc) else ''}; near {first[:80]!r})",
            "check that the base URL is the SGLang server itself (another service, or a proxy's own page, "
            "may answer on that port): `curl BASE_URL/metrics` shows what it sends") from None
    for family in fams:
        if not family.name.startswith(prefix):
            continue
        name = family.name[len(prefix):]
        for sample in family.samples:
            if not math.isfinite(sample.value):
                continue  # NaN says nothing; an infinite count or usage is not a reading
            labels = dict(sample.labels)
            if "model_name" in labels:
                models.add(labels["model_name"])
            rank = labels.get(rank_label, "0") if rank_label else "0"
            ranks.add(rank)
            key = _replica_key(labels, rank_label)
            if family.type == "histogram":
                h = hists.setdefault(name, {}).setdefault(key, {}).setdefault(
                    rank, {"buckets": {}, "count": 0.0, "sum": 0.0}
                )
                if sample.name.endswith("_bucket"):
                    try:
                        h["buckets"][float(labels["le"])] = sample.value
                    except (KeyError, ValueError):
                        continue  # a bucket without a bound cannot be placed
                elif sample.name.endswith("_count"):
                    h["count"] = sample.value
                elif sample.name.endswith("_sum"):
                    h["sum"] = sample.value
            elif family.type in ("gauge", "counter", "untyped"):
                if family.type == "counter" and not sample.name.endswith("_total"):
                    continue  # skip ``_created`` samples
                scalars.setdefault(name, {}).setdefault(key, {})[rank] = sample.value

    snap.models = sorted(models)
    snap.tp_ranks = sorted(ranks, key=_rank_order)

    replicas: set[tuple] = set()
    for short, (metric, kind) in gauges.items():
        by_replica = scalars.get(metric)
        if not by_replica:
            continue
        replicas.update(by_replica)
        per_replica = [max(ranks_.values()) for ranks_ in by_replica.values()]
        snap.gauges[short] = sum(per_replica) if kind == "count" else sum(per_replica) / len(per_replica)
        per_rank: dict[str, float] = {}
        for ranks_ in by_replica.values():
            for r, v in ranks_.items():
                per_rank[r] = per_rank.get(r, 0.0) + v if kind == "count" else max(per_rank.get(r, v), v)
        snap.per_rank[short] = dict(sorted(per_rank.items(), key=lambda kv: _rank_order(kv[0])))
    snap.replicas = len(replicas)

    for short, metric in counters.items():
        by_replica = scalars.get(metric)
        if by_replica:
            snap.counters[short] = sum(r[min(r, key=_rank_order)] for r in by_replica.values())

    for short, metric in histograms.items():
        by_replica = hists.get(metric)
        if not by_replica:
            continue
        chosen = []
        for ranks_ in by_replica.values():
            h = ranks_[min(ranks_, key=_rank_order)]
            chosen.append(Histogram(sorted(h["buckets"].items()), h["count"], h["sum"]))
        snap.histograms[short] = Histogram.add(chosen)
    # Sums of finite readings can still overflow (1e308 + 1e308): a number nobody can read is left out.
    for table in (snap.gauges, snap.counters):
        for k in [k for k, v in table.items() if not math.isfinite(v)]:
            del table[k]
    for k in [k for k, h in snap.histograms.items() if not (math.isfinite(h.count) and math.isfinite(h.sum))]:
        del snap.histograms[k]
    for ranks_ in snap.per_rank.values():
        for r in [r for r, v in ranks_.items() if not math.isfinite(v)]:
            del ranks_[r]
    return snap


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


@dataclass
class MetricsView:
    """What a person wants from the latest scrape and the one before it."""

    snapshot: MetricsSnapshot
    interval_s: float | None
    rates: dict[str, float]  # counter -> per second over the last interval
    latency: dict[str, dict[str, dict[str, float | None]]]  # hist -> {"total"|"interval": {p50..}}

    def to_dict(self) -> dict:
        s = self.snapshot
        return {
            "wall": s.wall,
            "interval_s": self.interval_s,
            "gauges": s.gauges,
            "per_rank": s.per_rank,
            "counters": s.counters,
            "rates": self.rates,
            "latency": self.latency,
            "models": s.models,
            "tp_ranks": s.tp_ranks,
            "replicas": s.replicas,
        }


def view(current: MetricsSnapshot, previous: MetricsSnapshot | None = None) -> MetricsView:
    """Rates and quantiles between two snapshots (``previous`` may be None: first scrape)."""
    interval = None
    rates: dict[str, float] = {}
    if previous is not None and current.at > previous.at:
        interval = current.at - previous.at
        for name, value in current.counters.items():
            old = previous.counters.get(name)
            if old is not None and value >= old:  # a smaller value means the server restarted
                rate = (value - old) / interval
                if math.isfinite(rate):
                    rates[name] = rate
    latency: dict[str, dict[str, dict[str, float | None]]] = {}

    def figures(h: Histogram) -> dict[str, float | None]:
        return {k: _finite(v) for k, v in {**h.quantiles(), "mean": h.mean}.items()} | {"count": h.count}

    for name, hist in current.histograms.items():
        entry = {"total": figures(hist)}
        if previous is not None:
            entry["interval"] = figures(hist.minus(previous.histograms.get(name)))
        latency[name] = entry
    return MetricsView(current, interval, rates, latency)


def metrics_url(base_url: str) -> str:
    """``/metrics`` sits at the server root, not under ``/v1``."""
    from console.server.client import root_url

    return root_url(base_url) + "/metrics"


def fetch_text(base_url: str, timeout: float = 5.0, client=None) -> str:
    """GET ``/metrics`` (open even with --api-key). Raises MetricsDisabled / MetricsUnreachable."""
    import httpx

    url = metrics_url(base_url)
    own = client is None
    client = client or httpx.Client(timeout=timeout)
    try:
        resp = client.get(url)
    except httpx.HTTPError as exc:
        raise MetricsUnreachable(
            f"cannot reach {url}: {exc.__class__.__name__}: {exc}",
            "is the server running, and is the URL/port right?",
        ) from None
    finally:
        if own:
            client.close()
    if resp.status_code == 404:
        raise MetricsDisabled(url)
    if resp.status_code == 401:
        raise MetricsUnreachable(f"{url} wants the API key (llama.cpp guards /metrics with it)",
                                 "pass --api-key-file FILE (or set GPT_OSS_CONSOLE_API_KEY_FILE)")
    if resp.status_code != 200:
        raise MetricsUnreachable(f"{url} answered HTTP {resp.status_code}", "check the server's logs")
    return resp.text


class Scraper:
    """Scrapes one server; each :meth:`scrape` returns a view against the previous scrape.

    Thread-agnostic and blocking: the TUI calls it from a worker, the CLI in a loop.
    """

    def __init__(self, base_url: str, timeout: float = 5.0, api_key=None, names=None, identify=None):
        """``names``: the engine's metric names (``Engine.metric_names``; default SGLang's);
        ``identify``: text → names, asked on the first scrape when ``names`` is None."""
        import httpx

        from console.server.client import _auth_headers

        self.base_url = base_url
        # /metrics is open on SGLang; a proxy in front may still want the key.
        self._client = httpx.Client(timeout=timeout, headers=_auth_headers(api_key))
        self.previous: MetricsSnapshot | None = None
        self.names = names
        self._identify = identify

    def fetch(self) -> str:
        """The page's text, with this scraper's connection and key."""
        return fetch_text(self.base_url, client=self._client)

    def scrape(self) -> MetricsView:
        text = self.fetch()
        if self.names is None and self._identify is not None:
            self.names = self._identify(text)
        snap = parse(text, names=self.names)
        result = view(snap, self.previous)
        self.previous = snap
        return result

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Scraper":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

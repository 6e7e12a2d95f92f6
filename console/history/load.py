"""Reading the history database back: into a ``Timeline`` at start, or as records for ``history``."""

from __future__ import annotations

from console.history.store import GPU_COLS, SRV_COLS, HistoryStore
from console.timeline.timeline import RAW_SECONDS, SERVER_SPECS, Event, SeriesSpec, Timeline

GiB_MiB = 1024.0


def _gpu_values(vram, util, power, temp, membw, total_mib, limit) -> dict[str, float | None]:
    """Timeline series values of one stored GPU row (the units the live ingest uses)."""
    return {
        "vram": None if vram is None else vram / GiB_MiB,
        "vram_pct": None if vram is None or not total_mib else vram / total_mib * 100,
        "util": util,
        "power": None if power is None else power / 10,
        "power_pct": None if power is None or not limit else power / 10 / limit * 100,
        "temp": temp,
        "membw": membw,
    }


def load_into(store: HistoryStore, tl: Timeline, now: float) -> int:
    """Put the last hour of raw samples and the last day of minute maxima into ``tl``
    (before anything live), with the events. Returns the raw points loaded."""
    gpus = store.gpus()
    points: dict[str, tuple[list, list, list, list]] = {}  # name -> raw ts, vs, minute ts, vs

    def put(name: str, t: float, v: float | None, tier: int) -> None:
        if v is None:
            return
        p = points.setdefault(name, ([], [], [], []))
        p[tier].append(float(t))
        p[tier + 1].append(float(v))

    for tier, rows in ((0, store.gpu_rows(now - RAW_SECONDS, now)), (2, store.gpu_rows(now - 86400 - 3600, now, tier="1m"))):
        for row in rows:
            t, g = row[0], row[1]
            vals = row[2:] if tier == 0 else row[3::2]  # the minute tier: the maxima
            info = gpus.get(g, {})
            total = (info.get("memory_total") or 0) / 2**20
            for key, v in _gpu_values(*vals, total, info.get("power_limit_w")).items():
                put(f"gpu{g}.{key}", t, v, tier)
    srv_names = [f"srv.{c}" for c, _ in SRV_COLS]
    scales = [scale for _, scale in SRV_COLS]
    for tier, rows in ((0, store.srv_rows(now - RAW_SECONDS, now)), (2, store.srv_rows(now - 86400 - 3600, now, tier="1m"))):
        for row in rows:
            vals = row[2:] if tier == 0 else row[3::2]
            for name, v, scale in zip(srv_names, vals, scales):
                put(name, row[0], None if v is None else v / scale, tier)
    loaded = 0
    for name, (rts, rvs, mts, mvs) in points.items():
        if name.startswith("gpu"):
            g, key = name[3:].split(".", 1)
            spec = _gpu_spec(int(g), key, gpus.get(int(g), {}))
        else:
            spec = SERVER_SPECS[name]
        # Minute maxima stop where raw points begin: those minutes come from the raw tier live.
        tl.load(name, spec, (rts, rvs), (mts, mvs))
        loaded += len(rts)
    tl.load_events(Event(t, kind, text, source) for t, kind, text, source in store.events(now - 86400 - 3600, now))
    return loaded


def _gpu_spec(g: int, key: str, info: dict) -> SeriesSpec:
    """The spec the live ingest gives series ``gpu<g>.<key>``."""
    if key == "vram":
        total = info.get("memory_total")
        return SeriesSpec(f"GPU{g} VRAM", "GiB", 0.0, total / 2**30 if total else None)
    if key == "power":
        return SeriesSpec(f"GPU{g} power", "W", 0.0, None)
    label = {"vram_pct": "VRAM", "power_pct": "power", "membw": "mem-bw"}.get(key, key)
    return SeriesSpec(f"GPU{g} {label}", "°C" if key == "temp" else "%", 0.0, 100.0)


def records(store: HistoryStore, since: float, until: float, gpu: int | None = None,
            tier: str | None = None, now: float | None = None) -> dict:
    """What ``history --json`` prints: GPU samples, server samples and events in [since, until].

    The raw tier when it reaches back to ``since`` (or ``tier="raw"``), else the minute tier
    (each value the minute's mean, with its maximum beside it)."""
    oldest = store.raw_since()
    if tier is None:
        # Raw rows when they reach back to ``since``, or when ``since`` is within the day raw rows are kept.
        recent = since >= (until if now is None else now) - store.retention.raw_keep_s
        tier = "raw" if oldest is not None and (oldest <= since + 60 or recent) else "1m"
    samples = []
    for row in store.gpu_rows(since, until, gpu, tier):
        t, g = row[0], row[1]
        if tier == "raw":
            vals = dict(zip(GPU_COLS, row[2:]))
            maxes = {}
        else:
            vals = dict(zip(GPU_COLS, row[2::2]))
            maxes = dict(zip(GPU_COLS, row[3::2]))
        rec = {"t": float(t), "gpu": g, **_public(vals)}
        if maxes:
            rec["max"] = _public(maxes)
        samples.append(rec)
    server = []
    for row in ([] if gpu is not None else store.srv_rows(since, until, tier)):
        vals = row[2:] if tier == "raw" else row[2::2]
        server.append({"t": float(row[0]), "server": row[1],
                       **{c: (None if v is None else v / scale) for (c, scale), v in zip(SRV_COLS, vals)}})
    return {
        "path": str(store.path), "tier": tier, "since": since, "until": until,
        "gpus": list(store.gpus().values()), "samples": samples, "server": server,
        "events": [{"t": t, "kind": k, "text": x, "source": s} for t, k, x, s in store.events(since, until)],
    }


def _public(vals: dict) -> dict:
    """Stored integers in the units people read."""
    return {
        "vram_gib": None if vals.get("vram") is None else round(vals["vram"] / GiB_MiB, 3),
        "util_pct": vals.get("util"),
        "power_w": None if vals.get("power") is None else vals["power"] / 10,
        "temp_c": vals.get("temp"),
        "membw_pct": vals.get("membw"),
    }

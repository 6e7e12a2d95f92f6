"""The history database: GPU samples, serving metrics and events in SQLite, bounded.

One file in the XDG state dir (0600, its folder 0700), WAL so the TUI, a
``gpus --watch --record-history`` service and ``history`` read and write at once.

Rows are keyed by time: ``gpu`` holds one row per second for every GPU (a blob
of small integers: MiB, %, tenths of a watt, °C, per GPU; one insert a tick
keeps recording cheap), ``srv`` one row per scrape (key ``second << 10 | server``),
so a time range is a primary-key range. Every minute of both is folded into
``gpu_1m``/``srv_1m`` (mean and maximum); raw rows are kept for a day
(at most the retention), minute rows for the retention (7 days by default); a
size bound deletes the oldest raw, then minute, rows until the file fits. Two
writers recording the same GPUs write the same keys: ``INSERT OR REPLACE`` makes
that harmless.
"""

from __future__ import annotations

import os
import sqlite3
from array import array
from operator import attrgetter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from console.private_file import private_dir

SCHEMA_VERSION = 1
RAW_KEEP_S = 24 * 3600.0
MiB = 2**20

# Server metrics columns: timeline name "srv.<col>" and the integer scale stored.
SRV_COLS: tuple[tuple[str, float], ...] = (
    ("running", 1), ("queued", 1), ("kv", 100), ("swa", 100), ("cache_hit", 100),
    ("gen_tps", 10), ("prompt_tps", 10), ("out_tps", 10),
    *((f"{h}_{q}", 100) for h in ("ttft", "itl", "e2e") for q in ("p50", "p90", "p99")),
)
GPU_COLS = ("vram", "util", "power", "temp", "membw")  # MiB, %, 0.1 W, °C, %


@dataclass(frozen=True)
class Retention:
    days: float = 7.0
    max_mb: float = 256.0

    @property
    def raw_keep_s(self) -> float:
        return min(RAW_KEEP_S, self.days * 86400)


def _tier_sql(table: str, cols: Sequence[str], shift: int) -> str:
    """Fold complete minutes of ``table`` into ``table_1m``: mean and max per column."""
    aggs = ", ".join(f"CAST(round(avg({c})) AS INTEGER), max({c})" for c in cols)
    mask = (1 << shift) - 1
    return (f"INSERT OR REPLACE INTO {table}_1m SELECT (((k >> {shift}) / 60) << {shift}) | (k & {mask}), {aggs} "
            f"FROM {table} WHERE k >= ? AND k < ? GROUP BY 1")


class HistoryStore:
    """A connection to the database, for one thread (the recorder's, or the CLI's)."""

    def __init__(self, path: str | os.PathLike, retention: Retention = Retention(), *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.retention = retention
        private_dir(self.path.parent)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))  # 0600 before SQLite writes
        self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            self._setup()
        except BaseException:
            self.db.close()
            raise

    def _setup(self) -> None:
        db = self.db
        # The first read fails here on a file that is not a database.
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only before the first table
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        srv_cols = ", ".join(f"{c} INTEGER" for c, _ in SRV_COLS)
        srv_1m = ", ".join(f"{c} INTEGER, {c}_max INTEGER" for c, _ in SRV_COLS)
        db.executescript(f"""
            BEGIN;
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS gpus(gpu INTEGER PRIMARY KEY, name TEXT, uuid TEXT,
                                            memory_total INTEGER, power_limit REAL, seen REAL);
            CREATE TABLE IF NOT EXISTS gpu(t INTEGER PRIMARY KEY, v BLOB);
            CREATE TABLE IF NOT EXISTS gpu_1m(t INTEGER PRIMARY KEY, v BLOB);
            CREATE TABLE IF NOT EXISTS servers(id INTEGER PRIMARY KEY, url TEXT UNIQUE);
            CREATE TABLE IF NOT EXISTS srv(k INTEGER PRIMARY KEY, {srv_cols});
            CREATE TABLE IF NOT EXISTS srv_1m(k INTEGER PRIMARY KEY, {srv_1m});
            CREATE TABLE IF NOT EXISTS events(t REAL, kind TEXT, text TEXT, source TEXT,
                                              PRIMARY KEY (t, kind, text)) WITHOUT ROWID;
            INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');
            COMMIT;
        """)
        version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0]
        if int(version) > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"written by a newer gpt-oss-console (schema {version})")
        self._srv_tier = _tier_sql("srv", [c for c, _ in SRV_COLS], 10)
        self._srv_insert = f"INSERT OR REPLACE INTO srv VALUES (?{', ?' * len(SRV_COLS)})"
        self._servers: dict[str, int] = dict(db.execute("SELECT url, id FROM servers"))
        self._folded: int | None = None  # the minute folded up to, once read

    def check(self) -> None:
        """Raise ``sqlite3.DatabaseError`` when the file is damaged (a quick structural check)."""
        problem = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if problem != "ok":
            raise sqlite3.DatabaseError(problem)

    def close(self) -> None:
        self.db.close()

    # -- writing -------------------------------------------------------------------------------
    def write(self, gpu_rows: Sequence[tuple] = (), srv_rows: Sequence[tuple] = (),
              events: Iterable[tuple] = (), gpus: Iterable[tuple] = ()) -> None:
        """One transaction: rows as ``gpu_row``/``srv_row`` build them, events ``(t, kind, text, source)``,
        GPU facts ``(gpu, name, uuid, memory_total, power_limit, seen)``."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if gpu_rows:
                db.executemany("INSERT OR REPLACE INTO gpu VALUES (?, ?)", gpu_rows)
            if srv_rows:
                db.executemany(self._srv_insert, srv_rows)
            db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)", events)
            db.executemany("INSERT OR REPLACE INTO gpus VALUES (?, ?, ?, ?, ?, ?)", gpus)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def server_id(self, url: str) -> int:
        sid = self._servers.get(url)
        if sid is None:
            self.db.execute("INSERT OR IGNORE INTO servers(url) VALUES (?)", (url,))
            sid = self._servers[url] = self.db.execute("SELECT id FROM servers WHERE url=?", (url,)).fetchone()[0]
        return sid & 1023

    def fold(self, now: float) -> None:
        """Fold every complete minute not folded yet into the minute tier."""
        db = self.db
        upto = int(now // 60)
        if self._folded is not None and upto <= self._folded:
            return  # nothing new to fold (most flushes): no query
        done = db.execute("SELECT value FROM meta WHERE key='folded'").fetchone()
        start = int(done[0]) if done else 0
        self._folded = start
        if done and upto <= start:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            folded = []
            minute, blobs = None, []
            for t, blob in db.execute("SELECT t, v FROM gpu WHERE t >= ? AND t < ? ORDER BY t",
                                      (start * 60, upto * 60)):
                if t // 60 != minute:
                    if blobs:
                        folded.append((minute * 60, _fold(blobs)))
                    minute, blobs = t // 60, []
                blobs.append(blob)
            if blobs:
                folded.append((minute * 60, _fold(blobs)))
            db.executemany("INSERT OR REPLACE INTO gpu_1m VALUES (?, ?)", folded)
            db.execute(self._srv_tier, ((start * 60) << 10, (upto * 60) << 10))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('folded', ?)", (str(upto),))
            db.execute("COMMIT")
            self._folded = upto
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def prune(self, now: float) -> None:
        """Drop what is older than the retention, then the oldest rows while over the size bound."""
        r = self.retention
        raw_cut, tier_cut = int(now - r.raw_keep_s), int(now - r.days * 86400)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM gpu WHERE t < ?", (raw_cut,))
        db.execute("DELETE FROM srv WHERE k < ?", (raw_cut << 10,))
        db.execute("DELETE FROM gpu_1m WHERE t < ?", (tier_cut,))
        db.execute("DELETE FROM srv_1m WHERE k < ?", ((tier_cut // 60) << 10,))
        db.execute("DELETE FROM events WHERE t < ?", (tier_cut,))
        db.execute("COMMIT")
        for table, key, shift in (("gpu", "t", 0), ("srv", "k", 10), ("gpu_1m", "t", 0), ("srv_1m", "k", 10)):
            for _ in range(16):
                if self.used_bytes() <= r.max_mb * MiB:
                    break
                lo, hi = db.execute(f"SELECT min({key}), max({key}) FROM {table}").fetchone()
                if lo is None:
                    break
                cut = (lo >> shift) + max(1, ((hi >> shift) - (lo >> shift)) // 4)
                db.execute(f"DELETE FROM {table} WHERE {key} < ?", (cut << shift,))
        db.executescript("PRAGMA incremental_vacuum")  # executescript steps it to the end (execute frees one page)

    def used_bytes(self) -> int:
        pages, free, size = (self.db.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_count", "freelist_count", "page_size"))
        return (pages - free) * size

    # -- reading -------------------------------------------------------------------------------
    def gpus(self) -> dict[int, dict]:
        cur = self.db.execute("SELECT gpu, name, uuid, memory_total, power_limit, seen FROM gpus ORDER BY gpu")
        return {r[0]: {"index": r[0], "name": r[1], "uuid": r[2], "memory_total": r[3], "power_limit_w": r[4],
                       "last_seen": r[5]} for r in cur}

    def raw_since(self) -> float | None:
        """The time of the oldest raw GPU or server row (None: none)."""
        a = self.db.execute("SELECT min(t) FROM gpu").fetchone()[0]
        b = self.db.execute("SELECT min(k) FROM srv").fetchone()[0]
        times = [x for x in (a, (b >> 10) if b is not None else None) if x is not None]
        return float(min(times)) if times else None

    def gpu_rows(self, since: float, until: float, gpu: int | None = None, tier: str = "raw") -> list[tuple]:
        """``(t, gpu, vram MiB, util, power 0.1 W, temp, membw)`` (raw) or, for ``"1m"``, the
        minute's mean and max of each: ``(t, gpu, vram, vram_max, util, util_max, …)``."""
        table, per = ("gpu", 5) if tier == "raw" else ("gpu_1m", 10)
        out = []
        for t, blob in self.db.execute(f"SELECT t, v FROM {table} WHERE t >= ? AND t <= ? ORDER BY t",
                                       (int(since), int(until))):
            v = array("i", blob)
            for g in range(len(v) // per) if gpu is None else (gpu,):
                cells = v[g * per:(g + 1) * per]
                if len(cells) == per and any(x >= 0 for x in cells):
                    out.append((t, g, *(None if x < 0 else x for x in cells)))
        return out

    def srv_rows(self, since: float, until: float, tier: str = "raw") -> list[tuple]:
        """``(t, server url, *columns)`` in ``SRV_COLS`` order (the minute tier: mean, max pairs)."""
        table, unit = ("srv", 1) if tier == "raw" else ("srv_1m", 60)
        urls = {i & 1023: u for u, i in self._servers.items()}
        urls.update({i & 1023: u for i, u in self.db.execute("SELECT id, url FROM servers")})
        rows = self.db.execute(f"SELECT k, * FROM {table} WHERE k >= ? AND k < ? ORDER BY k",
                               ((int(since) // unit) << 10, (int(until) // unit + 1) << 10))
        return [((k >> 10) * unit, urls.get(k & 1023, "?"), *rest) for k, _, *rest in rows]

    def events(self, since: float, until: float) -> list[tuple]:
        return list(self.db.execute("SELECT t, kind, text, source FROM events WHERE t >= ? AND t <= ? ORDER BY t",
                                    (since, until)))


_READ = attrgetter("memory_used", "util_gpu", "power_w", "temperature", "util_memory")


def gpu_rows(snapshots: Iterable) -> list[tuple]:
    """``gpu`` rows, one per snapshot: ``(second, blob)``, the blob every GPU's vram MiB, util %,
    power in 0.1 W, °C and mem-bw % at ``5 × index`` (-1: not measured, or the GPU is lost).
    One row a tick, not one per GPU: this runs for every sample the console records."""
    out = []
    for snap in snapshots:
        samples = snap.samples
        if not samples:
            continue
        vals = [-1] * (5 * (samples[-1].index + 1))
        for s in samples:
            if s.lost:
                continue
            used, util, power, temp, membw = _READ(s)
            b = 5 * s.index
            vals[b:b + 5] = (-1 if used is None else used >> 20, -1 if util is None else util,
                             -1 if power is None else int(power * 10 + 0.5), -1 if temp is None else temp,
                             -1 if membw is None else membw)
        out.append((int(snap.time), array("i", vals).tobytes()))
    return out


def _fold(blobs: list[bytes]) -> bytes:
    """A minute of ``gpu`` blobs as one: per GPU the mean of each of its five values, then their maxima."""
    arrays = [array("i", b) for b in blobs]
    width = max(len(a) for a in arrays)
    if any(len(a) != width for a in arrays):  # a GPU appeared mid-minute
        arrays = [a + array("i", [-1] * (width - len(a))) for a in arrays]
    out = array("i", [-1] * (2 * width))
    for j, column in enumerate(zip(*arrays)):  # transposed in C
        col = [x for x in column if x >= 0]
        if col:
            g, k = divmod(j, 5)
            out[10 * g + 2 * k] = round(sum(col) / len(col))
            out[10 * g + 2 * k + 1] = max(col)
    return out.tobytes()


def srv_row(t: float, server: int, values: dict[str, float]) -> tuple:
    return ((int(t) << 10) | server, *(None if (v := values.get("srv." + c)) is None else int(round(v * scale))
                                       for c, scale in SRV_COLS))


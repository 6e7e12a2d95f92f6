"""Recording into the history database from any thread, written in batches on one thread.

``gpu_snapshot``/``metrics``/``event`` only append to a list (the sampler's
thread pays one ``list.append`` per tick); every ``flush_s`` seconds (30: a
commit costs ~0.3 ms, more than the rows in it) the
recorder's thread turns what piled up into rows and writes them in one
transaction, folds finished minutes and, now and then, prunes. A database that
is damaged is moved aside (``history.db.corrupt-<time>``) and a fresh one
started; one that stays locked, or a disk that refuses a write, stops the
recording with one message (``problem``) and loses nothing else.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable

from console.history.store import HistoryStore, Retention, gpu_rows, srv_row
from console.timeline.timeline import Event, metrics_values

log = logging.getLogger(__name__)

FLUSH_S = 30.0  # a crash (not a quit) loses at most this much; each flush is a thread wake and a transaction
PRUNE_EVERY_S = 600.0


def _locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def open_store(path: Path, retention: Retention = Retention(), *, check: bool = True,
               timeout: float = 5.0) -> tuple[HistoryStore | None, str | None]:
    """The store, and a sentence when something was wrong with it.

    Damaged (not a database, malformed): the file (and its -wal/-shm) is moved aside,
    a fresh one opened. Locked past ``timeout``, unwritable: ``(None, why)``.
    """
    try:
        store = HistoryStore(path, retention, timeout=timeout)
        if check:
            store.check()
        return store, None
    except sqlite3.DatabaseError as exc:
        if _locked(exc):
            return None, (f"The history database {path} is locked by another program ({exc}): "
                          "this console runs without history; nothing else is affected.")
        if isinstance(exc, sqlite3.OperationalError) and not path.exists():
            return None, f"The history database {path} cannot be created ({exc}): the console runs without history."
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, aside)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{path}{suffix}")
                if side.exists():
                    os.replace(side, Path(f"{aside}{suffix}"))
        except OSError as move_exc:
            return None, (f"The history database {path} cannot be read ({exc}) nor moved aside ({move_exc}): "
                          "the console runs without history.")
        try:
            fresh = HistoryStore(path, retention, timeout=timeout)
        except (sqlite3.DatabaseError, OSError) as again:
            return None, f"The history database {path} was damaged and a new one cannot be made ({again})."
        return fresh, (f"The history database could not be read ({exc}). It was kept aside as {aside}; "
                       "charts start empty and new samples go into a fresh file.")
    except OSError as exc:
        return None, f"The history database {path} cannot be opened ({exc.strerror or exc}): no history this time."


class Recorder:
    """``Recorder(path)``; ``start()`` opens the database on the recorder's thread.

    ``on_open(store)`` runs on that thread once the database is open (the TUI loads
    its charts from it there); ``problem`` holds the one sentence to show when the
    database could not be used.
    """

    def __init__(self, path: Path, retention: Retention = Retention(), *, flush_s: float = FLUSH_S,
                 clock: Callable[[], float] = time.time, on_open: Callable[[HistoryStore], None] | None = None,
                 on_problem: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.retention = retention
        self.flush_s = flush_s
        self.clock = clock
        self.on_open = on_open
        self.on_problem = on_problem
        self.problem: str | None = None
        self.store: HistoryStore | None = None
        self._gpu: list[Any] = []
        self._srv: list[tuple[float, str, dict[str, float]]] = []
        self._events: list[tuple] = []
        self._gpus: list[tuple] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._opened = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0
        self.rows_written = 0

    # -- feeding (any thread; cheap) -------------------------------------------------------------
    def gpu_snapshot(self, snap) -> None:
        if self.problem is None:
            self._gpu.append(snap)

    def inventory(self, inv) -> None:
        now = self.clock()
        self._gpus.extend((g.index, g.name, g.uuid, g.memory_total, g.power_limit_w, now) for g in inv.gpus)

    def metrics(self, view, url: str) -> None:
        if self.problem is None:
            self._srv.append((view.snapshot.wall, url, metrics_values(view)))

    def event(self, ev: Event) -> None:
        if self.problem is None:
            self._events.append((ev.t, ev.kind, ev.text, ev.source))

    # -- the thread ------------------------------------------------------------------------------
    def start(self) -> "Recorder":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="history-recorder", daemon=True)
            self._thread.start()
        return self

    def wait_open(self, timeout: float | None = None) -> bool:
        return self._opened.wait(timeout)

    def open(self) -> HistoryStore | None:
        """Open the database on this thread (``start`` does it on the recorder's own)."""
        store, problem = open_store(self.path, self.retention)
        self.store = store
        if problem:
            self._fail(problem, stop=store is None)
        return store

    def _run(self) -> None:
        store = self.open()
        if store is not None and self.on_open is not None:
            try:
                self.on_open(store)
            except Exception:  # a loader bug must not stop the recording
                log.exception("loading history failed")
        self._opened.set()
        if store is None:
            return
        try:
            while not self._stop.is_set():
                self._wake.wait(self.flush_s)
                self._wake.clear()
                self.flush()
            self.flush()
        finally:
            store.close()

    def _fail(self, problem: str, stop: bool = True) -> None:
        first = self.problem is None
        if stop:
            self.problem = problem
            self._gpu, self._srv, self._events = [], [], []
        if first and self.on_problem is not None:
            self.on_problem(problem)
        elif first:
            log.warning(problem)
        if not stop:
            self.problem = None

    def flush(self) -> int:
        """Write what piled up (on the recorder's thread, or any thread when not started). Rows written."""
        store = self.store
        if store is None or self.problem is not None:
            return 0
        with self._lock:
            gpu, self._gpu = self._gpu, []
            srv, self._srv = self._srv, []
            events, self._events = self._events, []
            gpus, self._gpus = self._gpus, []
        rows = gpu_rows(gpu)
        srv_rows = [srv_row(t, store.server_id(url), values) for t, url, values in srv]
        now = self.clock()
        try:
            if rows or srv_rows or events or gpus:
                store.write(rows, srv_rows, events, gpus)
            store.fold(now)
            if now - self._last_prune >= PRUNE_EVERY_S:
                self._last_prune = now
                store.prune(now)
        except sqlite3.Error as exc:
            why = "locked by another program" if _locked(exc) else str(exc)
            self._fail(f"Recording history stopped: the database {self.path} refused a write ({why}). "
                       "The console goes on without recording.")
            return 0
        self.rows_written += len(rows) + len(srv_rows)
        return len(rows) + len(srv_rows)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is left and close (waits for the thread)."""
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        elif t is None and self.store is not None:
            self.flush()
            self.store.close()

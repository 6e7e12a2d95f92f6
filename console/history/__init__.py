"""History that survives a restart: GPU samples, serving metrics and events in SQLite.

Public API::

    default_path() -> Path                  # $XDG_STATE_HOME/gpt-oss-console/history.db
    retention_from_env() -> Retention       # GPT_OSS_CONSOLE_HISTORY_DAYS / _MAX_MB
    Recorder(path, retention)               # batched writes on its own thread; .gpu_snapshot(),
                                            # .metrics(view, url), .event(ev), .close(); .problem
    open_store(path, retention) -> (HistoryStore | None, problem | None)
                                            # a corrupt file is moved aside, a locked one skipped
    load_into(store, timeline, now)         # what the charts show at start
"""

from __future__ import annotations

import os
from pathlib import Path

from console.history.store import HistoryStore, Retention  # noqa: F401
from console.prefs import pref


def default_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "gpt-oss-console" / "history.db"


def retention_from_env() -> Retention:
    return Retention(days=pref("GPT_OSS_CONSOLE_HISTORY_DAYS"), max_mb=pref("GPT_OSS_CONSOLE_HISTORY_MAX_MB"))


def enabled() -> bool:
    return bool(pref("GPT_OSS_CONSOLE_HISTORY"))

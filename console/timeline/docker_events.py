"""Container lifecycle marks from Docker's event stream (start, restart, exit, OOM, stop).

Only the console's own containers (label ``org.gpt-oss-console.owned``). "Ready"
is not a Docker event: the launch area's ``EndpointChanged`` supplies it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from console.timeline.timeline import Timeline

# Docker action → timeline event kind
ACTIONS = {"start": "start", "restart": "restart", "die": "exit", "oom": "oom", "stop": "stop"}


def event_from_docker(raw: dict[str, Any]) -> tuple[str, str, str, float] | None:
    """(kind, container name, detail, time) for a decoded Docker event, None to ignore it."""
    if raw.get("Type") != "container":
        return None
    kind = ACTIONS.get(raw.get("Action") or raw.get("status") or "")
    if kind is None:
        return None
    attrs = (raw.get("Actor") or {}).get("Attributes") or {}
    name = attrs.get("name") or (raw.get("id") or "")[:12]
    detail = ""
    if kind == "exit":
        code = attrs.get("exitCode")
        detail = f"exit code {code}" if code is not None else ""
    t = raw.get("timeNano")
    t = t / 1e9 if t else float(raw.get("time") or 0)
    return kind, name, detail, t


def follow(timeline: Timeline, stop: threading.Event, client=None, since: float | None = None) -> None:
    """Feed ``timeline`` until ``stop`` is set (run in a thread). Reconnects after daemon loss.

    Events are asked for from ``since`` (default: now) and, after a reconnect, from the
    last one seen: the daemon replays what happened meanwhile, so nothing falls in the gap.
    """
    from console.runtime.spec import LABEL_OWNED

    since = time.time() if since is None else since
    last: float | None = None  # time of the last event put on the timeline
    while not stop.is_set():
        stream = None
        try:
            if client is None:
                from console.runtime.engine import connect

                client = connect(timeout=5.0)
            stream = client.events(decode=True, since=int(since),
                                   filters={"type": "container", "label": [LABEL_OWNED]})
            watcher = threading.Thread(target=lambda: (stop.wait(), stream.close()), daemon=True)
            watcher.start()
            for raw in stream:
                ev = event_from_docker(raw)
                if ev:
                    kind, name, detail, t = ev
                    if t and (t < since or (last is not None and t <= last)):
                        continue  # `since` is whole seconds: a replay repeats what we have
                    last = t or last
                    since = max(since, t or since)
                    timeline.ingest_container(kind, name, detail, t or None)
        except Exception:  # no daemon / daemon lost: try again shortly, the chart goes on without it
            client = None
        finally:
            if stream is not None:
                try:
                    stream.close()
                except Exception:
                    pass
        stop.wait(5.0)

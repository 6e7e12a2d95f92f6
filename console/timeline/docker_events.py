"""Container lifecycle marks from Docker's event stream (start, restart, exit, OOM, stop).

Only the console's own containers, and only this user's (labels ``org.gpt-oss-console.owned``
and ``…user``: other people's consoles on a shared engine are theirs to watch). "Ready" is not
a Docker event: the launch area's ``EndpointChanged`` supplies it. A graceful stop is one mark:
Docker says kill (SIGTERM), die, stop, and the die is folded into the stop.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from console.logs.follow import RETRY, RetryPolicy
from console.runtime.engine import connect
from console.runtime.spec import LABEL_OWNED, LABEL_USER, console_user
from console.timeline.timeline import Timeline

# Docker action → timeline event kind
ACTIONS = {"start": "start", "restart": "restart", "die": "exit", "oom": "oom", "stop": "stop"}
STOP_WINDOW_S = 120.0  # a die this soon after a SIGTERM is a stop's (docker stop's grace period and more)
SIGTERM = "15"


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
    return kind, name, detail, _time(raw)


def _time(raw: dict[str, Any]) -> float:
    t = raw.get("timeNano")
    return t / 1e9 if t else float(raw.get("time") or 0)


class StopFolder:
    """Turns Docker's kill/die/stop sequence of a graceful stop into one "stop" mark (its exit
    code as the detail); a die without a SIGTERM before it (a crash, ``docker kill``) stays an
    exit. Events in, timeline marks out, in order."""

    def __init__(self) -> None:
        self._sigterm: dict[str, float] = {}  # container → when Docker sent it SIGTERM
        self._held: dict[str, tuple[str, str, str, float]] = {}  # container → its held die

    def feed(self, raw: dict[str, Any]) -> list[tuple[str, str, str, float]]:
        if raw.get("Type") != "container":
            return []
        action = raw.get("Action") or raw.get("status") or ""
        cid = (raw.get("Actor") or {}).get("ID") or raw.get("id") or ""
        attrs = (raw.get("Actor") or {}).get("Attributes") or {}
        if action == "kill":
            if attrs.get("signal") == SIGTERM:
                self._sigterm[cid] = _time(raw)
            return []
        ev = event_from_docker(raw)
        if ev is None:
            return []
        out: list[tuple[str, str, str, float]] = []
        kind, name, detail, t = ev
        asked = self._sigterm.get(cid)
        if kind == "exit" and asked is not None and t - asked <= STOP_WINDOW_S:
            self._held[cid] = ev  # its stop follows
            return out
        held = self._held.pop(cid, None)
        if kind == "stop":
            self._sigterm.pop(cid, None)
            return [(kind, name, held[2] if held else detail, t)]
        if held is not None:  # no stop came after all: the exit stands
            out.append(held)
        out.append(ev)
        return out

    def flush(self) -> list[tuple[str, str, str, float]]:
        held, self._held = list(self._held.values()), {}
        return held


def follow(timeline: Timeline, stop: threading.Event, client=None, since: float | None = None,
           retry: RetryPolicy = RETRY) -> None:
    """Feed ``timeline`` until ``stop`` is set (run in a thread). Reconnects after daemon loss
    by the console's one retry policy.

    Events are asked for from ``since`` (default: now) and, after a reconnect, from the
    last one seen: the daemon replays what happened meanwhile, so nothing falls in the gap.
    """
    since = time.time() if since is None else since
    last: float | None = None  # time of the last event put on the timeline
    failures = 0
    folder = StopFolder()

    def put(marks) -> None:
        nonlocal last, since
        for kind, name, detail, t in marks:
            last = t or last
            since = max(since, t or since)
            timeline.ingest_container(kind, name, detail, t or None)

    while not stop.is_set():
        stream = None
        try:
            if client is None:
                client = connect(timeout=5.0)
            stream = client.events(decode=True, since=int(since),
                                   filters={"type": "container", "label": [f"{LABEL_OWNED}=1",
                                                                          f"{LABEL_USER}={console_user()}"]})
            watcher = threading.Thread(target=lambda: (stop.wait(), stream.close()), daemon=True)
            watcher.start()
            failures = 0
            for raw in stream:
                t = _time(raw)
                if t and (t < since or (last is not None and t <= last)):
                    continue  # `since` is whole seconds: a replay repeats what we have
                put(folder.feed(raw))
        except Exception:  # no daemon / daemon lost: try again, the chart goes on without it
            client = None
            failures += 1
        finally:
            if stream is not None:
                try:
                    stream.close()
                except Exception:
                    pass
        put(folder.flush())
        if retry.wait(max(failures, 1), stop):
            return

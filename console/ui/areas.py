"""The console's areas (tabs), in tab order: the one table that says what the app shows.

An area is a package ``console/ui/<name>/`` whose pane widget (a class taking ``id=``) is named
here as ``"module:Class"``, and an optional stylesheet ``styles/<name>.tcss`` found by the
area's name. Adding an area is its package plus one entry below.

A pane widget may implement:

- ``quit_warning() -> str | None``: what quitting would interrupt (the app asks before quitting);
- ``palette_commands() -> Iterable[tuple[str, Callable[[], object], str]]``: extra
  command-palette entries (name, callback, help). Bindings a pane class declares with a
  description are offered in the palette and the help screen automatically.

Areas talk through the messages of :mod:`console.ui.messages` (the app relays them to every
other area, and to an area that mounts later the latest of each) and app-level state
(``app.gpu_feed``, ``app.log_hub``, ``app.container_lookup``).

Only the first area is imported before the first frame (start-up is benchmarked:
tests/perf/bench_startup.py); the others are imported and mounted just after it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from textual.widget import Widget


@dataclass(frozen=True)
class Area:
    name: str  # the package's name; ids tab-<name>, pane-<name>; stylesheet styles/<name>.tcss
    title: str  # tab label
    key: str | None  # the key that jumps to it
    help: str  # one line in the help screen
    pane: str | type[Widget]  # "console.ui.<name>.pane:Class", or the class itself (tests)

    def load(self) -> type[Widget]:
        """The pane's widget class (imports its module the first time)."""
        if not isinstance(self.pane, str):
            return self.pane
        module, _, cls = self.pane.partition(":")
        return getattr(importlib.import_module(module), cls)


AREAS: tuple[Area, ...] = (
    Area("gpus", "GPUs", "1", "live NVML telemetry and charts (1 m to 24 h), host CPU/RAM, GPU processes, and the "
         "gpt-oss fit planner", "console.ui.gpus.pane:GpusPane"),
    Area("launch", "Launch", "2", "settings form, profiles, docker run preview, launch/stop/restart with live "
         "start-up phases", "console.ui.launch.pane:LaunchPane"),
    Area("logs", "Logs", "3", "Server log: follow/pause, filter (text or regex), errors only, next error, save; "
         "phases, capacity and diagnoses; c picks any running container", "console.ui.logs.pane:LogsPane"),
    Area("chat", "Chat", "4", "Chat with the endpoint: streaming, reasoning, tool calls, inspector (F3, or i on a message), "
         "transcripts (ctrl+s, ctrl+o)",
         "console.ui.chat.pane:ChatPane"),
    Area("smoke", "Smoke", "5", "Conformance smoke suite: chat, streaming, tool calls, Harmony leaks, soak — F5 "
         "runs it", "console.ui.smoke.pane:SmokePane"),
    Area("metrics", "Metrics", "6", "/metrics charted (queue, throughput, TTFT/ITL, KV) beside the GPUs, 1 m to 24 h, "
         "with the events; b: bench", "console.ui.metrics.pane:MetricsPane"),
    Area("fleet", "Fleet", "7", "hosts × GPUs × workers behind the router; u up, d drain, x down, l logs, p plan, "
         "e chat via router", "console.ui.fleet.pane:FleetPane"),
)

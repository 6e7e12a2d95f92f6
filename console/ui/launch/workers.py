"""The Launch area's blocking work, in thread workers: launch, re-attach, restart, stop, watch.

A mixin of :class:`~console.ui.launch.pane.LaunchPane`. Everything Docker goes through the
core (:mod:`console.runtime.service`, :class:`~console.runtime.lifecycle.Runtime`); the
workers hand back plain values in the messages of :mod:`console.ui.launch.messages`. The
monitor reads the container's log from the app's shared feed (``app.log_hub``), the same one
the Logs area shows, so the log is read and scanned once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import get_current_worker

from console.errors import ConsoleError
from console.logs.follow import RETRY
from console.runtime import service
from console.runtime.capacity import predict
from console.runtime.errors import DockerUnavailable
from console.runtime.lifecycle import ContainerInfo, Runtime
from console.runtime.phases import PhaseTracker, RunPhase
from console.ui.launch.messages import Attached, Choose, Failed, Progress, Pulled, Recovered

if TYPE_CHECKING:
    from console.ui.launch.pane import LaunchPane


def pick_attach(running: list[ContainerInfo], name: str | None, profile: str,
                explicit: bool = False) -> ContainerInfo | list:
    """The server to re-attach to at start: the form's container name, else the one server of the
    current profile, else the only console server running. Otherwise the candidates, for the
    operator to choose from: those of the current profile when several, else all ([] for none).
    A container name the operator set (``explicit``: env, flag or profile) is the only one attached
    to by itself: another server is then only a candidate."""
    if not running:
        return []
    named = [i for i in running if name and i.name == name]
    if named:
        return named[0]
    if explicit:
        return running
    mine = [i for i in running if i.profile == profile]
    if len(mine) == 1:
        return mine[0]
    if mine:
        return mine
    return running[0] if len(running) == 1 else running


def running_settings(runtime: Runtime, info: ContainerInfo) -> dict[str, Any] | None:
    """What a server found running runs with (None when Docker cannot say: the form keeps its profile)."""
    from console.runtime.readback import settings_of

    try:
        return settings_of(runtime.inspect_attrs(info.id))
    except ConsoleError:
        return None


class LaunchWorkers:
    def _runtime(self: LaunchPane) -> Runtime:
        if self.runtime_factory is not None:
            return self.runtime_factory()
        return Runtime()

    @work(thread=True, exclusive=True, group="launch")
    def _launch_worker(self: LaunchPane, spec, replace: bool = False) -> None:
        runtime = self._runtime()
        tracker = PhaseTracker(stall_after=self.stall_after)

        def on_pull(p) -> None:
            tracker.advance(RunPhase.PULLING, "pulling image")
            tracker.activity()
            self.post_message(Pulled(p, tracker.elapsed))

        # The plan for these settings on the GPUs as they are now, kept on the container (NVML: a worker).
        spec.prediction = predict(spec.settings)
        watched = self.monitor
        if replace and watched is not None:
            watched.stopping = True  # its exit is asked for: no crash bundle
        try:
            info = service.launch(runtime, spec, on_progress=on_pull, replace=replace)
        except ConsoleError as exc:
            if watched is not None:
                watched.stopping = False
            self.post_message(Failed(exc, "launch"))
            return  # the server being watched (if any) is still watched
        if watched is not None:
            watched.stop()  # watch the new server instead; the other one keeps running
        self._watch(runtime, info, base_url=spec.base_url, api_key=spec.api_key,
                    model=spec.served_model or spec.model, profile=spec.profile,
                    settings=dict(spec.settings), tracker=tracker)

    @work(thread=True, exclusive=True, group="launch")
    def _attach_worker(self: LaunchPane) -> None:
        told = False
        failures = 0
        while True:
            try:
                runtime = self._runtime()
                running = runtime.owned(include_stopped=False)
                break
            except DockerUnavailable as exc:
                # Say it once (in the side panel, not a toast: nobody asked for anything yet),
                # then look again quietly: the daemon may be starting.
                if not told:
                    self.post_message(Failed(exc, "re-attach"))
                    told = True
                failures += 1
                deadline = time.monotonic() + RETRY.delay(failures)  # the console's one retry policy
                while time.monotonic() < deadline:
                    if get_current_worker().is_cancelled or not self.is_attached:
                        return
                    time.sleep(0.1)
            except ConsoleError as exc:
                self.post_message(Failed(exc, "re-attach"))
                return
        if told:
            self.post_message(Recovered())
        explicit = self.vals is not None and self.vals.sources.get("container_name") not in (None, "default")
        info = pick_attach(running, self.spec.name if self.spec is not None else None, self.profile, explicit)
        if isinstance(info, list):
            if info:  # several could be meant: the operator chooses (an arbitrary one was a surprise)
                mine = all(i.profile == self.profile for i in info)
                n = f"{len(info)} servers" if len(info) > 1 else "a server"
                verb = "are" if len(info) > 1 else "is"
                why = (f"{n} of profile {self.profile!r} {verb} running" if mine
                       else f"{n} of other profiles {verb} running, none of profile {self.profile!r}")
                if explicit:
                    why = f"no container named {self.spec.name!r}; {why}"
                self.post_message(Choose(info, why, ask=mine and not explicit))
            return
        self._watch(runtime, info, model=info.served_model or info.model, drift=service.drift(info),
                    profile=info.profile, running=running_settings(runtime, info))

    @work(thread=True, exclusive=True, group="launch")
    def _attach_to_worker(self: LaunchPane, container_id: str) -> None:
        """Watch the container the operator chose."""
        try:
            runtime = self._runtime()
            info = next((i for i in runtime.owned(include_stopped=True) if i.id == container_id), None)
        except ConsoleError as exc:
            self.post_message(Failed(exc, "attach"))
            return
        if info is None:
            self.post_message(Failed(ConsoleError("that server is gone", "F4 lists the running ones"), "attach"))
            return
        if self.monitor is not None:
            self.monitor.stop()
        self._watch(runtime, info, model=info.served_model or info.model, drift=service.drift(info),
                    profile=info.profile, running=running_settings(runtime, info))

    @work(thread=True, exclusive=True, group="launch")
    def _list_worker(self: LaunchPane) -> None:
        """F4: every running console server, to choose the one to watch."""
        try:
            running = self._runtime().owned(include_stopped=False)
        except ConsoleError as exc:
            self.post_message(Failed(exc, "list"))
            return
        self.post_message(Choose(running, f"{len(running)} console server(s) running"))

    @work(thread=True, exclusive=True, group="launch")
    def _restart_worker(self: LaunchPane, container_id: str) -> None:
        try:
            runtime = self._runtime()
            info = runtime.restart(container_id, timeout=30)
        except ConsoleError as exc:
            self.post_message(Failed(exc, "restart"))
            return
        self._watch(runtime, info, model=info.served_model or info.model, profile=info.profile)

    @work(thread=True, group="launch-stop")
    def _stop_worker(self: LaunchPane, container_id: str) -> None:
        try:
            runtime = self._runtime()
            runtime.stop(container_id, timeout=30)
        except ConsoleError as exc:
            self.post_message(Failed(exc, "stop"))

    def _watch(self: LaunchPane, runtime: Runtime, info: ContainerInfo, *, base_url: str | None = None,
               api_key: str | None = None, model: str | None = None, drift: bool | None = None, profile: str = "",
               settings: dict[str, Any] | None = None, tracker: PhaseTracker | None = None,
               running: dict[str, Any] | None = None) -> None:
        """Runs in the worker thread until the container exits or the pane goes away."""
        hub = getattr(self.app, "log_hub", None)
        try:
            monitor = service.monitor_for(
                runtime, info, hub=hub, tracker=tracker,
                stall_after=self.stall_after, settings=settings, on_update=lambda snap: self.post_message(Progress(snap)),
            )
        except ConsoleError as exc:
            self.post_message(Failed(exc, "watch"))
            return
        self.monitor = monitor
        self.post_message(Attached(info.id, info.name, base_url or info.base_url, api_key or monitor.api_key, model,
                                   drift, profile, info.settings_hash, running))
        try:
            monitor.run()
        except ConsoleError as exc:
            self.post_message(Failed(exc, "watch"))

"""The Launch pane: settings form, profiles, docker run preview, launch/stop/restart, phases.

Docker is only touched in thread workers; they post the messages below. The
monitor worker keeps watching after "ready" (a crash or an unhealthy server is
shown too) and survives the Docker daemon going away. On mount the pane
re-attaches to a console container that is still running: closing the console
never stops the server.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Select, Static

from console.errors import ConsoleError
from console.ui.launch.form import ALLOW_PUBLIC, IMAGE_MODE, HelpLine, SettingsForm
from console.ui.launch.tracker import PhaseTracker
from console.ui.messages import EndpointChanged, PlanChosen


class Progress(Message):
    def __init__(self, snap) -> None:
        super().__init__()
        self.snap = snap


class Pulled(Message):
    def __init__(self, progress, elapsed_s: float) -> None:
        super().__init__()
        self.progress = progress  # console.runtime.lifecycle.LayerProgress
        self.elapsed_s = elapsed_s


class Attached(Message):
    """A container to watch: just launched, restarted, or found running at start."""

    def __init__(self, container_id: str, name: str, base_url: str | None, api_key: str | None, model: str | None,
                 drift: bool | None = None, profile: str = "") -> None:
        super().__init__()
        self.container_id = container_id
        self.name = name
        self.base_url = base_url
        self.api_key = api_key
        self.model = model
        self.drift = drift
        self.profile = profile


class Failed(Message):
    def __init__(self, error: ConsoleError, action: str) -> None:
        super().__init__()
        self.error = error
        self.action = action


def _layer_line(p) -> Text:
    """``a1b2c3d4e5f6 ██████░░░░  60% Downloading`` — one image layer's pull."""
    width = 10
    frac = 1.0 if p.status.startswith(("Pull complete", "Already exists", "Download complete")) else (p.fraction or 0)
    filled = int(round(frac * width))
    line = Text(f"{p.layer[:12]} ")
    line.append("█" * filled, style="green")
    line.append("░" * (width - filled), style="dim")
    line.append(f" {frac:4.0%} {p.status}")
    return line


class Recovered(Message):
    """Docker answers again after the pane said it did not."""


class LaunchPane(Vertical):
    """Configure and run SGLang."""

    BINDINGS = [
        Binding("f5", "launch", "Launch"),
        Binding("shift+f5", "launch(True)", "Replace running", show=False),
        Binding("f6", "stop", "Stop"),
        Binding("f7", "restart", "Restart"),
        Binding("ctrl+s", "save_profile", "Save profile"),
        Binding("f8", "copy_docker_run", "Copy docker run"),
        Binding("f9", "export_compose", "Export compose", show=False),
        Binding("f10", "connect", "Connect"),
    ]

    def __init__(self, *, id: str | None = None, attach: bool = True, env: Mapping[str, str] | None = None,
                 runtime_factory=None) -> None:
        super().__init__(id=id)
        self.attach = attach
        self.env = os.environ if env is None else env
        self.runtime_factory = runtime_factory
        self.profile = "default"
        self.planner: dict[str, Any] = {}
        self.edits: dict[str, Any] = {}
        self.vals = None
        self.spec = None
        self.spec_error: ConsoleError | None = None
        self.snap = None
        self.pull_text = ""
        self.container_id: str | None = None
        self.container_name: str | None = None
        self.endpoint: tuple | None = None
        self.announced = False
        self.drift: bool | None = None
        self.monitor = None
        self.pull_layers: dict[str, Any] = {}  # image pull progress per layer

    # -- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield PhaseTracker(id="launch-tracker")
        with Horizontal(id="launch-body"):
            yield SettingsForm(id="launch-form")
            with Vertical(id="launch-side"):
                yield Static("", id="launch-info")
                with ScrollableContainer(id="launch-preview-box"):
                    yield Static("", id="launch-preview")
        yield HelpLine("", id="launch-help")
        with Horizontal(id="launch-actions"):
            yield Select([], prompt="profile", allow_blank=True, id="launch-profiles", compact=True)
            yield Input(value="default", placeholder="profile name", id="launch-profile-name", compact=True)
            yield Button("Launch F5", id="launch-go", variant="success", compact=True)
            yield Button("Stop F6", id="launch-stop", variant="error", compact=True)
            yield Button("Restart F7", id="launch-restart", compact=True)
            yield Button("Save ^S", id="launch-save", compact=True)

    def on_mount(self) -> None:
        self._refresh_profiles()
        self.recompute()
        self.query_one(PhaseTracker).show(None)
        self._hook_gpus_pane()
        self.set_interval(1.0, self._tick)
        if self.attach:
            self._attach_worker()

    def _tick(self) -> None:
        """Keep the elapsed time and the stall warning live between phase changes."""
        monitor = self.monitor
        if monitor is None or self.snap is None or self.snap.phase.label in ("ready", "exited"):
            return
        self.snap = monitor.snapshot()
        self.query_one(PhaseTracker).show(self.snap, self.pull_text)

    def on_unmount(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()

    def _hook_gpus_pane(self) -> None:
        # The GPUs screen asks this seam which container holds each GPU process (only in the
        # console itself, not in an app that mounts this pane alone).
        area = getattr(self.app, "area", None)
        if area is None or area("gpus") is None:
            return
        try:
            from console.runtime.vram import container_names
            from console.ui.gpus.pane import GpusPane

            if GpusPane.container_lookup is None:
                GpusPane.container_lookup = container_names
        except ImportError:
            pass

    def _runtime(self):
        if self.runtime_factory is not None:
            return self.runtime_factory()
        from console.runtime.lifecycle import Runtime

        return Runtime()

    # -- values ---------------------------------------------------------------------
    def recompute(self) -> None:
        """Resolve form edits over env/planner/profile/defaults; show sources, problems, preview."""
        from console.runtime.build import build_spec
        from console.runtime.service import resolve_values

        try:
            self.vals = resolve_values(profile=self.profile if self._profile_exists() else None,
                                       planner=self.planner, cli=self.edits, env=self.env)
        except ConsoleError as exc:  # a broken profile file: say so, keep the form usable
            self.notify(f"{exc.message}\n{exc.hint or ''}", title="Profile", severity="error", timeout=10)
            self.profile = "default"
            self.vals = resolve_values(planner=self.planner, cli=self.edits, env=self.env)
        problems: dict[str, str] = {}
        for p in self.vals.problems:
            problems.setdefault(p.key, p.message if p.is_error else f"⚠ {p.message}")
        form = self.query_one(SettingsForm)
        from console.settings import with_file_fields

        form.fill(*with_file_fields(self.vals.values, self.vals.sources), problems)
        options = form.options()
        self.spec, self.spec_error = None, None
        try:
            self.spec = build_spec(self.vals.values, profile=self.profile, image_mode=options[IMAGE_MODE],
                                   allow_public=options[ALLOW_PUBLIC])
        except ConsoleError as exc:
            self.spec_error = exc
        self._show_preview()
        self._show_info()

    def _profile_exists(self) -> bool:
        from console.runtime import profiles

        try:
            return profiles.path_for(self.profile).exists()
        except ConsoleError:
            return False

    def _show_preview(self) -> None:
        text = Text()
        if self.spec_error is not None:
            text.append(self.spec_error.message, style="bold red")
            if self.spec_error.hint:
                text.append(f"\n→ {self.spec_error.hint}", style="red")
        elif self.vals is not None and self.vals.errors:
            text.append(f"{len(self.vals.errors)} setting(s) to fix before launching", style="bold red")
        if self.spec is not None:
            if text:
                text.append("\n\n")
            for w in self.spec.warnings:
                text.append(f"⚠ {w}\n", style="yellow")
            text.append(self.spec.docker_run(), style="")
        text.no_wrap = True  # one option per line, scrolled sideways rather than broken mid-word
        self.query_one("#launch-preview", Static).update(text)

    def _show_info(self) -> None:
        text = Text()
        if self.container_name:
            text.append(f"{self.container_name}", style="bold")
            if self.endpoint and self.endpoint[0]:
                text.append(f"  {self.endpoint[0]}")
            if self.drift:
                text.append(f"\n⚠ drift: running settings differ from profile {self.profile!r}", style="yellow")
        snap = self.snap
        if self.pull_layers and (snap is None or snap.phase.label in ("created", "pulling")):
            for p in list(self.pull_layers.values())[-6:]:
                text.append("\n" if text else "")
                text.append(_layer_line(p))
        check = snap.capacity_check if snap is not None else None
        if check is not None:  # the launch's plan against what the server logged
            text.append("\n" if text else "")
            text.append(check.summary, style="cyan" if check.within else "yellow")
        elif snap is not None and snap.capacity is not None and snap.capacity.max_total_num_tokens:
            cap = snap.capacity
            text.append("\n" if text else "")
            text.append(f"KV pool {cap.max_total_num_tokens:,} tokens", style="cyan")
            if cap.context_len:
                text.append(f" · context {cap.context_len:,}")
            if cap.max_running_requests:
                text.append(f" · ≤{cap.max_running_requests} requests")
        if snap is not None:
            for d in snap.diagnoses:
                text.append(f"\n✗ {d.title}", style="bold red")
                text.append(f"\n  fix: {d.fix}")
            if snap.bundle:
                text.append(f"\ncrash bundle: {snap.bundle}", style="dim")
        if not text:
            text.append("docker run (F8: copy)", style="dim")
        self.query_one("#launch-info", Static).update(text)

    @on(SettingsForm.Edited)
    def _edited(self, event: SettingsForm.Edited) -> None:
        if event.key in (IMAGE_MODE, ALLOW_PUBLIC):
            self.recompute()
            return
        from console.ui.launch.form import _text

        current = self.vals.values.get(event.key) if self.vals is not None else None
        if event.key not in self.edits and _text(event.raw) == _text(current):
            return  # a widget echoing the value it was given, not an edit
        self.edits[event.key] = event.raw
        self.recompute()

    @on(SettingsForm.FieldFocused)
    def _focused(self, event: SettingsForm.FieldFocused) -> None:
        self.query_one(HelpLine).show(self.query_one(SettingsForm).fields.get(event.key))

    def on_plan_chosen(self, message: PlanChosen) -> None:
        self.planner = dict(message.values)
        for key in message.values:
            self.edits.pop(key, None)  # the operator just chose these: let them show
        self.recompute()
        logs = self._logs_pane()
        if logs is not None and message.plan is not None:  # the Logs panel shows it beside what SGLang logs
            logs.set_prediction(max_total_num_tokens=message.plan.max_total_num_tokens,
                                context_len=message.values.get("max_model_len"))

    # -- profiles ---------------------------------------------------------------------
    def _refresh_profiles(self) -> None:
        from console.runtime import profiles

        names = profiles.list_profiles()
        select = self.query_one("#launch-profiles", Select)
        select.set_options([(n, n) for n in names])
        if self.profile in names:
            select.value = self.profile

    @on(Select.Changed, "#launch-profiles")
    def _profile_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.NULL or event.value == self.profile:
            return
        self.profile = str(event.value)
        self.query_one("#launch-profile-name", Input).value = self.profile
        self._keep_only_secret_edits()
        self.planner.clear()
        self.recompute()
        self.notify(f"profile {self.profile} loaded")

    def action_save_profile(self, keep_secrets: bool = False) -> None:
        from console.runtime import profiles

        name = self.query_one("#launch-profile-name", Input).value.strip() or "default"
        if self.vals is None:
            return
        try:
            path = profiles.save(profiles.Profile(name, dict(self.vals.values), keep_secrets=keep_secrets))
        except ConsoleError as exc:
            self.notify(f"{exc.message}\n{exc.hint or ''}", title="Profile not saved", severity="error")
            return
        self.profile = name
        self._keep_only_secret_edits()
        self.planner.clear()
        self._refresh_profiles()
        self.recompute()
        extra = " (with secrets, file is 0600)" if keep_secrets else " (secrets left out; the form keeps them)"
        self.notify(f"saved {path}{extra}", title="Profile")

    def _keep_only_secret_edits(self) -> None:
        """After a save or a profile switch the edits are the profile's now, except secrets:
        they stay out of profiles but not out of the form, so the next launch keeps its key."""
        from console.settings.spec import BY_KEY

        self.edits = {k: v for k, v in self.edits.items() if k in BY_KEY and BY_KEY[k].secret}

    def action_delete_profile(self) -> None:
        from console.runtime import profiles

        try:
            profiles.delete(self.profile)
        except ConsoleError as exc:
            self.notify(exc.message, severity="error")
            return
        self.notify(f"profile {self.profile} deleted")
        self.profile = "default"
        self._refresh_profiles()
        self.recompute()

    # -- preview ------------------------------------------------------------------------
    def _secret_files_for_export(self) -> str | None:
        """Write the secret files an export mounts (so it runs as printed): their paths in words
        ("" when the secrets came from the operator's own files), or None when they cannot be written."""
        try:
            written = self.spec.write_secret_files()
        except OSError as exc:
            self.notify(f"cannot write the secret files the command mounts: {exc.strerror or exc}",
                        title="Export", severity="error")
            return None
        return f"{', '.join(written)} (0400)" if written else ""

    def action_copy_docker_run(self) -> None:
        if self.spec is None:
            self.notify("fix the settings first", severity="warning")
            return
        files = self._secret_files_for_export()
        if files is None:
            return
        from console.ui.clipboard import copy_text

        copy_text(self.app, self.spec.docker_run(), "docker run command (no secret in it)", title="Launch")
        if files:
            self.notify(f"it mounts the secrets read-only from {files}", title="Launch", timeout=8)

    def action_export_compose(self) -> None:
        from console.runtime.profiles import config_dir

        if self.spec is None:
            self.notify("fix the settings first", severity="warning")
            return
        files = self._secret_files_for_export()
        if files is None:
            return
        path = config_dir() / f"compose-{self.profile}.yaml"
        from console.private_file import write_private

        write_private(path, self.spec.compose(), own_dir=True)
        self.notify(f"compose file written: {path}" + (f"; it mounts the secrets from {files}" if files else ""))

    def action_connect(self) -> None:
        """The connect card for the server this pane watches (once it is ready)."""
        if not self.announced or not self.endpoint or not self.endpoint[0]:
            self.notify("no server is ready yet: launch one (F5), then F10", severity="warning")
            return
        from console.secret import Secret
        from console.server.endpoint import Endpoint
        from console.ui.connect import open_connect

        base_url, api_key, model = self.endpoint
        spec = self.spec if self.spec is not None and self.spec.name == self.container_name else None
        key = Secret(api_key, source=f"container {self.container_name}") if api_key else None
        open_connect(self.app, Endpoint(base_url, key, model or None), bind=spec.bind if spec else None)

    # -- actions -------------------------------------------------------------------------
    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        action = {"launch-go": self.action_launch, "launch-stop": self.action_stop,
                  "launch-restart": self.action_restart, "launch-save": self.action_save_profile}.get(event.button.id)
        if action:
            action()

    def action_launch(self, replace: bool = False) -> None:
        """Launch with the form's settings; ``replace`` stops a running container of that name first."""
        self.recompute()
        if self.vals is not None and self.vals.errors:
            self.notify("\n".join(p.message for p in self.vals.errors[:3]), title="Fix the settings first",
                        severity="error")
            return
        if self.spec is None:
            err = self.spec_error
            self.notify(f"{err.message}\n{err.hint or ''}" if err else "no launch spec", title="Launch refused",
                        severity="error", timeout=10)
            return
        self.pull_text = ""
        self.pull_layers.clear()
        self._launch_worker(self.spec, replace)

    @work(thread=True, exclusive=True, group="launch")
    def _launch_worker(self, spec, replace: bool = False) -> None:
        from console.runtime.phases import PhaseTracker, RunPhase

        runtime = self._runtime()
        tracker = PhaseTracker()

        def on_pull(p) -> None:
            tracker.advance(RunPhase.PULLING, "pulling image")
            tracker.activity()
            self.post_message(Pulled(p, tracker.elapsed))

        from console.runtime.capacity import predict

        # The plan for these settings on the GPUs as they are now, kept on the container (NVML: a worker).
        spec.prediction = predict(spec.settings)
        watched = self.monitor
        if replace and watched is not None:
            watched.stopping = True  # its exit is asked for: no crash bundle
        try:
            container = runtime.launch(spec, on_progress=on_pull, replace=replace)
        except ConsoleError as exc:
            if watched is not None:
                watched.stopping = False
            self.post_message(Failed(exc, "launch"))
            return  # the server being watched (if any) is still watched
        if watched is not None:
            watched.stop()  # watch the new server instead; the other one keeps running
        self.post_message(Attached(container.id, container.name, spec.base_url, spec.api_key,
                                   spec.served_model or spec.model, None, spec.profile))
        self._watch(runtime, container.id, spec.base_url, spec.api_key, dict(spec.settings), tracker)

    @work(thread=True, exclusive=True, group="launch")
    def _attach_worker(self) -> None:
        from console.runtime import service
        from console.runtime.lifecycle import api_key_of

        import time

        from textual.worker import get_current_worker

        from console.runtime.errors import DockerUnavailable

        told = False
        while True:
            try:
                runtime = self._runtime()
                running = runtime.owned(include_stopped=False)
                break
            except DockerUnavailable as exc:
                # Say it once, then look again quietly: the daemon may be starting.
                if not told:
                    self.post_message(Failed(exc, "re-attach"))
                    told = True
                for _ in range(50):
                    if get_current_worker().is_cancelled or not self.is_attached:
                        return
                    time.sleep(0.1)
            except ConsoleError as exc:
                self.post_message(Failed(exc, "re-attach"))
                return
        if told:
            self.post_message(Recovered())
        if not running:
            return
        wanted = self.spec.name if self.spec is not None else None
        info = next((i for i in running if i.name == wanted), None) or next(
            (i for i in running if i.profile == self.profile), running[0])
        attrs = runtime.client.api.inspect_container(info.id)
        self.post_message(Attached(info.id, info.name, info.base_url, api_key_of(attrs),
                                   info.served_model or info.model, service.drift(info), info.profile))
        self._watch(runtime, info.id, info.base_url, api_key_of(attrs), None)

    def _watch(self, runtime, container_id: str, base_url, api_key, settings, tracker=None) -> None:
        """Runs in the worker thread until the container exits or the pane goes away."""
        from console.runtime.monitor import Monitor

        monitor = Monitor(runtime, container_id, base_url=base_url, api_key=api_key, settings=settings,
                          on_update=lambda snap: self.post_message(Progress(snap)), tracker=tracker)
        self.monitor = monitor
        try:
            monitor.run()
        except ConsoleError as exc:
            self.post_message(Failed(exc, "watch"))

    @on(Attached)
    def _attached(self, message: Attached) -> None:
        if message.container_id != self.container_id:
            self.snap = None  # a different server: its own phases from here
        self.announced = False
        self.container_id = message.container_id
        self.container_name = message.name
        self.endpoint = (message.base_url, message.api_key, message.model)
        self.drift = message.drift
        if message.profile and message.profile != self.profile and self.attach:
            self.profile = message.profile
        logs = self._logs_pane()
        if logs is not None:
            logs.follow_container(message.container_id)
        self._show_info()

    @on(Pulled)
    def _pulled(self, message: Pulled) -> None:
        from console.runtime.monitor import Snapshot
        from console.runtime.phases import RunPhase

        p = message.progress
        self.pull_layers[p.layer] = p
        done = sum(1 for x in self.pull_layers.values() if x.status.startswith(("Pull complete", "Already exists")))
        self.pull_text = f"{done}/{len(self.pull_layers)} layers"
        pulling = Snapshot("", "", RunPhase.PULLING, "pulling image", message.elapsed_s, None, None, None, None,
                           False)
        self.query_one(PhaseTracker).show(pulling, self.pull_text)
        self._show_info()

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        if self.container_id and message.snap.container_id != self.container_id:
            return  # a late word from a container this pane no longer watches
        self.snap = snap = message.snap
        self.query_one(PhaseTracker).show(snap, self.pull_text)
        label = snap.phase.label
        if label == "ready" and not self.announced and self.endpoint:
            self.announced = True
            base_url, api_key, model = self.endpoint
            self.post_message(EndpointChanged(base_url, api_key, model))
            self.notify(f"server ready at {base_url} in {snap.time_to_ready_s:.1f}s\nF10: connect a client",
                        title="Launch")
        elif label in ("exited", "unhealthy") and self.announced:
            self.announced = False
            self.post_message(EndpointChanged(None))
        if label == "exited":
            if self.monitor is not None and self.monitor.container_id == snap.container_id:
                self.monitor = None
            if snap.diagnoses:
                d = snap.diagnoses[0]
                self.notify(f"{d.title}\nfix: {d.fix}", title="The server stopped", severity="error", timeout=15)
        self._show_info()

    @on(Recovered)
    def _recovered(self, message: Recovered) -> None:
        self.notify("Docker answers again", title="Docker")
        self._show_info()

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        err = message.error
        self.notify(f"{err.message}\n{err.hint or ''}".strip(), title=f"{message.action.capitalize()} failed",
                    severity="error", timeout=15)
        info = self.query_one("#launch-info", Static)
        info.update(Text(f"{message.action} failed: {err.message}\n→ {err.hint or ''}", style="bold red"))

    def action_stop(self) -> None:
        if not self.container_id:
            self.notify("no server to stop", severity="warning")
            return
        if self.monitor is not None:
            self.monitor.stopping = True
        self._stop_worker(self.container_id)

    @work(thread=True, group="launch-stop")
    def _stop_worker(self, container_id: str) -> None:
        try:
            runtime = self._runtime()
            runtime.stop(runtime.client.containers.get(container_id), timeout=30)
        except ConsoleError as exc:
            self.post_message(Failed(exc, "stop"))
        except Exception as exc:  # removed meanwhile
            from console.runtime.errors import explain

            self.post_message(Failed(explain(exc), "stop"))

    def action_restart(self) -> None:
        if not self.container_id:
            self.notify("no server to restart", severity="warning")
            return
        if self.monitor is not None:
            self.monitor.stopping = True
            self.monitor.stop()
        self.announced = False
        self._restart_worker(self.container_id)

    @work(thread=True, exclusive=True, group="launch")
    def _restart_worker(self, container_id: str) -> None:
        from console.runtime.lifecycle import api_key_of

        try:
            runtime = self._runtime()
            container = runtime.client.containers.get(container_id)
            info = runtime.restart(container, timeout=30)
        except Exception as exc:
            from console.runtime.errors import explain

            self.post_message(Failed(explain(exc), "restart"))
            return
        key = api_key_of(container.attrs)
        self.post_message(Attached(info.id, info.name, info.base_url, key, info.served_model, None, info.profile))
        self._watch(runtime, info.id, info.base_url, key, None)

    def quit_warning(self) -> str | None:
        """Quitting never stops a server; it would only cut an image pull short."""
        pulling = self.pull_layers and not all(
            p.status.startswith(("Pull complete", "Already exists")) for p in self.pull_layers.values())
        return "an image pull is in progress and would be cancelled" if pulling else None

    def _logs_pane(self):
        finder = getattr(self.app, "pane", None)
        return finder("logs") if finder else None

    def palette_commands(self):
        yield ("Launch: save profile with secrets", lambda: self.action_save_profile(True),
               "secrets go only into the 0600 profile file")
        yield ("Launch: replace the running server", lambda: self.action_launch(True),
               "stop the running container of this name and launch with the form's settings")
        yield ("Launch: export compose file", self.action_export_compose, "write compose-<profile>.yaml")
        yield ("Launch: connect a client", self.action_connect,
               "URLs from where you sit, SSH tunnel, curl/Python/.env snippets, .env writing, a curl check")
        yield ("Launch: delete profile", self.action_delete_profile, "delete the current profile file")

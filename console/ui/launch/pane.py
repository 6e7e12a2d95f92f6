"""The Launch pane: settings form, profiles, docker run preview, launch/stop/restart, phases.

Docker is only touched in thread workers (console/ui/launch/workers.py), through the core;
they post the messages of console/ui/launch/messages.py. The monitor worker keeps watching
after "ready" (a crash or an unhealthy server is shown too) and survives the Docker daemon
going away. On mount the pane re-attaches to a console container that is still running:
closing the console never stops the server. Other areas learn of the watched container and of
a ready server through ``ContainerWatched`` and ``EndpointChanged`` (console.ui.messages).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.widgets import Button, Select, Static

from console.errors import ConsoleError
from console.private_file import write_private
from console.runtime import profiles
from console.runtime.build import build_spec
from console.runtime.errors import DockerUnavailable
from console.runtime.monitor import Snapshot
from console.runtime.phases import DEFAULT_STALL_S, RunPhase
from console.runtime.service import resolve_values
from console.settings import with_file_fields
from console.settings.spec import BY_KEY
from console.secret import Secret
from console.server.endpoint import Endpoint
from console.ui.clipboard import copy_text
from console.ui.launch.form import ALLOW_PUBLIC, HelpLine, SettingsForm, _text
from console.ui.launch.info import PULL_DONE, info_text, preview_text
from console.ui.launch.messages import Attached, Choose, Failed, Progress, Pulled, Recovered
from console.ui.launch.tracker import PhaseSteps
from console.ui.state import remember, remembered
from console.ui.launch.workers import LaunchWorkers
from console.ui.messages import ContainerWatched, EndpointChanged, PlanChosen


def engine_of(values: Mapping[str, Any], edits: Mapping[str, Any]):
    """The engine the form names (its Engine field), SGLang when unknown."""
    from console import engines

    try:
        return engines.get(values.get("engine") or edits.get("engine") or None)
    except ConsoleError:
        return engines.get(None)


def remember_profile(name: str) -> None:
    """The next start opens this profile. Remembering is a convenience: a failure is no error."""
    try:
        remember("launch", profile=name)
    except OSError:
        pass


class LaunchPane(LaunchWorkers, Vertical):
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
        Binding("f3", "toggle_preview", "Preview"),
        Binding("f4", "choose_server", "Watch…"),
    ]
    NARROW = 110  # columns under which the side panel goes under the form and the preview folds

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
        self.drift: bool | None = None  # the running container against its saved profile
        self.running_hash = ""  # the watched container's settings hash: drift against the form, live
        self.running_profile = ""  # the profile it was launched from
        self.choice_note = ""  # several servers could be watched: F4 chooses
        self.docker_note = ""  # Docker cannot be reached at start: said in the side panel until it answers
        self.from_running: dict[str, Any] = {}  # edits that are the watched server's own settings, read back
        self.monitor = None
        self.pull_layers: dict[str, Any] = {}  # image pull progress per layer
        self.stall_after = DEFAULT_STALL_S
        self.preview_open: bool | None = None  # F3's choice; None: open when wide, folded when narrow

    # -- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield PhaseSteps(id="launch-tracker")
        with Horizontal(id="launch-body"):
            yield SettingsForm(id="launch-form")
            with Vertical(id="launch-side"):
                yield Static("", id="launch-info")
                with ScrollableContainer(id="launch-preview-box"):
                    yield Static("", id="launch-preview")
        yield HelpLine("", id="launch-help")
        with Horizontal(id="launch-actions"):
            yield Select([], prompt="profile", allow_blank=True, id="launch-profiles", compact=True)
            yield Button("Launch F5", id="launch-go", variant="success", compact=True)
            yield Button("Stop F6", id="launch-stop", variant="error", compact=True)
            yield Button("Restart F7", id="launch-restart", compact=True)
            yield Button("Save ^S", id="launch-save", compact=True)

    def on_mount(self) -> None:
        last = remembered("launch").get("profile")
        if isinstance(last, str) and last != self.profile:
            self.profile = last  # the profile used last time (a re-attach may still choose another)
        self._refresh_profiles()
        self.recompute()
        self.query_one(HelpLine).show(None)
        self.query_one(PhaseSteps).show(None)
        self.set_interval(1.0, self._tick)
        if self.attach:
            self._attach_worker()

    def on_resize(self, event) -> None:
        self.set_class(event.size.width < self.NARROW, "-narrow")
        self._fold_preview()

    def _fold_preview(self) -> None:
        shown = self.preview_open if self.preview_open is not None else not self.has_class("-narrow")
        self.set_class(not shown, "-preview-folded")
        if self.is_mounted:
            self._show_info()

    def action_toggle_preview(self) -> None:
        self.preview_open = self.has_class("-preview-folded")
        self._fold_preview()

    def _tick(self) -> None:
        """Keep the elapsed time and the stall warning live between phase changes."""
        monitor = self.monitor
        if monitor is None or self.snap is None or self.snap.phase.label in ("ready", "exited"):
            return
        self.snap = monitor.snapshot()
        self.query_one(PhaseSteps).show(self.snap, self.pull_text)

    def on_unmount(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()

    # -- values ---------------------------------------------------------------------
    def recompute(self) -> None:
        """Resolve the form's fields over env/planner/profile/defaults; show sources, problems, preview.

        Called before anything is launched, previewed, exported or saved: the edits are read from
        the fields as they are at that moment."""
        form = self.query_one(SettingsForm)
        self.edits.update(form.changed_fields())
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
        values, sources = with_file_fields(self.vals.values, self.vals.sources)
        engine = engine_of(values, self.edits)
        for key, raw in self.from_running.items():
            if key in self.edits and _text(self.edits[key]) == _text(raw):
                sources[key] = "running"  # read back from the watched server, not typed
        form.fill(values, sources, problems, self.edits)
        form.show_engine(engine.name, engine.not_taken())
        options = form.options()
        self.spec, self.spec_error = None, None
        # The form's Engine field is an edit like any other: the values' ``engine`` picks what launches.
        try:
            self.spec = build_spec(self.vals.values, profile=self.profile, allow_public=options[ALLOW_PUBLIC])
        except ConsoleError as exc:
            self.spec_error = exc
        self.stall_after = float(self.vals.values.get("stall_after") or DEFAULT_STALL_S)  # the next launch's
        self._show_preview()
        self._show_info()

    def _profile_exists(self) -> bool:
        try:
            return profiles.path_for(self.profile).exists()
        except ConsoleError:
            return False

    def _show_preview(self) -> None:
        errors = self.vals.errors if self.vals is not None else []
        self.query_one("#launch-preview", Static).update(preview_text(self.spec, self.spec_error, errors))

    def _show_info(self) -> None:
        text = info_text(name=self.container_name, endpoint=self.endpoint, drift=self.drift, profile=self.profile,
                         pull_layers=self.pull_layers, snap=self.snap, form_drift=self.form_drift())
        if self.docker_note and not self.container_name:
            text.append("\n" if text else "")
            text.append(self.docker_note, style="yellow")
        if self.choice_note and not self.container_name:
            text.append("\n" if text else "")
            text.append(self.choice_note, style="yellow")
        if self.has_class("-preview-folded"):
            text.append("\n" if text else "")
            text.append("docker run: F3 shows it · F8 copies it", style="dim")
        elif not text:
            text.append("docker run (F8 copies · F3 folds)", style="dim")
        self.query_one("#launch-info", Static).update(text)

    def _fill_from_running(self, running: dict[str, Any]) -> None:
        """A server found running that drifted from its profile: the form shows what it runs (as
        edits marked "running": F5 with shift would launch the same, Ctrl+S would save it)."""
        self.recompute()
        if self.form_drift() is not True:
            return
        values = self.vals.values if self.vals is not None else {}
        taken = {k: raw for k, raw in running.items() if k in BY_KEY and _text(raw) != _text(values.get(k))}
        self.edits.update(taken)
        self.from_running = dict(taken)
        self.recompute()

    def _recheck_profile_drift(self) -> None:
        """The watched server against its profile as saved now (a save may have changed either)."""
        if self.running_hash and self.running_profile:
            from console.runtime.service import profile_hash

            expected = profile_hash(self.running_profile)
            self.drift = None if expected is None else expected != self.running_hash

    def form_drift(self) -> bool | None:
        """True when the form, as it stands, would launch something other than the watched server
        runs (None: nothing watched, or the form cannot build a launch)."""
        if not self.container_name or not self.running_hash or self.spec is None:
            return None
        if self.snap is not None and self.snap.phase.label == "exited":
            return None
        return self.spec.settings_hash != self.running_hash

    @on(SettingsForm.Edited)
    def _edited(self, event: SettingsForm.Edited) -> None:
        if event.key == ALLOW_PUBLIC:
            self.recompute()
            return
        form = self.query_one(SettingsForm)
        if event.key not in self.edits and event.raw == form.filled.get(event.key):
            return  # a field echoing the value fill() gave it, not an edit
        # The field as it is now (typing the old value back is still an edit); recompute reads the rest.
        self.edits[event.key] = form.current(event.key)
        self.recompute()

    @on(SettingsForm.FieldFocused)
    def _focused(self, event: SettingsForm.FieldFocused) -> None:
        self.query_one(HelpLine).show(self.query_one(SettingsForm).fields.get(event.key))

    def on_plan_chosen(self, message: PlanChosen) -> None:
        self.planner = dict(message.values)
        for key in message.values:
            self.edits.pop(key, None)  # the operator just chose these: let them show
        self.recompute()

    # -- profiles ---------------------------------------------------------------------
    def _refresh_profiles(self) -> None:
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
        remember_profile(self.profile)
        self._keep_only_secret_edits()
        self.planner.clear()
        self.recompute()
        self.notify(f"profile {self.profile} loaded")

    def action_save_profile(self, keep_secrets: bool = False) -> None:
        """Ask for the profile's name (the current one offered), then save the form as it is then."""
        from console.ui.launch.save_screen import ProfileNameScreen

        def named(name: str | None) -> None:
            if name:
                self.save_profile_as(name, keep_secrets)

        self.app.push_screen(ProfileNameScreen(self.profile, with_secrets=keep_secrets), named)

    def save_profile_as(self, name: str, keep_secrets: bool = False) -> None:
        self.recompute()  # what the fields show now
        try:
            path = profiles.save(profiles.Profile(name, dict(self.vals.values), keep_secrets=keep_secrets))
        except ConsoleError as exc:
            self.notify(f"{exc.message}\n{exc.hint or ''}", title="Profile not saved", severity="error")
            return
        self.profile = name
        remember_profile(name)
        self._recheck_profile_drift()
        self._keep_only_secret_edits()
        self.planner.clear()
        self._refresh_profiles()
        self.recompute()
        extra = " (with secrets, file is 0600)" if keep_secrets else " (secrets left out; the form keeps them)"
        self.notify(f"saved {path}{extra}", title="Profile")

    def _keep_only_secret_edits(self) -> None:
        """After a save or a profile switch the edits are the profile's now, except secrets:
        they stay out of profiles but not out of the form, so the next launch keeps its key."""
        self.edits = {k: v for k, v in self.edits.items() if k in BY_KEY and BY_KEY[k].secret}
        self.from_running = {}

    def action_delete_profile(self) -> None:
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
        self.recompute()  # what the fields show now
        if self.spec is None:
            self.notify("fix the settings first", severity="warning")
            return
        files = self._secret_files_for_export()
        if files is None:
            return
        copy_text(self.app, self.spec.docker_run(), "docker run command (no secret in it)", title="Launch")
        if files:
            self.notify(f"it mounts the secrets read-only from {files}", title="Launch", timeout=8)

    def action_export_compose(self) -> None:
        self.recompute()  # what the fields show now
        if self.spec is None:
            self.notify("fix the settings first", severity="warning")
            return
        files = self._secret_files_for_export()
        if files is None:
            return
        path = profiles.config_dir() / f"compose-{self.profile}.yaml"
        write_private(path, self.spec.compose(), own_dir=True)
        self.notify(f"compose file written: {path}" + (f"; it mounts the secrets from {files}" if files else ""))

    def action_connect(self) -> None:
        """The connect card for the server this pane watches (once it is ready)."""
        if not self.announced or not self.endpoint or not self.endpoint[0]:
            self.notify("no server is ready yet: launch one (F5), then F10", severity="warning")
            return
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

    @on(Attached)
    def _attached(self, message: Attached) -> None:
        if message.container_id != self.container_id:
            self.snap = None  # a different server: its own phases from here
        self.announced = False
        self.container_id = message.container_id
        self.container_name = message.name
        self.endpoint = (message.base_url, message.api_key, message.model)
        self.drift = message.drift
        self.running_hash = message.settings_hash
        self.running_profile = message.profile
        self.choice_note = ""
        if message.profile and message.profile != self.profile and self.attach:
            # Watching a server found running: the form shows the profile it was launched from.
            self.profile = message.profile
            self._keep_only_secret_edits()
            self.planner.clear()
            self._refresh_profiles()
            self.recompute()
        if message.running is not None and self.attach:
            self._fill_from_running(message.running)
        self.post_message(ContainerWatched(message.container_id, message.name))  # Logs, Metrics follow it
        self._show_info()

    @on(Choose)
    def _choose(self, message: Choose) -> None:
        if not message.infos:
            self.notify("no console server is running", title="Watch", severity="warning")
            return
        if not message.ask:
            self.choice_note = f"{message.why}: F4 chooses one to watch"
            self._show_info()
            return
        from console.ui.launch.choose_screen import ChooseServerScreen

        def chosen(container_id: str | None) -> None:
            if container_id:
                self.attach = True  # the form follows the chosen server's profile
                self._attach_to_worker(container_id)

        self.app.push_screen(ChooseServerScreen(message.infos, message.why), chosen)

    def action_choose_server(self) -> None:
        self._list_worker()

    @on(Pulled)
    def _pulled(self, message: Pulled) -> None:
        p = message.progress
        self.pull_layers[p.layer] = p
        done = sum(1 for x in self.pull_layers.values() if x.status.startswith(("Pull complete", "Already exists")))
        self.pull_text = f"{done}/{len(self.pull_layers)} layers"
        pulling = Snapshot("", "", RunPhase.PULLING, "pulling image", message.elapsed_s, None, None, None, None,
                           False)
        self.query_one(PhaseSteps).show(pulling, self.pull_text)
        self._show_info()

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        if self.container_id and message.snap.container_id != self.container_id:
            return  # a late word from a container this pane no longer watches
        self.snap = snap = message.snap
        self.query_one(PhaseSteps).show(snap, self.pull_text)
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
        self.docker_note = ""
        self.notify("Docker answers again", title="Docker")
        self._show_info()

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        err = message.error
        info = self.query_one("#launch-info", Static)
        if message.action == "re-attach" and isinstance(err, DockerUnavailable):
            # Nobody asked for anything yet: the side panel says it (kept across redraws until
            # Docker answers), no "failed" toast.
            self.docker_note = f"{err.message}\n→ {err.hint or ''}"
            self._show_info()
            return
        self.notify(f"{err.message}\n{err.hint or ''}".strip(), title=f"{message.action.capitalize()} failed",
                    severity="error", timeout=15)
        info.update(Text(f"{message.action} failed: {err.message}\n→ {err.hint or ''}", style="bold red"))

    def action_stop(self) -> None:
        if not self.container_id:
            self.notify("no server to stop", severity="warning")
            return
        if self.monitor is not None:
            self.monitor.stopping = True
        self._stop_worker(self.container_id)

    def action_restart(self) -> None:
        if not self.container_id:
            self.notify("no server to restart", severity="warning")
            return
        if self.monitor is not None:
            self.monitor.stopping = True
            self.monitor.stop()
        self.announced = False
        self._restart_worker(self.container_id)

    def unsaved_edits(self) -> list[str]:
        """Settings edited in the form and in no profile yet (secrets never go to profiles)."""
        if self.is_mounted:
            self.edits.update(self.query_one(SettingsForm).changed_fields())
        return sorted(k for k in self.edits if not (k in BY_KEY and BY_KEY[k].secret) and not k.endswith("_file")
                      and not (k in self.from_running and _text(self.edits[k]) == _text(self.from_running[k])))

    def quit_warning(self) -> str | None:
        """Quitting never stops a server; it would cut an image pull short, or lose the form's edits."""
        reasons = []
        if self.pull_layers and not all(p.status.startswith(PULL_DONE) for p in self.pull_layers.values()):
            reasons.append("an image pull is in progress and would be cancelled")
        unsaved = self.unsaved_edits()
        if unsaved:
            fields = self.query_one(SettingsForm).fields
            names = ", ".join(fields[k].label if k in fields else k for k in unsaved[:4])
            more = f" and {len(unsaved) - 4} more" if len(unsaved) > 4 else ""
            reasons.append(f"unsaved Launch edits ({names}{more}) would be lost: stay and press Ctrl+S to keep them")
        return "; ".join(reasons) or None

    def palette_commands(self):
        yield ("Launch: save profile with secrets", lambda: self.action_save_profile(True),
               "secrets go only into the 0600 profile file")
        yield ("Launch: replace the running server", lambda: self.action_launch(True),
               "stop the running container of this name and launch with the form's settings")
        yield ("Launch: export compose file", self.action_export_compose, "write compose-<profile>.yaml")
        yield ("Launch: connect a client", self.action_connect,
               "URLs from where you sit, SSH tunnel, curl/Python/.env snippets, .env writing, a curl check")
        yield ("Launch: delete profile", self.action_delete_profile, "delete the current profile file")

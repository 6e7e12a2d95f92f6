"""The real installed program in tmux at 80×24: bursts of keys into the Launch form (ctrl+u and a
name in one send-keys, End and Backspaces and text) — the field, the preview, the error line and
what F5 creates on the real Docker Engine all equal what the fields show (issue 19 bug 1)."""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

import pytest

from tests.fixtures.docker_engine import free_port
from tests.fixtures.docker_engine import test_name as unique_name
from tests.test_tmux import RECORDING, Tmux, program, tmux  # noqa: F401 - the fixture

pytestmark = [pytest.mark.tmux, pytest.mark.docker]


def help_line(screen: str) -> str:
    """The focused setting's help: the row that names its env var (``Label  env NAME``), not a form
    row whose source column says ``env`` (GPUs set by GPT_OSS_GPUS)."""
    return next((line for line in screen.splitlines() if re.search(r"  env [A-Z][A-Z0-9_]+", line)), "")


def focus_field(tmux: Tmux, label: str, env: str) -> None:
    """Tab through the form until the help line names ``label``'s env var (keyboard only); each Tab
    waits for the screen to show where the focus went, so none overtakes the drawing."""
    line = help_line(tmux.screen())
    for _ in range(80):
        if line.strip().startswith(label) and f"env {env}" in line:
            return
        tmux.keys("Tab")
        before, deadline = line, time.monotonic() + 3
        while (line := help_line(tmux.screen())) == before and time.monotonic() < deadline:
            time.sleep(0.05)
    raise AssertionError(f"Tab never reached {label}; screen was:\n{tmux.screen()}")


def field_value(screen: str, label: str) -> str | None:
    """The value a form row shows: ``" Host port            18821    edited"`` → ``"18821"``."""
    for line in screen.splitlines():
        m = re.match(rf" {re.escape(label)} {{2,}}(\S+)", line)
        if m:
            return m.group(1)
    return None


def test_bursts_into_the_launch_form_launch_what_the_fields_show(tmux: Tmux, standin_sglang_image, docker_client):
    base = unique_name("tmux-burst")
    port = free_port()
    cfg = tempfile.mkdtemp(prefix="gpt-oss-console-test-tmux-cfg-")
    # A profile of its own as the last one used: other consoles' servers on a shared engine are
    # then only mentioned, not re-attached to or offered in a chooser.
    state = Path(cfg, "gpt-oss-console", "ui-state.json")
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"launch": {"profile": base.replace("gpt-oss-console-test-", "t-")}}))
    # No GPU here: the stand-in runs without one, and no HF cache is mounted.
    env = dict(GPT_OSS_CONSOLE_NVML_REPLAY=str(RECORDING), TERM="xterm-256color", COLORTERM="truecolor",
               XDG_CONFIG_HOME=cfg, XDG_STATE_HOME=cfg + "/state", XDG_DATA_HOME=cfg + "/data",
               GPT_OSS_GPUS="none", GPT_OSS_HF_CACHE="none")
    tmux.start(program(), env)
    try:
        tmux.wait_for(lambda s: "Quit" in s.splitlines()[-1], "the first screen")
        tmux.keys("2")
        tmux.wait_for(lambda s: "Launch F5" in s, "the Launch area")

        focus_field(tmux, "Container name", "GPT_OSS_CONTAINER_NAME")
        tmux.keys("C-u", f"{base}-stale")  # one send-keys: ctrl+u and the name arrive together
        tmux.wait_for(lambda s: field_value(s, "Container name") == f"{base}-stale", "the typed name")
        tmux.keys("End", *["BSpace"] * 5, "good")
        name = f"{base}-good"
        tmux.wait_for(lambda s: field_value(s, "Container name") == name, f"the field to show {name}")

        focus_field(tmux, "Host port", "GPT_OSS_HOST_PORT")
        tmux.keys("C-u", "99999")
        tmux.wait_for(lambda s: "out of range" in s, "the port's error, as typed")
        tmux.keys(*["BSpace"] * 5, str(port))
        tmux.wait_for(lambda s: field_value(s, "Host port") == str(port) and "out of range" not in s,
                      "the new port and no error left behind")

        focus_field(tmux, "Image", "GPT_OSS_IMAGE")
        tmux.keys("C-u", standin_sglang_image)
        tmux.wait_for(lambda s: field_value(s, "Image") == standin_sglang_image, "the typed image")

        tmux.keys("F3")  # unfold the docker run preview
        screen = tmux.wait_for(lambda s: "docker run -d" in s, "the preview")
        assert f"--name {name} " in screen and f"127.0.0.1:{port}:" in screen, screen

        tmux.keys("F5")
        deadline = time.monotonic() + 60
        found = []
        while not found and time.monotonic() < deadline:
            found = docker_client.containers.list(all=True, filters={"name": base})
            time.sleep(0.3)
        assert [c.name for c in found] == [name], tmux.screen()
        container = found[0]
        assert container.attrs["Config"]["Image"] == standin_sglang_image
        bindings = [b["HostPort"] for bs in container.attrs["HostConfig"]["PortBindings"].values() for b in bs]
        assert bindings == [str(port)]

        # quitting with the form's edits unsaved asks first; the server is left running
        tmux.keys("C-q")
        tmux.wait_for(lambda s: "unsaved Launch edits" in s, "the quit prompt")
        tmux.keys("y")
        tmux.wait_for(lambda s: tmux.pane("#{pane_dead}") == "1" or "$" in s.splitlines()[-1], "the program to end",
                      timeout=20)
    finally:
        for c in docker_client.containers.list(all=True, filters={"name": base}):
            c.remove(force=True)
        import shutil

        shutil.rmtree(cfg, ignore_errors=True)

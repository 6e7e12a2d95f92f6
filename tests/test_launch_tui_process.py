"""The real program in a pseudo-terminal: launch from the TUI with the keyboard, kill -9 the console,
the server lives on; a new console finds the same container and shows it."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.fixtures.docker_engine import free_port
from tests.fixtures.docker_engine import test_name as unique_name

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[1]
F5 = b"\x1b[15~"


class Tui:
    def __init__(self, env: dict[str, str], cols: int = 100, rows: int = 30):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-m", "console"], cwd=REPO, env=env, stdin=slave,
                                     stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self.out = b""

    def read(self, seconds: float) -> bytes:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    break
        return self.out

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        os.close(self.master)


def cli_status(env, name):
    proc = subprocess.run([sys.executable, "-m", "console", "status", name, "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    return json.loads(proc.stdout)["containers"]


def test_killing_the_console_never_stops_the_server(standin_sglang_image, docker_client, tmp_path):
    from console.settings import SETTINGS

    env = {k: v for k, v in os.environ.items()
           if k not in {n for s in SETTINGS for n in (s.env, *s.aliases, s.file_env) if n}}
    name = unique_name("tui-kill")
    env.update(TERM="xterm-256color", XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_STATE_HOME=str(tmp_path / "state"),
               GPT_OSS_IMAGE=standin_sglang_image, GPT_OSS_GPUS="none", GPT_OSS_HF_CACHE="none", GPT_OSS_CONTAINER_NAME=name,
               GPT_OSS_HOST_PORT=str(free_port()))
    # the stand-in image is an SGLang image: named */sglang, so auto mode runs it stock (argv from the console)
    tui = Tui(env)
    try:
        tui.read(4.0)
        tui.send(b"2")
        tui.read(1.5)
        tui.send(F5)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            tui.read(0.5)
            found = docker_client.containers.list(filters={"name": name})
            if found and any("fired up" in line for line in found[0].logs().decode().splitlines()):
                break
        else:
            raise AssertionError("the TUI did not launch the server:\n" + tui.out[-3000:].decode(errors="replace"))
        first_id = found[0].id
        tui.kill()  # no goodbye: SSH dropped, terminal closed

        time.sleep(1.0)
        (row,) = cli_status(env, name)
        assert row["id"] == first_id and row["running"] and row["phase"] == "ready"

        again = Tui(env)
        try:
            screen = again.read(8.0).decode(errors="replace")
            again.send(b"2")
            screen = again.read(3.0).decode(errors="replace")
            assert name[:20] in screen  # the new console shows the same container, re-attached
        finally:
            again.kill()
        assert docker_client.containers.get(name).status == "running"
    finally:
        if tui.proc.poll() is None:
            tui.kill()
        try:
            docker_client.containers.get(name).remove(force=True)
        except Exception:
            pass

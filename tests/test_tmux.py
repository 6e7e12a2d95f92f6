"""The real installed program in a real terminal: tmux at 80×24, read with capture-pane.

NVML answers come from a recording (two H100s serving 120b), so the screen is
the same on any machine.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[1]
RECORDING = ROOT / "tests" / "data" / "nvml" / "2xh100.json"

pytestmark = pytest.mark.tmux


def program() -> list[str]:
    script = Path(sys.executable).parent / "gpt-oss-console"
    return [str(script)] if script.exists() else [sys.executable, "-m", "console"]


class Tmux:
    def __init__(self) -> None:
        self.socket = f"gpt-oss-console-test-{uuid.uuid4().hex[:8]}"
        self.session = "console"

    def run(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        if check and out.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def start(self, command: list[str], env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        # The shell records the program's exit code itself: tmux's #{pane_dead_status} was seen
        # empty for a pane that had exited (a tmux quirk, not the program's).
        self.status_file = Path(tempfile.mkdtemp(prefix="gpt-oss-console-test-tmux-")) / "exit-code"
        line = f"cd {ROOT} && env {exports} {' '.join(command)}; echo $? > {self.status_file}"
        self.run("-f", "/dev/null", "new-session", "-d", "-s", self.session, "-x", "80", "-y", "24", "sh", "-c", line)
        self.run("set-option", "-t", self.session, "remain-on-exit", "on")

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def pane(self, fmt: str) -> str:
        return self.run("display-message", "-p", "-t", self.session, fmt).strip()

    def wait_for(self, predicate, what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            if self.pane("#{pane_dead}") == "1":
                break
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; screen was:\n{screen}")

    def kill(self) -> None:
        self.run("kill-server", check=False)
        if getattr(self, "status_file", None) is not None:
            shutil.rmtree(self.status_file.parent, ignore_errors=True)


@pytest.fixture
def tmux():
    need(shutil.which("tmux") is not None, "tmux (apt-get install tmux)")
    t = Tmux()
    yield t
    t.kill()


def test_console_in_tmux(tmux: Tmux) -> None:
    from console.ui.areas import AREAS as areas

    env = {"GPT_OSS_CONSOLE_NVML_REPLAY": str(RECORDING), "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    tmux.start(program(), env)

    screen = tmux.wait_for(
        lambda s: s.count("H100 80GB HBM3") >= 2 and "/700" in s and "Quit" in s.splitlines()[-1],
        "the GPU rows and the footer",
    )
    lines = screen.splitlines()
    assert len(lines) == 24 and max(len(line) for line in lines) <= 80
    assert "gpt-oss-console" in lines[0]
    gpu_rows = [line for line in lines if "H100 80GB HBM3" in line]
    assert gpu_rows[0].split()[0] == "0" and gpu_rows[1].split()[0] == "1"
    assert all("Hopper" in row and "/79.6" in row and "5/5" in row for row in gpu_rows)
    tmux.wait_for(lambda s: "GPU 0" in s and "100%┤" in s, "the charts under the table")
    tmux.keys("p")  # the planner, below the charts and processes
    screen = tmux.wait_for(lambda s: "This box: 2× H100-80GB" in s, "the planner")
    footer = lines[-1]
    for key in ("Help", "Quit", "palette"):
        assert key in footer, footer

    # Another area (digit key), then back to GPUs.
    other = next((a for a in areas if a.name != "gpus" and a.key), None)
    if other is not None:
        tmux.keys(other.key)
        tmux.wait_for(lambda s: "Sample now" not in s.splitlines()[-1], f"the {other.title} area")
        tmux.keys("1")
        tmux.wait_for(lambda s: "Sample now" in s.splitlines()[-1], "the GPUs area again")

    # From inside the chat input digits are text; ctrl+PgDn still moves on (real terminal keys:
    # alt+digit reaches Textual as '¡', '™'…, which is why this exists).
    chat = next((a for a in areas if a.name == "chat"), None)
    if chat is not None:
        tmux.keys(chat.key)
        tmux.wait_for(lambda s: "Enter send" in s, "the chat input")
        tmux.keys("1", "2")
        tmux.keys("C-NPage")
        tmux.wait_for(lambda s: "Enter send" not in s, "the area after Chat")
        back = [a.name for a in areas].index("chat") + 1  # back past Chat to GPUs, the first area
        tmux.keys(*["C-PPage"] * back)
        tmux.wait_for(lambda s: "Sample now" in s.splitlines()[-1], "the GPUs area again")

    # Help opens with F1 and lists the GPUs keys; Escape closes it.
    tmux.keys("F1")
    screen = tmux.wait_for(lambda s: "Esc or q closes" in s and "go to an area" in s, "the help screen")
    assert "Sample now" in screen and "this help" in screen
    tmux.keys("Escape")
    tmux.wait_for(lambda s: "Esc or q closes" not in s, "the help screen to close")

    # The command palette finds the areas.
    tmux.keys("C-p")
    tmux.wait_for(lambda s: "Go to GPUs" in s or "Search" in s, "the command palette")
    tmux.keys("Escape")
    tmux.wait_for(lambda s: "Go to GPUs" not in s, "the palette to close")

    # Quit: nothing is running, so no question; the program exits cleanly.
    tmux.keys("q")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not tmux.status_file.exists():
        time.sleep(0.2)
    assert tmux.status_file.exists(), tmux.screen()
    time.sleep(0.1)  # the shell's echo may still be writing
    assert tmux.status_file.read_text().strip() == "0", tmux.screen()


def exited_within(tmux: Tmux, seconds: float) -> float | None:
    """Seconds until the program exited (its shell wrote the exit code), or None."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if tmux.status_file.exists():
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def console_env(**extra: str) -> dict[str, str]:
    # tmux's own TERM, no truecolor: what an operator over SSH gets by default. No Docker: the
    # shared engine's containers (other tests') must not attach, re-attach or toast here.
    return {"GPT_OSS_CONSOLE_NVML_REPLAY": str(RECORDING), "TERM": "screen-256color",
            "DOCKER_HOST": "unix:///nonexistent/docker.sock", **extra}


def test_quit_during_a_bench_asks_then_cancels_within_a_second(tmux: Tmux, sglang_shaped_factory) -> None:
    """Issue 10 bug 1: ctrl+q during a bench asks; yes closes every stream within 1 s (the
    server sees them cut) and the program ends, instead of a blank terminal while they finish."""
    peer = sglang_shaped_factory(token_interval_s=0.02)  # 1024 tokens: ~20 s a request
    srv = peer.server
    tmux.start(program(), console_env(GPT_OSS_CONSOLE_BASE_URL=peer.base_url))
    tmux.wait_for(lambda s: "6 Metrics" in s, "the tabs")
    tmux.keys("6")
    tmux.wait_for(lambda s: "b Bench" in s or "Bench" in s.splitlines()[-1], "the Metrics area")
    tmux.keys("b")
    tmux.wait_for(lambda s: "Concurrency" in s and "Run" in s.splitlines()[-1], "the bench screen")
    tmux.keys("C-r")
    deadline = time.monotonic() + 60
    while srv.streams_open < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.streams_open >= 1, tmux.screen()
    # q on the bench screen would close it, losing the run: asked, and No keeps it going
    tmux.keys("q")
    tmux.wait_for(lambda s: "a bench is running" in s and "Close (y)" in s, "the close question")
    tmux.keys("n")
    tmux.wait_for(lambda s: "Close (y)" not in s, "the question to go")
    assert srv.streams_open >= 1 and srv.streams_cut == 0
    tmux.keys("C-q")
    tmux.wait_for(lambda s: "a bench is running" in s and "Quit (y)" in s, "the quit prompt")
    assert srv.streams_open >= 1
    tmux.keys("y")
    said_yes = time.monotonic()
    while srv.streams_open and time.monotonic() - said_yes < 10:
        time.sleep(0.01)
    closed_in = time.monotonic() - said_yes
    assert srv.streams_open == 0 and srv.streams_cut >= 1
    assert closed_in < 1.0, f"the streams closed {closed_in:.2f} s after the answer"
    exit_s = exited_within(tmux, 10)
    assert exit_s is not None, tmux.screen()
    assert tmux.status_file.read_text().strip() == "0"


def test_a_toast_leaves_after_its_timeout_with_no_key_pressed(tmux: Tmux) -> None:
    """Issue 10 bug 3: a toast is gone from the real terminal once its time is up, with no key
    (Logs' `n` with no log says "No error below." for 3 s)."""
    tmux.start(program(), console_env())
    tmux.wait_for(lambda s: "3 Logs" in s, "the tabs")
    tmux.keys("3")
    tmux.wait_for(lambda s: "Next error" in s.splitlines()[-1], "the Logs area")
    tmux.keys("c")  # no Docker here: a longer toast says so, and stays above the next one
    tmux.wait_for(lambda s: "Logs" in s and "▌" in s, "the first toast", timeout=10)
    tmux.keys("n")
    tmux.wait_for(lambda s: "No error below." in s, "the toast", timeout=10)
    shown = time.monotonic()
    tmux.wait_for(lambda s: "No error below." not in s, "the toast to leave by itself", timeout=3 + 5)
    assert time.monotonic() - shown >= 2.0  # it stayed for its time first


def test_q_in_the_inspector_closes_only_the_inspector(tmux: Tmux, sglang_shaped_factory) -> None:
    """Issue 10 bug 8: q in the chat Inspector closes it (as less, k9s); the conversation stays."""
    peer = sglang_shaped_factory()
    tmux.start(program(), console_env(GPT_OSS_CONSOLE_BASE_URL=peer.base_url))
    tmux.wait_for(lambda s: "4 Chat" in s, "the tabs")
    tmux.keys("4")
    tmux.wait_for(lambda s: "Enter send" in s, "the chat input")
    tmux.keys("Say hello", "Enter")
    tmux.wait_for(lambda s: "tok" in s and "Say hello" in s and "Enter send" in s, "the answer", timeout=60)
    tmux.keys("F3")
    tmux.wait_for(lambda s: "Inspector ·" in s, "the Inspector")
    tmux.keys("q")
    screen = tmux.wait_for(lambda s: "Inspector ·" not in s, "the Inspector to close")
    assert "Say hello" in screen and "Enter send" in screen
    assert not tmux.status_file.exists() and tmux.pane("#{pane_dead}") == "0"


def test_keys_typed_right_after_an_area_key_land_in_the_new_area(tmux: Tmux) -> None:
    """Issue 10: area switching never eats a typed character. A burst (one send-keys, as over
    SSH) of an area key and text: the text lands in the new area's field, not in the old area."""
    tmux.start(program(), console_env())
    tmux.wait_for(lambda s: s.count("H100 80GB HBM3") >= 2 and "Quit" in s.splitlines()[-1], "the GPUs area")
    time.sleep(1.0)  # the other areas mount just after the first frame
    tmux.keys("4hello")
    tmux.wait_for(lambda s: any("hello" in line and "▊" in line for line in s.splitlines()), "hello in the chat input")
    tmux.keys("C-NPage", "127.0.0.1:9")  # on to Smoke and its URL field, in one burst
    tmux.wait_for(lambda s: "URL 127.0.0.1:9" in s and "F5 runs the suite" in s, "the URL typed into Smoke")

"""Every command ends quietly when its reader goes away (`| head`), as Unix tools do (issue 10, bug 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REPLAY = str(REPO / "tests/data/nvml/2xh100.json")


def piped(args: str, reader: str, env: dict | None = None) -> tuple[int, str]:
    """Run the CLI into ``reader``; the CLI's exit status and its stderr."""
    script = f'"{sys.executable}" -m console {args} 2>"$ERR" | {reader} >/dev/null; echo "${{PIPESTATUS[0]}}"'
    err = REPO / ".pytest-pipe-stderr"
    try:
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO,
                              env=dict(os.environ, ERR=str(err), GPT_OSS_CONSOLE_NVML_REPLAY=REPLAY, **(env or {})))
        return int(proc.stdout.strip()), err.read_text()
    finally:
        err.unlink(missing_ok=True)


@pytest.mark.parametrize("args, reader", [
    ("gpus --json", "head -c 300"),
    ("gpus --watch --interval 0.1", "head -2"),
    ("plan --model gpt-oss-120b --gpu H100-80GB --json", "true"),
])
def test_a_closed_pipe_ends_quietly(args, reader):
    status, stderr = piped(args, reader)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert stderr == ""
    assert status in (0, 141)  # finished before the reader left, or SIGPIPE's status


def test_bench_json_to_a_closed_pipe(sglang_shaped_server):
    args = (f"bench --base-url {sglang_shaped_server.base_url} --concurrency 1 --requests 2 "
            "--input-len 8 --output-len 4 --quiet --json -")
    status, stderr = piped(args, "true")  # gone before the first byte: the write must meet EPIPE
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert status == 141

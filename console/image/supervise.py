"""Run SGLang as a child and mask secrets in its output (used only when an API key is set).

SGLang logs its whole ``ServerArgs`` at start, ``api_key`` included, verbatim
(sgl-project/sglang#37457; the redaction PRs #18518/#19328/#37499 were not merged
in the releases this image targets). ``exec`` would hand the container's stdout to
SGLang and the key would land in ``docker logs``. So with a key the entrypoint
stays PID 1 as a minimal init instead:

* SGLang's stdout/stderr go through pipes and the console's one scrubber
  (:mod:`console.settings.mask`: every secret value, and whatever follows a secret's
  name) before they reach the container's stdout/stderr, masked as ``sk-…f3a9``.
  Complete lines pass at once; a partial line (progress bars) after a short pause,
  keeping back only as many bytes as could be the start of a split secret.
* SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to SGLang,
  so ``docker stop`` still takes SGLang's own shutdown path.
* Orphans (e.g. sshd sessions) are reaped; the exit status is SGLang's
  (128 + N when a signal N ended it).

Stdlib only.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import threading
from typing import Iterable

from console.secret import Scrubber
from console.settings.mask import SCRUBBER

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
PARTIAL_FLUSH_S = 0.25
MAX_PARTIAL = 64 * 1024
READ_SIZE = 64 * 1024  # a pipe's capacity: one read takes all that is there


class Redactor:
    """Byte-stream masking that never lets a secret through, even split across reads."""

    def __init__(self, secrets: Iterable[str], scrubber: Scrubber = SCRUBBER):
        secrets = [s for s in secrets if s]
        # The relay is handed every secret it must mask: the values alone. The name rules would
        # add a scan of every byte SGLang writes (17x a bare relay, tests/perf/bench_log_masking.py);
        # the console applies them where it shows or saves this log.
        self._scrubber = scrubber.values_only().with_values(*secrets)
        self._keep = max((len(s.encode()) for s in secrets), default=1) - 1
        self._buf = b""

    def _mask(self, data: bytes) -> bytes:
        return self._scrubber.scrub_bytes(data)

    def feed(self, data: bytes) -> bytes:
        """Masked output that is safe to emit now: the complete lines.

        A secret never spans a line break, so complete lines are masked on their
        own and only the trailing partial line is held back (unmasked) for later.
        """
        cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        if not cut:
            self._buf += data
            return self.partial() if len(self._buf) > MAX_PARTIAL else b""
        lines = self._buf + data[:cut] if self._buf else data[:cut]
        self._buf = data[cut:]
        return self._mask(lines)

    def partial(self) -> bytes:
        """Emit a pending partial line except a tail that could begin a secret."""
        if not self._buf:
            return b""
        buf = self._mask(self._buf)
        cut = max(0, len(buf) - self._keep)
        out, self._buf = buf[:cut], buf[cut:]
        return out

    def flush(self) -> bytes:
        out, self._buf = self._mask(self._buf), b""
        return out


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except BrokenPipeError:
            return
        data = data[n:]


def _pump(src: int, dst: int, redactor: Redactor) -> None:
    busy = False
    while True:
        # Only wait with a timeout (to flush a partial line) when the pipe was drained.
        if not busy and not select.select([src], [], [], PARTIAL_FLUSH_S)[0]:
            _write_all(dst, redactor.partial())
            continue
        chunk = os.read(src, READ_SIZE)
        busy = len(chunk) == READ_SIZE
        if not chunk:
            break
        _write_all(dst, redactor.feed(chunk))
    _write_all(dst, redactor.flush())
    os.close(src)


def run(argv: list[str], env: dict[str, str] | None, secrets: Iterable[str]) -> int:
    """Run ``argv`` with masked output and forwarded signals; return its exit status."""
    secrets = list(secrets)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def forward(signum, _frame):
        try:
            os.kill(proc.pid, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout.fileno(), 1, Redactor(secrets)), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr.fileno(), 2, Redactor(secrets)), daemon=True),
    ]
    for t in pumps:
        t.start()
    status = None
    while status is None:
        try:
            pid, raw = os.wait()  # any child: reaps orphans re-parented to PID 1 too
        except ChildProcessError:
            break
        if pid == proc.pid:
            status = raw
    for t in pumps:
        t.join(timeout=5)  # a grandchild may still hold the pipe open: don't hang on it
    if status is None:
        return 1
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code

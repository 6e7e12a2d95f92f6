"""This machine's CPU and memory, and the host side of GPU processes, from ``/proc``.

What top and nvitop show beside the GPUs: CPU busy since the last read, memory in
use (total − available), and per process its CPU share, resident memory, user and
command line. ``proc_root`` is a seam: tests read a recorded ``/proc`` tree.
Signalling a process (the GPUs area's terminate/kill) is here too, with the
reasons it can fail in words.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from console.errors import ConsoleError
from console.exit_codes import EXIT_NOT_FOUND, EXIT_UNAVAILABLE


@dataclass(frozen=True)
class HostSample:
    cpu_pct: float | None  # all cores, since the previous read (None on the first)
    cores: int
    mem_total: int | None  # bytes
    mem_used: int | None  # total − available
    swap_total: int | None
    swap_used: int | None
    load1: float | None


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    cpu_pct: float | None  # of one core, since the previous read (None on the first)
    rss: int | None  # bytes
    user: str | None
    command: str | None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


class HostReader:
    """Reads ``/proc``; remembers the last CPU counters so each read says the share since then."""

    def __init__(self, proc_root: str = "/proc", clock: Callable[[], float] = time.monotonic,
                 processes: bool = True) -> None:
        self.root = proc_root
        self.per_process = processes  # False: PIDs from elsewhere (a replay) are not looked up here
        self.clock = clock
        self._cpu: tuple[int, int] | None = None  # (busy, total) jiffies at the last read
        self._procs: dict[int, tuple[float, int]] = {}  # pid -> (time, utime+stime jiffies)
        self._users: dict[int, str] = {}
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def read(self) -> HostSample:
        cpu = None
        stat = _read(f"{self.root}/stat") or ""
        cores = sum(1 for line in stat.splitlines() if line.startswith("cpu") and line[3:4].isdigit())
        first = stat.split("\n", 1)[0].split()
        if first[:1] == ["cpu"] and len(first) >= 5:
            ticks = [int(x) for x in first[1:9]]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
            total = sum(ticks)
            if self._cpu is not None and total > self._cpu[1]:
                cpu = 100.0 * ((total - idle) - self._cpu[0]) / (total - self._cpu[1])
            self._cpu = (total - idle, total)
        mem = {}
        for line in (_read(f"{self.root}/meminfo") or "").splitlines():
            name, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                mem[name] = int(parts[0]) * 1024
        load = (_read(f"{self.root}/loadavg") or "").split()
        total, avail = mem.get("MemTotal"), mem.get("MemAvailable")
        stotal, sfree = mem.get("SwapTotal"), mem.get("SwapFree")
        return HostSample(
            cpu_pct=cpu, cores=cores or (os.cpu_count() or 1),
            mem_total=total, mem_used=None if total is None or avail is None else total - avail,
            swap_total=stotal, swap_used=None if stotal is None or sfree is None else stotal - sfree,
            load1=float(load[0]) if load else None,
        )

    def processes(self, pids: Iterable[int]) -> dict[int, ProcInfo]:
        """What ``/proc`` says of each PID still there (a process that ended is left out)."""
        if not self.per_process:
            return {}
        now = self.clock()
        out: dict[int, ProcInfo] = {}
        seen: dict[int, tuple[float, int]] = {}
        for pid in pids:
            stat = _read(f"{self.root}/{pid}/stat")
            if stat is None:
                continue
            # The command name is in parentheses and may hold spaces: split after the last ')'.
            fields = stat[stat.rfind(")") + 2:].split()
            try:
                jiffies = int(fields[11]) + int(fields[12])
                rss = int(fields[21]) * self._page
            except (IndexError, ValueError):
                continue
            cpu = None
            if pid in self._procs:
                t0, j0 = self._procs[pid]
                if now > t0:
                    cpu = max(0.0, 100.0 * (jiffies - j0) / self._hz / (now - t0))
            seen[pid] = (now, jiffies)
            cmd = (_read(f"{self.root}/{pid}/cmdline") or "").replace("\0", " ").strip() or None
            out[pid] = ProcInfo(pid, cpu, rss, self._user(pid), cmd)
        self._procs = seen
        return out

    def _user(self, pid: int) -> str | None:
        status = _read(f"{self.root}/{pid}/status") or ""
        uid = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:")), None)
        if uid is None:
            return None
        name = self._users.get(uid)
        if name is None:
            try:
                import pwd

                name = pwd.getpwuid(uid).pw_name
            except (KeyError, ImportError):
                name = str(uid)
            self._users[uid] = name
        return name


SIGNALS = {"terminate": signal.SIGTERM, "kill": signal.SIGKILL}


def signal_process(pid: int, how: str) -> None:
    """Send SIGTERM (``terminate``) or SIGKILL (``kill``) to ``pid``; failures as ConsoleError."""
    sig = SIGNALS[how]
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        raise ConsoleError(f"process {pid} has already exited", exit_code=EXIT_NOT_FOUND) from None
    except PermissionError:
        raise ConsoleError(f"not allowed to signal process {pid}: it belongs to another user",
                           "run the console as that user or as root (sudo)", exit_code=EXIT_UNAVAILABLE) from None

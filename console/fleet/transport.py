"""Reaching a host: commands over SSH and its Docker Engine through a forwarded socket.

Each remote host gets one OpenSSH master connection (``ControlMaster``), so the
console authenticates once per host and every later command or Docker call rides
on it (~20 ms instead of a fresh handshake). The system ``ssh`` is used, so
``~/.ssh/config``, the agent, ``ProxyJump`` and known_hosts behave as they do for
the operator; ``BatchMode`` means it never stops to ask for a password.

Docker: the master forwards a local unix socket (in a 0700 folder of ours) to the
host's engine socket, and the Docker SDK talks to that socket. Why not the SDK's own
``ssh://`` support: it needs paramiko even with ``use_ssh_client``, takes no
``ssh -F``, starts one ssh process per pooled connection, and its reads ignore
timeouts, so a dead host would hang a status poll; the forward has none of that.

Masters outlive the command by ``PERSIST_S`` (OpenSSH's ``ControlPersist``), so
the next command within a few minutes reuses them; :meth:`SshTransport.close`
ends one at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import shlex
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from console.errors import ConsoleError
from console.exit_codes import EXIT_UNAVAILABLE
from console.fleet.hosts import Host
from console.private_file import private_dir

PERSIST_S = 300
API_VERSION = os.environ.get("GPT_OSS_CONSOLE_DOCKER_API", "1.41")  # the same pin as console.runtime.engine


class HostUnreachable(ConsoleError):
    """SSH to the host failed (refused, denied, unknown key, timed out…)."""

    exit_code = EXIT_UNAVAILABLE


@dataclass(frozen=True)
class RunResult:
    code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code == 0


def runtime_dir() -> Path:
    """A 0700 folder of ours for control and forwarded sockets (short paths: sockets cap at 108 bytes)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    root = Path(base) / "gpt-oss-console" if base and os.path.isdir(base) else \
        Path(tempfile.gettempdir()) / f"gpt-oss-console-{os.getuid()}"
    d = root / "ssh"
    private_dir(d)
    for p in (root, d):  # in /tmp someone else could have made it first: never use theirs
        st = os.lstat(p)
        if st.st_uid != os.getuid() or not os.path.isdir(p) or os.path.islink(p):
            raise HostUnreachable(f"{p} is not a folder of this user", "remove it or set XDG_RUNTIME_DIR")
    return d


def _connectable(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect(path)
            return True
        except OSError:
            return False


class LocalTransport:
    """This machine: commands run here, Docker is the local engine (``DOCKER_HOST`` honoured)."""

    def __init__(self, host: Host):
        self.host = host

    def describe(self) -> str:
        return "this machine"

    def address(self) -> str:
        return self.host.address or "127.0.0.1"

    def connect(self, timeout: float) -> None:
        """Nothing to open: this machine is always reachable."""

    def run(self, command: str, *, timeout: float, input: bytes | None = None) -> RunResult:
        try:
            proc = subprocess.run(["sh", "-c", command], input=input, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return RunResult(124, "", f"timed out after {timeout:g} s")
        return RunResult(proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))

    def docker_url(self, timeout: float) -> str:
        return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    def close(self) -> None:
        pass


class SshTransport:
    """One remote host over the system ssh, multiplexed on a master connection."""

    def __init__(self, host: Host, *, ssh_config: str | None = None, persist_s: int = PERSIST_S):
        assert host.ssh, "a remote host has an SSH destination"
        self.host = host
        self.dest = host.ssh
        self.ssh_config = ssh_config
        self.persist_s = persist_s
        self._lock = threading.Lock()
        key = hashlib.sha1(f"{ssh_config or ''}\0{self.dest}".encode()).hexdigest()[:20]
        self._key = key
        self._dir: Path | None = None
        self._resolved: dict[str, str] | None = None

    # -- paths and argv -------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        if self._dir is None:
            self._dir = runtime_dir()
        return self._dir

    @property
    def control_path(self) -> str:
        return str(self.folder / self._key)

    @property
    def docker_socket(self) -> str:
        return str(self.folder / f"{self._key}.docker")

    def _base(self, timeout: float) -> list[str]:
        argv = ["ssh"]
        if self.ssh_config:
            argv += ["-F", self.ssh_config]
        return argv + [
            "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={max(1, math.ceil(timeout))}",
            "-o", f"ControlPath={self.control_path}",
            "-o", "ServerAliveInterval=10",
            "-o", "ServerAliveCountMax=3",
            "-o", "StreamLocalBindUnlink=yes",
        ]

    def describe(self) -> str:
        return f"ssh {self.dest}"

    # -- what ssh makes of the destination ---------------------------------------------
    def resolved(self) -> dict[str, str]:
        """``ssh -G``: the HostName, Port and User the config gives this destination (no connection made)."""
        if self._resolved is None:
            argv = ["ssh"] + (["-F", self.ssh_config] if self.ssh_config else []) + ["-G", "--", self.dest]
            try:
                proc = subprocess.run(argv, capture_output=True, timeout=5)
                out = proc.stdout.decode(errors="replace") if proc.returncode == 0 else ""
            except (OSError, subprocess.TimeoutExpired):
                out = ""
            values: dict[str, str] = {}
            for line in out.splitlines():
                k, _, v = line.partition(" ")
                values.setdefault(k.lower(), v.strip())
            self._resolved = values
        return self._resolved

    def address(self) -> str:
        """The host part of its workers' URLs: declared, else ssh's HostName for the destination."""
        return self.host.address or self.resolved().get("hostname") or self.dest.rsplit("@", 1)[-1]

    # -- the master connection ------------------------------------------------------------
    def connect(self, timeout: float) -> None:
        """Make sure the master runs (authenticating once); HostUnreachable in plain words if not."""
        if _connectable(self.control_path):
            return
        with self._lock, _file_lock(self.folder / f"{self._key}.lock"):
            if _connectable(self.control_path):
                return
            # A master that died (killed, host rebooted) leaves its socket behind; ssh would then
            # run without multiplexing instead of becoming the new master.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.control_path)
            argv = self._base(timeout) + ["-o", "ControlMaster=yes", "-o", f"ControlPersist={self.persist_s}",
                                          "-f", "-N", "--", self.dest]
            # -f forks the master into the background: its stderr must not be a pipe we wait on.
            with tempfile.TemporaryFile() as err:
                try:
                    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                          timeout=timeout + 1)
                    code, timed_out = proc.returncode, False
                except subprocess.TimeoutExpired:
                    code, timed_out = 255, True
                except FileNotFoundError:
                    raise HostUnreachable("the ssh client is not installed on this machine",
                                          "install it (apt-get install openssh-client)") from None
                err.seek(0)
                text = err.read().decode(errors="replace")
            if code != 0 or not _wait_for(self.control_path, 2.0):
                raise explain_ssh(self.host.name, self.dest, text, timed_out=timed_out, timeout=timeout)

    def run(self, command: str, *, timeout: float, input: bytes | None = None) -> RunResult:
        """Run ``command`` in the host's login shell; a failure to reach the host raises HostUnreachable."""
        started = time.monotonic()
        self.connect(timeout)
        left = max(0.5, timeout - (time.monotonic() - started))
        argv = self._base(left) + ["-o", "ControlMaster=no", "--", self.dest, command]
        try:
            extra = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
            proc = subprocess.run(argv, capture_output=True, timeout=left, **extra)
        except subprocess.TimeoutExpired:
            return RunResult(124, "", f"{command.split()[0]} on {self.host.name} took over {timeout:g} s")
        stderr = proc.stderr.decode(errors="replace")
        if proc.returncode == 255 and _ssh_failure(stderr):
            raise explain_ssh(self.host.name, self.dest, stderr, timed_out=False, timeout=timeout)
        return RunResult(proc.returncode, proc.stdout.decode(errors="replace"), stderr)

    def docker_url(self, timeout: float) -> str:
        """A local socket forwarded to the host's Docker Engine socket (set up once per master)."""
        self.connect(timeout)
        with self._lock:
            if not _connectable(self.docker_socket):
                argv = self._base(timeout) + ["-O", "forward", "-L",
                                              f"{self.docker_socket}:{self.host.docker_socket}", "--", self.dest]
                try:
                    proc = subprocess.run(argv, capture_output=True, timeout=timeout)
                except subprocess.TimeoutExpired:
                    raise HostUnreachable(f"{self.host.name}: forwarding its Docker socket took over {timeout:g} s",
                                          "check the SSH connection (ssh -v)") from None
                if proc.returncode != 0 or not _wait_for(self.docker_socket, 2.0):
                    why = _last_line(proc.stderr.decode(errors="replace")) or "ssh refused the forward"
                    raise HostUnreachable(
                        f"{self.host.name}: cannot forward its Docker socket {self.host.docker_socket} ({why})",
                        "the host's sshd must allow stream-local forwarding (AllowStreamLocalForwarding yes, the default)")
        return f"unix://{self.docker_socket}"

    def close(self) -> None:
        """End the master (and the forward) now instead of after PERSIST_S."""
        if os.path.exists(self.control_path):
            subprocess.run(self._base(5) + ["-O", "exit", "--", self.dest], capture_output=True, timeout=10)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.docker_socket)


def transport_for(host: Host, *, ssh_config: str | None = None):
    return LocalTransport(host) if host.is_local else SshTransport(host, ssh_config=ssh_config)


@contextlib.contextmanager
def _file_lock(path: Path):
    """One master per host across processes (the TUI and a CLI command at once)."""
    import fcntl

    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _wait_for(path: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _connectable(path):
            return True
        time.sleep(0.02)
    return False


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("Warning: Permanently added")]
    return lines[-1] if lines else ""


_SSH_WORDS = ("connection refused", "permission denied", "host key verification failed", "could not resolve",
              "timed out", "no route to host", "network is unreachable", "connection closed", "connection reset",
              "kex_exchange_identification", "bad configuration option", "can't open user config file",
              "proxyjump", "banner exchange")


def _ssh_failure(stderr: str) -> bool:
    low = stderr.lower()
    return any(w in low for w in _SSH_WORDS)


def explain_ssh(name: str, dest: str, stderr: str, *, timed_out: bool, timeout: float) -> HostUnreachable:
    """ssh's complaint in plain words, with what to do (it never gets to ask for a password)."""
    line = _last_line(stderr)
    low = stderr.lower()
    if timed_out or "timed out" in low or "banner exchange" in low:
        return HostUnreachable(f"{name}: SSH to {dest} did not answer within {timeout:g} s",
                               "is the host up and the address right? (ssh -v " + shlex.quote(dest) + " shows where it stops)")
    if "connection refused" in low:
        return HostUnreachable(f"{name}: SSH to {dest} was refused",
                               "is sshd running there, and is the port right (Port in ~/.ssh/config or ssh://host:port)?")
    if "permission denied" in low:
        return HostUnreachable(f"{name}: SSH to {dest} was denied: no key was accepted",
                               "load your key into the agent (ssh-add) or set IdentityFile for this host in "
                               "~/.ssh/config; the console never types passwords")
    if "host key verification failed" in low:
        return HostUnreachable(f"{name}: the host key of {dest} is not known (or changed)",
                               f"connect once with ssh {shlex.quote(dest)} to check and accept its key")
    if "could not resolve" in low:
        return HostUnreachable(f"{name}: the name in {dest} does not resolve",
                               "fix the host's ssh destination in hosts.toml or its HostName in ~/.ssh/config")
    if "no route to host" in low or "network is unreachable" in low:
        return HostUnreachable(f"{name}: no network route to {dest}", "check the address and this machine's network")
    if "bad configuration option" in low or "can't open user config file" in low or "terminating" in low:
        return HostUnreachable(f"{name}: ssh cannot use its configuration ({line})",
                               "fix the ssh config file named above")
    return HostUnreachable(f"{name}: SSH to {dest} failed ({line or 'no message from ssh'})",
                           f"try ssh {shlex.quote(dest)} by hand to see why")

"""Running SGLang's router: which package is installed, a local process, or a container on a host.

Two PyPI packages provide it: ``sglang-router`` (the SGL Model Gateway; its wheel also
installs ``smg`` and ``amg`` scripts) and its successor ``smg``. Both are a Python
launcher around a Rust extension with the same ``<module>.launch_router`` entry
(``parse_router_args`` + ``launch_router``), so the console detects which module an
interpreter has and starts it the same way.

The router takes its API key only as ``--api-key VALUE``, which ``ps`` would show. So
the console starts it through a four-line bootstrap that reads the key from the fleet's
0600 key file and sets it on the parsed arguments: the key is in no argv and no
environment. The router container (the project's ``docker/gateway.Dockerfile`` image runs
``python3 -m sglang_router.launch_router``) gets the same bootstrap as its entrypoint and
the key as a file copied into the container before it starts.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from console.errors import ConsoleError
from console.exit_codes import EXIT_UNAVAILABLE
from console.fleet.hosts import FleetConfig
from console.fleet.state import RouterState, state_dir
from console.runtime.secret_files import IN_CONTAINER
from console.secret import Secret

ROUTER_ENV = "GPT_OSS_CONSOLE_ROUTER"  # a router script or interpreter to use instead of what PATH finds
MODULES = (("smg", "smg"), ("sglang_router", "sglang-router"))  # (module, PyPI package): successor first
KEY_IN_CONTAINER = f"{IN_CONTAINER}/api_key"  # copied in before it starts (console.runtime.secret_files)
INSTALL_HINT = ("install the router: pip install sglang-router (or its successor smg) into the console's "
                "environment, or set GPT_OSS_CONSOLE_ROUTER to its smg / sglang-router script")

# Run by the router's own interpreter: argv = [key file, module, router flags...]. Nothing secret in argv.
BOOTSTRAP = (
    "import importlib, sys\n"
    "key_file, module = sys.argv[1], sys.argv[2]\n"
    "lr = importlib.import_module(module + '.launch_router')\n"
    "args = lr.parse_router_args(sys.argv[3:])\n"
    "with open(key_file, encoding='utf-8') as fh:\n"
    "    args.api_key = fh.read().strip()\n"
    "lr.launch_router(args)\n"
)


class RouterNotInstalled(ConsoleError):
    exit_code = EXIT_UNAVAILABLE


@dataclass(frozen=True)
class RouterInstall:
    package: str  # "sglang-router" or "smg"
    version: str
    module: str  # "sglang_router" or "smg"
    python: str  # the interpreter that imports ``module``

    @property
    def label(self) -> str:
        return f"{self.package} {self.version}"

    def to_dict(self) -> dict:
        return {"package": self.package, "version": self.version, "module": self.module, "python": self.python}


def _probe(python: str, module: str, package: str) -> RouterInstall | None:
    code = ("import importlib.metadata as m, importlib.util as u, sys; "
            f"sys.exit(3) if u.find_spec({module!r}) is None else print(m.version({package!r}))")
    try:
        proc = subprocess.run([python, "-c", code], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return RouterInstall(package, proc.stdout.decode().strip() or "?", module, python)


def _script_install(script: str) -> RouterInstall | None:
    """A console script (``smg``, ``sglang-router``): its shebang names the interpreter, its import the module."""
    try:
        head = Path(script).read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return None
    if not head.startswith("#!"):
        return None
    python = head[2:].splitlines()[0].strip().split()[0]
    m = re.search(r"^from (\w+)\.", head, re.M)
    candidates = [(mod, pkg) for mod, pkg in MODULES if m is None or mod == m.group(1)]
    for mod, pkg in candidates:
        found = _probe(python, mod, pkg)
        if found:
            return found
    return None


def detect(env: dict | None = None) -> RouterInstall:
    """The router this machine can run, or RouterNotInstalled saying how to get one."""
    env = os.environ if env is None else env
    chosen = env.get(ROUTER_ENV)
    if chosen:
        path = shutil.which(chosen) or chosen
        found = _script_install(path) or next(
            (f for f in (_probe(path, mod, pkg) for mod, pkg in MODULES) if f), None)
        if found is None:
            raise RouterNotInstalled(f"{ROUTER_ENV}={chosen} is neither an smg/sglang-router script nor a Python "
                                     "that has the router", INSTALL_HINT)
        return found
    for mod, pkg in MODULES:  # the console's own environment
        if importlib.util.find_spec(mod) is not None:
            from importlib.metadata import PackageNotFoundError, version

            try:
                return RouterInstall(pkg, version(pkg), mod, sys.executable)
            except PackageNotFoundError:
                continue
    here = Path(sys.executable).parent
    for name in ("smg", "sglang-router"):
        for script in (shutil.which(name), str(here / name)):
            if script and os.path.isfile(script):
                found = _script_install(script)
                if found:
                    return found
    raise RouterNotInstalled("SGLang's router is not installed on this machine", INSTALL_HINT)


def router_args(cfg: FleetConfig, *, host: str) -> list[str]:
    """The router's flags (never the key): its ports, the policy, health checks."""
    interval = int(max(1, round(cfg.health_interval)))
    return [
        "--host", host, "--port", str(cfg.router_port),
        "--prometheus-host", host, "--prometheus-port", str(cfg.prometheus_port),
        "--policy", cfg.policy,
        "--cache-threshold", f"{cfg.cache_threshold:g}",
        "--balance-abs-threshold", str(cfg.balance_abs_threshold),
        "--health-check-interval-secs", str(interval),
        "--health-check-timeout-secs", str(min(5, interval)),
        "--health-failure-threshold", "3",
        "--shutdown-grace-period-secs", "30",
        "--log-level", "info",
    ]


def local_argv(cfg: FleetConfig, install: RouterInstall, key_file: str) -> list[str]:
    """What the router process runs: its interpreter, the bootstrap, the key's file (not the key), its flags."""
    return [install.python, "-c", BOOTSTRAP, key_file, install.module, *router_args(cfg, host=cfg.router_listen)]


def log_path(fleet: str) -> Path:
    return state_dir() / f"{fleet}.router.log"


def start_local(cfg: FleetConfig, install: RouterInstall, key_file: str, *, timeout: float = 60.0) -> RouterState:
    """Start the router as a process of its own session (it outlives this command); wait until it answers."""
    from console.private_file import private_dir

    private_dir(state_dir())
    bind = cfg.router_listen
    log = log_path(cfg.name)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, f"--- gpt-oss-console: starting {install.label} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
    argv = local_argv(cfg, install, key_file)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, cwd=state_dir())
    finally:
        os.close(fd)
    host = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind
    state = RouterState(kind="local", url=f"http://{host}:{cfg.router_port}",
                        prometheus_url=f"http://{host}:{cfg.prometheus_port}", pid=proc.pid, log=str(log),
                        package=install.label, started_at=time.time(), proc_start=proc_start(proc.pid))
    _wait_up(state, lambda: proc.poll(), log, timeout)
    return state


def _wait_up(state: RouterState, exited, log: Path | None, timeout: float, logs=None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = exited()
        if code is not None:
            tail = logs() if logs else _tail(log)
            raise explain_exit(code, tail, state)
        try:
            if httpx.get(state.url + "/health", timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ConsoleError(f"the router did not answer at {state.url} within {timeout:g} s",
                       f"its log: {log}" if log else "gpt-oss-console fleet logs router", exit_code=EXIT_UNAVAILABLE)


def _tail(log: Path | None, n: int = 40) -> list[str]:
    if log is None:
        return []
    try:
        return log.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]
    except OSError:
        return []


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def explain_exit(code: int, tail: list[str], state: RouterState) -> ConsoleError:
    text = _ANSI.sub("", "\n".join(tail))
    port = state.url.rsplit(":", 1)[-1]
    if "address already in use" in text.lower() or "addrinuse" in text.lower():
        return ConsoleError(f"the router cannot listen: a port it needs ({port} or the metrics port) is taken",
                            "choose others with --router-port / --prometheus-port (or in the hosts file's [fleet])",
                            exit_code=EXIT_UNAVAILABLE)
    last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "no output")
    return ConsoleError(f"the router exited at start (code {code}): {last[:300]}",
                        f"its log: {state.log}" if state.log else "gpt-oss-console fleet logs router",
                        exit_code=EXIT_UNAVAILABLE)


def proc_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22): with the pid,
    it names one process for good (pids are reused; the router also rewrites its own cmdline)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def is_ours(state: RouterState) -> bool:
    """The recorded pid is still the router process this console started."""
    if not state.pid or not _alive(state.pid):
        return False
    return state.proc_start is not None and proc_start(state.pid) == state.proc_start


def stop_local(state: RouterState, *, timeout: float = 40.0) -> bool:
    """SIGTERM (the router finishes requests in flight for up to 30 s), then SIGKILL. False: it was not running."""
    if not is_ours(state):
        return False
    try:
        os.kill(state.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(state.pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(state.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def _alive(pid: int) -> bool:
    try:
        # A child of ours that exited stays a zombie until reaped: reap it if it is ours.
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


# -- the router as a container on a host -----------------------------------------------------




def start_container(cfg: FleetConfig, runtime, key: Secret, *, address: str, timeout: float = 120.0) -> RouterState:
    """The router image on the router host's engine (host network: it reaches workers as that host does)."""
    from console.fleet.workers import FLEET_LABEL, HOST_LABEL, ROLE_LABEL
    from console.runtime.errors import explain
    from console.runtime.secret_files import SecretFile, copy_into

    name = f"{cfg.name}-router"
    runtime.remove_stale(name)
    runtime.ensure_image(cfg.router_image)
    module = "sglang_router"  # what docker/gateway.Dockerfile installs
    try:
        container = runtime.client.containers.create(
            cfg.router_image, name=name, entrypoint=["python3", "-c", BOOTSTRAP],
            command=[KEY_IN_CONTAINER, module, *router_args(cfg, host=cfg.router_listen)],
            network_mode="host", detach=True,
            labels={FLEET_LABEL: cfg.name, ROLE_LABEL: "router", HOST_LABEL: runtime.host.name},
        )
        copy_into(container, [SecretFile("api_key", key)])
        container.start()
    except ConsoleError:
        raise
    except Exception as exc:
        raise explain(exc, image=cfg.router_image) from exc
    state = RouterState(kind="container", url=f"http://{address}:{cfg.router_port}",
                        prometheus_url=f"http://{address}:{cfg.prometheus_port}", host=cfg.router,
                        container=name, package=cfg.router_image, started_at=time.time())

    def exited():
        container.reload()
        return container.attrs["State"]["ExitCode"] if container.status in ("exited", "dead") else None

    def logs():
        return container.logs(tail=40).decode(errors="replace").splitlines()

    _wait_up(state, exited, None, timeout, logs)
    return state

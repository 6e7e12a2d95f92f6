"""The fleet's hosts: a TOML file in the config dir, ``--host`` flags, Docker contexts.

A host is reached the way its operator already reaches it: an SSH destination (an alias
from ``~/.ssh/config``, ``user@box``, ``ssh://user@box:2222``), a Docker context whose
endpoint is ``ssh://…``, or ``local`` (this machine's engine). Nothing is installed on
the hosts. The file::

    [fleet]
    name = "gpt-oss-fleet"      # worker containers are named <name>-<host>-<n>
    router = "local"            # or a host name: the router runs as a container there
    router_port = 30080
    prometheus_port = 29000
    policy = "cache_aware"
    ssh_config = "~/.ssh/fleet" # passed as ssh -F (default: ssh's own ~/.ssh/config)
    timeout = 5                 # seconds a host may take to answer a status poll

    [hosts.gpu1]
    ssh = "gpu1"                # default: the host's name
    address = "10.0.0.5"        # where the router reaches its workers (default: ssh's HostName)
    bind = "0.0.0.0"            # where workers publish their port (default 0.0.0.0; local: 127.0.0.1)
    port = 30000                # first worker port on this host
    gpus = "0,1,2,3"            # GPUs the fleet may use (default: all)
    hf_cache = "/data/hf"       # Hugging Face cache on the host (default: none mounted)
    docker_socket = "/var/run/docker.sock"

    [hosts.local]               # this machine

Every problem is a :class:`HostsFileError` naming the file, the table and the key, and
saying what to write instead: the file is typed by people.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from console.errors import ConsoleError
from console.exit_codes import EXIT_NOT_FOUND, EXIT_USAGE
from console.fleet.settings import BY_KEY, NAME_RE

LOCAL = "local"
HOSTS_FILE_ENV = "GPT_OSS_CONSOLE_HOSTS"  # another hosts file than the config dir's
SSH_CONFIG_ENV = "GPT_OSS_CONSOLE_SSH_CONFIG"  # ssh -F for every host (tests use their own)
DEFAULT_WORKER_PORT = 30000
DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"


class HostsFileError(ConsoleError):
    exit_code = EXIT_USAGE


class UnknownHost(ConsoleError):
    exit_code = EXIT_NOT_FOUND


@dataclass(frozen=True)
class Host:
    """One machine of the fleet and how to reach it."""

    name: str
    ssh: str | None = None  # SSH destination; None for ``local``
    address: str | None = None  # host part of worker URLs as the router sees them
    bind: str | None = None  # publish address of the workers' ports
    port: int = DEFAULT_WORKER_PORT
    gpus: tuple[int, ...] | None = None  # None: every GPU the host has
    hf_cache: str | None = None
    docker_socket: str = DEFAULT_DOCKER_SOCKET
    source: str = ""  # where it was declared, for messages

    @property
    def is_local(self) -> bool:
        return self.ssh is None

    @property
    def publish_address(self) -> str:
        return self.bind or ("127.0.0.1" if self.is_local else "0.0.0.0")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "ssh": self.ssh, "address": self.address, "bind": self.publish_address,
            "port": self.port, "gpus": None if self.gpus is None else list(self.gpus), "hf_cache": self.hf_cache,
            "docker_socket": self.docker_socket, "local": self.is_local,
        }


@dataclass(frozen=True)
class FleetConfig:
    """The ``[fleet]`` settings (declared in ``console.fleet.settings``) and the hosts."""

    # Defaults from the declaration (console.fleet.settings), the one place they are written.
    name: str = BY_KEY["name"].default
    router: str = BY_KEY["router"].default  # "local" or the host whose engine runs the router container
    router_bind: str | None = BY_KEY["router_bind"].default
    router_port: int = BY_KEY["router_port"].default
    prometheus_port: int = BY_KEY["prometheus_port"].default
    policy: str = BY_KEY["policy"].default
    cache_threshold: float = BY_KEY["cache_threshold"].default
    balance_abs_threshold: int = BY_KEY["balance_abs_threshold"].default
    health_interval: float = BY_KEY["health_interval"].default
    router_image: str = BY_KEY["router_image"].default
    ssh_config: str | None = BY_KEY["ssh_config"].default
    timeout: float = BY_KEY["timeout"].default
    hosts: dict[str, Host] = field(default_factory=dict)
    router_host: Host | None = None  # the host running the router container (None: a local process)
    path: str | None = None  # the file it came from

    def host(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            known = ", ".join(self.hosts) or "none"
            raise UnknownHost(f"no host named {name!r} in the fleet (hosts: {known})",
                              "gpt-oss-console fleet status lists them; add one to the hosts file or pass --host") from None

    @property
    def router_listen(self) -> str:
        """Where the router listens: loopback for a local process, every address for a container on a host."""
        return self.router_bind or ("127.0.0.1" if self.router == LOCAL else "0.0.0.0")

    def with_hosts(self, hosts: list[Host]) -> "FleetConfig":
        return replace(self, hosts={h.name: h for h in hosts})

    def with_settings(self, values: Mapping[str, Any]) -> "FleetConfig":
        """Command-line values over the file's (``settings.cli_values``)."""
        cfg = replace(self, **values)
        if "router" in values:
            cfg = replace(cfg, router_host=None if cfg.router == LOCAL else self._router_host(cfg.router))
        return cfg

    def _router_host(self, name: str) -> Host:
        if name in self.hosts:
            return self.hosts[name]
        raise HostsFileError(f"--router {name!r} is neither 'local' nor a host of the fleet",
                             f"declare [hosts.{name}] in the hosts file or use --router local")


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "gpt-oss-console"


def hosts_path() -> Path:
    return Path(os.environ.get(HOSTS_FILE_ENV) or config_dir() / "hosts.toml").expanduser()


# -- reading the file ------------------------------------------------------------------

_HOST_KEYS = {"ssh", "address", "bind", "port", "gpus", "hf_cache", "docker_socket", "docker_context"}


def load(path: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None) -> FleetConfig:
    """The fleet declared in the hosts file; an absent file is an empty fleet (``local`` is added by callers)."""
    env = os.environ if env is None else env
    p = Path(path) if path is not None else hosts_path()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        ssh_config = env.get(SSH_CONFIG_ENV)
        return FleetConfig(ssh_config=os.path.expanduser(ssh_config) if ssh_config else None, path=None)
    except IsADirectoryError:
        raise HostsFileError(f"the hosts file {p} is a directory", "point it at a file (hosts.toml)") from None
    except OSError as exc:
        raise HostsFileError(f"the hosts file {p} cannot be read ({exc.strerror or exc})",
                             "check its permissions") from None
    return parse(raw, source=str(p), env=env)


def parse(raw: bytes | str, *, source: str = "hosts file", env: Mapping[str, str] | None = None) -> FleetConfig:
    env = os.environ if env is None else env
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise HostsFileError(f"{source} is not UTF-8 text (byte {exc.start})", "save it as UTF-8") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HostsFileError(f"{source} is not valid TOML: {exc}",
                             "fix that line (strings need quotes: name = \"gpu1\")") from None
    unknown = set(doc) - {"fleet", "hosts"}
    if unknown:
        raise HostsFileError(f"{source}: unknown table or key {sorted(unknown)[0]!r} at the top level",
                             "the file has a [fleet] table and [hosts.NAME] tables only")
    fleet = doc.get("fleet", {})
    if not isinstance(fleet, dict):
        raise HostsFileError(f"{source}: 'fleet' must be a table", "write it as [fleet] followed by key = value lines")
    where = f"{source} [fleet]"
    _no_unknown(fleet, set(BY_KEY), where)
    values: dict[str, Any] = {}
    for key, raw in fleet.items():
        try:
            values[key] = BY_KEY[key].read(raw)
        except ValueError as exc:
            raise HostsFileError(f"{where} {key} = {_shown(raw)}: {exc}",
                                 f"for example: {key} = {_example(BY_KEY[key].default)}") from None
    if "ssh_config" not in values and env.get(SSH_CONFIG_ENV):
        values["ssh_config"] = os.path.expanduser(env[SSH_CONFIG_ENV])
    cfg = FleetConfig(path=source, **values)
    hosts_table = doc.get("hosts", {})
    if not isinstance(hosts_table, dict):
        raise HostsFileError(f"{source}: 'hosts' must hold tables", "declare each host as [hosts.NAME]")
    hosts: dict[str, Host] = {}
    for hname, table in hosts_table.items():
        if not isinstance(table, dict):
            raise HostsFileError(f"{source}: hosts.{hname} must be a table",
                                 f"write it as [hosts.{hname}] followed by key = value lines")
        hosts[hname] = _host(hname, table, f"{source} [hosts.{hname}]", env)
    if cfg.router != LOCAL and cfg.router not in hosts:
        raise HostsFileError(f"{where} router {cfg.router!r} is neither 'local' nor a declared host",
                             f"declare [hosts.{cfg.router}] or set router = \"local\"")
    return replace(cfg, hosts=hosts, router_host=None if cfg.router == LOCAL else hosts[cfg.router])


def _host(name: str, table: dict, where: str, env: Mapping[str, str]) -> Host:
    if not NAME_RE.match(name):
        raise HostsFileError(f"{where}: the host name {name!r} cannot name containers",
                             "use letters, digits, '.', '_' or '-' (up to 63, not starting with a symbol)")
    _no_unknown(table, _HOST_KEYS, where)
    ssh = _str(table, "ssh", where, "") or None
    context = _str(table, "docker_context", where, "") or None
    if name == LOCAL and (ssh or context):
        raise HostsFileError(f"{where}: 'local' is this machine and takes no ssh or docker_context",
                             "give the remote machine another name")
    if ssh and context:
        raise HostsFileError(f"{where}: give either ssh or docker_context, not both",
                             "a Docker context already says how to reach the host")
    if context:
        ssh = ssh_from_context(context, env=env)
    elif name != LOCAL and not ssh:
        ssh = name  # an alias in ~/.ssh/config, like `ssh gpu1`
    if ssh is not None:
        ssh = _check_destination(ssh, where)
    gpus = table.get("gpus")
    return Host(
        name=name,
        ssh=ssh,
        address=_str(table, "address", where, "") or None,
        bind=_address(table, "bind", where),
        port=_port(table, "port", where, DEFAULT_WORKER_PORT),
        gpus=None if gpus is None else parse_gpu_list(gpus, f"{where} gpus"),
        hf_cache=_str(table, "hf_cache", where, "") or None,
        docker_socket=_str(table, "docker_socket", where, DEFAULT_DOCKER_SOCKET),
        source=where,
    )


def _example(default: Any) -> str:
    return f'"{default}"' if isinstance(default, str) else ("\"~/.ssh/config\"" if default is None else f"{default:g}")


def _no_unknown(table: dict, known: set[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise HostsFileError(f"{where}: unknown key {key!r}", f"known keys: {', '.join(sorted(known))}")


def _str(table: dict, key: str, where: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise HostsFileError(f"{where} {key} must be a string, got {_shown(value)}", f'write it in quotes: {key} = "…"')
    if "\x00" in value or "\n" in value:
        raise HostsFileError(f"{where} {key} holds a control character", "write it on one line without NUL bytes")
    return value.strip()


def _port(table: dict, key: str, where: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise HostsFileError(f"{where} {key} must be a port number 1–65535, got {_shown(value)}",
                             f"write it without quotes: {key} = {default}")
    return value


def _address(table: dict, key: str, where: str) -> str | None:
    import ipaddress

    value = _str(table, key, where, "")
    if not value:
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise HostsFileError(f"{where} {key} {value!r} is not an IP address",
                             "Docker publishes on an address of the host: 0.0.0.0, 127.0.0.1 or one of its IPs") from None
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def parse_gpu_list(value: Any, where: str) -> tuple[int, ...]:
    """``"0,1"`` / ``[0, 1]`` / ``"all"`` → indices (``()`` never: "all" is None upstream)."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        if not all(p.isdigit() and len(p) <= 3 for p in parts):
            raise HostsFileError(f"{where} {value!r} is not a list of GPU indices",
                                 'write indices as nvidia-smi numbers them: gpus = "0,1"')
        items = [int(p) for p in parts]
    elif isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        items = list(value)
    else:
        raise HostsFileError(f"{where} must list GPU indices, got {_shown(value)}", 'write gpus = "0,1" or gpus = [0, 1]')
    if any(i < 0 or i > 255 for i in items) or len(set(items)) != len(items):
        raise HostsFileError(f"{where} {_shown(value)} has an index out of range or twice",
                             "each index once, as nvidia-smi numbers the GPUs (0, 1, …)")
    return tuple(sorted(items))


_DEST_RE = re.compile(r"^(ssh://)?([A-Za-z0-9._%+-]+@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$")


def _check_destination(dest: str, where: str) -> str:
    """An SSH destination that ssh takes as one argument and cannot mistake for an option."""
    if not _DEST_RE.match(dest) or dest.startswith("-"):
        raise HostsFileError(f"{where}: {dest!r} is not an SSH destination",
                             "use an alias from ~/.ssh/config, user@host or ssh://user@host:port")
    if ":" in dest and not dest.startswith("ssh://") and not dest.endswith("]"):
        raise HostsFileError(f"{where}: {dest!r} has a port but no ssh:// in front",
                             f"write ssh://{dest} (ssh reads user@host:port only as a URI)")
    return dest


# -- --host flags, Docker contexts, DOCKER_HOST ----------------------------------------


def host_from_spec(spec: str, cfg: FleetConfig, *, env: Mapping[str, str] | None = None) -> Host:
    """A ``--host`` value: a declared host's name, ``local``, ``context:NAME``, or an SSH destination."""
    env = os.environ if env is None else env
    spec = (spec or "").strip()
    if not spec:
        raise HostsFileError("--host needs a value", "a host name from the hosts file, local, context:NAME or user@host")
    if spec in cfg.hosts:
        return cfg.hosts[spec]
    if spec == LOCAL:
        return Host(LOCAL, source="--host")
    if spec.startswith("context:"):
        context = spec.split(":", 1)[1]
        dest = ssh_from_context(context, env=env)
        return Host(_name_for(context), ssh=_check_destination(dest, f"--host {spec}"), source="--host")
    dest = _check_destination(spec, f"--host {spec}")
    return Host(_name_for(dest), ssh=dest, source="--host")


def _name_for(dest: str) -> str:
    """A container-safe host name for an ad-hoc destination (``root@10.0.0.5:22`` → ``10.0.0.5``)."""
    core = dest.removeprefix("ssh://").rsplit("@", 1)[-1]
    core = re.sub(r":\d+$", "", core).strip("[]")
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", core).strip("-.")[:63]
    return name if NAME_RE.match(name) else "h-" + hashlib.sha1(dest.encode()).hexdigest()[:8]


def docker_config_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")


def ssh_from_context(context: str, *, env: Mapping[str, str] | None = None) -> str:
    """The SSH destination of a Docker context (its ``meta.json``, read like the docker CLI does)."""
    env = os.environ if env is None else env
    digest = hashlib.sha256(context.encode()).hexdigest()
    meta = docker_config_dir(env) / "contexts" / "meta" / digest / "meta.json"
    try:
        doc = json.loads(meta.read_text(encoding="utf-8"))
        endpoint = doc["Endpoints"]["docker"]["Host"]
    except FileNotFoundError:
        raise HostsFileError(f"no Docker context named {context!r}",
                             "docker context ls lists them; create one with docker context create NAME "
                             "--docker host=ssh://user@host") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise HostsFileError(f"the Docker context {context!r} cannot be read ({meta})",
                             "recreate it with docker context create") from None
    if not isinstance(endpoint, str) or not endpoint.startswith("ssh://"):
        raise HostsFileError(f"the Docker context {context!r} points at {endpoint!r}, not at an ssh:// host",
                             "the fleet reaches remote engines over SSH: use a context with --docker host=ssh://…")
    return endpoint


def default_hosts(cfg: FleetConfig, *, env: Mapping[str, str] | None = None) -> list[Host]:
    """The hosts a command works on when none is named: the file's, else DOCKER_HOST's ssh host, else local."""
    env = os.environ if env is None else env
    if cfg.hosts:
        return list(cfg.hosts.values())
    docker_host = env.get("DOCKER_HOST", "")
    if docker_host.startswith("ssh://"):
        return [Host(_name_for(docker_host), ssh=_check_destination(docker_host, "DOCKER_HOST"), source="DOCKER_HOST")]
    return [Host(LOCAL, source="default")]


def select(cfg: FleetConfig, specs: list[str] | None, *, env: Mapping[str, str] | None = None) -> FleetConfig:
    """``cfg`` narrowed to the ``--host`` flags (each a declared name or a new destination), or its defaults."""
    if not specs:
        return cfg.with_hosts(default_hosts(cfg, env=env))
    hosts: list[Host] = []
    for spec in specs:
        host = host_from_spec(spec, cfg, env=env)
        if any(h.name == host.name for h in hosts):
            raise HostsFileError(f"--host {spec} names the host {host.name!r} twice", "give each host once")
        hosts.append(host)
    return cfg.with_hosts(hosts)

"""The base URLs that reach a server from where the user sits.

The console knows the server as this machine sees it (``http://127.0.0.1:8000``, and the
address it is bound on). The user may sit elsewhere: at a laptop that reached this box
over SSH (``SSH_CONNECTION``/``SSH_CLIENT`` say from where, and at which address and
port of this box), or this box may be a RunPod pod (``RUNPOD_POD_ID``,
``RUNPOD_PUBLIC_IP``, ``RUNPOD_TCP_PORT_<port>``). ``routes()`` lists every way in,
the most widely usable first, each with who can use it and what to run first.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import shlex
from dataclasses import asdict, dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE

ANY_ADDRESS = ("0.0.0.0", "::", "")

# Route kinds, in the order they are offered.
RUNPOD_PROXY = "runpod-proxy"
RUNPOD_TCP = "runpod-tcp"
SSH_DIRECT = "ssh-direct"
TUNNEL = "tunnel"
ADDRESS = "address"
LOCAL = "local"
KINDS = (RUNPOD_PROXY, RUNPOD_TCP, SSH_DIRECT, TUNNEL, ADDRESS, LOCAL)


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Server:
    """A server as this machine reaches it, and the address it listens on."""

    scheme: str
    host: str  # how this machine reaches it (never 0.0.0.0)
    port: int
    bind: str  # the address it listens on: loopback, one address, or 0.0.0.0 / :: (every address)
    path: str = ""  # a prefix before /v1 (proxies), usually empty

    @classmethod
    def from_url(cls, url: str, bind: str | None = None) -> "Server":
        """``http://127.0.0.1:8000/v1`` → Server; ``bind`` defaults to the URL's own host."""
        text = url.strip()
        if "://" not in text:
            text = "http://" + text
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise ConsoleError(f"not a usable server URL: {url!r} ({exc})", "use a URL like http://127.0.0.1:8000",
                               exit_code=EXIT_USAGE) from None
        if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
            raise ConsoleError(f"not a usable server URL: {url!r}", "use a URL like http://127.0.0.1:8000",
                               exit_code=EXIT_USAGE)
        host = parts.hostname
        port = port or (443 if parts.scheme == "https" else 80)
        path = parts.path.rstrip("/")
        if path.endswith("/v1"):
            path = path[:-3]
        listen = host if bind is None else bind
        if host in ANY_ADDRESS:  # "http://0.0.0.0:8000": bound everywhere, reached on loopback here
            host = "127.0.0.1" if host != "::" else "::1"
        return cls(parts.scheme, host, port, listen, path)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{_host_for_url(self.host)}:{self.port}{self.path}"

    @property
    def public(self) -> bool:
        """Listening beyond loopback (every address, or one that is not loopback)."""
        return self.bind in ANY_ADDRESS or not is_loopback(self.bind)

    @property
    def forward_target(self) -> str:
        """What an SSH tunnel forwards to, as seen from this machine."""
        if self.bind in ANY_ADDRESS:
            return "127.0.0.1" if self.bind != "::" else "::1"
        return self.bind


@dataclass(frozen=True)
class Route:
    kind: str
    base_url: str  # the server's root URL from there (the OpenAI base URL adds /v1)
    where: str  # who can use it, in words
    first: str | None = None  # a command to run first (the SSH tunnel)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SshOrigin:
    """Where an SSH session came from and which address/port of this box it reached."""

    client: str
    server: str | None  # None with SSH_CLIENT only (it does not say)
    port: int


def ssh_origin(env: Mapping[str, str]) -> SshOrigin | None:
    """``SSH_CONNECTION="client cport server sport"`` (or ``SSH_CLIENT="client cport sport"``)."""
    fields = (env.get("SSH_CONNECTION") or "").split()
    if len(fields) == 4 and fields[3].isdigit():
        return SshOrigin(fields[0], fields[2], int(fields[3]))
    fields = (env.get("SSH_CLIENT") or "").split()
    if len(fields) == 3 and fields[2].isdigit():
        return SshOrigin(fields[0], None, int(fields[2]))
    return None


def ssh_user(env: Mapping[str, str]) -> str:
    user = env.get("USER") or env.get("LOGNAME")
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (some containers)
        return "root"


def tunnel_command(server: Server, host: str, *, user: str, ssh_port: int = 22, local_port: int | None = None) -> str:
    """``ssh -N -L 8000:127.0.0.1:8000 alice@198.51.100.7`` (``-p`` only when not 22)."""
    local = local_port or server.port
    target = _host_for_url(server.forward_target)
    argv = ["ssh", "-N", "-L", f"{local}:{target}:{server.port}"]
    if ssh_port != 22:
        argv += ["-p", str(ssh_port)]
    argv.append(f"{user}@{host}")
    return shlex.join(argv)


def runpod_routes(server: Server, env: Mapping[str, str]) -> list[Route]:
    """A RunPod pod's ways in: its HTTPS proxy, a public TCP port, and SSH to its public IP."""
    pod = (env.get("RUNPOD_POD_ID") or "").strip()
    if not pod:
        return []
    out = [Route(RUNPOD_PROXY, f"https://{pod}-{server.port}.proxy.runpod.net{server.path}",
                 f"from anywhere, when the pod exposes {server.port}/http (the console's template does); "
                 "the proxy closes requests after 100 s")]
    ip = (env.get("RUNPOD_PUBLIC_IP") or "").strip()
    public_port = (env.get(f"RUNPOD_TCP_PORT_{server.port}") or "").strip()
    if ip and public_port.isdigit():
        out.append(Route(RUNPOD_TCP, f"http://{_host_for_url(ip)}:{public_port}{server.path}",
                         f"from anywhere: the pod's public IP, port {public_port} → {server.port}"))
    ssh_port = (env.get("RUNPOD_TCP_PORT_22") or "").strip()
    if ip and ssh_port.isdigit():
        out.append(Route(TUNNEL, f"http://127.0.0.1:{server.port}{server.path}",
                         "from your machine while this tunnel runs (RunPod's SSH port, your account's key)",
                         tunnel_command(server, ip, user="root", ssh_port=int(ssh_port))))
    return out


def routes(server: Server, env: Mapping[str, str] | None = None,
           addresses: Callable[[], list[str]] | None = None) -> list[Route]:
    """Every way to reach ``server``, the most widely usable first; the last is always this machine."""
    env = os.environ if env is None else env
    out = runpod_routes(server, env)
    in_pod = bool(out)
    origin = ssh_origin(env)
    scheme, path = server.scheme, server.path
    if origin is not None and not in_pod:
        host = origin.server or os.uname().nodename
        reachable_direct = server.public and (server.bind in ANY_ADDRESS or server.bind == origin.server)
        if reachable_direct and origin.server and not is_loopback(origin.server):
            out.append(Route(SSH_DIRECT, f"{scheme}://{_host_for_url(origin.server)}:{server.port}{path}",
                             f"from your machine ({origin.client}) directly: the server listens on "
                             f"{server.bind or 'every address'}"))
        out.append(Route(TUNNEL, f"{scheme}://127.0.0.1:{server.port}{path}",
                         f"from your machine ({origin.client}) while this tunnel runs",
                         tunnel_command(server, host, user=ssh_user(env), ssh_port=origin.port)))
    if server.public:
        if server.bind in ANY_ADDRESS:
            from console.connect.addresses import host_addresses

            found = (addresses or host_addresses)()
        else:
            found = [server.bind]
        taken = {r.base_url for r in out}
        for address in found:
            url = f"{scheme}://{_host_for_url(address)}:{server.port}{path}"
            if url not in taken and not is_loopback(address):
                out.append(Route(ADDRESS, url, f"from machines that reach this host at {address}"))
    out.append(Route(LOCAL, server.url, "on this machine"))
    return out


def pick(found: list[Route], via: str | None = None) -> Route:
    """The route snippets use: the first of kind ``via``, else the first (the most widely usable)."""
    if via is None:
        return found[0]
    for route in found:
        if route.kind == via:
            return route
    have = ", ".join(dict.fromkeys(r.kind for r in found))
    raise ConsoleError(f"no {via} route to this server from here", f"routes here: {have}", exit_code=EXIT_USAGE)

"""One transport and one Docker runtime per host, kept for as long as the caller lives.

The CLI makes one :class:`Connections` per command; the TUI keeps one for the session so
polls reuse the SSH masters, forwarded sockets and Docker clients.
"""

from __future__ import annotations

import threading

from console.errors import ConsoleError
from console.fleet.hosts import FleetConfig, Host
from console.fleet.transport import API_VERSION, HostUnreachable, LocalTransport, SshTransport, transport_for
from console.runtime.errors import DockerUnavailable, explain
from console.runtime.lifecycle import Runtime


class HostRuntime(Runtime):
    """``console.runtime``'s lifecycle on one host's engine (the same launch code, a remote client)."""

    def __init__(self, transport: LocalTransport | SshTransport, *, timeout: float = 30.0):
        super().__init__()
        self.transport = transport
        self.timeout = timeout

    @property
    def host(self) -> Host:
        return self.transport.host

    @property
    def client(self):
        if self._client is None:
            self._client = connect_docker(self.transport, timeout=self.timeout)
        return self._client

    def prepare_hf_cache(self, path: str | None) -> None:
        if self.host.is_local:
            super().prepare_hf_cache(path)
        elif path:  # as the SSH user, so the folder is theirs and not root's (dockerd would make it)
            import shlex

            self.transport.run(f"mkdir -p {shlex.quote(path)}", timeout=10)

    def remove_stale(self, name: str) -> None:
        """Remove a stopped container called ``name`` left by an earlier run (never a running one)."""
        import docker.errors

        try:
            c = self.client.containers.get(name)
        except docker.errors.NotFound:
            return
        except Exception as exc:
            raise explain(exc) from exc
        if c.status == "running":
            raise ConsoleError(f"{self.host.name}: a container named {name} is already running",
                               "gpt-oss-console fleet down stops the fleet's containers")
        c.remove(force=True)


def connect_docker(transport, *, timeout: float = 30.0):
    """A Docker SDK client for the host's engine that has answered a ping, or a ConsoleError naming the host."""
    import docker

    url = transport.docker_url(timeout)
    try:
        client = docker.DockerClient(base_url=url, version=API_VERSION, timeout=timeout)
        client.ping()
        return client
    except Exception as exc:
        err = explain(exc)
        if isinstance(transport, LocalTransport):
            raise err from exc
        raise _remote_docker_error(transport, err) from exc


def _remote_docker_error(transport: SshTransport, err: ConsoleError) -> ConsoleError:
    """Why the engine behind the forward does not answer, asked of the host itself."""
    import shlex

    sock = shlex.quote(transport.host.docker_socket)
    name = transport.host.name
    try:
        res = transport.run(f"if [ ! -S {sock} ]; then echo nosocket; elif [ ! -w {sock} ]; then echo denied; "
                            "else echo ok; fi; id -un", timeout=10)
        answer = res.stdout.split()
    except HostUnreachable as exc:
        return exc
    user = answer[1] if len(answer) > 1 else "the SSH user"
    if answer[:1] == ["nosocket"]:
        return DockerUnavailable(f"{name}: no Docker Engine socket at {transport.host.docker_socket}",
                                 "install and start Docker there, or set docker_socket for this host in hosts.toml")
    if answer[:1] == ["denied"]:
        return DockerUnavailable(f"{name}: {user} may not use {transport.host.docker_socket}",
                                 f"add {user} to the docker group on {name} (sudo usermod -aG docker {user}), "
                                 "then log in again")
    return DockerUnavailable(f"{name}: the Docker Engine does not answer through SSH ({err.message})",
                             err.hint or "is dockerd running there? (systemctl status docker)")


class Connections:
    def __init__(self, cfg: FleetConfig, *, timeout: float | None = None):
        self.cfg = cfg
        self.timeout = timeout or cfg.timeout
        self._lock = threading.Lock()
        self._transports: dict[str, LocalTransport | SshTransport] = {}
        self._runtimes: dict[str, HostRuntime] = {}

    def transport(self, host: Host):
        with self._lock:
            t = self._transports.get(host.name)
            if t is None or t.host != host:
                t = transport_for(host, ssh_config=self.cfg.ssh_config)
                self._transports[host.name] = t
            return t

    def runtime(self, host: Host, *, timeout: float = 30.0) -> HostRuntime:
        with self._lock:
            r = self._runtimes.get(host.name)
        if r is None or r.host != host:
            r = HostRuntime(self.transport(host), timeout=timeout)
            with self._lock:
                self._runtimes[host.name] = r
        return r

    def forget(self, host: Host) -> None:
        """Drop a host's Docker client (after a failure: the next call reconnects)."""
        with self._lock:
            r = self._runtimes.pop(host.name, None)
        if r is not None:
            r.close()

    def close(self, *, end_ssh: bool = False) -> None:
        """Close the Docker clients; ``end_ssh`` also ends the SSH masters (else they expire by themselves)."""
        with self._lock:
            runtimes, transports = list(self._runtimes.values()), list(self._transports.values())
            self._runtimes.clear()
        for r in runtimes:
            r.close()
        if end_ssh:
            for t in transports:
                try:
                    t.close()
                except Exception:  # noqa: BLE001 - ending a master that is already gone is fine
                    pass

"""Container lifecycle through the Docker SDK: pull, create/start, find, stop, restart, remove.

Every Docker failure leaves here as a ``ConsoleError`` in plain words
(:func:`console.runtime.errors.explain`); a container that Docker created but
could not start (no GPU runtime, port taken) is removed, not left "Created".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from console.errors import ConsoleError
from console.runtime import secret_files
from console.runtime import spec as S
from console.runtime.engine import connect
from console.runtime.errors import EXIT_NOT_FOUND, EXIT_USAGE, DockerUnavailable, explain
from console.runtime.spec import LaunchSpec


@dataclass
class LayerProgress:
    """One image layer's pull progress (``total`` 0 when Docker has not said yet)."""

    layer: str
    status: str
    current: int = 0
    total: int = 0

    @property
    def fraction(self) -> float | None:
        return self.current / self.total if self.total else None


@dataclass
class ContainerInfo:
    """What the console knows about a container it owns (from ``inspect``)."""

    id: str
    name: str
    profile: str
    image: str
    status: str  # Docker's: created, running, exited, …
    running: bool
    exit_code: int | None
    oom_killed: bool
    started_at: str
    finished_at: str
    settings_hash: str
    host_port: int | None
    bind: str
    mode: str
    model: str
    served_model: str
    health: str | None = None  # Docker HEALTHCHECK status, when the image has one
    engine: str = "sglang"  # from the engine label (none: a container from before engines, SGLang)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str | None:
        if not self.host_port:
            return None
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "", "::") else self.bind
        return f"http://{host}:{self.host_port}"

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d.pop("labels")
        d["base_url"] = self.base_url
        return d


def published(attrs: dict[str, Any]) -> tuple[str, int] | None:
    """(host address, host port) the container's API is published on, from Docker's own port
    bindings (the live ones while it runs, the configured ones otherwise), not the console's
    labels: a container started from an exported command may publish elsewhere."""
    live = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    configured = (attrs.get("HostConfig") or {}).get("PortBindings") or {}
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    for table in (live, configured):
        rows = [(k, b) for k, bs in sorted(table.items()) if k.endswith("/tcp") and k != "22/tcp" for b in bs or []]
        rows = [(k, b) for k, b in rows if str(b.get("HostPort") or "").isdigit()]
        if not rows:
            continue
        # Several bindings (IPv4 and IPv6 of one port, or several ports): prefer the labelled port.
        wanted = labels.get(S.LABEL_PORT)
        key, b = next(((k, b) for k, b in rows if b.get("HostPort") == wanted), rows[0])
        return str(b.get("HostIp") or "0.0.0.0"), int(b["HostPort"])
    return None


def info_from_attrs(attrs: dict[str, Any]) -> ContainerInfo:
    state = attrs.get("State") or {}
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    port = labels.get(S.LABEL_PORT)
    bind = labels.get(S.LABEL_BIND, "127.0.0.1")
    where = published(attrs)
    if where is not None:
        bind, port = where[0], str(where[1])
    running = bool(state.get("Running"))
    return ContainerInfo(
        id=attrs.get("Id", ""),
        name=(attrs.get("Name") or "").lstrip("/"),
        profile=labels.get(S.LABEL_PROFILE, ""),
        image=(attrs.get("Config") or {}).get("Image", ""),
        status=state.get("Status", "unknown"),
        running=running,
        exit_code=None if running or state.get("Status") == "created" else state.get("ExitCode"),
        oom_killed=bool(state.get("OOMKilled")),
        started_at=state.get("StartedAt", ""),
        finished_at=state.get("FinishedAt", ""),
        settings_hash=labels.get(S.LABEL_HASH, ""),
        host_port=int(port) if port and port.isdigit() else None,
        bind=bind,
        mode=labels.get(S.LABEL_MODE, ""),
        model=labels.get(S.LABEL_MODEL, ""),
        served_model=labels.get(S.LABEL_SERVED, ""),
        health=((state.get("Health") or {}).get("Status")),
        engine=labels.get(S.LABEL_ENGINE) or "sglang",
        labels=dict(labels),
    )


@dataclass(frozen=True)
class ContainerRow:
    """A running container on the engine, whoever started it (for pickers)."""

    id: str
    name: str
    image: str
    status: str  # Docker's words: "Up 3 minutes"
    owned: bool  # started by the console


def api_key_of(attrs: dict[str, Any]):
    """The API key a container was started with (a Secret), to probe it after re-attach: from its
    secret file (this host's copy), or, for containers an older console started, its env or argv."""
    from console.secret import Secret

    found = secret_files.read_back(attrs, "api_key")
    if found is not None:
        return found
    cfg = attrs.get("Config") or {}
    for item in cfg.get("Env") or []:
        if item.startswith("API_KEY="):
            return Secret(item.split("=", 1)[1], source="container env") if item.split("=", 1)[1] else None
    args = list(cfg.get("Cmd") or [])
    if "--api-key" in args:
        i = args.index("--api-key")
        if i + 1 < len(args):
            return Secret(args[i + 1], source="container argv")
    return None


class Runtime:
    """A connection to Docker plus the operations the console performs on its containers."""

    def __init__(self, client=None):
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = connect()
        return self._client

    def reconnect(self):
        self._client = None
        return self.client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None

    # -- images -----------------------------------------------------------
    def ensure_image(self, image: str, on_progress: Callable[[LayerProgress], None] | None = None) -> bool:
        """Make sure ``image`` exists locally; pull it with per-layer progress if not (an engine's stock
        image under a local name is never pulled: the error says how to build or tag it).

        Returns True when it had to pull.
        """
        import docker.errors

        try:
            self.client.images.get(image)
            return False
        except docker.errors.ImageNotFound as exc:
            from console import engines

            if engines.local_image(image) is not None:  # no registry has it under this name: never pulled
                raise explain(exc, image=image) from exc
        except Exception as exc:
            raise explain(exc, image=image) from exc
        repo, tag = _split_image(image)
        try:
            for event in self.client.api.pull(repo, tag=tag, stream=True, decode=True):
                if "error" in event:
                    raise ConsoleError(event["error"])
                # "Pulling from REPO" carries the tag as its id: not a layer.
                if on_progress and event.get("id") and not event.get("status", "").startswith("Pulling from"):
                    detail = event.get("progressDetail") or {}
                    on_progress(
                        LayerProgress(
                            layer=event["id"],
                            status=event.get("status", ""),
                            current=int(detail.get("current") or 0),
                            total=int(detail.get("total") or 0),
                        )
                    )
        except Exception as exc:
            raise explain(_as_pull_error(exc), image=image) from exc
        return True

    # -- containers -------------------------------------------------------
    def launch(self, spec: LaunchSpec, on_progress: Callable[[LayerProgress], None] | None = None, *,
               replace: bool = False, stop_timeout: int = 30, before_start: Callable[[Any], None] | None = None):
        """Pull if needed, create and start; returns the started container.

        ``replace``: a running console container of the same name is stopped and removed first
        (how new settings are applied: ``docker restart`` keeps the old ones).
        ``before_start(container)``: runs between create and start (files copied into it).
        """
        self._clear_name(spec.name, replace=replace, stop_timeout=stop_timeout)
        self.ensure_image(spec.image, on_progress)
        self.prepare_hf_cache(spec.hf_cache)
        try:
            spec.write_secret_files()
        except OSError as exc:
            raise ConsoleError(f"cannot write the container's secret files: {exc.strerror or exc}",
                               f"check that {secret_files.secrets_dir(spec.name).parent} is writable") from None
        try:
            container = self.client.containers.create(**spec.create_kwargs())
        except Exception as exc:
            secret_files.forget(spec.name)
            raise explain(exc, image=spec.image, port=spec.host_port) from exc
        try:
            if spec.secrets_copied and spec.secret_files:
                secret_files.copy_into(container, spec.secret_files)
            if before_start is not None:
                before_start(container)
            container.start()
        except Exception as exc:
            # Docker created it before refusing to start it: do not leave it behind in "Created".
            try:
                container.remove(force=True)
                secret_files.forget(spec.name)
            except Exception:
                pass
            raise explain(exc, image=spec.image, port=spec.host_port,
                          port_holder=self._port_holder(spec.host_port)) from exc
        container.reload()
        return container

    def _port_holder(self, port: int | None) -> str | None:
        """The console container publishing ``port`` on the host, if one does (for the error's hint)."""
        if not port:
            return None
        try:
            for info in self.owned(include_stopped=False):
                if info.host_port == port:
                    return info.name
        except Exception:  # only a better hint is lost
            return None
        return None

    def prepare_hf_cache(self, path: str | None) -> None:
        """Create the mounted HF cache folder first (a remote engine's runtime does it on its host)."""
        _prepare_hf_cache(path)

    def _clear_name(self, name: str, *, replace: bool = False, stop_timeout: int = 30) -> None:
        """Remove a stopped container of ours holding ``name``; refuse if it runs or is not ours."""
        import docker.errors

        try:
            existing = self.client.containers.get(name)
        except docker.errors.NotFound:
            return
        except Exception as exc:
            raise explain(exc) from exc
        labels = existing.labels or {}
        if labels.get(S.LABEL_OWNED) == "1" and existing.status == "running" and replace:
            existing.stop(timeout=stop_timeout)
        elif existing.status == "running":
            raise ConsoleError(
                f"container {name} is already running",
                "launch --replace (Shift+F5 in the console) stops it and starts one with the new settings; "
                "gpt-oss-console stop ends it; restart keeps its current settings",
                exit_code=EXIT_USAGE,
            )
        if labels.get(S.LABEL_OWNED) != "1":
            raise ConsoleError(
                f"a container named {name} exists and was not started by the console",
                "remove it yourself (docker rm NAME) or set another container name",
                exit_code=EXIT_USAGE,
            )
        existing.remove(force=True)
        secret_files.forget(name)

    def inspect_attrs(self, container_id: str) -> dict[str, Any]:
        """Docker's whole inspect of one container (ConsoleError when it is gone or Docker is)."""
        try:
            return self.client.api.inspect_container(container_id)
        except Exception as exc:
            raise explain(exc) from exc

    def owned(self, include_stopped: bool = True) -> list[ContainerInfo]:
        try:
            found = self.client.api.containers(all=include_stopped, filters={"label": f"{S.LABEL_OWNED}=1"})
            out = []
            for row in found:
                try:
                    out.append(info_from_attrs(self.client.api.inspect_container(row["Id"])))
                except Exception as exc:  # removed between list and inspect
                    if type(exc).__name__ != "NotFound":
                        raise
            return sorted(out, key=lambda i: (not i.running, i.name))
        except ConsoleError:
            raise
        except Exception as exc:
            raise explain(exc) from exc

    def running(self) -> list[ContainerRow]:
        """Every running container on the engine (the console's first), for a log picker."""
        try:
            rows = self.client.api.containers()
        except Exception as exc:
            raise explain(exc) from exc
        out = [
            ContainerRow(r["Id"], (r.get("Names") or ["/?"])[0].lstrip("/"), r.get("Image", ""), r.get("Status", ""),
                         (r.get("Labels") or {}).get(S.LABEL_OWNED) == "1")
            for r in rows
        ]
        return sorted(out, key=lambda r: (not r.owned, r.name))

    def get(self, target: str | None = None, *, running_only: bool = False):
        """The container named by ``target`` (name, id prefix or profile), or the only one owned."""
        infos = self.owned(include_stopped=not running_only)
        if target:
            for info in infos:
                if target in (info.name, info.profile) or info.id.startswith(target):
                    return self.client.containers.get(info.id)
            raise ConsoleError(
                f"no console container matches {target!r}",
                "gpt-oss-console status lists the containers the console manages",
                exit_code=EXIT_NOT_FOUND,
            )
        if not infos:
            raise ConsoleError(
                "no container started by the console",
                "start one with gpt-oss-console launch",
                exit_code=EXIT_NOT_FOUND,
            )
        running = [i for i in infos if i.running]
        pick = running or infos
        if len(pick) > 1:
            names = ", ".join(i.name for i in pick)
            raise ConsoleError(
                f"several console containers: {names}",
                "name one (by container name or profile)",
                exit_code=EXIT_USAGE,
            )
        return self.client.containers.get(pick[0].id)

    def inspect(self, container_id: str) -> ContainerInfo:
        try:
            return info_from_attrs(self.client.api.inspect_container(container_id))
        except Exception as exc:
            raise explain(exc) from exc

    def stop(self, container, timeout: int = 30) -> ContainerInfo:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (Docker's stop semantics).
        ``container``: the SDK's container or its id."""
        return self._act(container, "stop", timeout=timeout)

    def restart(self, container, timeout: int = 30) -> ContainerInfo:
        return self._act(container, "restart", timeout=timeout)

    def _act(self, container, verb: str, **kwargs) -> ContainerInfo:
        """Run ``container.<verb>(**kwargs)`` and return the container's state afterwards."""
        try:
            if isinstance(container, str):
                container = self.client.containers.get(container)
            getattr(container, verb)(**kwargs)
            container.reload()
        except Exception as exc:
            raise explain(exc) from exc
        return info_from_attrs(container.attrs)

    def remove(self, container, force: bool = False) -> None:
        try:
            container.remove(force=force)
        except Exception as exc:
            raise explain(exc) from exc
        secret_files.forget(container.name)


def _prepare_hf_cache(path: str | None) -> None:
    """Create the HF cache folder as the operator, not as root by dockerd (local daemons only)."""
    import os

    host = os.environ.get("DOCKER_HOST", "")
    if not path or (host and not host.startswith("unix://")):
        return
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        pass  # dockerd will create it; the mount still works


def _split_image(image: str) -> tuple[str, str]:
    last = image.rsplit("/", 1)[-1]
    if "@" in image:
        repo, digest = image.split("@", 1)
        return repo, digest
    if ":" in last:
        repo, tag = image.rsplit(":", 1)
        return repo, tag
    return image, "latest"


def _as_pull_error(exc: Exception) -> Exception:
    """A failed pull means the image is absent here; say so whatever the registry error was."""
    explained = explain(exc)
    if isinstance(explained, DockerUnavailable):
        return exc
    # The image was not found locally and the pull did not deliver it.
    import docker.errors

    return docker.errors.ImageNotFound(f"pull failed: {exc}")

"""Fleet workers: one SGLang container per GPU group, built by the same launch code as ``launch``.

A worker is a console container (``console.runtime.build.build_spec``) with fleet labels
(fleet, host, replica, GPUs, URL), so each host's engine is the record of what runs there
and ``gpt-oss-console status`` on that host lists it too. Its API key is the fleet's and
reaches it as ``launch``'s do, as a file (console.runtime.secret_files): named by ``API_KEY_FILE``
for the project image's entrypoint, inside SGLang's ``--config`` file for a stock image; never in
its environment or argv. The files are copied into the container (0400) before it starts, not
mounted: a remote host's engine would look for a mount's source on that host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from console.fleet.hosts import Host
from console.fleet.plan import WorkerSlot
from console.runtime.spec import LaunchSpec
from console.secret import Secret

FLEET_LABEL = "org.gpt-oss-console.fleet"
ROLE_LABEL = f"{FLEET_LABEL}.role"  # "worker" or "router"
HOST_LABEL = f"{FLEET_LABEL}.host"
REPLICA_LABEL = f"{FLEET_LABEL}.replica"
GPUS_LABEL = f"{FLEET_LABEL}.gpus"
URL_LABEL = f"{FLEET_LABEL}.url"


def container_name(fleet: str, host: str, replica: int) -> str:
    return f"{fleet}-{host}-{replica}"


def worker_url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


@dataclass(frozen=True)
class WorkerSpec:
    """A launch spec plus where the router reaches it."""

    launch: LaunchSpec
    slot: WorkerSlot
    url: str

    @property
    def name(self) -> str:
        return self.launch.name


class _FleetLaunchSpec(LaunchSpec):
    """The console's LaunchSpec with the fleet's labels added to the console's own."""

    fleet_labels: dict[str, str]

    @property
    def labels(self) -> dict[str, str]:
        return {**super().labels, **self.fleet_labels}


def build_worker(values: dict[str, Any], *, fleet: str, host: Host, address: str, slot: WorkerSlot,
                 key: Secret, image_mode: str | None = None, extra_env: dict[str, str] | None = None,
                 gpu_request: bool = True) -> WorkerSpec:
    """The worker's spec from resolved launch settings (``values``) and its slot in the plan."""
    from console.runtime.build import build_spec

    v = dict(values)
    v.update(
        tensor_parallel_size=slot.tp,
        host_port=slot.port,
        publish_address=host.publish_address,
        container_name=container_name(fleet, host.name, slot.replica),
        gpus=",".join(str(i) for i in slot.gpus) if gpu_request and slot.gpus else "none",
        api_key=key.reveal(),
        # A remote host's HF cache is the host's own folder, never this machine's default path.
        hf_cache=(v.get("hf_cache") if host.is_local else host.hf_cache) or "none",
    )
    base = build_spec(v, profile="", image_mode=image_mode, extra_env=extra_env)
    url = worker_url(address, slot.port)
    labels = {FLEET_LABEL: fleet, ROLE_LABEL: "worker", HOST_LABEL: host.name, REPLICA_LABEL: str(slot.replica),
              GPUS_LABEL: ",".join(map(str, slot.gpus)), URL_LABEL: url}
    launch = _FleetLaunchSpec(**{f: getattr(base, f) for f in base.__dataclass_fields__})
    launch.fleet_labels = labels
    launch.secrets_copied = True  # the host's engine may be remote: no bind mount of this machine's files
    return WorkerSpec(launch=launch, slot=slot, url=url)


# -- what runs on a host --------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerContainer:
    """A fleet worker as its host's engine lists it (one API call per host, no inspect)."""

    host: str
    name: str
    id: str
    replica: int
    gpus: tuple[int, ...]
    url: str
    state: str  # Docker's: running, exited, created, …
    status: str  # Docker's words: "Up 5 minutes", "Exited (137) 3 seconds ago"
    image: str

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def exit_code(self) -> int | None:
        m = re.match(r"Exited \((-?\d+)\)", self.status)
        return int(m.group(1)) if m else None

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "name": self.name, "id": self.id[:12], "replica": self.replica,
                "gpus": list(self.gpus), "url": self.url, "state": self.state, "status": self.status,
                "exit_code": self.exit_code, "image": self.image}


def list_fleet(runtime, fleet: str, *, role: str = "worker") -> list[WorkerContainer]:
    from console.runtime.errors import explain

    try:
        # The host label too: two hosts may share one engine (and do in the tests).
        rows = runtime.client.api.containers(all=True, filters={"label": [
            f"{FLEET_LABEL}={fleet}", f"{ROLE_LABEL}={role}", f"{HOST_LABEL}={runtime.host.name}"]})
    except Exception as exc:
        raise explain(exc) from exc
    out = []
    for r in rows:
        labels = r.get("Labels") or {}
        gpus = tuple(int(x) for x in (labels.get(GPUS_LABEL) or "").split(",") if x.isdigit())
        out.append(WorkerContainer(
            host=labels.get(HOST_LABEL, runtime.host.name), name=(r.get("Names") or ["/?"])[0].lstrip("/"),
            id=r.get("Id", ""), replica=int(labels.get(REPLICA_LABEL, "0") or 0), gpus=gpus,
            url=labels.get(URL_LABEL, ""), state=r.get("State", ""), status=r.get("Status", ""),
            image=r.get("Image", ""),
        ))
    return sorted(out, key=lambda w: (w.host, w.replica))


__all__ = ["WorkerSpec", "build_worker", "container_name", "list_fleet"]

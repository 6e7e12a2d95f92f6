"""VRAM per container: NVML's host PIDs mapped to the Docker containers that own them.

NVML lists compute processes by *host* PID, so nvitop & co. show containerised
servers as "No Such Process". A PID's cgroup path names its container
(``/docker/<id>``, ``docker-<id>.scope``, ``cri-containerd-<id>.scope``…);
where /proc does not show the PID (the console itself runs in a container),
``docker top`` of each running container answers instead.

The GPUs screen calls :func:`vram_by_container` with what the sampler saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from console.runtime.engine import connect
from console.runtime.errors import explain
from console.runtime.spec import LABEL_OWNED, LABEL_PROFILE

_CID = re.compile(r"(?:docker[-/]|cri-containerd-|crio-|libpod-|containerd/)([0-9a-f]{64})")


def container_id_of_pid(pid: int, proc_root: str = "/proc") -> str | None:
    """The 64-hex container id in the PID's cgroup path, or None (host process / gone)."""
    try:
        with open(f"{proc_root}/{pid}/cgroup", encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return None
    m = _CID.search(text)
    return m.group(1) if m else None


@dataclass
class ContainerRef:
    id: str
    name: str
    owned: bool  # started by the console
    profile: str = ""


@dataclass
class ContainerVram:
    container: ContainerRef | None  # None: processes outside any container
    per_gpu: dict[int, int] = field(default_factory=dict)  # gpu index → bytes
    pids: list[int] = field(default_factory=list)
    unknown_memory: bool = False  # a process whose memory NVML would not report

    @property
    def total(self) -> int:
        return sum(self.per_gpu.values())

    @property
    def label(self) -> str:
        return self.container.name if self.container else "host processes"

    def to_dict(self) -> dict[str, Any]:
        return {
            "container": None if self.container is None else self.container.__dict__,
            "per_gpu": self.per_gpu,
            "total": self.total,
            "pids": self.pids,
            "unknown_memory": self.unknown_memory,
        }


def _refs(client) -> dict[str, ContainerRef]:
    refs = {}
    for row in client.api.containers():  # running only: only they can hold GPU memory
        labels = row.get("Labels") or {}
        name = (row.get("Names") or ["/?"])[0].lstrip("/")
        refs[row["Id"]] = ContainerRef(row["Id"], name, labels.get(LABEL_OWNED) == "1", labels.get(LABEL_PROFILE, ""))
    return refs


def _top_pids(client, refs: dict[str, ContainerRef]) -> dict[int, str]:
    """PID → container id from ``docker top`` (host PIDs), for PIDs /proc cannot place."""
    out: dict[int, str] = {}
    for cid in refs:
        try:
            top = client.api.top(cid)
        except Exception:  # stopped meanwhile
            continue
        titles = top.get("Titles") or []
        if "PID" not in titles:
            continue
        col = titles.index("PID")
        for proc in top.get("Processes") or []:
            try:
                out[int(proc[col])] = cid
            except (ValueError, IndexError):
                pass
    return out


def map_pids(pids: Iterable[int], client=None, proc_root: str = "/proc") -> dict[int, ContainerRef | None]:
    """Each PID's container (None: not in a container). ``client``: a docker client, or None to connect."""
    pids = list(dict.fromkeys(pids))
    if not pids:
        return {}
    if client is None:
        client = connect()
    try:
        refs = _refs(client)
    except Exception as exc:  # the engine went away between connect and the list
        raise explain(exc) from exc
    out: dict[int, ContainerRef | None] = {}
    missing = []
    for pid in pids:
        cid = container_id_of_pid(pid, proc_root)
        if cid is not None:
            out[pid] = refs.get(cid) or ContainerRef(cid, cid[:12], False)
        else:
            missing.append(pid)
    if missing:
        top = _top_pids(client, refs)
        for pid in missing:
            cid = top.get(pid)
            out[pid] = refs[cid] if cid else None
    return out


def vram_by_container(samples: Iterable[Any], client=None, proc_root: str = "/proc") -> list[ContainerVram]:
    """Aggregate GPU memory by container from telemetry samples (``.index`` + ``.processes``).

    Console-owned containers first, then other containers, then host processes.
    """
    samples = list(samples)
    pids = [p.pid for s in samples for p in (getattr(s, "processes", None) or ())]
    owner = map_pids(pids, client, proc_root)
    groups: dict[str | None, ContainerVram] = {}
    for s in samples:
        for p in getattr(s, "processes", None) or ():
            ref = owner.get(p.pid)
            key = ref.id if ref else None
            g = groups.setdefault(key, ContainerVram(ref))
            if p.pid not in g.pids:
                g.pids.append(p.pid)
            if p.used_memory is None:
                g.unknown_memory = True
            else:
                g.per_gpu[s.index] = g.per_gpu.get(s.index, 0) + p.used_memory
    return sorted(
        groups.values(),
        key=lambda g: (g.container is None, not (g.container and g.container.owned), -g.total),
    )


def container_names(pids: Iterable[int]) -> dict[int, str]:
    """PID → container name (for the GPUs screen's process table); PIDs outside containers left out."""
    out = {}
    for pid, ref in map_pids(pids).items():
        if ref is not None:
            out[pid] = f"{ref.name} ({ref.profile or 'console'})" if ref.owned else ref.name
    return out

"""The fleet planner: replicas × TP on each host, what the router adds, the pool in total.

Each host is planned by the single-box planner (``console.planner``: its TP choice, its
KV-pool arithmetic); this module only decides how many replicas a host's GPUs hold,
which GPUs each replica gets and which port, and adds the numbers up. The fleet is
data parallel: independent SGLang workers (TP inside a box) behind SGLang's router.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.fleet.hosts import Host
from console.gpu import plan_gpus
from console.gpu.data import Inventory
from console.planner import GpuSpec, MemoryAtLoad, Plan, PlanError, choose_tp, lookup_model, plan
from console.planner.catalog import UnknownName
from console.planner.fit import valid_tp_sizes
from console.planner.memory import card_overhead, free_memory

ROUTER_NOTE = (
    "the router (SGLang Model Gateway) runs on CPU and needs no GPU; every request takes one extra "
    "local hop through it; with cache_aware it sends a conversation back to the worker that holds its "
    "prefix in KV cache (more cache hits than round robin), health-checks the workers and retries a "
    "failed request on another"
)


def multinode_note(model: str) -> str:
    """Why the plan never splits one replica across boxes."""
    m = lookup_model(model)
    valid = valid_tp_sizes(m, 64)
    return (
        f"multi-node tensor parallelism is not offered: {m.name} has {m.kv_heads} KV heads, and TP must "
        f"divide them ({', '.join(map(str, valid))}), so TP={max(valid)} inside one 8-GPU box is already "
        "the largest split; TP across boxes would add a network all-reduce at every layer and shard no "
        "more KV. More boxes serve more replicas behind the router (data parallel) instead"
    )


@dataclass(frozen=True)
class WorkerSlot:
    """One replica to run: where, on which GPUs, on which port."""

    host: str
    replica: int
    gpus: tuple[int, ...]
    port: int
    tp: int

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "replica": self.replica, "gpus": list(self.gpus), "port": self.port, "tp": self.tp}


@dataclass
class HostPlan:
    host: str
    gpu: str | None = None  # catalog name of the card planned for
    usable: tuple[int, ...] = ()  # GPU indices of that card the fleet may use
    tp: int = 0
    tp_reason: str | None = None
    replica_plans: list[Plan] = field(default_factory=list)  # one per replica, from its GPUs' free memory
    groups: list[tuple[int, ...]] = field(default_factory=list)  # each replica's GPU indices
    idle: tuple[int, ...] = ()  # usable GPUs no replica takes
    problem: str | None = None  # why the host gets no worker

    @property
    def replicas(self) -> int:
        return len(self.replica_plans)

    @property
    def replica_plan(self) -> Plan | None:
        """The first replica's plan (the others differ only where other processes hold memory)."""
        return self.replica_plans[0] if self.replica_plans else None

    @property
    def kv_tokens(self) -> int:
        return sum(p.max_total_num_tokens for p in self.replica_plans)

    def to_dict(self) -> dict[str, Any]:
        p = self.replica_plan
        return {
            "host": self.host, "gpu": self.gpu, "usable_gpus": list(self.usable), "tp": self.tp,
            "replicas": self.replicas, "idle_gpus": list(self.idle), "problem": self.problem,
            "verdict": p.verdict if p else None, "tp_reason": self.tp_reason,
            "kv_tokens_per_replica": [r.max_total_num_tokens for r in self.replica_plans],
            "max_context": min((r.max_context for r in self.replica_plans), default=0),
            "planned_for": p.planned_for if p else None,
            "reasons": list(p.reasons) if p else [],
            "warnings": list(p.warnings) if p else [],
        }


@dataclass
class FleetPlan:
    model: str
    context: int
    hosts: list[HostPlan] = field(default_factory=list)
    workers: list[WorkerSlot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def replicas(self) -> int:
        return len(self.workers)

    @property
    def kv_tokens_total(self) -> int:
        return sum(h.kv_tokens for h in self.hosts)

    @property
    def max_context(self) -> int:
        """The longest request every worker can take (the router may send it to any of them)."""
        return min((p.max_context for h in self.hosts for p in h.replica_plans), default=0)

    def concurrency_at(self, context: int) -> int:
        return sum(p.concurrency_at(context) for h in self.hosts for p in h.replica_plans)

    @property
    def planned_for(self) -> str | None:
        return next((h.replica_plan.planned_for for h in self.hosts if h.replica_plan), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "context": self.context, "replicas": self.replicas,
            "gpus_used": sum(len(w.gpus) for w in self.workers), "kv_tokens_total": self.kv_tokens_total,
            "max_context": self.max_context, "concurrency_at_context": self.concurrency_at(self.context),
            "planned_for": self.planned_for,
            "hosts": [h.to_dict() for h in self.hosts], "workers": [w.to_dict() for w in self.workers],
            "notes": list(self.notes),
        }


def usable_gpus(host: Host, inventory: Inventory) -> Inventory:
    """The inventory narrowed to the GPUs the hosts file lets the fleet use."""
    if host.gpus is None:
        return inventory
    return Inventory(gpus=tuple(g for g in inventory.gpus if g.index in host.gpus),
                     driver_version=inventory.driver_version, error=inventory.error, source=inventory.source)


def clean_cards(spec: GpuSpec, indices: list[int]) -> MemoryAtLoad:
    """Catalog cards nothing else uses, under their indices (what ``--gpu`` plans for)."""
    return free_memory(spec, {i: spec.memory_total - card_overhead(spec).reserved for i in indices})


def plan_host(host: Host, model: str, gpus: tuple[GpuSpec, list[int]] | None, *, tp: int | None = None,
              context: int | None = None, memory: MemoryAtLoad | None = None) -> HostPlan:
    """Replicas of ``model`` on one host's GPUs (``gpus``: the card and the indices usable).

    ``memory``: what is free on those GPUs now (``detected_memory``); without it, clean cards.
    Each replica is planned on its own GPUs, so one whose GPUs another process holds gets a
    smaller pool, as SGLang would give it.
    """
    hp = HostPlan(host.name)
    if gpus is None or not gpus[1]:
        hp.problem = "no usable GPU"
        return hp
    spec, indices = gpus
    hp.gpu, hp.usable = spec.name, tuple(indices)
    mem = memory if memory is not None else clean_cards(spec, indices)
    try:
        size, hp.tp_reason = choose_tp(model, spec, len(indices), tp, memory=mem)
        hp.tp = size
        plans = [plan(model, spec, size, tp=size, context_length=context, memory=mem.only(indices[r * size:(r + 1) * size]))
                 for r in range(len(indices) // size)]
    except (PlanError, UnknownName) as exc:
        hp.problem = str(exc)
        return hp
    fitting = [p for p in plans if p.fits]
    if not fitting:
        hp.problem = plans[0].reasons[0] if plans and plans[0].reasons else "does not fit"
        return hp
    groups = [tuple(indices[r * size:(r + 1) * size]) for r in range(len(plans))]
    hp.replica_plans = [p for p in plans if p.fits]
    hp.groups = [g for g, p in zip(groups, plans) if p.fits]
    hp.idle = tuple(i for i in indices if not any(i in g for g in hp.groups))
    return hp


def detected(host: Host, inventory: Inventory) -> tuple[GpuSpec, list[int]] | None:
    """The planner's card for a host (``plan_gpus``: its most common GPU) and the indices of that card."""
    from collections import Counter

    inv = usable_gpus(host, inventory)
    found = plan_gpus(inv)
    if found is None:
        return None
    usable = [g for g in inv.gpus if g.memory_total]
    name = Counter(g.name for g in usable).most_common(1)[0][0]  # the card plan_gpus planned for
    return found[0], sorted(g.index for g in usable if g.name == name)


def plan_fleet(model: str, hosts: list[Host], gpus: dict[str, tuple[GpuSpec, list[int]] | None], *,
               tp: int | None = None, context: int | None = None, problems: dict[str, str] | None = None,
               memory: dict[str, MemoryAtLoad] | None = None) -> FleetPlan:
    """The whole fleet; ``gpus`` maps host name → (card, usable indices), ``memory`` host → free now,
    ``problems`` host → why it has none."""
    m = lookup_model(model)
    fp = FleetPlan(model=m.name, context=context or m.max_context)
    for host in hosts:
        if problems and host.name in problems:
            fp.hosts.append(HostPlan(host.name, problem=problems[host.name]))
            continue
        hp = plan_host(host, m.name, gpus.get(host.name), tp=tp, context=context,
                       memory=(memory or {}).get(host.name))
        fp.hosts.append(hp)
        for r, group in enumerate(hp.groups):
            fp.workers.append(WorkerSlot(host.name, r, group, host.port + r, hp.tp))
    fp.notes = [ROUTER_NOTE, multinode_note(m.name)]
    mixed = {p.max_context for h in fp.hosts for p in h.replica_plans}
    if len(mixed) > 1:
        fp.notes.append(f"workers differ in the longest context they hold; the router may send any request "
                        f"to any of them, so plan requests up to {fp.max_context:,} tokens (the smallest)")
    return fp

"""What the planner knows about the two gpt-oss models and common GPUs.

Standard library only: the image entrypoint imports this inside a container
that has nothing but ``python3``.

Model facts come from the HF ``config.json`` of each model (layers, heads,
window, vocab, expert shapes); GPU memory sizes are the totals NVML (and so
``nvidia-smi``) reports, which is also what SGLang feeds its
``mem_fraction_static`` rule.

Public API::

    MODELS: dict[str, ModelSpec]          # "gpt-oss-20b", "gpt-oss-120b"
    GPUS: tuple[GpuSpec, ...]             # the catalog, in display order
    lookup_model(name) -> ModelSpec       # "120b", "openai/gpt-oss-120b", ...
    lookup_gpu(name) -> GpuSpec           # "H100-80GB", "h100", "NVIDIA H100 80GB HBM3"
    gpu_from_nvml(name, memory_total, compute_capability) -> GpuSpec
    arch_name(compute_capability) -> str  # (9, 0) -> "Hopper"
    UnknownName                           # ValueError; message lists known names
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GiB = 1024**3
MiB = 1024**2

# MXFP4 stores 4-bit values plus one 8-bit scale per 32 values.
MXFP4_BYTES_PER_PARAM = 0.5 + 1 / 32
BF16 = 2


class UnknownName(ValueError):
    """A model or GPU name the catalog does not know; the message lists known ones."""


@dataclass(frozen=True)
class ModelSpec:
    name: str  # canonical short name, e.g. "gpt-oss-120b"
    hf_id: str  # "openai/gpt-oss-120b"
    layers: int
    hidden: int
    q_heads: int
    kv_heads: int
    head_dim: int
    sliding_window: int  # tokens a sliding-window layer attends to
    sliding_layers: int  # every other layer (the even ones) slides
    experts: int
    experts_per_token: int
    expert_intermediate: int
    vocab: int
    max_context: int
    params_active_b: float  # from the model card, billions
    checkpoint_gib: float  # safetensors on disk, as published

    @property
    def full_layers(self) -> int:
        return self.layers - self.sliding_layers

    # -- parameter counts by kind (weights; biases included where the model has them)
    @property
    def expert_params(self) -> int:
        """MoE expert weights, stored in MXFP4."""
        h, i = self.hidden, self.expert_intermediate
        per_expert = h * 2 * i + i * h  # fused gate_up + down
        return per_expert * self.experts * self.layers

    @property
    def dense_params(self) -> int:
        """Everything stored in bf16: attention, embeddings, LM head, router, norms, biases."""
        h = self.hidden
        q = self.q_heads * self.head_dim
        kv = self.kv_heads * self.head_dim
        attn = h * q + q + 2 * (h * kv + kv) + q * h + h + self.q_heads  # + sinks
        router = h * self.experts + self.experts
        expert_bias = (2 * self.expert_intermediate + h) * self.experts
        norms = 2 * h
        per_layer = attn + router + expert_bias + norms
        return per_layer * self.layers + 2 * self.vocab * h + h  # embed + lm_head + final norm

    @property
    def params_total(self) -> int:
        return self.expert_params + self.dense_params


@dataclass(frozen=True)
class GpuSpec:
    name: str  # catalog name, e.g. "H100-80GB"
    nvml_names: tuple[str, ...]  # names NVML reports for this card
    memory_total: int  # bytes, as NVML reports (nvmlDeviceGetMemoryInfo().total)
    compute_capability: tuple[int, int]
    aliases: tuple[str, ...] = ()
    known: bool = True  # False: built from a detected card the catalog lacks
    _keys: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def arch(self) -> str:
        return arch_name(self.compute_capability)

    @property
    def sm(self) -> str:
        major, minor = self.compute_capability
        return f"sm{major}{minor}"

    @property
    def memory_gib(self) -> float:
        return self.memory_total / GiB


MODELS: dict[str, ModelSpec] = {
    "gpt-oss-20b": ModelSpec(
        name="gpt-oss-20b",
        hf_id="openai/gpt-oss-20b",
        layers=24,
        hidden=2880,
        q_heads=64,
        kv_heads=8,
        head_dim=64,
        sliding_window=128,
        sliding_layers=12,
        experts=32,
        experts_per_token=4,
        expert_intermediate=2880,
        vocab=201088,
        max_context=131072,
        params_active_b=3.6,
        checkpoint_gib=12.8,
    ),
    "gpt-oss-120b": ModelSpec(
        name="gpt-oss-120b",
        hf_id="openai/gpt-oss-120b",
        layers=36,
        hidden=2880,
        q_heads=64,
        kv_heads=8,
        head_dim=64,
        sliding_window=128,
        sliding_layers=18,
        experts=128,
        experts_per_token=4,
        expert_intermediate=2880,
        vocab=201088,
        max_context=131072,
        params_active_b=5.1,
        checkpoint_gib=60.8,
    ),
}


def _gpu(name, nvml_names, mib, cc, aliases=()):
    return GpuSpec(name, tuple(nvml_names), mib * MiB, cc, tuple(aliases))


# Memory totals in MiB as nvidia-smi / NVML print them for each card.
GPUS: tuple[GpuSpec, ...] = (
    _gpu("A100-40GB", ["NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB"], 40960, (8, 0)),
    _gpu("A100-80GB", ["NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe"], 81920, (8, 0)),
    _gpu("H100-80GB", ["NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"], 81559, (9, 0), ["h100"]),
    _gpu("H200-141GB", ["NVIDIA H200", "NVIDIA H200 NVL"], 143771, (9, 0), ["h200"]),
    _gpu("B200-180GB", ["NVIDIA B200"], 183359, (10, 0), ["b200", "b200-192gb"]),
    _gpu("L40S-48GB", ["NVIDIA L40S"], 46068, (8, 9), ["l40s"]),
    _gpu("L4-24GB", ["NVIDIA L4"], 23034, (8, 9), ["l4"]),
    _gpu("A10-24GB", ["NVIDIA A10"], 23028, (8, 6), ["a10"]),
    _gpu("RTX-3090-24GB", ["NVIDIA GeForce RTX 3090"], 24576, (8, 6), ["rtx3090", "3090"]),
    _gpu("RTX-4090-24GB", ["NVIDIA GeForce RTX 4090"], 24564, (8, 9), ["rtx4090", "4090"]),
    _gpu("RTX-5090-32GB", ["NVIDIA GeForce RTX 5090"], 32607, (12, 0), ["rtx5090", "5090"]),
)

# Words that say nothing about which card it is (form factor, memory type, vendor).
_NOISE = re.compile(r"\b(nvidia|geforce|tesla|hbm3e?|sxm[45]?|pcie|nvl)\b")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _NOISE.sub(" ", name.lower().replace("-", " ")))


def _keys(spec: GpuSpec) -> frozenset[str]:
    return frozenset(_norm(n) for n in (spec.name, *spec.nvml_names, *spec.aliases))


GPUS = tuple(
    GpuSpec(g.name, g.nvml_names, g.memory_total, g.compute_capability, g.aliases, True, _keys(g))
    for g in GPUS
)


def gpu_names() -> list[str]:
    return [g.name for g in GPUS]


def lookup_gpu(name: str) -> GpuSpec:
    """Find a catalog GPU by any usual spelling; ``UnknownName`` lists the known ones."""
    key = _norm(name)
    if key:
        for spec in GPUS:
            if key in spec._keys:
                return spec
        # "A100" alone is ambiguous between 40 and 80 GB; anything else is unknown.
        hits = [g for g in GPUS if any(k.startswith(key) for k in g._keys)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UnknownName(
                f"GPU name {name!r} is ambiguous: {', '.join(g.name for g in hits)}"
            )
    raise UnknownName(f"unknown GPU {name!r}; known: {', '.join(gpu_names())}")


def gpu_from_nvml(name: str, memory_total: int | None, compute_capability: tuple[int, int] | None) -> GpuSpec:
    """The spec for a detected card: the catalog entry when NVML's name matches,
    else one built from what NVML measured (``known=False``).

    The detected memory total wins over the catalog's (it is what SGLang reads).
    """
    try:
        spec = lookup_gpu(name)
    except UnknownName:
        spec = None
    if spec is not None and memory_total is not None:
        if memory_total == spec.memory_total:
            return spec
        if abs(memory_total - spec.memory_total) > 0.02 * spec.memory_total:
            spec = None  # same family, different card (e.g. "H100 NVL", 94 GB)
    if spec is not None and memory_total is None:
        return spec
    mem = memory_total if memory_total is not None else 0
    cc = compute_capability or (spec.compute_capability if spec else (0, 0))
    label = spec.name if spec else re.sub(r"^NVIDIA\s+", "", name).strip() or "unknown GPU"
    g = GpuSpec(label, (name,), mem, tuple(cc), (), spec is not None)
    return GpuSpec(g.name, g.nvml_names, g.memory_total, g.compute_capability, (), g.known, _keys(g))


def lookup_model(name: str) -> ModelSpec:
    key = name.strip().lower().rsplit("/", 1)[-1]
    for spec in MODELS.values():
        if key in (spec.name, spec.name.removeprefix("gpt-oss-"), spec.name.replace("-", "")):
            return spec
    raise UnknownName(f"unknown model {name!r}; known: {', '.join(MODELS)}")


def arch_name(compute_capability: tuple[int, int] | None) -> str:
    """NVIDIA architecture from compute capability (what NVML reports)."""
    if not compute_capability:
        return "unknown"
    major, minor = compute_capability
    if major == 12:
        return "Blackwell (consumer)"
    if major == 10 or major == 11:
        return "Blackwell"
    if major == 9:
        return "Hopper"
    if major == 8:
        return "Ada" if minor == 9 else "Ampere"
    if major == 7:
        return "Turing" if minor == 5 else "Volta"
    if major == 6:
        return "Pascal"
    return f"sm{major}{minor}"

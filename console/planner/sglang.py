"""SGLang 0.5.23's start-up arithmetic for gpt-oss, mirrored from its source.

Standard library only. Every rule names the file of SGLang 0.5.23 it mirrors
(``python/sglang/srt/…`` in the wheel, ``pip download --no-deps sglang==0.5.23``).
tests/data/sglang/answers.json holds SGLang's own answers, computed by its code
(tests/data/sglang/make_answers.py); tests/test_planner_sglang.py keeps these
rules within 2 % of them. When the image moves to another SGLang, regenerate that
file and follow its diff here; keep an older version's rules only while the
console still launches it.

The version is the one the project image's ``BASE_IMAGE`` and stock mode pin
(:data:`IMAGE`); :data:`VERSION` is what every plan names.
"""

from __future__ import annotations

from console.planner.catalog import BF16, MiB, GpuSpec, ModelSpec
from console.planner.engine import EngineDefaults

NAME = "sglang"
LABEL = "SGLang"
VERSION = "0.5.23"

# Images of this release, one tag family (sgl-project/sglang docs/get-started/install.mdx,
# docs/hardware-platforms/amd_gpu.mdx). Since 0.5.20 the CUDA images are CUDA 13 only and
# multi-arch: amd64 (Hopper, Blackwell, Ada, Ampere) and arm64 built for Grace-Blackwell
# (GB200, DGX Spark GB10). AMD Instinct images carry the ROCm lane and the GPU family.
IMAGE = f"lmsysorg/sglang:v{VERSION}"
IMAGE_ROCM_MI30X = f"lmsysorg/sglang:v{VERSION}-rocm720-mi30x"  # MI300X / MI325X (gfx942)
IMAGE_ROCM_MI35X = f"lmsysorg/sglang:v{VERSION}-rocm720-mi35x"  # MI350X / MI355X (gfx950)
IMAGES = {
    "Hopper (H100, H200), Ada (L40S, L4, RTX 4090), Ampere (A100, A10)": IMAGE,
    "Blackwell (B200, B300, GB200), RTX 50xx": IMAGE,
    "DGX Spark (GB10, arm64)": IMAGE,
    "AMD Instinct MI300X / MI325X (ROCm)": IMAGE_ROCM_MI30X,
    "AMD Instinct MI350X / MI355X (ROCm)": IMAGE_ROCM_MI35X,
}

# fields/schedule.py: swa_full_tokens_ratio falls back to 0.8 (sliding-window pool slots
# per full-attention pool slot); the gpt-oss overrides leave it alone.
SWA_FULL_TOKENS_RATIO = 0.8
# fields/schedule.py: max_prefill_tokens default (the activation size when chunking is off).
MAX_PREFILL_TOKENS = 16384
GiB_MiB = 1024


def chunked_prefill_default(gpu_mem_mib: float) -> int:
    """arg_groups/memory_hook.py ``handle_gpu_memory_settings``: by the card's memory."""
    if gpu_mem_mib < 20 * 1024:  # T4, 4080
        return 2048
    if gpu_mem_mib < 60 * 1024:  # A10, 4090, 5090 (< 35 GiB); A100-40, L40S
        return 4096
    if gpu_mem_mib < 160 * 1024:  # H100, A100-80, H200
        return 8192
    return 16384  # B200, MI300


def cuda_graph_max_bs(gpu_mem_mib: float, tp: int) -> int:
    """arg_groups/memory_hook.py: the decode CUDA-graph batch size, by memory and TP."""
    if gpu_mem_mib < 20 * 1024:
        return 8
    if gpu_mem_mib < 35 * 1024:
        return 48 if tp < 4 else 160
    if gpu_mem_mib < 60 * 1024:
        return 32 if tp < 4 else 160
    if gpu_mem_mib < 160 * 1024:
        return 256 if tp < 4 else 512
    return 512


def prefill_graph_sizes(max_bs: int) -> list[int]:
    """arg_groups/cuda_graph_hook.py ``generate_prefill_cuda_graph_batch_sizes``: the token
    buckets the breakable prefill graph captures (its max is the chunked prefill size)."""
    sizes = (
        list(range(4, 33, 4)) + list(range(48, 257, 16)) + list(range(288, 513, 32))
        + list(range(576, 1025, 64)) + list(range(1280, 4097, 256)) + list(range(4608, max_bs + 1, 512))
    )
    return [s for s in sizes if s <= max_bs]


def reserved_mib(gpu_mem_mib: float, tp: int, chunked_prefill_size: int, graph_max_bs: int) -> float:
    """arg_groups/memory_hook.py: what the default ``mem_fraction_static`` leaves out, MiB.

    512 (backend metadata) + activation tokens × 1.5 + TP/8 × 1024 + graphs
    (``reserve_for_graph_mb``: decode max_bs × 2, and 8 per breakable prefill-graph
    bucket — on by default on CUDA, model_executor/cuda_graph_config.py), at least
    10 GiB on cards over 60 GiB.
    """
    activation_tokens = max(chunked_prefill_size if chunked_prefill_size > 0 else MAX_PREFILL_TOKENS, 2048)
    reserved = 512 + activation_tokens * 1.5 + tp / 8 * 1024
    reserved += graph_max_bs * 2
    if chunked_prefill_size > 0:
        reserved += len(prefill_graph_sizes(chunked_prefill_size)) * 8
    if gpu_mem_mib > 60 * 1024:
        reserved = max(reserved, 10 * 1024)
    return reserved


def default_mem_fraction_static(gpu_mem_mib: float, tp: int, chunked_prefill_size: int | None = None) -> float:
    """SGLang's default ``--mem-fraction-static`` (arg_groups/memory_hook.py): round((mem − reserved) / mem, 3)."""
    chunked = chunked_prefill_default(gpu_mem_mib) if chunked_prefill_size is None else chunked_prefill_size
    reserved = reserved_mib(gpu_mem_mib, tp, chunked, cuda_graph_max_bs(gpu_mem_mib, tp))
    return round((gpu_mem_mib - reserved) / gpu_mem_mib, 3)


def attention_backend(compute_capability: tuple[int, int] | None) -> str:
    """arg_groups/model_overrides/gpt_oss.py: trtllm_mha on sm100 (B200/B300), fa3 on sm90,
    triton elsewhere (Ampere, Ada, RTX 50xx and GB10 included)."""
    major = compute_capability[0] if compute_capability else 0
    if major == 10:
        return "trtllm_mha"
    if major == 9:
        return "fa3"
    return "triton"


def moe_backend(compute_capability: tuple[int, int] | None) -> str:
    """arg_groups/model_overrides/gpt_oss.py: FlashInfer's MXFP4 MoE on sm100 and sm120,
    the triton_kernels package elsewhere."""
    major = compute_capability[0] if compute_capability else 0
    return "flashinfer_mxfp4" if major in (10, 12) else "triton_kernel"


def page_size(backend: str) -> int:
    """arg_groups/overrides.py ``_page_size_default`` (1 on CUDA) and
    ``_mla_backend_page_constraints`` (trtllm_mha takes 16–128 and moves 1 to 64)."""
    return 64 if backend == "trtllm_mha" else 1


def kv_bytes_per_layer(model: ModelSpec, tp: int) -> int:
    """K and V of one token in one layer on one GPU, bf16; TP shards the KV heads
    (configs/model_config.py ``get_num_kv_heads``: at least one head per rank)."""
    return 2 * max(1, model.kv_heads // tp) * model.head_dim * BF16


class SGLangRules:
    """:class:`console.planner.engine.EngineRules` for SGLang :data:`VERSION`."""

    name = NAME
    label = LABEL
    version = VERSION

    def defaults(self, gpu: GpuSpec, tp: int, *, mem_fraction_static: float | None = None,
                 chunked_prefill_size: int | None = None) -> EngineDefaults:
        # nvidia-smi's memory.total in MiB, the minimum over the visible GPUs (utils/common.py
        # get_nvgpu_memory_capacity); the catalog and NVML give the same bytes.
        mem = gpu.memory_total // MiB
        chunked = chunked_prefill_default(mem) if chunked_prefill_size is None else chunked_prefill_size
        graph_bs = cuda_graph_max_bs(mem, tp)
        backend = attention_backend(gpu.compute_capability)
        if mem_fraction_static is None:
            fraction, source = default_mem_fraction_static(mem, tp, chunked), "engine default"
        else:
            fraction, source = mem_fraction_static, "given"
        return EngineDefaults(
            mem_fraction_static=fraction,
            mem_fraction_source=source,
            reserved_mib=reserved_mib(mem, tp, chunked, graph_bs),
            chunked_prefill_size=chunked,
            cuda_graph_max_bs=graph_bs,
            attention_backend=backend,
            moe_backend=moe_backend(gpu.compute_capability),
            page_size=page_size(backend),
        )

    def kv_budget(self, free_at_load: int, fraction: float, weights: int) -> int:
        """mem_cache/kv_cache_configurator.py ``_profile_available_bytes``: the memory free
        after the weights load, minus the part of the memory free before them that the
        fraction keeps back: (free − weights) − free × (1 − fraction), computed in GB floats."""
        before = free_at_load / (1 << 30)
        after = (free_at_load - weights) / (1 << 30)
        return int((after - before * (1 - fraction)) * (1 << 30))

    def kv_bytes_per_token(self, model: ModelSpec, tp: int, *, hybrid_swa_pool: bool = True) -> float:
        """model_executor/pool_configurator.py: bytes per ``max_total_num_tokens`` token. The
        hybrid pool gives full-attention layers one slot per token and sliding-window
        layers ``SWA_FULL_TOKENS_RATIO`` of one."""
        per_layer = kv_bytes_per_layer(model, tp)
        if not hybrid_swa_pool:
            return float(per_layer * model.layers)
        return per_layer * model.full_layers + SWA_FULL_TOKENS_RATIO * per_layer * model.sliding_layers

    def pool_tokens(self, model: ModelSpec, tp: int, budget: int, page: int, *,
                    hybrid_swa_pool: bool = True) -> int:
        """model_executor/pool_configurator.py ``HybridSWAPoolConfigurator.calculate_pool_sizes``
        (``budget // cell``, then whole pages), or the plain pool without the hybrid split."""
        if budget <= 0:
            return 0
        tokens = int(budget // self.kv_bytes_per_token(model, tp, hybrid_swa_pool=hybrid_swa_pool))
        return tokens // page * page

    def image(self, gpu: GpuSpec | None = None) -> str:
        return IMAGE


SGLANG = SGLangRules()

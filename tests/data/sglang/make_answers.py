"""SGLang's own answers for every catalog GPU × gpt-oss model × TP, as JSON.

Run by hand, not in CI: it needs the ``sglang`` package and the Python
dependencies its start-up code imports (CPU-only; no GPU is touched). These
installs, in this order, made answers.json (torch's CPU build installs from
local disk; the rest through pip as configured)::

    python3 -m venv .cache/sglang-venv
    .cache/sglang-venv/bin/pip install torch==2.13.0
    .cache/sglang-venv/bin/pip install --no-deps sglang==0.5.23
    echo torch==2.13.0 > /tmp/torch-pin.txt
    .cache/sglang-venv/bin/pip install -c /tmp/torch-pin.txt numpy transformers==5.19.0 pydantic \
        psutil requests packaging regex orjson msgspec pyzmq setproctitle einops pybase64 triton \
        pillow starlette ipython aiohttp dill apache-tvm-ffi==0.1.11 pynvml sentencepiece \
        compressed-tensors gguf
    .cache/sglang-venv/bin/python tests/data/sglang/make_answers.py     # ~5 min on 2 cores

It writes ``tests/data/sglang/answers.json``; ``tests/test_planner_sglang.py``
holds the planner to it (every case within 2 %). ``--table`` (any Python, no
SGLang needed) prints the planner next to SGLang's answers as Markdown.

What runs is SGLang's code, not a copy of it:

* ``ServerArgs(model_path=<gpt-oss config.json>, tp_size=TP).resolve_once()`` —
  the whole resolution pipeline: the gpt-oss overrides (attention/MoE backend),
  ``handle_gpu_memory_settings`` (chunked prefill, CUDA-graph batch sizes,
  ``mem_fraction_static``), page size, SWA ratio;
* ``KVCacheConfigurator._profile_available_bytes`` — the KV budget from the
  memory free before the weights loaded and after (called on a stand-in
  configurator that carries SGLang's own ``ModelConfig`` and layer split);
* ``HybridSWAPoolConfigurator.calculate_pool_sizes`` — ``max_total_num_tokens``.

Only the hardware is faked: ``torch.cuda`` answers as the catalog card (compute
capability, device count, free memory), ``nvidia-smi``'s memory total and driver
version are the catalog's, and three compiled CUDA packages SGLang imports at
start-up are empty stand-ins (``STUBBED``: torchvision, sgl_kernel, and
triton_kernels, whose presence — as in SGLang's image — selects the MoE backend).
Each GPU runs in its own process because SGLang caches its probes per process.

The inputs SGLang cannot know without a GPU come from the planner and are
written beside each answer: the memory free when SGLang measures it
(``console.planner.memory``: total minus the driver's reserve and the CUDA
context) and the weights per GPU (``console.planner.fit.weight_bytes_per_gpu``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
OUT = HERE / "answers.json"
sys.path.insert(0, str(ROOT))

# The models' config.json as published on the Hub (openai/gpt-oss-20b, -120b).
_QUANT = {
    "quant_method": "mxfp4",
    "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router",
                               "model.embed_tokens", "lm_head"],
}


def hf_config(model) -> dict:
    return {
        "architectures": ["GptOssForCausalLM"],
        "model_type": "gpt_oss",
        "attention_bias": True,
        "attention_dropout": 0.0,
        "head_dim": model.head_dim,
        "hidden_act": "silu",
        "hidden_size": model.hidden,
        "initial_context_length": 4096,
        "intermediate_size": model.expert_intermediate,
        "max_position_embeddings": model.max_context,
        "num_attention_heads": model.q_heads,
        "num_experts_per_tok": model.experts_per_token,
        "experts_per_token": model.experts_per_token,
        "num_hidden_layers": model.layers,
        "num_key_value_heads": model.kv_heads,
        "num_local_experts": model.experts,
        "layer_types": ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(model.layers)],
        "quantization_config": _QUANT,
        "rms_norm_eps": 1e-05,
        "rope_scaling": {"beta_fast": 32.0, "beta_slow": 1.0, "factor": 32.0,
                         "original_max_position_embeddings": 4096, "rope_type": "yarn", "truncate": False},
        "rope_theta": 150000,
        "router_aux_loss_coef": 0.9,
        "sliding_window": model.sliding_window,
        "swiglu_limit": 7.0,
        "tie_word_embeddings": False,
        "vocab_size": model.vocab,
        "eos_token_id": 200002,
        "pad_token_id": 199999,
        "torch_dtype": "bfloat16",
    }


# -- the child: one GPU, SGLang imported with its probes answering as that GPU ------


# Compiled CUDA packages SGLang imports at start-up but whose kernels the sizing never runs.
STUBBED = {"torchvision", "sgl_kernel", "triton_kernels"}


def _stub_binary_packages() -> None:
    """Importable, empty stand-ins for ``STUBBED`` (their PyPI wheels need CUDA)."""
    import importlib.abc
    import importlib.machinery
    import types

    class Anything:
        def __init__(self, *a, **k):
            pass

        def __call__(self, *a, **k):
            return Anything()

        def __getattr__(self, name):
            return Anything()

    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return Anything()

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in STUBBED:
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None

        def create_module(self, spec):
            module = Stub(spec.name)
            module.__path__ = []
            module.__version__ = "0.0"
            return module

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, Finder())


def _fake_cuda(gpu, count: int, free_bytes: list[int]) -> None:
    """``torch.cuda`` answers as ``count`` × ``gpu`` with ``free_bytes`` free on each."""
    import torch

    state = {"free": list(free_bytes)}
    cuda = torch.cuda
    props = type("Props", (), {"is_integrated": False, "total_memory": gpu.memory_total,
                               "name": gpu.nvml_names[0], "major": gpu.compute_capability[0],
                               "minor": gpu.compute_capability[1], "multi_processor_count": 132})()
    cuda.is_available = lambda: True
    cuda.is_initialized = lambda: True  # skips SGLang's NVML path for the SM version
    cuda.device_count = lambda: count
    cuda.current_device = lambda: 0
    cuda.set_device = lambda *_: None
    cuda.empty_cache = lambda: None
    cuda.synchronize = lambda *_: None
    cuda.get_device_capability = lambda *_: tuple(gpu.compute_capability)
    cuda.get_device_name = lambda *_: gpu.nvml_names[0]
    cuda.get_device_properties = lambda *_: props
    cuda.mem_get_info = lambda *_: (state["free"][0], gpu.memory_total)
    torch.version.cuda = "13.0"
    _fake_cuda.state = state


def child(gpu_name: str) -> list[dict]:
    from console.planner import catalog, memory
    from console.planner.fit import valid_tp_sizes, weight_bytes_per_gpu

    gpu = catalog.lookup_gpu(gpu_name)
    at_load = memory.catalog_memory(gpu)
    _stub_binary_packages()
    _fake_cuda(gpu, 8, [at_load.free[0]])

    import logging

    logging.disable(logging.WARNING)
    from unittest import mock

    import torch
    from sglang.srt.utils import common

    # nvidia-smi's memory.total (MiB) and driver version: what SGLang reads through subprocess.
    common.get_nvgpu_memory_capacity = lambda: float(gpu.memory_total // catalog.MiB)
    common.get_nvidia_driver_version = lambda: (580, 159)

    from sglang.srt import runtime_context as rc
    from sglang.srt.arg_groups.overrides import model_config_of, resolution_result
    from sglang.srt.mem_cache.kv_cache_configurator import KVCacheConfigurator
    from sglang.srt.model_executor.model_runner_components.layer_setup import (
        ModelLayerInfo,
        _resolve_local_hybrid_swa_layer_ids,
    )
    from sglang.srt.model_executor.pool_configurator import HybridSWAPoolConfigurator
    from sglang.srt.server_args import ServerArgs
    from sglang.srt.speculative.spec_info import SpeculativeAlgorithm

    out = []
    folder = tempfile.mkdtemp(prefix="gpt-oss-config-")
    for model in catalog.MODELS.values():
        path = Path(folder) / model.name
        path.mkdir()
        (path / "config.json").write_text(json.dumps(hf_config(model)))
        for tp in valid_tp_sizes(model, 8):
            args = ServerArgs(model_path=str(path), tp_size=tp)
            args.resolve_once()

            def rr(key):
                return resolution_result(args, key)

            graphs = rr("cuda_graph_config")
            fraction = rr("mem_fraction_static")
            weights = weight_bytes_per_gpu(model, tp)
            pre_gib = at_load.free[0] / (1 << 30)
            after_weights = at_load.free[0] - weights
            row = {
                "gpu": gpu.name, "model": model.name, "tp": tp,
                "inputs": {"gpu_memory_mib": gpu.memory_total // catalog.MiB,
                           "free_at_load_bytes": at_load.free[0], "weight_bytes_per_gpu": weights},
                "mem_fraction_static": fraction,
                "chunked_prefill_size": rr("chunked_prefill_size"),
                "cuda_graph_max_bs": graphs.decode.max_bs,
                "prefill_cuda_graph": graphs.prefill.backend,
                "prefill_cuda_graph_sizes": len(graphs.prefill.bs or ()),
                "attention_backend": rr("attention_backend"),
                "moe_runner_backend": rr("moe_runner_backend"),
                "page_size": rr("page_size"),
                "swa_full_tokens_ratio": rr("swa_full_tokens_ratio"),
            }
            if after_weights <= 0:
                row["max_total_num_tokens"] = 0
                row["error"] = "weights exceed the memory free at load"
                out.append(row)
                continue
            rc.publish(args, role="test")
            model_config = model_config_of(args)
            swa_ids, full_ids = _resolve_local_hybrid_swa_layer_ids(
                model_config=model_config, owned_layers=range(model.layers))
            kvc = mock.Mock(
                spec=KVCacheConfigurator,
                kv_cache_dtype_str="auto", model_config=model_config, kv_cache_dtype=torch.bfloat16,
                layer_info=ModelLayerInfo(start_layer=0, end_layer=model.layers, num_effective_layers=model.layers,
                                          swa_attention_layer_ids=swa_ids, full_attention_layer_ids=full_ids),
                sliding_window_size=model_config.sliding_window_size or model.sliding_window,
                page_size=row["page_size"], spec_algorithm=SpeculativeAlgorithm.from_string(None),
                is_draft_worker=False, mambaish_config=None, post_capture_kv_active=False,
                device="cuda", gpu_id=0,
            )
            kvc.fused_entry_bytes.return_value = None
            # The memory free after the weights loaded, as get_available_gpu_memory reports it (GB).
            with mock.patch("sglang.srt.mem_cache.kv_cache_configurator.get_available_gpu_memory",
                            return_value=after_weights / (1 << 30)), \
                    rc.get_parallel().override(world_group=mock.Mock(cpu_group=None, world_size=tp)):
                try:
                    budget = KVCacheConfigurator._profile_available_bytes(kvc, pre_gib)
                except ValueError as exc:  # "Loaded weights leave no GPU memory for the KV cache"
                    row["max_total_num_tokens"] = 0
                    row["error"] = str(exc).split(". ")[0]
                    out.append(row)
                    continue
            pools = HybridSWAPoolConfigurator(kvc)
            try:
                config = pools.calculate_pool_sizes(budget, row["page_size"])
            except RuntimeError as exc:  # "Not enough memory"
                row["max_total_num_tokens"] = 0
                row["error"] = str(exc)
            else:
                row["max_total_num_tokens"] = config.max_total_num_tokens
                row["swa_max_total_num_tokens"] = config.swa_max_total_num_tokens
            row["kv_budget_bytes"] = budget
            row["kv_bytes_per_token"] = pools._cell_size
            out.append(row)
    return out


# -- the comparison ----------------------------------------------------------------------

TABLE_ROWS = (
    ("gpt-oss-20b", "H100-80GB", 1), ("gpt-oss-120b", "H100-80GB", 1), ("gpt-oss-120b", "H100-80GB", 2),
    ("gpt-oss-20b", "H200-141GB", 1), ("gpt-oss-120b", "H200-141GB", 1), ("gpt-oss-120b", "A100-80GB", 1),
    ("gpt-oss-20b", "L40S-48GB", 1), ("gpt-oss-20b", "RTX-4090-24GB", 1), ("gpt-oss-20b", "B200-180GB", 1),
    ("gpt-oss-120b", "B200-180GB", 1),
)


def table(doc: dict) -> str:
    """Issue 18's table, for the version in ``doc``: planner vs SGLang's own answer."""
    from console.planner.fit import plan

    cases = {(c["model"], c["gpu"], c["tp"]): c for c in doc["cases"]}
    out = [f"SGLang {doc['sglang_version']} (answers of {doc['made_at']}) vs `gpt-oss-console plan`:", "",
           "| model | GPU (TP) | mem fraction planner / SGLang | KV tokens planner / SGLang | Δ |",
           "|---|---|---|---|---|"]
    for model, gpu, tp in TABLE_ROWS:
        c = cases[(model, gpu, tp)]
        p = plan(model, gpu, tp, tp=tp)
        want, got = c["max_total_num_tokens"], p.max_total_num_tokens
        delta = f"{(got - want) / want * 100:+.2f} %" if want else ("0" if got == want else "n/a")
        out.append(f"| {model.removeprefix('gpt-oss-')} | {gpu} ×{tp} | {p.mem_fraction_static} / "
                   f"{c['mem_fraction_static']} | {got:,} / {want:,} | {delta} |")
    return "\n".join(out)


# -- the parent: one child per GPU, one JSON file ---------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", help="(internal) compute one GPU and print its rows")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--table", action="store_true", help="print the planner vs SGLang's answers (Markdown)")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(Path(args.out).read_text())))
        return 0
    if args.gpu:
        json.dump(child(args.gpu), sys.stdout)
        return 0

    import importlib.metadata

    from console.planner import catalog

    version = importlib.metadata.version("sglang")
    rows = []
    for gpu in catalog.GPUS:
        started = time.monotonic()
        done = subprocess.run([sys.executable, __file__, "--gpu", gpu.name], capture_output=True, text=True,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if done.returncode:
            sys.stderr.write(done.stderr)
            return done.returncode
        got = json.loads(done.stdout.strip().splitlines()[-1])
        rows.extend(got)
        print(f"{gpu.name}: {len(got)} cases in {time.monotonic() - started:.1f} s", file=sys.stderr)
    doc = {
        "sglang_version": version,
        "made_by": "tests/data/sglang/make_answers.py (SGLang's own code, hardware probes patched)",
        "made_at": time.strftime("%Y-%m-%d", time.gmtime()),
        "cases": rows,
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}: {len(rows)} cases, SGLang {version}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""vLLM's log lines → engine-neutral events, and its failure rules.

Format (vllm/logger.py): ``(APIServer pid=1) INFO 12-04 18:25:01 [gpu_worker.py:796] msg``;
the ``(process pid=N)`` part is absent in single-process runs and releases before 0.10.
Each line below is quoted from the vLLM 0.34.0 source (older spellings noted):

* ``vLLM server version %s, serving model %s`` (entrypoints/common/startup.py; before 0.11
  ``vLLM API server version %s``), ``non-default args: %s``, ``Initializing a V1 LLM engine (v%s)``
* ``Loading model from scratch...`` (0.10: ``Starting to load model %s...``),
  ``Loading safetensors checkpoint shards: …``, ``Loading weights took %.2f seconds``
* ``Model loading took %s GiB memory and %.6f seconds`` (v1/worker/gpu/model_runner.py)
* ``Available KV cache memory: %s GiB`` (v1/worker/gpu_worker.py)
* ``GPU KV cache size: %s tokens, Maximum concurrency for %s tokens per request: %.2fx``
  (v1/core/kv_cache_utils.py; before 0.11 two lines)
* ``Capturing CUDA graphs …`` (tqdm), ``Graph capturing finished in %.0f secs, took %.2f GiB``,
  ``init engine (profile, create kv cache, warmup model) took %.2f s``
* ``Starting vLLM server on %s`` (0.10: ``Starting vLLM API server 0 on %s``) and uvicorn's
  ``Application startup complete.``
* statistics every 10 s: ``Engine 000: Avg prompt throughput: %.1f tokens/s, Avg generation
  throughput: %.1f tokens/s, Running: %d reqs, Waiting: %d reqs, GPU KV cache usage: %.1f%%, …``
"""

from __future__ import annotations

import re

from console.engines.events import Capacity, Phase, PhaseReached, Serving
from console.engines.rules import COMMON_RULES, Rule
from console.engines.scan import AnchorScanner

_PREFIX = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT[\d:.]+Z )?"  # docker's timestamp (timestamps=1)
    r"(?:\x1b\[[\d;]*m)?(?:\((?P<proc>[^()\s]+) pid=\d+\) )?"
    r"(?:\x1b\[[\d;]*m)?(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)(?:\x1b\[[\d;]*m)? "
    r"(?P<time>\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)? \[[^\]]*\] "
)
_DOCKER_TS = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ")
_F = r"([-+]?\d+(?:\.\d+)?)"
_INT = r"([\d,]+)"
_MODEL_LOADED = re.compile(r"Model loading took " + _F + r" ?GiB(?: memory)?(?: and " + _F + r" ?s)?")
_AVAILABLE = re.compile(r"Available KV cache memory: " + _F + r" ?GiB")
_KV_SIZE = re.compile(r"KV cache size: " + _INT + r" tokens")
_CONCURRENCY = re.compile(r"Maximum concurrency for " + _INT + r" tokens per request: " + _F + r"x")
_SERVER = re.compile(r"Starting vLLM (?:API )?server(?: \d+)? on (\S+)")
_VERSION = re.compile(r"vLLM (?:API )?server version (\S+?),?(?: serving model (\S+))?$")
_GRAPHS_DONE = re.compile(r"Graph capturing finished in " + _F + r" secs?(?:, took " + _F + r" GiB)?")
_STAT = re.compile(r"(Avg prompt throughput|Avg generation throughput|Running|Waiting|\w+ KV cache usage"
                   r"|Prefix cache hit rate): " + _F)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


RULES = (
    Rule(
        "kv_memory_negative",
        ("No available memory for the cache blocks", "Available KV cache memory: -"),
        re.compile(r"No available memory for the cache blocks|Available KV cache memory: -\d"),
        "No room left for the KV cache after the weights and activations",
        "Raise MEM_FRACTION_STATIC (vLLM's --gpu-memory-utilization, e.g. 0.95), lower MAX_MODEL_LEN, or "
        "spread the model over more GPUs (TENSOR_PARALLEL_SIZE); `gpt-oss-console plan --engine vllm` "
        "shows the numbers.",
    ),
    Rule(
        "kv_too_small",
        ("To serve at least one request with the model's max seq len",),
        re.compile(r"To serve at least one request with the model's max seq len \((\d+)\)"),
        "The KV cache cannot hold one request of the configured context length",
        "Lower MAX_MODEL_LEN to the estimated maximum model length the line names, or raise "
        "MEM_FRACTION_STATIC (--gpu-memory-utilization), or use more GPUs (TENSOR_PARALLEL_SIZE).",
    ),
    Rule(
        "cuda_oom",
        ("out of memory", "OutOfMemoryError"),
        re.compile(r"CUDA out of memory|OutOfMemoryError|CUDA error: out of memory"),
        "The GPU ran out of memory",
        "Lower MEM_FRACTION_STATIC (--gpu-memory-utilization) so activations and CUDA graphs fit, lower "
        "MAX_RUNNING_REQUESTS (--max-num-seqs) or MAX_MODEL_LEN, set ENFORCE_EAGER, or use more GPUs. Check no "
        "other process holds GPU memory.",
    ),
    Rule(
        "mxfp4_unsupported",
        ("not supported for the current GPU",),
        re.compile(r"quantization method \w+ is not supported for the current GPU"),
        "This GPU is too old for gpt-oss's MXFP4 weights in vLLM",
        "vLLM's MXFP4 path needs compute capability 8.0 or newer (Ampere, Ada, Hopper, Blackwell): use such a "
        "GPU, or serve the GGUF build with --engine llamacpp.",
    ),
    Rule(
        "engine_init_failed",
        ("Engine core initialization failed",),
        re.compile(r"Engine core initialization failed"),
        "vLLM's engine core failed to start",
        "The cause is logged above this line (often memory: MEM_FRACTION_STATIC, MAX_MODEL_LEN); "
        "`gpt-oss-console logs --diagnose` lists it.",
    ),
    *COMMON_RULES,
)

ANCHORS = (
    "server version", "non-default args:", "Initializing a V1 LLM engine", "Loading model from scratch",
    "Starting to load model", "checkpoint shards", "Loading weights took", "Model loading took",
    "Available KV cache memory", "KV cache size:", "Maximum concurrency for", "Capturing CUDA graph",
    "Graph capturing finished", "init engine (profile", "Starting vLLM", "Application startup complete",
)


class VllmScanner(AnchorScanner):
    ANCHORS = ANCHORS
    RULES = RULES
    STATS = "Avg prompt throughput"
    GENERIC = frozenset({"engine_init_failed"})

    def split(self, line: str) -> tuple[str | None, str]:
        m = _PREFIX.match(line)
        if m:
            return m.group("time"), line[m.end():]
        m2 = _DOCKER_TS.match(line)
        return None, line[m2.end():] if m2 else line

    def parse(self, msg: str, time: str | None):
        if "Application startup complete" in msg:
            return PhaseReached(Phase.READY, time)
        if "Starting vLLM" in msg and (m := _SERVER.search(msg)):
            return PhaseReached(Phase.HTTP_UP, time, m.group(1))
        if "Available KV cache memory" in msg and (m := _AVAILABLE.search(msg)):
            return [PhaseReached(Phase.KV_POOL, time, f"{m.group(1)} GiB for the KV cache"),
                    Capacity(kv_memory_gib=float(m.group(1)), time=time)]
        if "KV cache size:" in msg or "Maximum concurrency for" in msg:
            size, conc = _KV_SIZE.search(msg), _CONCURRENCY.search(msg)
            if size or conc:
                return Capacity(kv_tokens=_int(size.group(1)) if size else None,
                                context_len=_int(conc.group(1)) if conc else None,
                                max_concurrency=float(conc.group(2)) if conc else None, time=time)
        if "Model loading took" in msg and (m := _MODEL_LOADED.search(msg)):
            return [PhaseReached(Phase.WEIGHTS_LOADED, time, f"{m.group(1)} GiB"),
                    Capacity(weights_gib=float(m.group(1)), time=time)]
        if "Graph capturing finished" in msg or "init engine (profile" in msg:
            return PhaseReached(Phase.CUDA_GRAPH_DONE, time)
        if "Capturing CUDA graph" in msg:
            return PhaseReached(Phase.CUDA_GRAPH, time)
        if msg.startswith(("Loading model from scratch", "Starting to load model", "Loading weights took")) \
                or "checkpoint shards" in msg:
            return PhaseReached(Phase.LOADING_WEIGHTS, time)
        if "server version" in msg and (m := _VERSION.search(msg)):
            return PhaseReached(Phase.STARTING, time, f"vLLM {m.group(1)}")
        if msg.startswith(("non-default args:", "Initializing a V1 LLM engine")):
            return PhaseReached(Phase.STARTING, time)
        return None

    def parse_stats(self, msg: str, time: str | None) -> Serving | None:
        fields = dict(_STAT.findall(msg))
        if not fields:
            return None
        usage = next((v for k, v in fields.items() if k.endswith("KV cache usage")), None)

        def num(key: str) -> float | None:
            return float(fields[key]) if key in fields else None

        running, queued = num("Running"), num("Waiting")
        return Serving(
            running=int(running) if running is not None else None,
            queued=int(queued) if queued is not None else None,
            gen_throughput=num("Avg generation throughput"),
            prompt_throughput=num("Avg prompt throughput"),
            kv_usage=float(usage) / 100 if usage is not None else None,
            time=time,
            extra={k: v for k, v in fields.items() if k == "Prefix cache hit rate"},
        )

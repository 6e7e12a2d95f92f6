"""vLLM (``vllm serve``) for gpt-oss: flags, stock images, log scanner, metrics, memory plan.

gpt-oss needs ``--tool-call-parser openai --enable-auto-tool-choice`` for tool calls and
``--reasoning-parser openai_gptoss`` for ``reasoning_content`` (vllm tool_parsers/ and
reasoning/ registries; the gpt-oss recipe). Every flag this module can produce is checked
against vLLM's own argument parser (tests/data/engines/vllm-flags.json).
"""

from __future__ import annotations

from console.engines.base import GPT_OSS_PARSER, PARSER_OFF, Engine, Flag, MetricNames, Probes, StockImage
from console.settings.spec import MEMORY, Setting

TARGET = "vllm"

SETTINGS = (
    Setting(
        "max_num_batched_tokens", "MAX_NUM_BATCHED_TOKENS", "int", MEMORY, flag="--max-num-batched-tokens",
        minimum=1, target=TARGET,
        help="Tokens one engine step may schedule (vLLM's default: 8192 on ≥ 70 GiB cards, 16384 on ≥ 160 GiB, "
        "else 2048). Bigger raises prefill throughput and the activation peak.",
    ),
    Setting(
        "kv_cache_dtype", "KV_CACHE_DTYPE", "choice", MEMORY, flag="--kv-cache-dtype", choices=("auto", "fp8"),
        target=TARGET, label="KV cache dtype",
        help="`fp8` halves the KV cache per token (twice the context or concurrency) at some accuracy cost; "
        "`auto` keeps the model's bf16.",
    ),
    Setting(
        "enforce_eager", "ENFORCE_EAGER", "bool", MEMORY, flag="--enforce-eager", default=False, target=TARGET,
        help="Skip CUDA graph capture: faster start-up and less memory, slower decoding.",
    ),
)

FLAGS = {
    "model": Flag(positional=True, always=True),
    "served_model_name": Flag("--served-model-name"),
    "max_model_len": Flag("--max-model-len"),
    "tensor_parallel_size": Flag("--tensor-parallel-size"),
    "mem_fraction_static": Flag("--gpu-memory-utilization"),
    "max_running_requests": Flag("--max-num-seqs"),
    "host": Flag("--host", always=True),
    "port": Flag("--port", always=True),
    "api_key": Flag("--api-key"),
    "reasoning_parser": Flag("--reasoning-parser", values={GPT_OSS_PARSER: "openai_gptoss"}, off=(PARSER_OFF,)),
    "tool_call_parser": Flag("--tool-call-parser", values={GPT_OSS_PARSER: "openai"}, off=(PARSER_OFF,),
                             with_flags=("--enable-auto-tool-choice",)),
    # /metrics is always served; there is no flag to turn it on or off.
    "enable_metrics": Flag(),
}

METRICS = MetricNames(
    prefix="vllm:",
    gauges={
        "running": ("num_requests_running", "count"),
        "queued": ("num_requests_waiting", "count"),
        "token_usage": ("kv_cache_usage_perc", "ratio"),  # a 0..1 fraction despite the name
    },
    counters={
        "prompt_tokens": "prompt_tokens",
        "generation_tokens": "generation_tokens",
        "cached_tokens": "prompt_tokens_cached",
        "requests": "request_success",
        "preemptions": "num_preemptions",
    },
    histograms={
        "ttft": "time_to_first_token_seconds",
        "itl": "inter_token_latency_seconds",
        "e2e": "e2e_request_latency_seconds",
        "queue": "request_queue_time_seconds",
    },
    rank_label=None,  # series differ by "engine" (data-parallel engines): separate replicas
)


class Vllm(Engine):
    name = "vllm"
    label = "vLLM"
    version = "0.34.0"
    order = 20
    # vLLM's CUDA image serves Ampere to Blackwell from one tag (its wheels carry sm80–sm120 kernels).
    stock_images = (StockImage("vllm/vllm-openai:v0.34.0", (8, 9, 10, 12)),)
    settings = SETTINGS
    flags = FLAGS
    secret_flags = ("--api-key",)
    # vLLM also reads its key from VLLM_API_KEY, which `docker inspect` shows like argv, and has no
    # key-file flag; but its argument parser (FlexibleArgumentParser) reads options from
    # `--config FILE.yaml` (CLI values win over the file's), so the key goes there, as for SGLang.
    secret_env = ("VLLM_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
    key_file_flag = None
    config_file = "vllm.yaml"
    metric_names = METRICS
    probes = Probes(info=("/v1/models",), version="/version", identify=("/version",))

    def identify(self, body, owned_by=""):
        if "version" in body and owned_by in ("vllm", ""):
            return str(body["version"]), None, "/version answered" + (", owned_by vllm" if owned_by else "")
        return None

    @property
    def command(self) -> tuple[str, ...]:
        return ("vllm", "serve")

    @property
    def rules(self):  # type: ignore[override]
        from console.engines.vllm.logs import RULES

        return RULES

    def scanner(self):
        from console.engines.vllm.logs import VllmScanner

        return VllmScanner()

    def plan(self, model, gpu, count: int = 1, **settings):
        from console.engines.vllm.plan import plan

        return plan(model, gpu, count, tp=settings.get("tensor_parallel_size"),
                    max_model_len=settings.get("max_model_len"),
                    gpu_memory_utilization=settings.get("mem_fraction_static"),
                    max_num_seqs=settings.get("max_running_requests"),
                    max_num_batched_tokens=settings.get("max_num_batched_tokens"),
                    kv_cache_dtype=settings.get("kv_cache_dtype") or "auto",
                    version=settings.get("engine_version"))


ENGINE = Vllm()

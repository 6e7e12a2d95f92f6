"""llama.cpp's own ``llama-server`` for gpt-oss: flags, stock image, log scanner, metrics, plan.

gpt-oss runs from ggml-org's MXFP4 GGUFs (``-hf ggml-org/gpt-oss-20b-GGUF``) or a local file
(``-m FILE``), with ``--jinja`` (the model's Harmony chat template, needed for tool calls),
``--reasoning-format auto`` (analysis channel → ``reasoning_content``), ``-ngl 99`` (every
layer on the GPU) and ``--metrics`` (``llamacpp:`` Prometheus names). Every flag this module
can produce is checked against ``llama-server --help`` of the binary the tests build
(tests/data/engines/llamacpp-flags.json).
"""

from __future__ import annotations

from typing import Any

from console.engines.base import (
    GPT_OSS_PARSER,
    PARSER_OFF,
    Engine,
    EngineSettingError,
    Flag,
    MetricNames,
    Probes,
    StockImage,
)
from console.settings.spec import MEMORY, RUNTIME, Setting

TARGET = "llamacpp"

# The GGUF repositories ggml-org publishes for the two models (MXFP4 experts, Q8_0 rest).
GGUF_REPOS = {"openai/gpt-oss-20b": "ggml-org/gpt-oss-20b-GGUF", "openai/gpt-oss-120b": "ggml-org/gpt-oss-120b-GGUF"}

# llama.cpp publishes its CUDA server image only under a registry's host name, which the project
# never writes: the stock image is a local name the operator builds from llama.cpp's own
# Dockerfile or tags from that published image. The console never pulls it.
IMAGE = "llama.cpp:server-cuda"
OBTAIN = (
    f"build it from a llama.cpp checkout with its own Dockerfile (docker build -f .devops/cuda.Dockerfile "
    f"--target server -t {IMAGE} .), or tag the llama.cpp project's published server-cuda image with that "
    f"name (docker tag THAT_IMAGE {IMAGE}), or pass another llama-server image with --image"
)

SETTINGS = (
    Setting(
        "n_gpu_layers", "N_GPU_LAYERS", "str", MEMORY, flag="-ngl", default="99", target=TARGET,
        label="GPU layers", allowed="a number, auto or all",
        help="Layers kept on the GPU: 99 puts all of gpt-oss there; fewer (or --n-cpu-moe in the extra "
        "args) keeps the rest in host RAM, slower.",
    ),
    Setting(
        "threads", "THREADS", "int", MEMORY, flag="--threads", minimum=1, target=TARGET,
        help="CPU threads for what runs on the CPU (llama.cpp's default: all cores).",
    ),
    Setting(
        "log_verbosity", "LOG_VERBOSITY", "int", RUNTIME, flag="-lv", minimum=0, maximum=4, target=TARGET,
        help="llama-server's log detail. 4 adds the weights' and the KV cache's sizes at start-up (the console "
        "reads them); llama.cpp's default logs only the slots and when the model is loaded.",
    ),
)

FLAGS = {
    "model": Flag(always=True),  # -hf REPO or -m FILE: special_argv
    "served_model_name": Flag("--alias"),
    "max_model_len": Flag("-c"),
    "tensor_parallel_size": Flag(),  # special_argv: only 1 makes sense
    "mem_fraction_static": Flag(unsupported="llama.cpp allocates the weights plus a KV cache for exactly "
                                "MAX_MODEL_LEN (-c) tokens; there is no memory fraction"),
    "max_running_requests": Flag("--parallel"),
    "host": Flag("--host", always=True),
    "port": Flag("--port", always=True),
    "api_key": Flag("--api-key"),
    "reasoning_parser": Flag("--reasoning-format", values={GPT_OSS_PARSER: "auto", PARSER_OFF: "none"}),
    "tool_call_parser": Flag("--jinja", bare=True, off=(PARSER_OFF,)),
    "enable_metrics": Flag("--metrics", switch=True),
}

METRICS = MetricNames(
    prefix="llamacpp:",
    gauges={
        "running": ("requests_processing", "count"),
        "queued": ("requests_deferred", "count"),
        "gen_throughput": ("predicted_tokens_seconds", "count"),
        "prompt_throughput": ("prompt_tokens_seconds", "count"),
    },
    counters={
        "prompt_tokens": "prompt_tokens",
        "generation_tokens": "tokens_predicted",
        "cached_tokens": "prompt_tokens_cached",
        "decode_calls": "n_decode",
    },
    histograms={},  # llama-server publishes no latency histograms
    rank_label=None,
)


def model_argv(model: str) -> list[str]:
    """``openai/gpt-oss-20b`` → ``-hf ggml-org/gpt-oss-20b-GGUF``; a ``.gguf`` path → ``-m PATH``;
    any other ``user/repo[:quant]`` → ``-hf`` it."""
    if model in GGUF_REPOS:
        return ["-hf", GGUF_REPOS[model]]
    if model.endswith(".gguf") or model.startswith(("/", "./", "~")):
        return ["-m", model]
    if "/" in model:
        return ["-hf", model]
    raise EngineSettingError(f"llama.cpp cannot load the model {model!r}: it needs a GGUF",
                             "give a Hugging Face GGUF repo (user/repo[:quant]) or a path to a .gguf file")


class LlamaCpp(Engine):
    name = "llamacpp"
    label = "llama.cpp"
    # The tests build llama-server from the llama.cpp that llama-cpp-python 0.3.36 vendors; the stock
    # image is whatever llama.cpp's CUDA server build the operator made or tagged (IMAGE).
    version = "llama-cpp-python 0.3.36"
    order = 30
    stock_images = (StockImage(IMAGE, (6, 7, 8, 9, 10, 12), "CUDA build, Pascal to Blackwell", local=True,
                               obtain=OBTAIN),)
    settings = SETTINGS
    flags = FLAGS
    secret_flags = ("--api-key",)
    secret_env = ("LLAMA_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
    key_file_flag = "--api-key-file"
    hf_token_file = False  # llama-server's -hf download reads HF_TOKEN from its environment only
    metric_names = METRICS
    # /health answers 503 {"error": {"message": "Loading model"}} until the model is loaded.
    # Only /health is open when an API key is set: /metrics and /v1/models need the key too.
    probes = Probes(info=("/props",), version="/props", metrics_need_key=True, identify=("/props",))

    def identify(self, body, owned_by=""):
        if "build_info" in body or "default_generation_settings" in body:
            return str(body.get("build_info") or "") or None, body.get("model_path"), "/props answered"
        return None

    @property
    def command(self) -> tuple[str, ...]:
        return ("llama-server",)

    def special_argv(self, key: str, value: Any) -> list[str] | None:
        if key == "model":
            return model_argv(str(value or self.default_of("model")))
        if key == "tensor_parallel_size":
            if value not in (None, 1):
                raise EngineSettingError(
                    "llama.cpp has no tensor parallelism: it splits layers over every GPU it is given",
                    "unset TENSOR_PARALLEL_SIZE and choose the GPUs with GPUS")
            return []
        return None

    @property
    def rules(self):  # type: ignore[override]
        from console.engines.llamacpp.logs import RULES

        return RULES

    def scanner(self):
        from console.engines.llamacpp.logs import LlamaCppScanner

        return LlamaCppScanner()

    def plan(self, model, gpu, count: int = 1, **settings):
        from console.engines.llamacpp.plan import plan

        if settings.get("tensor_parallel_size") not in (None, 1):
            self.special_argv("tensor_parallel_size", settings["tensor_parallel_size"])
        return plan(model, gpu, count, ctx_size=settings.get("max_model_len"),
                    parallel=settings.get("max_running_requests"), context_length=settings.get("context_length"),
                    version=self.version)


ENGINE = LlamaCpp()

"""The one declaration of every launch setting.

Each :class:`Setting` says once: its env var (and the seed's aliases), the SGLang
flag it becomes, its type, default, allowed values, help, group, and whether it is
a secret. Everything else derives from this list: env → values
(:mod:`console.settings.resolve`), validation (:mod:`console.settings.validate`),
SGLang argv (:mod:`console.settings.argv`), CLI flags and form fields
(:mod:`console.settings.forms`) and the README table (:mod:`console.settings.docs`).

Stdlib only and Python ≥ 3.10: the image carries this package into SGLang's base
image, whose Python is not ours to choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Groups, in display order.
MODEL = "Model"
MEMORY = "Memory & performance"
TOOLS = "Tool calling"
API = "API & networking"
RUNTIME = "Image & runtime"
GROUPS = (MODEL, MEMORY, TOOLS, API, RUNTIME)

# Where a setting takes effect.
SGLANG = "sglang"  # becomes an SGLang launch flag
ENTRYPOINT = "entrypoint"  # read by the image's entrypoint (HF token, SSH)
CONTAINER = "container"  # how the console runs the container (image, GPUs, ports…)

# The two models the planner knows; short names are accepted and expanded.
KNOWN_MODELS = ("openai/gpt-oss-20b", "openai/gpt-oss-120b")
MODEL_SHORT_NAMES = {m.split("/", 1)[1]: m for m in KNOWN_MODELS}

# Attention backends SGLang accepts for gpt-oss (model runner assert); newer builds
# add the ones after trtllm_mha.
GPT_OSS_BACKENDS = ("triton", "fa3", "trtllm_mha", "fa4", "aiter", "intel_amx", "intel_xpu", "ascend")
# Backends SGLang has but refuses for gpt-oss, with the reason to tell people.
REFUSED_BACKENDS = {
    "flashinfer": "SGLang refuses flashinfer for gpt-oss (sinks and sliding window need triton, fa3 or trtllm_mha)",
    "torch_native": "SGLang refuses torch_native for gpt-oss",
    "flashmla": "flashmla is for MLA models (DeepSeek), not gpt-oss",
    "cutlass_mla": "cutlass_mla is for MLA models (DeepSeek), not gpt-oss",
}

# Spellings of SGLang's `gpt-oss` parser key seen in the seed and in vLLM docs.
PARSER_ALIASES = {"harmony": "gpt-oss", "gpt_oss": "gpt-oss", "gptoss": "gpt-oss", "openai": "gpt-oss",
                  "openai_gptoss": "gpt-oss", "openai-gptoss": "gpt-oss"}
PARSER_OFF = "none"

DEFAULT_PORT = 8000
# Keys and tokens travel in an HTTP Authorization header: printable ASCII, no spaces.
HEADER_TOKEN = r"[!-~]+"
HEADER_TOKEN_WORDS = "printable ASCII without spaces"
DEFAULT_IMAGE = "gpt-oss-sglang:latest"
DEFAULT_ENGINE = "sglang"  # console.engines.DEFAULT: the engines registry validates the name
DEFAULT_CONTAINER_NAME = "gpt-oss-sglang"  # names SGLang's: another engine's container is gpt-oss-<engine>
IMAGE_MODES = ("auto", "project", "stock")
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


@dataclass(frozen=True)
class Setting:
    """One launch setting. ``default=None`` means automatic (or SGLang's own default)."""

    key: str  # canonical name: form field id, CLI flag (--key-with-dashes), profile key
    env: str  # the env var the image reads
    kind: str  # "str" | "int" | "float" | "bool" | "choice" | "args"
    group: str
    help: str
    flag: str | None = None  # SGLang flag, when target == SGLANG
    aliases: tuple[str, ...] = ()  # other env names accepted (seed spellings), lower precedence
    default: Any = None
    auto: bool = False  # None default means "picked at start-up" rather than "SGLang's default"
    choices: tuple[Any, ...] = ()
    value_aliases: dict[str, str] = field(default_factory=dict)  # accepted spellings → canonical
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False  # bounds are exclusive (0 < x < 1)
    secret: bool = False
    file_env: str | None = None  # ENV_FILE: read the value from this file (secrets)
    target: str = SGLANG
    label: str = ""
    example: str = ""
    allowed: str = ""  # allowed values in words, when the bounds alone do not say it
    pattern: str = ""  # a regular expression the whole value must match (said in words by ``allowed``)
    watch: bool = False  # how the console watches the server, not how it runs it: no drift when it changes

    @property
    def runtime(self) -> bool:
        """A container/runtime setting (image, GPUs, ports…), not something the entrypoint passes on."""
        return self.target == CONTAINER

    @property
    def title(self) -> str:
        return self.label or self.key.replace("_", " ").capitalize()

    @property
    def cli_flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def file_key(self) -> str | None:
        """A secret's file form as a profile/form/CLI key (``api_key_file``, flag ``--api-key-file``)."""
        return f"{self.key}_file" if self.secret and self.file_env else None

    def allowed_text(self) -> str:
        """Allowed values in words, for docs and form hints."""
        if self.allowed:
            return self.allowed
        if self.choices:
            return ", ".join(str(c) for c in self.choices)
        if self.kind == "bool":
            return "true / false"
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            op = "<" if self.exclusive else "≤"
            return f"{_num(lo)} {op} x {op} {_num(hi)}"
        if lo is not None:
            return f"≥ {_num(lo)}"
        return ""

    def default_text(self) -> str:
        if self.default is None:
            if self.auto:
                return "auto"
            if self.secret:
                return "unset"
            if self.kind == "args":
                return "none"
            return "SGLang's default" if self.target == SGLANG else "unset"
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


SETTINGS: tuple[Setting, ...] = (
    # ── Model ──────────────────────────────────────────────────────────────
    Setting(
        "model", "MODEL", "str", MODEL, flag="--model-path", default="openai/gpt-oss-20b",
        value_aliases=dict(MODEL_SHORT_NAMES),
        help="Model to serve: openai/gpt-oss-20b or openai/gpt-oss-120b (short names gpt-oss-20b / "
        "gpt-oss-120b accepted). Another Hugging Face repo id or a local path is passed on with a "
        "warning: the fit checks only know gpt-oss.",
        example="openai/gpt-oss-120b",
    ),
    Setting(
        "served_model_name", "SERVED_MODEL_NAME", "str", MODEL, flag="--served-model-name",
        help="Name /v1/models reports and clients send as `model` (SGLang's default: the model path).",
        example="gpt-oss",
    ),
    Setting(
        "max_model_len", "MAX_MODEL_LEN", "int", MODEL, flag="--context-length", aliases=("CONTEXT_LENGTH",),
        minimum=256, maximum=131072, label="Context length",
        help="Longest request in tokens (prompt + output). Default: the model's 131072. Longer than "
        "the KV pool holds is allowed: SGLang caps requests, and the entrypoint warns with the numbers.",
        example="32768",
    ),
    Setting(
        "hf_token", "HF_TOKEN", "str", MODEL, aliases=("HUGGING_FACE_HUB_TOKEN",), secret=True,
        file_env="HF_TOKEN_FILE", target=ENTRYPOINT, label="HF token", pattern=HEADER_TOKEN,
        allowed=HEADER_TOKEN_WORDS,
        help="Hugging Face token for downloads (gpt-oss is not gated; needed for private or gated repos "
        "and higher rate limits). Prefer HF_TOKEN_FILE (a mounted file) so it is not in the container's env.",
    ),
    # ── Memory & performance ──────────────────────────────────────────────
    Setting(
        "tensor_parallel_size", "TENSOR_PARALLEL_SIZE", "int", MEMORY, flag="--tp-size",
        aliases=("TP_SIZE", "TP"), choices=(1, 2, 4, 8), auto=True, label="Tensor parallel size",
        help="GPUs one model copy is split over. gpt-oss has 64 query / 8 KV heads, so only 1, 2, 4 or "
        "8 are valid. Auto: the largest valid TP ≤ the GPU count at which the model fits; 20b → 1.",
    ),
    Setting(
        "mem_fraction_static", "MEM_FRACTION_STATIC", "float", MEMORY, flag="--mem-fraction-static",
        minimum=0.0, maximum=1.0, exclusive=True,
        help="Share of each GPU's memory for weights + KV cache (the rest is activations and CUDA "
        "graphs). SGLang's default leaves 9.5–32 GiB free depending on card size; 0.95 suits 120b on "
        "one 80 GB card.",
        example="0.9",
    ),
    Setting(
        "max_running_requests", "MAX_RUNNING_REQUESTS", "int", MEMORY, flag="--max-running-requests",
        minimum=1, help="Most requests decoded at once (SGLang's default derives it from the KV pool).",
    ),
    Setting(
        "chunked_prefill", "CHUNKED_PREFILL", "int", MEMORY, flag="--chunked-prefill-size",
        aliases=("CHUNKED_PREFILL_SIZE",), minimum=-1, label="Chunked prefill size", allowed="-1 or ≥ 1",
        help="Tokens per prefill chunk; -1 disables chunking. SGLang's default: 4096 below 60 GB, "
        "8192 on 60–160 GB cards, 16384 on B200-class.",
    ),
    Setting(
        "attention_backend", "ATTENTION_BACKEND", "choice", MEMORY, flag="--attention-backend",
        choices=GPT_OSS_BACKENDS, auto=True,
        help="Attention kernels. Auto (SGLang's own pick): trtllm_mha on Blackwell, fa3 on Hopper, "
        "triton elsewhere. trtllm_mha is Blackwell-only; flashinfer is refused for gpt-oss.",
    ),
    # ── Tool calling ─────────────────────────────────────────────────────
    Setting(
        "reasoning_parser", "DYN_REASONING_PARSER", "choice", TOOLS, flag="--reasoning-parser",
        aliases=("REASONING_PARSER",), default="gpt-oss", choices=("gpt-oss", PARSER_OFF),
        value_aliases=dict(PARSER_ALIASES),
        help="Splits the Harmony analysis channel into `reasoning_content`. SGLang's key is `gpt-oss`; "
        "the seed's `gpt_oss` / `harmony` are accepted and normalised. `none` leaves it off.",
    ),
    Setting(
        "tool_call_parser", "DYN_TOOL_CALL_PARSER", "choice", TOOLS, flag="--tool-call-parser",
        aliases=("TOOL_CALL_PARSER",), default="gpt-oss", choices=("gpt-oss", PARSER_OFF),
        value_aliases=dict(PARSER_ALIASES),
        help="Turns Harmony commentary calls into OpenAI `tool_calls`. SGLang's key is `gpt-oss`; the "
        "seed's `harmony` / `gpt_oss` are accepted and normalised. `none` leaves it off.",
    ),
    # ── API & networking ─────────────────────────────────────────────────
    Setting(
        "host", "HOST", "str", API, flag="--host", default="0.0.0.0",
        help="Address SGLang binds inside the container (0.0.0.0 so a published port reaches it).",
    ),
    Setting(
        "port", "PORT", "int", API, flag="--port", default=DEFAULT_PORT, minimum=1, maximum=65535,
        help="Port SGLang listens on inside the container (SGLang's own default, 30000, is not used: "
        "the port is always passed).",
    ),
    Setting(
        "api_key", "API_KEY", "str", API, flag="--api-key", secret=True, file_env="API_KEY_FILE",
        label="API key", pattern=HEADER_TOKEN, allowed=HEADER_TOKEN_WORDS,
        help="Clients must send `Authorization: Bearer <key>` (/health and /metrics stay open). SGLang gets it "
        "in a private --config file, never on its command line. Prefer API_KEY_FILE (a mounted file; the "
        "console's API key file field and launch --api-key-file take one). Without a key, publish on 127.0.0.1 only.",
    ),
    Setting(
        "enable_metrics", "ENABLE_METRICS", "bool", API, flag="--enable-metrics", default=True,
        help="Prometheus /metrics on the API port (open without the API key; the console's metrics "
        "and bench screens read it).",
    ),
    Setting(
        "enable_cache_report", "ENABLE_CACHE_REPORT", "bool", API, flag="--enable-cache-report",
        default=False, help="Report prefix-cache hits as usage.prompt_tokens_details.cached_tokens.",
    ),
    # ── Image & runtime ──────────────────────────────────────────────────
    Setting(
        "extra_args", "EXTRA_ARGS", "args", RUNTIME, aliases=("SGLANG_EXTRA_ARGS",), label="Extra SGLang args",
        help="More launch_server flags, split like a shell line (e.g. `--decode-log-interval 10`). A "
        "flag that a setting above already sets is refused: set it once.",
        example="--decode-log-interval 10",
    ),
    Setting(
        "ssh_public_key", "SSH_PUBLIC_KEY", "str", RUNTIME, aliases=("PUBLIC_KEY",), target=ENTRYPOINT,
        label="SSH public key",
        help="Cloud pods: install this key for root and start a key-only sshd on port 22 (host keys "
        "generated at start). Unset and no SSH_PASSWORD: no sshd.",
    ),
    Setting(
        "ssh_password", "SSH_PASSWORD", "str", RUNTIME, secret=True, file_env="SSH_PASSWORD_FILE",
        target=ENTRYPOINT, label="SSH password",
        help="Explicit fallback only: enables root password login over SSH (warned loudly at start). "
        "Use SSH_PUBLIC_KEY instead.",
    ),
    Setting(
        "engine", "GPT_OSS_ENGINE", "str", RUNTIME, default=DEFAULT_ENGINE, target=CONTAINER, label="Engine",
        allowed="sglang, vllm or llamacpp (console/engines lists them)",
        help="Inference engine to launch: sglang, vllm or llamacpp. Each maps the settings above onto its own "
        "flags (one it lacks is refused with the reason); the image defaults to the engine's pinned stock image.",
    ),
    Setting(
        "image", "GPT_OSS_IMAGE", "str", RUNTIME, default=DEFAULT_IMAGE, target=CONTAINER,
        help="Docker image the console runs (built from docker/Dockerfile). With ENGINE vllm or llamacpp, "
        "left at this default: the engine's stock image.",
    ),
    Setting(
        "image_mode", "GPT_OSS_IMAGE_MODE", "choice", RUNTIME, default="auto", choices=IMAGE_MODES,
        target=CONTAINER, label="Image mode",
        help="How the image is run. project: the project's image, settings as env for its entrypoint; stock: an "
        "SGLang image run with the argv the console builds; auto: stock for images named */sglang, else project. "
        "ENGINE vllm and llamacpp always run stock (their own image and argv).",
    ),
    Setting(
        "extra_env", "GPT_OSS_EXTRA_ENV", "args", RUNTIME, target=CONTAINER, label="Extra env",
        example="NCCL_DEBUG=INFO", allowed="KEY=VALUE pairs, split like a shell line",
        help="More environment for the container (NCCL_DEBUG=INFO, proxies…), split like a shell line; the CLI's "
        "-e adds to it. A variable a setting above sets is refused (set it there; secrets go in as files).",
    ),
    Setting(
        "gpus", "GPT_OSS_GPUS", "str", RUNTIME, default="all", target=CONTAINER, label="GPUs",
        help="GPUs given to the container: `all`, `none` (no GPU request) or device indices such as `0,1`.",
    ),
    Setting(
        "shm_size", "GPT_OSS_SHM_SIZE", "str", RUNTIME, default="32g", target=CONTAINER, label="Shared memory",
        help="/dev/shm size (NCCL needs it for TP > 1); a number with b, k, m or g.",
    ),
    Setting(
        "hf_cache", "GPT_OSS_HF_CACHE", "str", RUNTIME, default="~/.cache/huggingface", target=CONTAINER,
        label="HF cache (host)",
        help="Host folder mounted at /root/.cache/huggingface so weights download once.",
    ),
    Setting(
        "host_port", "GPT_OSS_HOST_PORT", "int", RUNTIME, minimum=1, maximum=65535, target=CONTAINER,
        help="Host port the API is published on (default: the same as PORT).",
    ),
    Setting(
        "publish_address", "GPT_OSS_PUBLISH_ADDRESS", "str", RUNTIME, default="127.0.0.1", target=CONTAINER,
        help="Host address the port is published on. 127.0.0.1 keeps it local (reach it over an SSH "
        "tunnel); 0.0.0.0 exposes it, so set an API key.",
    ),
    Setting(
        "container_name", "GPT_OSS_CONTAINER_NAME", "str", RUNTIME, default=DEFAULT_CONTAINER_NAME,
        target=CONTAINER,
        help="Name of the container the console creates and manages. Left at the default it follows the "
        "engine: gpt-oss-vllm, gpt-oss-llamacpp.",
    ),
    Setting(
        "stall_after", "GPT_OSS_STALL_AFTER", "float", RUNTIME, default=180.0, minimum=1, target=CONTAINER,
        watch=True, label="Stall warning (s)",
        help="Seconds without start-up progress (no new log line, no image bytes) before the console says "
        "the start-up looks stalled (launch, restart and the Launch area).",
    ),
)

BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
BY_ENV: dict[str, Setting] = {s.env: s for s in SETTINGS}
BY_FILE_KEY: dict[str, Setting] = {s.file_key: s for s in SETTINGS if s.file_key}


def get(key: str) -> Setting:
    return BY_KEY[key]


def in_group(group: str) -> list[Setting]:
    return [s for s in SETTINGS if s.group == group]

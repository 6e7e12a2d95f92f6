"""llama-server's log lines → engine-neutral events, and its failure rules.

Seen from the binary the tests build (the llama.cpp that llama-cpp-python 0.3.36 vendors); each
line starts with the time since start and a level letter, ``0.01.208.845 I ``, then
``func: message`` — the server's own as ``srv  <func>: …`` and ``slot <func>: id  N | task M |
…`` (tools/server/server-common.h). At the default verbosity a start-up logs only:

* ``srv  llama_server: initializing ...`` — starting;
* ``srv    load_model: loading model '/models/x.gguf'`` — loading;
* ``srv    load_model: initializing, n_slots = 2, n_ctx_slot = 1024, kv_unified = 'false'`` — capacity;
* ``srv  llama_server: model loaded`` — ready: /health answers 200 from here on (the HTTP server
  started before the model and answered 503 "Loading model"); then ``listening on http://…``.

With ``-lv 4`` libllama's own lines come too: ``load_tensors: CPU_Mapped model buffer size =
92.10 MiB`` per buffer (weights) and ``llama_kv_cache: size = 45.00 MiB (1024 cells, 30 layers,
2/2 seqs), …`` per KV cache (a sliding-window model has a full and an SWA one). Per request:
``slot print_timing: … prompt eval time = … tokens per second)`` and ``… eval time = …``.
"""

from __future__ import annotations

import re

from console.engines.events import Capacity, Phase, PhaseReached, Serving
from console.engines.rules import COMMON_RULES, Rule
from console.engines.scan import AnchorScanner

_F = r"([-+]?\d+(?:\.\d+)?)"
_MODEL_BUFFER = re.compile(r"(\S+) model buffer size =\s*" + _F + r" MiB")
_KV = re.compile(r"size =\s*" + _F + r" MiB \(\s*(\d+) cells")
_SLOTS = re.compile(r"n_slots = (\d+), n_ctx_slot = (\d+)")
_LISTEN = re.compile(r"listening on (\S+)")
_UNIFIED = re.compile(r"kv_unified = '(\w+)'")
_RATE = re.compile(r"=\s*[\d.]+ ms /\s*(\d+) tokens \(.*?([\d.]+) tokens per second\)")
# docker's timestamp (timestamps=1), then llama.cpp's "0.01.208.845 I " (time since start, level)
_PREFIX = re.compile(r"^(?:\d{4}-\d\d-\d\dT[\d:.]+Z )?(?:(?P<time>\d+\.\d\d\.\d{3}\.\d{3}) [IWEDT] )?")

RULES = (
    Rule(
        "model_load_failed",
        ("failed to load model", "error loading model", "exiting due to model loading error", "failed to open"),
        re.compile(r"failed to load model|error loading model|exiting due to model loading error"
                   r"|failed to open (?:GGUF )?file"),
        "llama-server could not load the model",
        "Check MODEL names a GGUF (a Hugging Face GGUF repo such as ggml-org/gpt-oss-20b-GGUF, or a .gguf path "
        "inside the container) and that the HF cache mount holds it; the line above says which file.",
    ),
    Rule(
        "cuda_oom",
        ("cudaMalloc failed", "out of memory", "failed to allocate"),
        re.compile(r"cudaMalloc failed|out of memory|failed to allocate (?:\w+ )?(?:buffer|compute buffers|CUDA)"),
        "The GPU ran out of memory loading the weights or the KV cache",
        "Lower MAX_MODEL_LEN (-c: the KV cache is sized for exactly that many tokens), lower N_GPU_LAYERS or "
        "keep experts in host RAM (--n-cpu-moe N in the extra args), or use a bigger GPU.",
    ),
    Rule(
        "bad_argument",
        ("invalid argument", "error: unknown argument", "error while handling argument"),
        re.compile(r"error: (?:invalid|unknown) argument|invalid argument|error while handling argument"),
        "llama-server refused an argument",
        "Fix the flag the line names (EXTRA_ARGS, or a setting llama.cpp spells differently).",
    ),
    Rule(
        "http_failed",
        ("exiting due to HTTP server error", "couldn't start HTTP listener"),
        re.compile(r"exiting due to HTTP server error|couldn't start HTTP listener"),
        "llama-server's HTTP server did not start",
        "Pick another PORT or HOST (another process may hold it).",
    ),
    *COMMON_RULES,
)

ANCHORS = ("initializing ...", "loading model", "loaded meta data", "model buffer size", "llama_kv_cache",
           "n_slots =", "model loaded", "listening on")


class LlamaCppScanner(AnchorScanner):
    ANCHORS = ANCHORS
    RULES = RULES
    STATS = "eval time ="

    def __init__(self) -> None:
        super().__init__()
        self._weights_mib = 0.0
        self._kv_mib = 0.0

    def split(self, line: str) -> tuple[str | None, str]:
        m = _PREFIX.match(line)
        return m.group("time"), line[m.end():]

    def parse(self, msg: str, time: str | None):
        if msg.startswith("srv") and "model loaded" in msg:
            return PhaseReached(Phase.READY, time)
        if "listening on" in msg and (m := _LISTEN.search(msg)):
            return PhaseReached(Phase.HTTP_UP, time, m.group(1))
        if "model buffer size" in msg and (m := _MODEL_BUFFER.search(msg)):
            self._weights_mib += float(m.group(2))
            return [PhaseReached(Phase.WEIGHTS_LOADED, time, f"{m.group(1)} {m.group(2)} MiB"),
                    Capacity(weights_gib=round(self._weights_mib / 1024, 3), time=time)]
        if msg.startswith("llama_kv_cache") and (m := _KV.search(msg)):
            self._kv_mib += float(m.group(1))
            return [PhaseReached(Phase.KV_POOL, time, f"{m.group(2)} cells"),
                    Capacity(kv_memory_gib=round(self._kv_mib / 1024, 4), time=time)]
        if "n_slots =" in msg and (m := _SLOTS.search(msg)):
            slots, per_slot = int(m.group(1)), int(m.group(2))
            unified = (u := _UNIFIED.search(msg)) is not None and u.group(1) == "true"
            # A unified cache is one pool of n_ctx cells any slot may fill; otherwise each slot owns its own.
            cells = per_slot if unified else per_slot * slots
            return Capacity(kv_tokens=cells, context_len=per_slot, slots=slots,
                            max_concurrency=round(cells / per_slot, 2) if per_slot else None, time=time)
        if "loaded meta data" in msg or (msg.startswith("srv") and "loading model" in msg):
            return PhaseReached(Phase.LOADING_WEIGHTS, time)
        if msg.startswith("srv") and "initializing ..." in msg:
            return PhaseReached(Phase.STARTING, time)
        return None

    def parse_stats(self, msg: str, time: str | None) -> Serving | None:
        m = _RATE.search(msg)
        if m is None:
            return None
        rate = float(m.group(2))
        if "prompt eval time" in msg:
            return Serving(prompt_throughput=rate, time=time)
        return Serving(gen_throughput=rate, time=time)

"""Recognise SGLang / Docker start-up failures in log lines and say what to change.

Each rule has a literal *anchor* (found with ``str.find`` over whole batches, so scanning a
flood costs almost nothing) and a regex that confirms the match on the one line. The fix
names the console setting to change (the seed's env var names: MEM_FRACTION_STATIC,
MAX_MODEL_LEN, ATTENTION_BACKEND, HF_TOKEN, PORT, ...). :func:`diagnose_exit` explains how a
container ended when its log cannot (a SIGKILL leaves no line behind).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.logs.events import Diagnosis


@dataclass(frozen=True, slots=True)
class _Rule:
    code: str
    anchors: tuple[str, ...]
    confirm: re.Pattern[str]
    title: str
    fix: str


_RULES: tuple[_Rule, ...] = (
    _Rule(
        "not_enough_memory",
        ("Not enough memory",),
        re.compile(r"Not enough memory\. Please try to increase --mem-fraction-static"),
        "No room left for the KV cache after loading the weights",
        "Raise MEM_FRACTION_STATIC (e.g. to 0.90–0.95) so SGLang may use more of each GPU, or spread "
        "the model over more GPUs (TENSOR_PARALLEL_SIZE), or free the GPUs other processes hold.",
    ),
    _Rule(
        "cuda_graph_failed",
        ("Capture cuda graph failed", "Capture CUDA graph failed"),
        re.compile(r"Capture (?:cuda|CUDA) graph failed"),
        "CUDA graph capture failed",
        "Usually memory: lower MEM_FRACTION_STATIC (e.g. by 0.05) or MAX_RUNNING_REQUESTS so the "
        "graphs fit; as a last resort add --disable-cuda-graph or a smaller --cuda-graph-max-bs "
        "to the extra SGLang arguments.",
    ),
    _Rule(
        "cuda_oom",
        ("out of memory", "OutOfMemoryError"),
        re.compile(r"CUDA out of memory|OutOfMemoryError|CUDA error: out of memory"),
        "The GPU ran out of memory",
        "Lower MEM_FRACTION_STATIC (leave room for activations and CUDA graphs, e.g. 0.85), lower "
        "MAX_MODEL_LEN or MAX_RUNNING_REQUESTS or CHUNKED_PREFILL, or use more GPUs "
        "(TENSOR_PARALLEL_SIZE). Check no other process holds GPU memory.",
    ),
    _Rule(
        "port_in_use",
        ("already in use", "port is already allocated"),
        re.compile(r"[Aa]ddress already in use|errno 98|port is already allocated"),
        "The server's port is already taken",
        "Pick another PORT, or stop the process/container that holds it "
        "(`ss -ltnp` shows who listens).",
    ),
    _Rule(
        "attention_backend",
        ("attention backend", "attention_backend"),
        re.compile(r"requires one of .*attention[ _]backend|attention[ _]backend.*(?:not supported|must be one of)"),
        "This attention backend does not support gpt-oss",
        "Set ATTENTION_BACKEND to fa3 (Hopper), trtllm_mha (Blackwell) or triton (any GPU), or leave it "
        "unset so the architecture's default is used. flashinfer is rejected for gpt-oss.",
    ),
    _Rule(
        "hf_auth",
        ("GatedRepoError", "401 Client Error", "Repository Not Found", "RepositoryNotFoundError", "Invalid user token", "Access to model"),
        re.compile(
            r"GatedRepoError|401 Client Error|Repository Not Found|RepositoryNotFoundError"
            r"|Invalid user token|Access to model .* is restricted"
        ),
        "Hugging Face refused the model download (missing or wrong token, or no access)",
        "Set HF_TOKEN to a token that has accepted the model's licence, check MODEL is spelled "
        "exactly (openai/gpt-oss-20b or openai/gpt-oss-120b), or pre-fill the HF cache mount.",
    ),
    _Rule(
        "health_check_failed",
        ("Health check failed",),
        re.compile(r"Health check failed"),
        "The server stopped answering its health check",
        "Look at the lines above for the cause (often a GPU error or OOM during serving); restart the "
        "server. If it recurs under load, lower MAX_RUNNING_REQUESTS or MEM_FRACTION_STATIC.",
    ),
    _Rule(
        "warmup_failed",
        ("Initialization failed",),
        re.compile(r"Initialization failed\.? ?warmup error"),
        "The first (warm-up) request failed",
        "The model loaded but could not answer: see the error after 'warmup error'. Often memory — "
        "lower MEM_FRACTION_STATIC or MAX_MODEL_LEN — or a wrong ATTENTION_BACKEND.",
    ),
    _Rule(
        "no_gpu_runtime",
        ("could not select device driver",),
        re.compile(r"could not select device driver"),
        "Docker cannot give the container GPUs (no NVIDIA container runtime)",
        "Install the NVIDIA Container Toolkit and restart Docker (`nvidia-ctk runtime configure`).",
    ),
    _Rule(
        "no_cuda_gpu",
        ("No CUDA GPUs are available", "Found no NVIDIA driver"),
        re.compile(r"No CUDA GPUs are available|Found no NVIDIA driver"),
        "The container sees no GPU",
        "Check the GPU selection (GPUS setting), that the NVIDIA runtime is installed, and nvidia-smi on the host.",
    ),
    _Rule(
        # The project image's entrypoint refuses to start SGLang (exit 3) without a GPU.
        "no_usable_gpu",
        ("nvidia-smi sees no usable GPU",),
        re.compile(r"nvidia-smi sees no usable GPU"),
        "The image found no usable GPU and refused to start (exit code 3)",
        "Give the container GPUs: set GPUS (all, or the indices), install the NVIDIA Container Toolkit "
        "(`nvidia-ctk runtime configure`, then restart Docker) and check that nvidia-smi works on the host.",
    ),
    _Rule(
        # Any other refusal of the project image's entrypoint (exit 2: a setting it will not run
        # with, such as a model that does not fit). The title carries the entrypoint's own words,
        # which name the setting and the fix; without them an operator sees a bare exit code.
        "settings_refused",
        ("gpt-oss-image: error: ",),
        re.compile(r"gpt-oss-image: error: (?P<why>.+)"),
        "The image refused its settings: {why}",
        "Change the setting the line names (it says which value would work) and launch again.",
    ),
    _Rule(
        "killed",
        ("Killed",),
        re.compile(r"^\s*Killed\s*$|\bKilled process\b"),
        "The process was killed (likely by the kernel's OOM killer: host RAM)",
        "Give the container more host memory or shared memory (SHM size), or lower MAX_RUNNING_REQUESTS.",
    ),
)

_HARMLESS = ("Can not initialize OpenAIServingResponses",)

_TRACEBACK_FIX = (
    "Read the traceback above for the failing call. Common causes: memory (MEM_FRACTION_STATIC, "
    "MAX_MODEL_LEN), an unsupported ATTENTION_BACKEND, or an extra SGLang argument this version rejects."
)


class Diagnoser:
    """Line → Diagnosis. Stateless; :class:`console.engines.sglang.scanner.SGLangScanner` adds context."""

    ANCHORS: tuple[str, ...] = tuple(a for r in _RULES for a in r.anchors)

    @staticmethod
    def match_line(msg: str) -> Diagnosis | None:
        """Diagnose one line (prefix may be present). Harmless known lines give ``None``."""
        if msg[:1] in (" ", "\t"):  # a source line quoted in a traceback, not an event
            return None
        for h in _HARMLESS:
            if h in msg:
                return None
        for rule in _RULES:
            for a in rule.anchors:
                if a in msg:
                    if found := rule.confirm.search(msg):
                        return Diagnosis(rule.code, rule.title.format_map({k: v[:300] for k, v in found.groupdict().items()}), rule.fix, msg[:500])
                    break
        return None

    @staticmethod
    def from_exception(msg: str) -> Diagnosis:
        """The last line of a Python traceback (``ValueError: ...``) as a diagnosis."""
        return Diagnosis("exception", f"The server crashed: {msg[:200]}", _TRACEBACK_FIX, msg[:500])


def diagnose_exit(exit_code: int | None, oom_killed: bool = False) -> Diagnosis | None:
    """Why a container ended, from its exit state alone (a killed process logs nothing).

    128 + N is "killed by signal N": 137 is SIGKILL — Docker's own ``kill``, ``stop`` after its
    timeout, or the kernel's OOM killer. Docker says which only for a container's memory
    limit (``OOMKilled``).
    """
    if oom_killed:
        return Diagnosis(
            "oom_killed", "The kernel's OOM killer ended the server: the container hit its memory limit",
            "Give the container more host memory (or remove its memory limit) and more shared memory "
            "(SHM size), or lower MAX_RUNNING_REQUESTS / MAX_MODEL_LEN.", f"exit code {exit_code}",
        )
    if exit_code == 137:
        return Diagnosis(
            "sigkill", "The server was killed with SIGKILL (exit code 137)",
            "Something killed it: `docker kill`, a `docker stop` whose grace period ran out, or the host's "
            "OOM killer (see `dmesg` or `journalctl -k` for 'Killed process'). If it was memory, give the "
            "host more RAM or lower MAX_RUNNING_REQUESTS.", "exit code 137",
        )
    if exit_code == 143:
        return Diagnosis(
            "sigterm", "The server was stopped with SIGTERM (exit code 143)",
            "A stop asked for it (`docker stop`, the console's stop); restart it when wanted.", "exit code 143",
        )
    return None

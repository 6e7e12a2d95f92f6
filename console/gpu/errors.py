"""NVML failures by kind and their words: shared by the real backend and the replay (a leaf)."""

from __future__ import annotations

# Errors after which a device gives no more answers.
LOST_KINDS = frozenset({"GPU_IS_LOST", "RESET_REQUIRED", "GPU_NOT_FOUND", "INVALID_ARGUMENT",
                        "REPLAY_MALFORMED"})  # a recording's later answer of the wrong shape


class NvmlError(Exception):
    """An NVML failure in backends that are not pynvml (replay), by kind."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(detail or kind)
        self.kind = kind


def unavailable_message(kind: str, detail: str = "") -> str:
    """Plain words for "no GPUs to show", by NVML error kind."""
    words = {
        "LIBRARY_NOT_FOUND": "NVIDIA driver not found (libnvidia-ml.so.1)",
        "DRIVER_NOT_LOADED": "NVIDIA driver is not loaded (no nvidia kernel module)",
        "NO_PERMISSION": "no permission to talk to the NVIDIA driver (/dev/nvidia*)",
        "LIB_RM_VERSION_MISMATCH": "NVIDIA driver and library versions differ (reboot after a driver update)",
        "PYNVML_MISSING": "nvidia-ml-py is not installed (pip install nvidia-ml-py)",
        "NO_GPUS": "the NVIDIA driver sees no GPU",
        "REPLAY_UNREADABLE": f"cannot read the NVML recording ({detail}; fix it, or record one on a GPU box with "
                             "`gpt-oss-console gpus --record FILE`)",
    }.get(kind, f"NVML failed: {detail or kind}")
    return f"{words}: no GPUs to show"


def lost_message(kind: str, detail: str = "") -> str:
    if kind == "REPLAY_MALFORMED":
        return f"the recording's answer is malformed ({detail}): no more readings from this GPU"
    if kind == "RESET_REQUIRED":
        return "GPU needs a reset: it stopped answering"
    return "GPU lost (fell off the bus or was removed): no more readings"

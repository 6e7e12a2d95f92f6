"""Diagnosis rules: a literal anchor found cheaply, a regex that confirms it, and the fix.

The same shape as the SGLang rules in :mod:`console.logs.diagnosis` (which the integration
round moves here); each engine declares its own tuple of rules. Stdlib only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.logs.diagnosis import Diagnosis


@dataclass(frozen=True, slots=True)
class Rule:
    code: str  # stable identifier shared across engines where the cause is the same ("cuda_oom")
    anchors: tuple[str, ...]  # literal substrings, any of which makes the line a candidate
    confirm: re.Pattern[str]
    title: str  # what went wrong, in plain words
    fix: str  # what to change, naming the console setting

    def match(self, msg: str) -> Diagnosis | None:
        if any(a in msg for a in self.anchors) and self.confirm.search(msg):
            return Diagnosis(self.code, self.title, self.fix, msg[:500])
        return None


def anchors_of(rules: tuple[Rule, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for r in rules for a in r.anchors))


def diagnose(rules: tuple[Rule, ...], msg: str) -> Diagnosis | None:
    """The first rule that confirms on this line (quoted source lines in a traceback never do)."""
    if msg[:1] in (" ", "\t"):
        return None
    for rule in rules:
        found = rule.match(msg)
        if found is not None:
            return found
    return None


# Rules whose cause and fix read the same on every engine.
PORT_IN_USE = Rule(
    "port_in_use",
    ("already in use", "port is already allocated", "couldn't bind", "Address in use"),
    re.compile(r"[Aa]ddress already in use|errno 98|port is already allocated|couldn't bind|Address in use"),
    "The server's port is already taken",
    "Pick another PORT, or stop the process/container that holds it (`ss -ltnp` shows who listens).",
)
NO_GPU_RUNTIME = Rule(
    "no_gpu_runtime",
    ("could not select device driver",),
    re.compile(r"could not select device driver"),
    "Docker cannot give the container GPUs (no NVIDIA container runtime)",
    "Install the NVIDIA Container Toolkit and restart Docker (`nvidia-ctk runtime configure`).",
)
HF_AUTH = Rule(
    "hf_auth",
    ("GatedRepoError", "401 Client Error", "Repository Not Found", "RepositoryNotFoundError", "Invalid user token",
     "Access to model"),
    re.compile(r"GatedRepoError|401 Client Error|Repository Not Found|RepositoryNotFoundError"
               r"|Invalid user token|Access to model .* is restricted"),
    "Hugging Face refused the model download (missing or wrong token, or no access)",
    "Set HF_TOKEN to a token with access, check MODEL is spelled exactly, or pre-fill the HF cache mount.",
)
KILLED = Rule(
    "killed",
    ("Killed",),
    re.compile(r"^\s*Killed\s*$|\bKilled process\b"),
    "The process was killed (likely by the kernel's OOM killer: host RAM)",
    "Give the container more host memory or shared memory (SHM size), or lower MAX_RUNNING_REQUESTS.",
)
COMMON_RULES = (PORT_IN_USE, NO_GPU_RUNTIME, HF_AUTH, KILLED)

"""The deployment examples in docker/README.md, parsed, with the SGLang argv each must produce.

An example is a fenced block whose first line is ``# example: ID (FAKE_GPUS=…)``; its
``-e NAME=VALUE`` options are the env, and ``FAKE_GPUS`` the inventory the fake
nvidia-smi reports when tests run it. ``EXPECTED`` is written by hand from the
seed's intent and SGLang's rules (reference §1–2), not derived from the code; the
API key is never in that argv: ``EXPECTED_KEYS`` is what SGLang must read from the
``--config`` file the entrypoint appends.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "docker" / "README.md"
API_KEY_IN_FILE = "sk-readme-example-file-key-0042"  # what tests put in $PWD/api_key

_COMMON = ["--reasoning-parser", "gpt-oss", "--tool-call-parser", "gpt-oss", "--host", "0.0.0.0", "--port", "8000"]

EXPECTED: dict[str, list[str]] = {
    "120b-a100": ["--model-path", "openai/gpt-oss-120b", "--context-length", "16384", "--tp-size", "1",
                  "--attention-backend", "triton", *_COMMON, "--enable-metrics"],
    "120b-h100": ["--model-path", "openai/gpt-oss-120b", "--tp-size", "1", "--mem-fraction-static", "0.95",
                  "--attention-backend", "fa3", *_COMMON, "--enable-metrics"],
    "120b-2xh100": ["--model-path", "openai/gpt-oss-120b", "--tp-size", "2", "--attention-backend", "fa3", *_COMMON,
                    "--enable-metrics"],
    "120b-h200": ["--model-path", "openai/gpt-oss-120b", "--tp-size", "1", "--max-running-requests", "64",
                  "--attention-backend", "fa3", *_COMMON, "--enable-metrics", "--enable-cache-report"],
    "20b-l40s": ["--model-path", "openai/gpt-oss-20b", "--tp-size", "1", "--attention-backend", "triton", *_COMMON,
                 "--enable-metrics"],
    "20b-4090": ["--model-path", "openai/gpt-oss-20b", "--served-model-name", "gpt-oss", "--context-length", "32768",
                 "--tp-size", "1", "--attention-backend", "triton", *_COMMON, "--enable-metrics"],
    "runpod-h100": ["--model-path", "openai/gpt-oss-120b", "--context-length", "65536", "--tp-size", "1",
                    "--mem-fraction-static", "0.95", "--attention-backend", "fa3", *_COMMON, "--enable-metrics"],
}
EXPECTED_KEYS: dict[str, str] = {"120b-h100": API_KEY_IN_FILE, "runpod-h100": "sk-change-me-0123456789abcdef"}


@dataclass
class Example:
    id: str
    fake_gpus: str
    env: dict[str, str]
    command: list[str]


def examples(readme: Path = README) -> list[Example]:
    out: list[Example] = []
    for block in re.findall(r"```sh\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S):
        head = re.match(r"# example: (\S+) \(FAKE_GPUS=([^)]+)\)\n", block)
        if not head:
            continue
        command = shlex.split(block[head.end():].replace("\\\n", " "))
        env = {}
        for i, arg in enumerate(command):
            if arg == "-e":
                name, _, value = command[i + 1].partition("=")
                env[name] = value
        out.append(Example(head.group(1), head.group(2), env, command))
    return out

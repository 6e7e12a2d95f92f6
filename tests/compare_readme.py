"""The README's bake-off table: ``gpt-oss-console compare`` run against the test peers, recorded.

    python -m tests.compare_readme --record   # minutes: the llama.cpp peer is a 135M model on the CPU
    python -m tests.readme_sections --write   # then README.md shows the recording

The three endpoints are the ones the must-show test compares (tests/test_compare_peers.py): the
real llama.cpp peer (llama-cpp-python + SmolLM2), the SGLang-shaped server clean, and the same
server with SGLang/vLLM's intermittent Harmony parse error on 10 % of requests (seeded). The
recording is the command's own ``--json`` output; the README renders it with the command's own
Markdown renderer (``console.compare.report.markdown``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECORDING = REPO / "tests" / "data" / "compare" / "test-peers.json"

FAULT = {"faults": ["parse_error"], "fault_rate": 0.1, "seed": 1}
OPTIONS = ["--only", "tool-auto,tool-required,streaming-tool-call,dotted-tool-name",
           "--temperature", "0", "--max-tokens", "128", "--soak", "3", "--agreement", "3", "--prefix-tokens", "600",
           "--concurrency", "1,2", "--requests", "4", "--input-len", "64", "--output-len", "32",
           "--price-per-hour", "2.50", "--timeout", "600"]
# What an operator runs on a GPU box with the three engines serving gpt-oss (keys from files).
OPERATOR = ("gpt-oss-console compare \\\n"
            "    --endpoint sglang=http://127.0.0.1:30000 --endpoint vllm=http://127.0.0.1:8000 "
            "--endpoint llama.cpp=http://127.0.0.1:8080 \\\n"
            "    --api-key-file sglang=$HOME/.config/gpt-oss-console/sglang.key \\\n"
            "    --price-per-hour 2.50 --markdown compare.md --json compare.json")


def command(urls: dict[str, str], out: Path) -> list[str]:
    argv = [sys.executable, "-m", "console", "compare"]
    for name, url in urls.items():
        argv += ["--endpoint", f"{name}={url}"]
    return argv + OPTIONS + ["--json", str(out), "--quiet"]


def record() -> int:
    from tests.fixtures.peers import find_gguf, llama_process, llama_venv
    from tests.peers.sglang_shaped.server import start_in_thread

    venv = llama_venv()
    gguf = find_gguf(venv)
    if gguf is None:
        print(f"no llama peer in {venv}: run tests/peers/setup_llama.sh first", file=sys.stderr)
        return 3
    clean, clean_url = start_in_thread()
    faulty, faulty_url = start_in_thread(**FAULT)
    try:
        with llama_process(venv / "bin" / "python", gguf) as llama:
            RECORDING.parent.mkdir(parents=True, exist_ok=True)
            urls = {"llama.cpp": llama.base_url, "sglang": clean_url, "sglang-flaky": faulty_url}
            rc = subprocess.run(command(urls, RECORDING), cwd=REPO).returncode
    finally:
        for srv in (clean, faulty):
            srv.shutdown()
            srv.server_close()
    if rc not in (0, 1):  # 1: an endpoint failed a check, as the flaky one must
        print(f"compare exited {rc}: nothing recorded", file=sys.stderr)
        return rc
    print(f"compare exited {rc}; recorded {RECORDING.relative_to(REPO)}")
    return 0


def recording() -> dict:
    return json.loads(RECORDING.read_text(encoding="utf-8"))


def section() -> str:
    """The README section: the command for a GPU box, then the table recorded against the test peers."""
    from console.compare.report import markdown

    shown = " ".join(["gpt-oss-console compare", "--endpoint llama.cpp=<llama.cpp peer>",
                      "--endpoint sglang=<SGLang-shaped>", "--endpoint sglang-flaky=<SGLang-shaped, 10 % parse errors>",
                      *OPTIONS])
    return "\n".join([
        "On a GPU box, with the engines serving gpt-oss:", "", "```sh", OPERATOR, "```", "",
        "The same command against the test peers (`python -m tests.compare_readme --record`, then "
        "`python -m tests.readme_sections --write`): the real llama.cpp peer (SmolLM2-135M, not a gpt-oss model), "
        "the SGLang-shaped server, and the same server failing 10 % of requests with the Harmony parse error "
        "SGLang and vLLM users reported:", "", "```sh", shown, "```", "",
        markdown(recording()).rstrip(),
    ])


if __name__ == "__main__":
    if "--record" in sys.argv:
        sys.exit(record())
    print(section())

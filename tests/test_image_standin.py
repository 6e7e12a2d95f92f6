"""The stand-in pieces without Docker: scenario list in sync, fake nvidia-smi output, fake SGLang run locally."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docker import images

STANDIN = Path(images.STANDIN_DIR)


def _module_constant(path: Path, name: str):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not in {path}")


def test_scenarios_in_sync():
    assert images.SCENARIOS == _module_constant(STANDIN / "sglang" / "launch_server.py", "SCENARIOS")


def test_fake_nvidia_smi_uses_the_planner_catalog(monkeypatch, capsys):
    from console.planner import catalog

    monkeypatch.setitem(sys.modules, "gpu_catalog", catalog)
    sys.path.insert(0, str(STANDIN))
    try:
        import nvidia_smi
    finally:
        sys.path.remove(str(STANDIN))
    monkeypatch.setenv("FAKE_GPUS", "L40S:1,RTX-4090-24GB:1")
    assert nvidia_smi.main(["--query-gpu=index,name,memory.total,compute_cap", "--format=csv,noheader,nounits"]) == 0
    assert capsys.readouterr().out.splitlines() == ["0, NVIDIA L40S, 46068, 8.9", "1, NVIDIA GeForce RTX 4090, 24564, 8.9"]
    assert nvidia_smi.main(["--query-gpu=name,memory.total", "--format=csv"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["name, memory.total [MiB]", "NVIDIA L40S, 46068 MiB"]
    monkeypatch.setenv("FAKE_GPUS", "")
    assert nvidia_smi.main([]) == 6 and "No devices were found" in capsys.readouterr().out
    monkeypatch.setenv("FAKE_GPUS", "Voodoo5:1")
    assert nvidia_smi.main([]) == 9


@pytest.mark.parametrize("scenario,line", [
    ("not_enough_memory", "Not enough memory. Please try to increase --mem-fraction-static."),
    ("gated_repo", "GatedRepoError"),
])
def test_fake_sglang_runs_without_docker(scenario, line, tmp_path):
    env = dict(os.environ, FAKE_SGLANG_SCENARIO=scenario, FAKE_SGLANG_DELAY="0", PYTHONPATH=str(STANDIN),
               FAKE_SGLANG_ARGV_FILE=str(tmp_path / "argv.json"))
    proc = subprocess.run([sys.executable, "-m", "sglang.launch_server", "--model-path", "openai/gpt-oss-20b",
                           "--api-key", "sk-printed-like-sglang-0000"], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 1
    assert line in proc.stdout + proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("SGLANG_ARGV ")
    assert json.loads(first.split(" ", 1)[1])["argv"][-1] == "sk-printed-like-sglang-0000"
    # Like real SGLang (sglang#37457) the stand-in prints the key: masking it is the entrypoint's job.
    assert "api_key='sk-printed-like-sglang-0000'" in proc.stdout
    assert json.loads((tmp_path / "argv.json").read_text())["argv"][-1] == "sk-printed-like-sglang-0000"

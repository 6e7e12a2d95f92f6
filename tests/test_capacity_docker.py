"""The launch's plan against the server's log, on a real Docker Engine with the stand-in SGLang.

The box is one idle H100 (an NVML recording); the stand-in logs the memory figures SGLang
0.5.23 computes for it (tests/data/sglang/answers.json). With FAKE_SGLANG_HELD_GIB another
process holds memory when it loads, as on issue 10's H200, and the pool shrinks as SGLang's does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli import main
from console.gpu.nvml import REPLAY_ENV
from console.runtime import capacity
from tests.fixtures.docker_engine import free_port
from tests.runtime_helpers import container_name, isolate_state

pytestmark = pytest.mark.docker
NVML = Path(__file__).parent / "data" / "nvml"


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    isolate_state(tmp_path, monkeypatch)
    return tmp_path


@pytest.fixture
def name(docker_client):
    yield from container_name(docker_client, "capacity")


@pytest.fixture
def h100_box(monkeypatch):
    """NVML answers as one idle H100. The test engine has no GPU runtime, so containers run with
    --gpus none; the plan is made as if the GPU were given to the container."""
    monkeypatch.setenv(REPLAY_ENV, str(NVML / "h100.json"))
    real = capacity.predict
    monkeypatch.setattr(capacity, "predict", lambda values, box=None: real({**values, "gpus": "all"}, box))


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def launch(image, name, port, *extra):
    return ["launch", "--image", image, "--gpus", "none", "--hf-cache", "none", "--host-port", str(port),
            "--container-name", name, "-e", "FAKE_GPUS=H100-80GB:1", *extra]


def test_launch_and_status_say_predicted_vs_actual(standin_sglang_image, xdg, name, h100_box, capsys):
    port = free_port()
    code, out, err = run_cli(capsys, *launch(standin_sglang_image, name, port), "--json")
    assert code == 0, err
    check = json.loads(out)["capacity_check"]
    # planned from NVML (503 MiB reserve in the recording): 80,529 MiB free → 1,257,951 tokens; SGLang's
    # own answer, for the H100's measured 480 MiB: 80,552 MiB → 1,258,404 (23 MiB × 0.83 ≈ 453 tokens apart)
    assert check["within"] and check["causes"] == [] and check["planned_for"] == "SGLang 0.5.23"
    assert (check["predicted"], check["actual"]) == (1257951, 1258404)

    code, out, _ = run_cli(capsys, "status", name, "--json")
    (row,) = json.loads(out)["containers"]
    assert code == 0 and row["capacity_check"]["actual"] == check["actual"] and row["capacity_check"]["within"]


def test_memory_held_at_load_is_named(standin_sglang_image, xdg, name, h100_box, capsys):
    port = free_port()
    code, _, err = run_cli(capsys, *launch(standin_sglang_image, name, port), "-e", "FAKE_SGLANG_HELD_GIB=20")
    assert code == 0, err
    # before the launch: the plan, for the version named; after: the server's pool against it
    assert "plan: KV pool 1,257,951 tokens per replica (SGLang 0.5.23, TP=1, 78.6 GiB free per GPU now)" in err
    line = next(x for x in err.splitlines() if "KV pool" in x and "planned" in x)
    assert "tokens, planned 1,257,951 (SGLang 0.5.23): -32.0 %, beyond 5%" in line
    assert ("58.7 GiB was free when the weights began loading, the plan counted 78.6 GiB (other processes held "
            "20.0 GiB of it") in line

    code, out, _ = run_cli(capsys, "status", name)
    assert code == 0 and "beyond 5%" in out and "other processes held 20.0 GiB" in out

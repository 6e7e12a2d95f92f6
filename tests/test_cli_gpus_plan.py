"""``gpus`` and ``plan`` from the command line: output, JSON and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "nvml"


def cli(capsys, *argv, replay: str | None = None, monkeypatch=None):
    if replay is not None:
        monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(DATA / replay))
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# -- gpus ----------------------------------------------------------------------------


def test_gpus_json_without_driver(capsys, monkeypatch):
    rc, out, _ = cli(capsys, "gpus", "--json", replay="no-driver.json", monkeypatch=monkeypatch)
    assert rc == 0
    doc = json.loads(out)
    assert doc["gpus"] == [] and doc["error"] == "NVIDIA driver not found (libnvidia-ml.so.1): no GPUs to show"
    assert doc["fit"] == []


def test_gpus_real_process_on_this_machine():
    """The real program, real NVML library lookup: no driver here → exit 0, empty list, reason."""
    env = {k: v for k, v in os.environ.items() if k != "GPT_OSS_CONSOLE_NVML_REPLAY"}
    r = subprocess.run([sys.executable, "-m", "console", "gpus", "--json"], capture_output=True,
                       text=True, cwd=ROOT, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    if doc["gpus"]:  # a GPU machine
        assert doc["error"] is None and doc["gpus"][0]["sample"]["memory_total"]
    else:
        assert doc["error"].endswith("no GPUs to show")


def test_gpus_json_h100(capsys, monkeypatch):
    rc, out, _ = cli(capsys, "gpus", "--json", replay="h100.json", monkeypatch=monkeypatch)
    assert rc == 0
    doc = json.loads(out)
    (g,) = doc["gpus"]
    assert g["name"] == "NVIDIA H100 80GB HBM3" and g["arch"] == "Hopper" and g["compute_capability"] == "9.0"
    assert g["sample"]["memory_reserved"] == 503 * 2**20 and g["sample"]["fan_percent"] is None
    assert doc["driver_version"] == "580.159.04" and doc["cuda_version"] == "13.0"
    assert [(f["model"], f["verdict"]) for f in doc["fit"]] == [
        ("gpt-oss-20b", "fits"), ("gpt-oss-120b", "fits-shorter-context"),
    ]
    # first tick: idle; NVML v2 free 81,056 MiB − 527 MiB CUDA context
    assert doc["fit"][0]["free_at_load_bytes"] == (81559 - 503 - 527) * 2**20
    assert doc["fit"][0]["planned_for"] == "SGLang 0.5.23" and doc["fit"][0]["held_bytes"] == 0


def test_gpus_human_table(capsys, monkeypatch):
    rc, out, _ = cli(capsys, "gpus", replay="2xh100.json", monkeypatch=monkeypatch)
    assert rc == 0
    assert "[0] NVIDIA H100 80GB HBM3  Hopper sm90 PCIe 5/5" in out
    assert "[1] NVIDIA H100 80GB HBM3" in out
    assert "69.6/79.6 GiB +0.5 rsv  util 64%" in out
    assert "pid 9100" in out and "sglang::scheduler_TP0" in out
    # the fit lines plan from what is free now (the recording's GPUs already serve 120b) and say who holds it
    assert "gpt-oss on 2× H100-80GB, 9.1 GiB free now per GPU, SGLang 0.5.23" in out
    assert "gpt-oss-120b  does not fit" in out
    assert "sglang::scheduler_TP0 (pid 9100) holds 69.6 GiB on GPU 0" in out


def test_gpus_human_not_supported_shows_na(capsys, monkeypatch):
    rc, out, _ = cli(capsys, "gpus", replay="notsupported.json", monkeypatch=monkeypatch)
    assert rc == 0 and "n/a" in out and "NVIDIA L4  Ada sm89" in out


def test_gpus_watch_json_lines(capsys, monkeypatch):
    rc, out, _ = cli(capsys, "gpus", "--watch", "--json", "--count", "5", "--interval", "0.01",
                     replay="gpu-lost.json", monkeypatch=monkeypatch)
    assert rc == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert "inventory" in lines[0] and len(lines) == 6
    assert [x["seq"] for x in lines[1:]] == [1, 2, 3, 4, 5]
    assert lines[-1]["samples"][1]["lost"] is True and lines[-1]["samples"][0]["lost"] is False


def test_gpus_watch_without_gpu_exits_0(capsys, monkeypatch):
    rc, out, _ = cli(capsys, "gpus", "--watch", replay="no-driver.json", monkeypatch=monkeypatch)
    assert rc == 0 and "no GPUs to show" in out


def test_gpus_record_then_replay(capsys, monkeypatch, tmp_path):
    target = tmp_path / "rec.json"
    rc, out, _ = cli(capsys, "gpus", "--record", str(target), "--count", "3", "--interval", "0.01",
                     replay="h100.json", monkeypatch=monkeypatch)
    assert rc == 0 and "3 tick(s) of 1 GPU(s)" in out
    monkeypatch.delenv("GPT_OSS_CONSOLE_NVML_REPLAY")
    rc, out, _ = cli(capsys, "gpus", "--json", "--replay", str(target))
    assert rc == 0 and json.loads(out)["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"


def test_gpus_bad_interval(capsys):
    assert main(["gpus", "--interval", "0"]) == 2
    assert "--interval must be > 0" in capsys.readouterr().err


@pytest.mark.parametrize("content", [None, "{not json", '{"format": "something else"}'])
def test_gpus_unreadable_replay_is_said_in_words(capsys, tmp_path, content):
    target = tmp_path / "rec.json"
    if content is not None:
        target.write_text(content)
    rc, out, err = cli(capsys, "gpus", "--json", "--replay", str(target))
    doc = json.loads(out)
    assert rc == 0 and doc["gpus"] == [] and "Traceback" not in err
    assert doc["error"].startswith("cannot read the NVML recording (") and str(target) in doc["error"]


def test_plan_with_unreadable_replay_says_why(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(tmp_path / "missing.json"))
    rc, _, err = cli(capsys, "plan")
    assert rc == 3 and "no GPU to plan for: cannot read the NVML recording" in err and "Traceback" not in err


# -- plan ------------------------------------------------------------------------------


def test_plan_issue_example(capsys):
    rc, out, _ = cli(capsys, "plan", "--model", "gpt-oss-120b", "--gpu", "H100-80GB", "--count", "2", "--json")
    assert rc == 0
    (p,) = json.loads(out)["plans"]
    assert p["tp"] == 2 and p["max_total_num_tokens"] == 1063023 and p["verdict"] == "fits"
    assert p["planned_for"] == "SGLang 0.5.23" and json.loads(out)["planned_for"] == "SGLang 0.5.23"


def test_plan_human(capsys):
    rc, out, _ = cli(capsys, "plan", "--model", "120b", "--gpu", "h100")
    assert rc == 0
    # the issue's example: names the SGLang version and gives SGLang's context (tests/test_planner.py
    # pins 11,997 with its arithmetic; tests/test_planner_sglang.py against SGLang's own code)
    assert "FITS WITH A SHORTER CONTEXT" in out and "11,997 tokens" in out
    assert "planned for     SGLang 0.5.23 (image lmsysorg/sglang:v0.5.23)" in out
    assert "max context     11,997 tokens for one request" in out
    assert "--context-length 11264" in out
    assert "78.7 GiB per GPU = 79.6 GiB − 0.5 GiB driver reserve, 0.5 GiB CUDA context" in out


def test_plan_does_not_fit_exit_1(capsys):
    rc, out, _ = cli(capsys, "plan", "--model", "gpt-oss-120b", "--gpu", "L40S")
    assert rc == 1 and "DOES NOT FIT" in out and "Not enough memory" in out


def test_plan_unknown_gpu_exit_2_lists_names(capsys):
    rc, _, err = cli(capsys, "plan", "--gpu", "Voodoo5")
    assert rc == 2 and "H100-80GB" in err and "RTX-4090-24GB" in err


def test_plan_bad_tp_exit_2(capsys):
    rc, _, err = cli(capsys, "plan", "--model", "120b", "--gpu", "H100", "--count", "4", "--tp", "3")
    assert rc == 2 and "TP=3 is not valid" in err


def test_plan_detected_gpus_plans_from_what_is_free_now(capsys, monkeypatch):
    """Two H100s already serving 120b (71,234 MiB used on each): the box is planned from the 9.1 GiB
    free, and the plan names the processes holding the rest."""
    rc, out, _ = cli(capsys, "plan", "--json", replay="2xh100.json", monkeypatch=monkeypatch)
    assert rc == 0
    plans = json.loads(out)["plans"]
    assert [(p["model"], p["gpu"], p["gpu_count"], p["tp"], p["verdict"]) for p in plans] == [
        ("gpt-oss-20b", "H100-80GB", 2, 2, "fits-shorter-context"),
        ("gpt-oss-120b", "H100-80GB", 2, 2, "does-not-fit"),
    ]
    small = plans[0]
    # NVML v2 free 9,822 MiB − 527 MiB CUDA context, on each GPU
    assert small["memory_source"] == "detected" and small["free_at_load_bytes"] == (9822 - 527) * 2**20
    assert [h["name"] for h in small["holders"]] == ["sglang::scheduler_TP0", "sglang::scheduler_TP1"]
    assert "holds 69.6 GiB on GPU 0" in small["warnings"][0]
    assert small["clean_card_tokens"] > 2_000_000


def test_plan_on_a_busy_h200_says_who_holds_the_memory(capsys, monkeypatch):
    """Issue 10 item 11: a process holding 20.6 GiB on an H200 shrinks the plan, and the plan says so."""
    rc, out, _ = cli(capsys, "plan", "--model", "120b", replay="h200-busy.json", monkeypatch=monkeypatch)
    assert rc == 0
    # free now = 143,771 − 615.06 reserved − 21,094 held = 122,061.9 MiB, − 527 CUDA context = 118.7 GiB
    assert "118.7 GiB free now on GPU 0 (of 140.4 GiB: 20.6 GiB held by other processes" in out
    assert "python3 (pid 31337) holds 20.6 GiB on GPU 0" in out
    # a clean card with this driver's 615.06 MiB reserve: one token under the catalog H200's 990,736
    assert "with that memory free the pool would be 990,735 tokens" in out
    assert "= 689,732 tokens" in out


def test_plan_picks_the_emptier_gpu_and_says_so(capsys, monkeypatch):
    rc, out, _ = cli(capsys, "plan", "--model", "20b", "--json", replay="2xh200-one-busy.json",
                     monkeypatch=monkeypatch)
    (p,) = json.loads(out)["plans"]
    assert rc == 0 and p["tp"] == 1 and p["gpu_indices"] == [1] and p["held_bytes"] == 0
    assert p["settings"]["gpus"] == "1" and "runs on GPU 1: GPU 0 has less memory free" in p["tp_reason"]
    rc, out, _ = cli(capsys, "plan", "--model", "120b", "--count", "2", "--tp", "2", "--json",
                     replay="2xh200-one-busy.json", monkeypatch=monkeypatch)
    (p,) = json.loads(out)["plans"]
    # GPU 0 has 118.7 GiB free, GPU 1 139.3 GiB: under 90 %, SGLang refuses ("memory capacity is unbalanced")
    assert rc == 1 and p["verdict"] == "does-not-fit" and "unbalanced" in p["reasons"][0]


def test_plan_no_gpu_detected_exit_3(capsys, monkeypatch):
    rc, _, err = cli(capsys, "plan", replay="no-driver.json", monkeypatch=monkeypatch)
    assert rc == 3 and "--gpu NAME" in err and "no GPUs to show" in err


def test_plan_options_and_extras(capsys):
    rc, out, _ = cli(capsys, "plan", "--model", "120b", "--gpu", "H200", "--context-length", "32768",
                     "--concurrency", "40", "--mem-fraction-static", "0.9", "--json")
    p = json.loads(out)["plans"][0]
    assert rc == 0 and p["verdict"] == "fits-shorter-context" and p["mem_fraction_source"] == "given"
    rc, out, _ = cli(capsys, "plan", "--seed-table")
    assert rc == 0 and out.startswith("| model | GPUs |")
    rc, out, _ = cli(capsys, "plan", "--list-gpus", "--json")
    assert rc == 0 and len(json.loads(out)["gpus"]) == 11


# -- the GPU machine has only nvidia-ml-py ------------------------------------------------

BLOCKED = ("textual", "docker", "openai", "httpx", "jsonschema", "prometheus_client", "tomli_w", "rich")

IMPORT_PROBE = f"""
import sys
for name in {BLOCKED!r}:
    sys.modules[name] = None  # any import of these now raises ImportError
import console.gpu, console.planner, console.planner.seed, console.cli.gpus, console.cli.plan
from console.cli import main
rc1 = main(["gpus", "--json"])
rc2 = main(["plan", "--model", "120b", "--gpu", "H100-80GB", "--count", "2", "--json"])
bad = sorted(m for m in sys.modules if m.split(".")[0] in {BLOCKED!r} and sys.modules[m] is not None)
print("RC", rc1, rc2, "LEAKED", bad)
"""


@pytest.mark.parametrize("replay", [None, "2xh100.json"])
def test_core_and_cli_import_with_only_nvidia_ml_py(replay):
    env = {k: v for k, v in os.environ.items() if k != "GPT_OSS_CONSOLE_NVML_REPLAY"}
    if replay:
        env["GPT_OSS_CONSOLE_NVML_REPLAY"] = str(DATA / replay)
    r = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=60)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "RC 0 0 LEAKED []" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]


def test_planner_is_stdlib_only():
    """The image entrypoint imports the planner with a bare python3: no third-party modules."""
    probe = (
        "import sys; before=set(sys.modules); import console.planner, console.planner.seed; "
        "new=[m for m in set(sys.modules)-before if not m.startswith('console')]; "
        "import sysconfig; std=sysconfig.get_paths()['stdlib']; "
        "bad=[m for m in new if getattr(sys.modules[m],'__file__',None) and "
        "not sys.modules[m].__file__.startswith(std)]; print('BAD', sorted(bad))"
    )
    r = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "BAD []" in r.stdout


def test_plan_engine_all_shows_each_engines_verdict(capsys):
    """`plan --engine all`: each engine's verdict for each model by its own rules, a TP an engine
    cannot take said in its words (llama.cpp has no tensor parallelism), JSON the same."""
    rc, out, _ = cli(capsys, "plan", "--engine", "all", "--gpu", "H100-80GB", "--model", "120b")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "gpt-oss-120b on 1× H100-80GB:"
    assert [ln.split()[0] for ln in lines[1:4]] == ["SGLang", "vLLM", "llama.cpp"]
    assert "fits with a shorter context" in lines[1] and "→ --context-length" in lines[1]
    rc, out, _ = cli(capsys, "plan", "--engine", "all", "--gpu", "H100-80GB", "--model", "120b", "--count", "2",
                     "--tp", "2", "--json")
    doc = json.loads(out)
    (model,) = doc["models"]
    by = {e["engine"]: e for e in model["engines"]}
    assert by["sglang"]["plan"]["tp"] == 2 and by["vllm"]["plan"]["tp"] == 2
    assert by["llamacpp"]["plan"] is None and "no tensor parallelism" in by["llamacpp"]["problem"]

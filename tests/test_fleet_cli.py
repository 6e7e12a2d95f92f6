"""`gpt-oss-console fleet` end to end on one SSH host with two GPUs: plan, up (two replicas), logs, down,
and the answers to bad input (a sentence, the right exit code, JSON when asked)."""

from __future__ import annotations

import json
import os

import pytest

from console.cli import main
from tests.fixtures.docker_engine import free_port


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_offline_for_any_catalog_gpu(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    code, out, err = run_cli(capsys, "fleet", "plan", "--json", "--model", "gpt-oss-120b", "--gpu", "H100-80GB",
                             "--count", "8", "--host", "gpu1", "--host", "root@10.0.0.6")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["replicas"] == 2 and [h["host"] for h in doc["hosts"]] == ["gpu1", "10.0.0.6"]
    assert doc["hosts"][0]["tp"] == 8 and doc["gpus_used"] == 16
    code, out, _ = run_cli(capsys, "fleet", "plan", "--model", "gpt-oss-20b", "--gpu", "L40S", "--count", "2",
                           "--host", "gpu1")
    assert code == 0 and "2 × TP=1 on L40S" in out and "multi-node tensor parallelism is not offered" in out


@pytest.mark.parametrize("argv, code, words", [
    (["fleet", "plan", "--model", "llama-70b", "--gpu", "H100-80GB"], 2, "llama-70b"),
    (["fleet", "plan", "--gpu", "H900", "--host", "a"], 2, "H900"),
    (["fleet", "status", "--host", "root@box:22"], 2, "ssh://root@box:22"),
    (["fleet", "status", "--timeout", "0"], 2, "--timeout"),
    (["fleet", "up", "--model", "meta/llama-3", "--host", "local"], 2, "gpt-oss only"),
    (["fleet", "logs", "gpu1/0", "--tail", "lots"], 2, "--tail"),
    (["fleet", "drain", "gpu1/0", "--host", "ssh://root@127.0.0.1:1"], 4, "has not been started"),
    (["fleet", "logs", "router", "--host", "local"], 4, "no router log"),
])
def test_bad_input_is_a_sentence_with_an_exit_code(argv, code, words, capsys, tmp_path, monkeypatch):
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        (tmp_path / var).mkdir(mode=0o700)
        monkeypatch.setenv(var, str(tmp_path / var))
    got, out, err = run_cli(capsys, *argv)
    assert got == code, (out, err)
    assert "Traceback" not in err and err.startswith("error: ") and words in err, err
    got, out, _ = run_cli(capsys, *argv, "--json")
    doc = json.loads(out)
    assert got == code and words in doc["error"] + " " + (doc["hint"] or "")


@pytest.mark.docker
def test_plan_up_logs_down_on_a_two_gpu_host(fleet_lab, console_image, capsys):
    host = fleet_lab.add_host("duo", gpus="H100-80GB:2")
    fleet_lab.hosts_file(router_port=free_port(), prometheus_port=free_port(), timeout=10)
    code, out, err = run_cli(capsys, "fleet", "plan", "--json", "--model", "gpt-oss-20b")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["replicas"] == 2 and [w["gpus"] for w in plan["workers"]] == [[0], [1]]
    assert [w["port"] for w in plan["workers"]] == [host.worker_port, host.worker_port + 1]
    code, out, err = run_cli(capsys, "fleet", "plan", "--model", "gpt-oss-120b")
    assert code == 0 and "1 × TP=2 on H100-80GB" in out
    code, out, err = run_cli(capsys, "fleet", "up", "--model", MODEL, "--image", console_image, "--image-mode", "project",
                             "--gpus", "none", "-e", "FAKE_GPUS=H100-80GB:1", "--ready-timeout", "180")
    assert code == 0, f"{err}\n{out}"
    assert "2/2 worker(s) ready" in out and "ready in" in err  # progress on stderr, the result on stdout
    names = sorted(c.name for c in fleet_lab.fleet_containers())
    assert names == [f"{fleet_lab.fleet}-duo-0", f"{fleet_lab.fleet}-duo-1"]
    # Each worker on its own GPU group (labels) and port.
    labels = {c.name: c.labels for c in fleet_lab.fleet_containers()}
    assert labels[names[0]]["org.gpt-oss-console.fleet.gpus"] == "0"
    assert labels[names[1]]["org.gpt-oss-console.fleet.url"].endswith(f":{host.worker_port + 1}")
    # A second up keeps what runs.
    code, out, err = run_cli(capsys, "fleet", "up", "--json", "--model", MODEL, "--image", console_image,
                             "--image-mode", "project", "--gpus", "none", "-e", "FAKE_GPUS=H100-80GB:1")
    assert code == 0 and {w["action"] for w in json.loads(out)["workers"]} == {"kept"}
    code, out, err = run_cli(capsys, "fleet", "logs", "duo/1", "--tail", "all")
    assert code == 0 and "The server is fired up and ready to roll!" in out
    code, out, err = run_cli(capsys, "fleet", "logs", "router", "--json", "--tail", "all")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and lines and all(d["source"] == "router" for d in lines)
    # its record of the registrations, colour codes stripped
    assert any("method=POST uri=/workers" in d["line"] for d in lines) and not any("\x1b[" in d["line"] for d in lines)
    code, out, err = run_cli(capsys, "fleet", "down", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert sorted(doc["removed"]) == names and doc["router_stopped"]
    assert fleet_lab.fleet_containers() == []
    code, out, _ = run_cli(capsys, "fleet", "status", "--json")
    st = json.loads(out)
    assert st["router"]["running"] is False and st["summary"]["workers"] == 0 and st["summary"]["reachable"] == 1


MODEL = "openai/gpt-oss-20b"


@pytest.mark.docker
def test_the_router_as_a_container_on_a_host(fleet_lab, console_image, router_image, capsys, monkeypatch):
    """router = "gw": the router image on that host's engine (host network), the key copied in as a file."""
    fleet_lab.add_host("gw", gpus="")  # no GPU: a gateway box
    fleet_lab.add_host("work", gpus="H100-80GB:1")
    fleet_lab.hosts_file(router="gw", router_image=router_image, router_port=free_port(),
                         prometheus_port=free_port(), timeout=10)
    code, out, err = run_cli(capsys, "fleet", "up", "--json", "--model", MODEL, "--image", console_image,
                             "--image-mode", "project", "--gpus", "none", "-e", "FAKE_GPUS=H100-80GB:1",
                             "--ready-timeout", "180")
    assert code == 0, f"{err}\n{out}"
    doc = json.loads(out)
    gw = fleet_lab.hosts["gw"]
    assert doc["router"]["kind"] == "container" and doc["router"]["url"].startswith(f"http://{gw.address}:")
    assert doc["host_errors"] == {"gw": "gw: the NVIDIA driver sees no GPU"}  # planned without workers, said why
    assert [w["host"] for w in doc["workers"]] == ["work"]
    (router,) = [c for c in fleet_lab.fleet_containers() if c.labels["org.gpt-oss-console.fleet.role"] == "router"]
    key = (fleet_lab.root / "cfg" / "gpt-oss-console" / "fleet" / f"{fleet_lab.fleet}.key").read_text().strip()
    assert key not in json.dumps(router.attrs)  # not in its command, not in its env
    monkeypatch.setenv("GPT_OSS_CONSOLE_API_KEY", key)
    code, out, err = run_cli(capsys, "chat", "--base-url", doc["router"]["url"], "--json", "hello")
    assert code == 0 and '"TurnDone"' in out, err
    code, out, _ = run_cli(capsys, "fleet", "status", "--json")
    st = json.loads(out)
    assert st["router"]["running"] and st["router"]["kind"] == "container" and st["summary"]["ready"] == 1
    code, out, _ = run_cli(capsys, "fleet", "logs", "router", "--tail", "all")
    assert code == 0 and "uri=/workers" in out
    code, out, err = run_cli(capsys, "fleet", "down", "--json")
    assert code == 0 and json.loads(out)["router_stopped"], err
    assert fleet_lab.fleet_containers() == []


@pytest.fixture
def fake_local_gpus(tmp_path, monkeypatch):
    """This machine's nvidia-smi: the stand-in image's (no GPU here), reading FAKE_GPUS like in the image."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gpu_catalog.py").symlink_to(repo / "console" / "planner" / "catalog.py")
    smi = bin_dir / "nvidia-smi"
    smi.write_text(f'#!/bin/sh\nPYTHONPATH={bin_dir} exec python3 {repo}/tests/docker/standin/nvidia_smi.py "$@"\n')
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GPUS", "H100-80GB:1")


@pytest.mark.docker
def test_local_is_a_host(fleet_lab, fake_local_gpus, console_image, capsys):
    """`local`: commands run here and the engine is this machine's, through the same fleet code."""
    import tomli_w

    port = free_port()
    path = fleet_lab.root / "hosts.toml"  # GPT_OSS_CONSOLE_HOSTS (the lab's; no SSH host in it)
    doc = {"fleet": {"name": fleet_lab.fleet, "router_port": free_port(), "prometheus_port": free_port(), "timeout": 10},
           "hosts": {"local": {"port": port}}}
    path.write_text(tomli_w.dumps(doc))
    code, out, err = run_cli(capsys, "fleet", "up", "--json", "--model", MODEL, "--image", console_image,
                             "--image-mode", "project", "--gpus", "none", "-e", "FAKE_GPUS=H100-80GB:1",
                             "--ready-timeout", "180")
    assert code == 0, f"{err}\n{out}"
    (w,) = json.loads(out)["workers"]
    assert w["url"] == f"http://127.0.0.1:{port}" and w["action"] == "started"
    code, out, err = run_cli(capsys, "fleet", "status", "--json")
    (h,) = json.loads(out)["hosts"]
    assert h["reachable"] and h["gpus"]["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3", h
    assert h["workers"][0]["phase"] == "ready" and h["workers"][0]["router"]["healthy"]
    code, out, err = run_cli(capsys, "fleet", "down", "--json")
    assert code == 0 and fleet_lab.fleet_containers() == []

"""Two SSH hosts, one worker each behind the real router from PyPI: up, traffic, drain, crash, replace.

Real components: sshd hosts on the real Docker Engine (tests/fixtures/fleet_lab.py), the
project's image on the SGLang stand-in as workers (launched through those hosts' engine
over SSH), ``sglang-router`` from PyPI as the router, the console's own chat, smoke and
bench clients through the router's URL.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from console.cli import main
from tests.fixtures.docker_engine import free_port

pytestmark = pytest.mark.docker

MODEL = "openai/gpt-oss-20b"


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def worker_metrics(url: str) -> dict:
    from console.server import metrics as M

    snap = M.parse(M.fetch_text(url, timeout=5))
    return {"requests": snap.counters.get("requests", 0.0), "running": snap.gauges.get("running", 0.0)}


def wait_for(what: str, check, timeout: float = 60.0, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not within {timeout} s (last: {last!r})")


@pytest.fixture
def two_host_fleet(fleet_lab, console_image, capsys, monkeypatch):
    """Hosts alpha and beta (one H100 each), the router local, `fleet up` done."""
    from tests.conftest import need

    try:
        from console.fleet.router_process import detect

        detect()
        have_router = True
    except Exception:
        have_router = False
    need(have_router, "SGLang's router from PyPI (pip install sglang-router; in the test extra)")
    fleet_lab.add_host("alpha", gpus="H100-80GB:1")
    fleet_lab.add_host("beta", gpus="H100-80GB:1")
    # cache_aware, tuned to spread: a request sticks to a worker only when nearly all of it is
    # cached there, and load decides as soon as one worker has 2 more requests than the other.
    fleet_lab.hosts_file(router_port=free_port(), prometheus_port=free_port(), health_interval=1,
                         cache_threshold=0.95, balance_abs_threshold=2, timeout=10)
    code, out, err = run_cli(
        capsys, "fleet", "up", "--json", "--model", MODEL, "--image", console_image, "--image-mode", "project",
        "--gpus", "none", "-e", "FAKE_GPUS=H100-80GB:1", "-e", "FAKE_SGLANG_TOKEN_INTERVAL=0.02",
        "-e", "FAKE_SGLANG_DELAY=0.05", "--ready-timeout", "180")
    assert code == 0, f"{err}\n{out}"
    doc = json.loads(out)
    key_file = Path(os.environ["XDG_CONFIG_HOME"]) / "gpt-oss-console" / "fleet" / f"{fleet_lab.fleet}.key"
    monkeypatch.setenv("GPT_OSS_CONSOLE_API_KEY", key_file.read_text().strip())
    return fleet_lab, doc, key_file


def test_up_registers_one_worker_per_host_and_traffic_reaches_both(two_host_fleet, capsys):
    lab, doc, key_file = two_host_fleet
    key = key_file.read_text().strip()
    router = doc["router"]["url"]
    workers = {w["host"]: w for w in (dict(w, host=w["host"]) for w in doc["workers"])}
    assert set(workers) == {"alpha", "beta"} and all(w["action"] == "started" for w in workers.values())
    assert workers["alpha"]["url"] == f"http://{lab.hosts['alpha'].address}:{lab.hosts['alpha'].worker_port}"
    assert doc["plan"]["replicas"] == 2 and doc["router"]["kind"] == "local"

    # The router lists both, healthy.
    from console.fleet.router import RouterClient
    from console.secret import Secret

    with RouterClient(router, Secret(key)) as rc:
        listed = {w.url: w for w in rc.workers()}
    assert set(listed) == {w["url"] for w in workers.values()} and all(w.healthy for w in listed.values())

    # The key is in no argv (router process) and in no container's env or command (workers).
    pid = doc["router"]["pid"]
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    assert "router" in cmdline and key not in cmdline  # the router renames itself (setproctitle)
    from console.fleet import hosts as H
    from console.fleet.router_process import detect, local_argv

    argv = local_argv(H.load(), detect(), str(key_file))  # what it was started with
    assert "cache_aware" in argv and str(key_file) in argv and not any(key in a for a in argv)
    assert key not in Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    for c in lab.fleet_containers():
        attrs = json.dumps(c.attrs)
        assert key not in attrs, f"the key is visible in docker inspect of {c.name}"
        assert "API_KEY_FILE=/run/secrets/gpt-oss-console/api_key" in c.attrs["Config"]["Env"]
        assert not c.attrs["Mounts"]  # copied in, not mounted: a remote engine has no file of ours to mount
        assert key not in c.logs().decode(errors="replace")  # SGLang prints its args; the image masks them
    assert key not in Path(doc["router"]["log"]).read_text(errors="replace")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"

    # Chat, smoke and a concurrent bench through the router's URL. cache_aware keeps requests
    # that share a prefix (and, with no tokenizer to read, sequential ones) on one worker; the
    # fixture's balance threshold makes concurrent load spread over both.
    before = {h: worker_metrics(w["url"])["requests"] for h, w in workers.items()}
    code, out, err = run_cli(capsys, "chat", "--base-url", router, "--json", "What is the weather in Paris?")
    assert code == 0, err
    kinds = {json.loads(line)["type"] for line in out.splitlines() if line.strip()}
    assert {"ContentDelta", "TurnDone"} <= kinds and "TurnError" not in kinds, kinds
    code, out, err = run_cli(capsys, "smoke", "--base-url", router, "--json", "--soak", "8")
    assert code == 0, f"{err}\n{out[-2000:]}"
    smoke = json.loads(out)
    assert smoke["summary"]["fail"] == 0, [r for r in smoke["results"] if r["status"] == "fail"]
    code, out, err = run_cli(capsys, "bench", "--base-url", router, "--concurrency", "4", "--requests", "16",
                             "--input-len", "32", "--output-len", "32", "--quiet", "--json")
    assert code == 0, err
    assert json.loads(out)["levels"][0]["completed"] == 16
    after = {h: worker_metrics(w["url"])["requests"] for h, w in workers.items()}
    served = {h: after[h] - before[h] for h in workers}
    assert served["alpha"] > 0 and served["beta"] > 0, f"per-worker request counts: {served}"

    # fleet status shows both ready, registered, with their request counts.
    code, out, err = run_cli(capsys, "fleet", "status", "--json")
    assert code == 0, err
    st = json.loads(out)
    assert st["router"]["running"] and st["summary"]["ready"] == 2
    by_host = {h["name"]: h for h in st["hosts"]}
    for h in ("alpha", "beta"):
        (w,) = by_host[h]["workers"]
        assert w["phase"] == "ready" and w["registered"] and w["router"]["healthy"] is True
        assert w["requests_total"] == after[h]
    assert st["router"]["metrics"]["requests_total"] >= sum(served.values())


def test_drain_under_load_loses_no_request(two_host_fleet, capsys, tmp_path):
    lab, doc, _ = two_host_fleet
    router = doc["router"]["url"]
    alpha = next(w for w in doc["workers"] if w["host"] == "alpha")
    result: dict = {}

    def bench() -> None:
        from console.cli import main as cli

        out = tmp_path / "bench.json"
        result["code"] = cli(["bench", "--base-url", router, "--concurrency", "4", "--requests", "48",
                              "--input-len", "32", "--output-len", "64", "--quiet", "--json", str(out)])
        result["doc"] = json.loads(out.read_text())

    t = threading.Thread(target=bench)
    t.start()
    # Drain while alpha has requests in flight.
    wait_for("alpha busy", lambda: worker_metrics(alpha["url"])["running"] > 0, timeout=60, interval=0.05)
    code, out, err = run_cli(capsys, "fleet", "drain", "alpha/0", "--json")
    t.join(timeout=300)
    assert code == 0, err
    drained = json.loads(out)
    assert drained["deregistered"] and drained["stopped"] and drained["running_at_stop"] == 0
    assert result.get("code") == 0, result
    levels = result["doc"]["levels"]
    assert sum(lv["failed"] for lv in levels) == 0 and sum(lv["completed"] for lv in levels) == 48, levels
    # The drained worker is stopped, the router lists one worker.
    c = next(c for c in lab.fleet_containers() if c.name == alpha["name"])
    c.reload()
    assert c.status == "exited"
    from console.fleet.router import RouterClient
    from console.secret import Secret

    with RouterClient(router, Secret(os.environ["GPT_OSS_CONSOLE_API_KEY"])) as rc:
        assert [w.url for w in rc.workers()] == [next(w for w in doc["workers"] if w["host"] == "beta")["url"]]


def test_a_killed_worker_is_marked_unhealthy_then_replaced(two_host_fleet, console_image, capsys):
    lab, doc, _ = two_host_fleet
    beta = next(w for w in doc["workers"] if w["host"] == "beta")
    c = next(c for c in lab.fleet_containers() if c.name == beta["name"])
    c.kill()
    from console.fleet.router import RouterClient
    from console.secret import Secret

    key = Secret(os.environ["GPT_OSS_CONSOLE_API_KEY"])
    with RouterClient(doc["router"]["url"], key) as rc:
        wait_for("the router marks beta unhealthy",
                 lambda: any(w.url == beta["url"] and w.healthy is False for w in rc.workers()), timeout=60)
    code, out, err = run_cli(capsys, "fleet", "status", "--json")
    st = json.loads(out)
    (w,) = next(h for h in st["hosts"] if h["name"] == "beta")["workers"]
    assert w["phase"] == "crashed" and w["exit_code"] == 137 and w["router"]["healthy"] is False
    code, out, _ = run_cli(capsys, "fleet", "status")
    assert "crashed" in out and "UNHEALTHY" in out
    # fleet up replaces it and keeps the healthy one.
    code, out, err = run_cli(capsys, "fleet", "up", "--json", "--model", MODEL, "--image", console_image,
                             "--image-mode", "project", "--gpus", "none", "-e", "FAKE_GPUS=H100-80GB:1",
                             "--ready-timeout", "180")
    assert code == 0, err
    actions = {w["host"]: w["action"] for w in json.loads(out)["workers"]}
    assert actions == {"alpha": "kept", "beta": "replaced"}
    with RouterClient(doc["router"]["url"], key) as rc:
        listed = rc.workers()
    assert len(listed) == 2 and all(w.healthy for w in listed)

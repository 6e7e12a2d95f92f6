"""``fleet status`` over 1, 4 and 16 SSH hosts: the hosts are polled at once, so 16 must not cost 16×.

16 stand-in hosts (tests/fixtures/fleet_lab.py: sshd containers on the real engine, each on
its own loopback address, reached only through SSH) each run one worker (the project's
image on the SGLang stand-in, launched by ``fleet up`` through that host's engine) behind the
real router. Then, alternating in the same run, a fresh ``gpt-oss-console fleet status
--json`` process (what an operator runs) over the first 1, the first 4 and all 16 hosts.
The SSH masters are warm (the first poll of each set is a warm-up, not timed), as they are
for an operator who polls again within ControlPersist.

Prints ``RATIO fleet_status_16_hosts <t16 / t1> goal <= 2.0`` (and the 4-host ratio, with the
time of a cold poll that authenticates to all 16 hosts) and exits 0.

On this test machine every "host" shares the same CPUs, so each host's own work (sshd,
nvidia-smi) is paid 16 times here; on real hosts it runs in parallel on their CPUs.

    python tests/perf/bench_fleet_status.py [--hosts 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def status(hosts: list[str], env: dict) -> tuple[float, dict]:
    argv = [sys.executable, "-m", "console", "fleet", "status", "--json"]
    for h in hosts:
        argv += ["--host", h]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"fleet status failed: {proc.stderr}")
    return took, json.loads(proc.stdout)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    import docker

    from tests.docker.images import ensure_console_image, ensure_standin_sglang_image
    from tests.fixtures.docker_engine import free_port
    from tests.fixtures.fleet_lab import FleetLab

    root = Path(tempfile.mkdtemp(prefix="gfb-"))
    env = dict(os.environ)
    for var, sub in (("XDG_CONFIG_HOME", "cfg"), ("XDG_STATE_HOME", "state"), ("XDG_RUNTIME_DIR", "run")):
        (root / sub).mkdir(mode=0o700)
        env[var] = os.environ[var] = str(root / sub)
    lab = FleetLab(docker.from_env(), ensure_standin_sglang_image(), root)
    env["GPT_OSS_CONSOLE_SSH_CONFIG"] = str(lab.ssh_config)
    env["GPT_OSS_CONSOLE_HOSTS"] = os.environ["GPT_OSS_CONSOLE_HOSTS"] = str(root / "hosts.toml")
    names = [f"h{i:02d}" for i in range(args.hosts)]
    try:
        t0 = time.perf_counter()
        for n in names:
            lab.add_host(n, gpus="H100-80GB:1", wait=False)
        for n in names:
            lab.wait_ssh(lab.hosts[n])
        lab.hosts_file(router_port=free_port(), prometheus_port=free_port(), timeout=20)
        print(f"{args.hosts} SSH hosts up in {time.perf_counter() - t0:.0f} s (load {load()})", flush=True)
        t0 = time.perf_counter()
        up = subprocess.run(
            [sys.executable, "-m", "console", "fleet", "up", "--json", "--model", "openai/gpt-oss-20b",
             "--image", ensure_console_image(), "--image-mode", "project", "--gpus", "none",
             "-e", "FAKE_GPUS=H100-80GB:1", "-e", "FAKE_SGLANG_STATS_INTERVAL=3600", "-e", "FAKE_SGLANG_DELAY=0.05",
             "--ready-timeout", "600"], capture_output=True, text=True, cwd=REPO, env=env)
        if up.returncode != 0:
            raise SystemExit(f"fleet up failed:\n{up.stderr[-3000:]}")
        print(f"fleet up: {args.hosts} workers ready and registered in {time.perf_counter() - t0:.0f} s", flush=True)
        # Cold: every master authenticates (end them first).
        subprocess.run([sys.executable, "-c", "from console.fleet import hosts as H; from console.fleet.connections "
                        "import Connections; c = Connections(H.load()); [c.transport(h) for h in H.load().hosts.values()];"
                        " c.close(end_ssh=True)"], env=env, cwd=REPO, check=True)
        cold, doc = status(names, env)
        assert doc["summary"]["ready"] == args.hosts, doc["summary"]
        sets = {1: names[:1], 4: names[:4], args.hosts: names}
        times: dict[int, list[float]] = {k: [] for k in sets}
        for k, hs in sets.items():
            status(hs, env)  # warm-up
        for _ in range(args.rounds):
            for k, hs in sets.items():
                took, doc = status(hs, env)
                assert doc["summary"]["reachable"] == k and doc["summary"]["ready"] == k, doc["summary"]
                times[k].append(took)
        med = {k: statistics.median(v) for k, v in times.items()}
        for k in sets:
            print(f"fleet status over {k:>2} host(s): {med[k]:.2f} s  ({', '.join(f'{x:.2f}' for x in times[k])})")
        print(f"cold (authenticating to {args.hosts} hosts): {cold:.2f} s; load {load()}")
        print(f"RATIO fleet_status_4_hosts {med[4] / med[1]:.2f} goal <= 2.0")
        print(f"RATIO fleet_status_{args.hosts}_hosts {med[args.hosts] / med[1]:.2f} goal <= 2.0")
    finally:
        subprocess.run([sys.executable, "-m", "console", "fleet", "down", "--json"], capture_output=True, cwd=REPO, env=env)
        lab.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The fleet's reach over SSH, against real sshd hosts on the real Docker Engine.

Hosts are containers running sshd on their own loopback address (tests/fixtures/fleet_lab.py);
the console reaches them only through ``ssh -F <test config>``.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from console.cli import main

pytestmark = pytest.mark.docker


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_transport_runs_commands_and_reaches_the_engine_over_one_master(fleet_lab):
    from console.fleet.hosts import Host
    from console.fleet.transport import SshTransport
    from console.fleet.connections import connect_docker

    a = fleet_lab.add_host("alpha", gpus="H100-80GB:2")
    t = SshTransport(Host("alpha", ssh="alpha"), ssh_config=str(fleet_lab.ssh_config))
    try:
        res = t.run("echo $FAKE_GPUS; id -un", timeout=20)
        assert res.ok and res.stdout.split() == ["H100-80GB:2", "root"]
        assert t.address() == a.address  # ssh -G's HostName: where its workers are reached
        # Every later command rides on the master: no second authentication.
        started = time.monotonic()
        for _ in range(5):
            assert t.run("true", timeout=10).ok
        assert time.monotonic() - started < 10
        # A master killed hard leaves its socket behind: the next command starts a new one.
        import os
        import re
        import signal
        import subprocess

        check = subprocess.run(["ssh", "-F", str(fleet_lab.ssh_config), "-o", f"ControlPath={t.control_path}",
                                "-O", "check", "alpha"], capture_output=True, text=True)
        os.kill(int(re.search(r"pid=(\d+)", check.stderr).group(1)), signal.SIGKILL)
        time.sleep(0.2)
        assert os.path.exists(t.control_path)
        assert t.run("echo again", timeout=20).stdout.strip() == "again"
        client = connect_docker(t, timeout=20)
        names = {c.name for c in client.containers.list()}
        assert a.container.name in names  # the same engine, reached through the forwarded socket
        client.close()
        # The forwarded socket and the master's socket are ours alone.
        import stat

        assert stat.S_IMODE(os.stat(t.folder).st_mode) == 0o700
    finally:
        t.close()


def test_gpus_over_ssh_in_the_local_data_model(fleet_lab):
    from console.fleet.hosts import Host
    from console.fleet.remote_gpus import query
    from console.fleet.transport import SshTransport

    fleet_lab.add_host("beta", gpus="H100-80GB:2")
    t = SshTransport(Host("beta", ssh="beta"), ssh_config=str(fleet_lab.ssh_config))
    try:
        hg = query(t, timeout=20)
    finally:
        t.close()
    inv = hg.inventory
    assert hg.via == "nvidia-smi" and inv.error is None
    assert [g.index for g in inv.gpus] == [0, 1]
    assert inv.gpus[0].name == "NVIDIA H100 80GB HBM3" and inv.gpus[0].compute_capability == (9, 0)
    assert inv.gpus[0].arch == "Hopper" and inv.gpus[0].memory_total == 81559 * 1024 * 1024
    assert inv.gpus[0].power_limit_w == 700.0 and inv.gpus[0].pcie_gen == 5
    assert inv.gpus[0].pcie_gen_max is None  # nvidia-smi said [N/A]
    s = hg.samples[0]
    assert s.memory_used == 0 and s.util_gpu == 0 and s.temperature == 34 and s.power_w == 71.52


def test_ssh_failures_are_sentences(fleet_lab, tmp_path):
    from console.fleet.hosts import Host
    from console.fleet.transport import HostUnreachable, SshTransport

    h = fleet_lab.add_host("gamma")
    cfg = str(fleet_lab.ssh_config)
    # Refused: nothing listens on that port.
    dead_port = socket.socket()
    dead_port.bind((h.address, 0))
    port = dead_port.getsockname()[1]
    dead_port.close()
    t = SshTransport(Host("x", ssh=f"ssh://root@{h.address}:{port}"), ssh_config=cfg)
    with pytest.raises(HostUnreachable) as exc:
        t.run("true", timeout=5)
    assert "refused" in exc.value.message and exc.value.hint
    # Unknown host key: strict checking, the console does not accept it silently.
    other = fleet_lab.root / "empty_known_hosts"
    other.write_text("")
    cfg2 = tmp_path / "cfg2"
    cfg2.write_text(fleet_lab.ssh_config.read_text().replace(str(fleet_lab.known_hosts), str(other)))
    t = SshTransport(Host("gamma", ssh="gamma"), ssh_config=str(cfg2))
    with pytest.raises(HostUnreachable) as exc:
        t.run("true", timeout=10)
    assert "host key" in exc.value.message and "ssh gamma" in exc.value.hint
    # A key the host does not accept.
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    cfg3 = tmp_path / "cfg3"
    cfg3.write_text(fleet_lab.ssh_config.read_text().replace(str(fleet_lab.key), str(tmp_path / "other")))
    t = SshTransport(Host("gamma", ssh="gamma"), ssh_config=str(cfg3))
    with pytest.raises(HostUnreachable) as exc:
        t.run("true", timeout=10)
    assert "denied" in exc.value.message and "ssh-add" in exc.value.hint


class Blackhole:
    """A TCP port that accepts and never speaks: an SSH server hung before its banner."""

    def __init__(self, address: str):
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list = []
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


def test_status_marks_a_failing_host_and_the_rest_arrives_on_time(fleet_lab, capsys):
    a = fleet_lab.add_host("ok1", gpus="H100-80GB:1")
    fleet_lab.add_host("ok2", gpus="L40S:2")
    dead = fleet_lab.add_host("dead", wait=False)
    fleet_lab.wait_ssh(dead)
    dead.container.exec_run(["sh", "-c", "pkill -x sshd"])  # SSH refused from now on
    hole = Blackhole("127.0.0.1")
    try:
        path = fleet_lab.hosts_file(timeout=3)
        # a fourth host whose sshd hangs before its banner
        with path.open("a") as fh:
            fh.write(f'\n[hosts.hung]\nssh = "ssh://root@127.0.0.1:{hole.port}"\n')
        started = time.monotonic()
        code, out, err = run_cli(capsys, "fleet", "status", "--json")
        took = time.monotonic() - started
    finally:
        hole.close()
    assert code == 0, err
    doc = json.loads(out)
    hosts = {h["name"]: h for h in doc["hosts"]}
    assert hosts["ok1"]["reachable"] and hosts["ok2"]["reachable"]
    assert [g["name"] for g in hosts["ok2"]["gpus"]["gpus"]] == ["NVIDIA L40S", "NVIDIA L40S"]
    assert hosts["ok1"]["gpus"]["gpus"][0]["sample"]["memory_total"] > 0
    assert not hosts["dead"]["reachable"] and "refused" in hosts["dead"]["error"]
    assert not hosts["hung"]["reachable"] and "within 3 s" in hosts["hung"]["error"]
    assert doc["summary"]["reachable"] == 2
    assert took < 3 + 2.5, f"status took {took:.1f} s with a 3 s per-host timeout"
    # The human view says the same in words.
    code, out, _ = run_cli(capsys, "fleet", "status")
    assert "dead" in out and "unreachable" in out and "refused" in out
    assert a.name in out


def test_a_host_behind_a_jump_host_is_reached_through_it(fleet_lab, capsys):
    """~/.ssh/config's ProxyJump is honoured: the hidden host lets in connections from 'bastion' only."""
    fleet_lab.add_host("bastion", gpus="")
    hidden = fleet_lab.add_host("hidden", gpus="A100-80GB:2", behind="bastion")
    import subprocess

    direct = subprocess.run(["ssh", "-F", str(fleet_lab.ssh_config), "-o", "ProxyJump=none", "-o", "BatchMode=yes",
                             "-o", "ConnectTimeout=3", "hidden", "true"], capture_output=True, text=True, timeout=30)
    assert direct.returncode != 0 and "denied" in direct.stderr  # only connections from the bastion are let in
    fleet_lab.hosts_file(names=["hidden"], timeout=15)
    code, out, err = run_cli(capsys, "fleet", "status", "--json")
    assert code == 0, err
    (h,) = json.loads(out)["hosts"]
    assert h["reachable"], h["error"]
    assert [g["name"] for g in h["gpus"]["gpus"]] == ["NVIDIA A100-SXM4-80GB"] * 2
    assert h["workers"] == []  # and its Docker Engine answered through the jump (its socket forwarded)
    assert hidden.address.startswith(("172.", "192.168.", "10."))

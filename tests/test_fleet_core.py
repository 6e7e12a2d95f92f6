"""Fleet core pieces that need no host: nvidia-smi parsing, the fleet planner, router metrics, the key."""

from __future__ import annotations

import json
import os
import stat

import pytest

from console.fleet import remote_gpus as RG
from console.fleet.hosts import Host
from console.fleet.plan import detected, plan_fleet
from console.planner import lookup_gpu, plan, recommend

MiB = 1024 * 1024


# -- nvidia-smi --------------------------------------------------------------------------------------

FULL_ROW = ("0, NVIDIA H100 80GB HBM3, GPU-5d3f6a2e-0c1b-4e8a-9f00-1, 81559, 70210, 10820, 76, 34, 52, 470.12, 700.00, "
            "1980, 9.0, 5, 5, 580.159.04")


def test_full_query_rows_become_the_nvml_data_model():
    out = RG.parse_output(FULL_ROW + "\n" + FULL_ROW.replace("0, NVIDIA", "1, NVIDIA", 1), "", 0, host="gpu1", now=5.0)
    inv = out.inventory
    assert inv.error is None and inv.driver_version == "580.159.04" and inv.source == "nvidia-smi on gpu1"
    g = inv.gpus[0]
    assert (g.index, g.name, g.arch, g.compute_capability) == (0, "NVIDIA H100 80GB HBM3", "Hopper", (9, 0))
    assert g.memory_total == 81559 * MiB and g.power_limit_w == 700.0 and (g.pcie_gen, g.pcie_gen_max) == (5, 5)
    s = out.samples[1]
    assert (s.index, s.time, s.memory_used, s.util_gpu, s.util_memory, s.temperature, s.power_w, s.sm_clock_mhz) == \
        (1, 5.0, 70210 * MiB, 76, 34, 52, 470.12, 1980)
    assert s.memory_used_fraction == pytest.approx(70210 / 81559)


@pytest.mark.parametrize("na", ["[N/A]", "[Not Supported]", "N/A", "[Unknown Error]", ""])
def test_unavailable_fields_are_none(na):
    cols = [c.strip() for c in FULL_ROW.split(",")]
    for i in (6, 7, 8, 9, 10, 11, 12, 13, 14):  # telemetry, compute capability, PCIe
        cols[i] = na
    out = RG.parse_output(", ".join(cols), "", 0, host="h")
    g, s = out.inventory.gpus[0], out.samples[0]
    assert g.compute_capability is None and g.arch == "unknown" and g.power_limit_w is None and g.pcie_gen is None
    assert s.util_gpu is None and s.power_w is None and s.temperature is None and s.memory_used == 70210 * MiB


def test_a_lost_gpu_and_the_basic_query_of_older_drivers():
    lost = "0, NVIDIA A100-SXM4-80GB, [GPU is lost], [GPU is lost], [GPU is lost], [GPU is lost], 535.54"
    out = RG.parse_output(lost, 'Field "compute_cap" is not a valid field to query.', 0, host="h")
    assert out.samples[0].lost and "lost" in out.samples[0].error and out.inventory.gpus[0].memory_total is None


@pytest.mark.parametrize("stdout, stderr, code, words", [
    ("", "sh: 1: nvidia-smi: not found", 127, "no NVIDIA driver"),
    ("No devices were found", "", 6, "sees no GPU"),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "", 9, "cannot talk to the driver"),
    ("", "", 124, "did not answer in time"),
    ("garbage", "", 1, "nvidia-smi failed (garbage)"),
])
def test_no_gpus_says_why_in_words(stdout, stderr, code, words):
    out = RG.parse_output(stdout, stderr, code, host="gpu7")
    assert not out.inventory.gpus and words in out.inventory.error and out.inventory.error.startswith("gpu7")


def test_the_consoles_own_gpus_json_is_read_when_installed(capsys, monkeypatch):
    """`gpt-oss-console gpus --json` on the host (here: a replayed recording) gives the same model."""
    from console.cli import main

    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", "tests/data/nvml/2xh100.json")
    assert main(["gpus", "--json"]) == 0
    doc = capsys.readouterr().out
    out = RG.parse_output(doc, "", 0, host="box")
    assert out.via == "gpt-oss-console" and [g.index for g in out.inventory.gpus] == [0, 1]
    assert out.inventory.gpus[0].compute_capability == (9, 0) and out.samples[0].memory_used > 0
    assert json.loads(json.dumps(out.to_dict()))["gpus"][1]["sample"]["util_gpu"] is not None


# -- the fleet planner -------------------------------------------------------------------------------


def test_replicas_per_host_come_from_the_planners_tp_and_add_up():
    h100, l40s = lookup_gpu("H100-80GB"), lookup_gpu("L40S")
    hosts = [Host("a", ssh="a"), Host("b", ssh="b", port=31000), Host("c", ssh="c")]
    fp = plan_fleet("gpt-oss-20b", hosts, {"a": (h100, list(range(8))), "b": (l40s, [0, 1, 2]), "c": None})
    a, b, c = fp.hosts
    assert (a.tp, a.replicas, b.tp, b.replicas) == (1, 8, 1, 3)  # 20b: TP=1, one replica per GPU
    assert c.replicas == 0 and c.problem == "no usable GPU"
    one_h100, one_l40s = recommend("gpt-oss-20b", h100, 1), recommend("gpt-oss-20b", l40s, 1)
    assert fp.kv_tokens_total == 8 * one_h100.max_total_num_tokens + 3 * one_l40s.max_total_num_tokens
    assert fp.concurrency_at(32768) == 8 * one_h100.concurrency_at(32768) + 3 * one_l40s.concurrency_at(32768)
    assert [w.port for w in fp.workers if w.host == "b"] == [31000, 31001, 31002]
    assert [w.gpus for w in fp.workers if w.host == "a"][:2] == [(0,), (1,)]
    assert any("multi-node tensor parallelism is not offered" in n and "8 KV heads" in n for n in fp.notes)
    assert any("router" in n and "no GPU" in n for n in fp.notes)


def test_120b_takes_the_planners_tp_and_idle_gpus_are_named():
    h100 = lookup_gpu("H100-80GB")
    fp = plan_fleet("gpt-oss-120b", [Host("a", ssh="a")], {"a": (h100, [0, 1, 2, 3, 4, 5])})
    (a,) = fp.hosts
    expected = plan("gpt-oss-120b", h100, 6)  # 6 GPUs: TP must divide 8 KV heads → TP=4, two idle
    assert a.tp == expected.tp == 4 and a.replicas == 1 and a.idle == (4, 5)
    assert fp.workers[0].gpus == (0, 1, 2, 3)
    d = fp.to_dict()
    assert d["gpus_used"] == 4 and d["hosts"][0]["idle_gpus"] == [4, 5] and "TP" in d["hosts"][0]["tp_reason"]


def test_a_host_whose_gpus_cannot_hold_the_model_gets_no_worker():
    fp = plan_fleet("gpt-oss-120b", [Host("small", ssh="s")], {"small": (lookup_gpu("RTX-4090-24GB"), [0])})
    assert fp.replicas == 0 and fp.workers == []
    assert "Not enough memory" in fp.hosts[0].problem, fp.hosts[0].problem


def test_detected_card_honours_the_hosts_gpu_list():
    out = RG.parse_output("\n".join(FULL_ROW.replace("0, NVIDIA", f"{i}, NVIDIA", 1) for i in range(4)), "", 0, host="h")
    spec, indices = detected(Host("h", ssh="h", gpus=(1, 3)), out.inventory)
    assert spec.name == "H100-80GB" and indices == [1, 3]


# -- router metrics ----------------------------------------------------------------------------------

ROUTER_METRICS = """\
# TYPE smg_router_requests_total counter
smg_router_requests_total{router_type="http",backend_type="regular",connection_mode="http",model="m",endpoint="chat",streaming="true"} 7
smg_router_requests_total{router_type="http",backend_type="regular",connection_mode="http",model="m",endpoint="chat",streaming="false"} 5
# TYPE smg_worker_health gauge
smg_worker_health{worker="http://10.0.0.5:30000"} 1
smg_worker_health{worker="http://10.0.0.6:30000"} 0
# TYPE smg_worker_requests_active gauge
smg_worker_requests_active{worker="http://10.0.0.5:30000"} 3
# TYPE smg_worker_cb_state gauge
smg_worker_cb_state{worker="http://10.0.0.6:30000"} 1
# TYPE smg_worker_cb_outcomes_total counter
smg_worker_cb_outcomes_total{worker="http://10.0.0.5:30000",outcome="success"} 11
smg_worker_cb_outcomes_total{worker="http://10.0.0.5:30000",outcome="failure"} 2
# TYPE smg_http_connections_active gauge
smg_http_connections_active 2
"""


def test_router_metrics_by_worker():
    from console.fleet.router import parse_metrics

    m = parse_metrics(ROUTER_METRICS)
    assert m.requests_total == 12
    assert m.health == {"http://10.0.0.5:30000": 1, "http://10.0.0.6:30000": 0}
    assert m.active == {"http://10.0.0.5:30000": 3} and m.circuit == {"http://10.0.0.6:30000": 1}
    assert m.succeeded == {"http://10.0.0.5:30000": 11} and m.series["smg_http_connections_active"] == 2
    # The older prefix reads the same.
    old = parse_metrics(ROUTER_METRICS.replace("smg_", "sgl_router_"))
    assert old.requests_total == 12 and old.health == m.health


# -- the key -----------------------------------------------------------------------------------------


def test_the_fleet_key_is_made_once_0600_and_a_loose_file_is_refused(tmp_path, monkeypatch):
    from console.errors import ConsoleError
    from console.fleet import state as ST

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    fs = ST.FleetState("f1")
    with pytest.raises(ConsoleError):  # status and drain never make one
        ST.api_key(fs)
    key, path = ST.api_key(fs, create=True)
    assert len(key.reveal()) >= 40 and key.reveal() not in repr(key) and key.reveal() not in str(key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ST.api_key(fs)[0] == key  # the same key next time
    own = tmp_path / "mine.key"
    own.write_text("sk-operator-key-0123456789\n")
    os.chmod(own, 0o644)
    with pytest.raises(ConsoleError) as exc:
        ST.api_key(fs, given_file=str(own))
    assert "readable by other users" in exc.value.message and "chmod 600" in exc.value.hint
    os.chmod(own, 0o600)
    assert ST.api_key(fs, given_file=str(own))[0].reveal() == "sk-operator-key-0123456789"
    fs.key_file = str(own)
    ST.save(fs)
    assert ST.load("f1").key_file == str(own)
    assert stat.S_IMODE(os.stat(ST.state_path("f1")).st_mode) == 0o600


def test_the_settings_declaration_feeds_flags_file_and_docs():
    import argparse
    import dataclasses

    from console.fleet import settings as FS
    from console.fleet.hosts import FleetConfig

    fields = {f.name: f.default for f in dataclasses.fields(FleetConfig)}
    for s in FS.FLEET_SETTINGS:
        assert fields[s.key] == s.default, s.key
        assert s.key in FS.docs()
    p = argparse.ArgumentParser()
    FS.add_arguments(p)
    args = p.parse_args(["--router-port", "31000", "--cache-threshold", "0.5"])
    assert FS.cli_values(args) == {"router_port": 31000, "cache_threshold": 0.5}
    from console.errors import ConsoleError

    with pytest.raises(ConsoleError) as exc:
        FS.cli_values(p.parse_args(["--timeout", "-3"]))
    assert "--timeout" in exc.value.message and exc.value.exit_code == 2


def test_status_parses_only_the_series_it_shows_with_the_same_values():
    """A worker's /metrics cut to the four series a row shows reads the same (TP ranks aggregated)."""
    from pathlib import Path

    from console.fleet.status import _wanted_series
    from console.server import metrics as M

    text = (Path(__file__).parent / "data" / "sglang_metrics_tp2.txt").read_text()
    full, cut = M.parse(text), M.parse(_wanted_series(text))
    for g in ("running", "queued", "gen_throughput"):
        assert cut.gauges.get(g) == full.gauges.get(g) is not None, g
    assert cut.counters.get("requests") == full.counters.get("requests") is not None
    assert len(_wanted_series(text)) < len(text) / 5


def test_each_replica_is_planned_from_what_its_gpus_have_free_now():
    """A GPU another process holds 60 GiB of gets the smaller pool SGLang would give it (detected_memory)."""
    from console.fleet import ops
    from console.fleet.hosts import FleetConfig

    busy = FULL_ROW.replace("0, NVIDIA", "1, NVIDIA", 1).replace("70210, 10820", "61440, 19639")
    idle = FULL_ROW.replace("70210, 10820", "0, 81079")
    gpus = {"h": RG.parse_output(idle + "\n" + busy, "", 0, host="h")}
    cfg = FleetConfig(hosts={"h": Host("h", ssh="h")})
    fp = ops.make_plan(cfg, "gpt-oss-20b", gpus, {})
    (h,) = fp.hosts
    assert h.tp == 1 and h.groups == [(0,), (1,)]
    first, second = (p.max_total_num_tokens for p in h.replica_plans)
    assert second < first / 2, (first, second)
    assert fp.kv_tokens_total == first + second and fp.planned_for.startswith("SGLang ")
    assert f"{second:,}–{first:,} KV tokens" in report_plan(fp)


def report_plan(fp) -> str:
    from console.fleet.report import plan_text

    return plan_text(fp)


@pytest.mark.parametrize("flag, expected", [(None, "stock"), ("project", "project")])
def test_a_workers_image_mode_is_the_profiles_unless_the_flag_says(flag, expected):
    # fleet up without --image-mode must not override a profile's IMAGE_MODE with "auto".
    from console.fleet.plan import WorkerSlot
    from console.fleet.workers import build_worker
    from console.secret import Secret
    from console.settings import resolve

    values = dict(resolve({}).values, image_mode="stock", image="gpt-oss-sglang:latest")
    slot = WorkerSlot(host="local", replica=0, gpus=(0,), port=30001, tp=1)
    w = build_worker(values, fleet="f", host=Host(name="local"), address="127.0.0.1", slot=slot,
                     key=Secret("sk-fleet-key-123456"), image_mode=flag)
    assert w.launch.mode == expected

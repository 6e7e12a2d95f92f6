"""GPU discovery and samples through the NVML seam, driven by recorded answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.gpu import Sampler, open_backend, plan_gpus, read_inventory
from console.gpu.nvml import REPLAY_ENV, NvmlError, RealNvml
from console.gpu.replay import RecordedNvml, RecordingNvml
from console.gpu.telemetry import open_inventory, read_sample

DATA = Path(__file__).parent / "data" / "nvml"
MiB, GiB = 2**20, 2**30


def replay(name: str) -> RecordedNvml:
    return RecordedNvml.load(DATA / name)


def ticks(sampler: Sampler, n: int):
    return [sampler.tick() for _ in range(n)]


def test_h100_inventory_and_samples():
    s = Sampler(replay("h100.json"), clock=lambda: 100.0)
    inv = s.open()
    assert inv.error is None and inv.driver_version == "580.159.04" and inv.cuda_version == "13.0"
    (g,) = inv.gpus
    assert g.name == "NVIDIA H100 80GB HBM3" and g.arch == "Hopper" and g.compute_capability == (9, 0)
    assert g.memory_total == 81559 * MiB and g.power_limit_w == 700.0 and g.pcie_gen == 5
    snaps = ticks(s, 4)
    first, loaded = snaps[0].samples[0], snaps[3].samples[0]
    # v2 memory: used excludes the 503 MiB the driver reserves
    assert first.memory_used == 0 and first.memory_reserved == 503 * MiB
    assert first.memory_free == 81559 * MiB - 503 * MiB
    assert first.fan_percent is None  # NotSupported on H100
    assert loaded.util_gpu == 98 and loaded.temperature == 52 and loaded.power_w == 486.0
    assert loaded.sm_clock_mhz == 1980
    assert [(p.pid, p.used_memory, p.name) for p in loaded.processes] == [(4242, 8806 * MiB, "python3")]
    assert loaded.memory_used_fraction == pytest.approx(8806 / 81559)
    assert [x.seq for x in snaps] == [1, 2, 3, 4]


def test_two_gpus_and_planner_view():
    inv = read_inventory(replay("2xh100.json"))
    assert [g.index for g in inv.gpus] == [0, 1]
    spec, count = plan_gpus(inv)
    assert spec.name == "H100-80GB" and count == 2


def test_not_supported_fields_are_na_and_not_asked_again():
    b = replay("notsupported.json")
    inv, devices = open_inventory(b)
    (g,) = inv.gpus
    assert g.power_limit_w is None and g.pcie_gen is None and g.pcie_gen_max is None
    assert g.arch == "Ada"
    dev = devices[0]
    s0 = read_sample(b, dev, 1.0)
    assert s0.power_w is None and s0.fan_percent is None
    assert s0.memory_reserved is None  # only the v1 answer: no reserved figure
    assert s0.memory_used == 1200 * MiB and s0.temperature == 40
    # NotSupported fields were dropped from the calls made each tick
    assert "power_usage" not in dev.fields and "fan_speed" not in dev.fields
    s1 = read_sample(b, dev, 2.0)
    assert s1.util_gpu == 5 and s1.temperature == 41


def test_gpu_lost_mid_run_keeps_the_others():
    s = Sampler(replay("gpu-lost.json"), clock=lambda: 1.0)
    s.open()
    snaps = ticks(s, 5)
    assert all(not x.samples[1].lost for x in snaps[:3])
    lost = snaps[3].samples[1]
    assert lost.lost and "GPU lost" in lost.error and lost.memory_used is None
    assert snaps[4].samples[1].lost  # stays lost, not asked again
    assert all(x.samples[0].util_gpu == 10 and not x.samples[0].lost for x in snaps)
    assert len(s.history(1)) == 5 and s.history(1)[-1].lost


def test_handle_error_at_start_marks_that_gpu_lost():
    s = Sampler(replay("handle-lost.json"), clock=lambda: 1.0)
    inv = s.open()
    assert len(inv.gpus) == 2 and inv.gpus[1].name == "GPU 1"
    assert any("GPU lost" in w for w in inv.warnings)
    snap = s.tick()
    assert not snap.samples[0].lost and snap.samples[1].lost
    # the planner only counts GPUs with a known memory size
    assert plan_gpus(inv)[1] == 1


def test_process_that_vanishes_between_calls():
    s = Sampler(replay("process-vanishes.json"), clock=lambda: 1.0)
    s.open()
    a, b, c = (x.samples[0] for x in ticks(s, 3))
    assert [(p.pid, p.name) for p in a.processes] == [(4242, "python3")]
    # listed by NVML, gone before its name could be read: shown, without a name
    assert [(p.pid, p.name) for p in b.processes] == [(4242, "python3"), (5001, None)]
    assert [p.pid for p in c.processes] == [4242]


@pytest.mark.parametrize(
    "name, words",
    [
        ("no-driver.json", "NVIDIA driver not found (libnvidia-ml.so.1): no GPUs to show"),
        ("driver-not-loaded.json", "NVIDIA driver is not loaded"),
        ("no-gpus.json", "the NVIDIA driver sees no GPU: no GPUs to show"),
    ],
)
def test_no_driver_is_a_reason_not_a_crash(name, words):
    s = Sampler(replay(name))
    inv = s.start()
    assert inv.gpus == () and words in inv.error
    assert not s.running and s.snapshot is None  # no thread without GPUs
    s.stop()


def test_real_nvml_here():
    """This machine has nvidia-ml-py; with no driver the answer is a reason, not a crash."""
    inv = read_inventory(RealNvml())
    if inv.gpus:
        assert all(g.memory_total for g in inv.gpus)
    else:
        assert inv.error and inv.error.endswith("no GPUs to show")


def test_replay_env_selects_recording(monkeypatch):
    monkeypatch.setenv(REPLAY_ENV, str(DATA / "h100.json"))
    b = open_backend()
    assert isinstance(b, RecordedNvml) and b.source.startswith("replay:")


def test_replay_is_deterministic():
    def run():
        s = Sampler(replay("2xh100.json"), clock=lambda: 5.0)
        s.open()
        return [x for x in ticks(s, 7)]

    assert run() == run()


def test_recording_round_trip(tmp_path):
    """Record a backend's answers, replay the file: the same samples come out."""
    rec = RecordingNvml(replay("process-vanishes.json"))
    s = Sampler(rec, clock=lambda: 1.0)
    s.open()
    original = ticks(s, 3)
    out = tmp_path / "rec.json"
    rec.write(out)
    data = json.loads(out.read_text())
    assert data["format"] == "gpt-oss-console/nvml/1" and data["driver_version"] == "580.159.04"
    assert data["devices"][0]["ticks"][1]["process_name"]["5001"] == {"error": "NOT_FOUND"}
    again = Sampler(RecordedNvml.load(out), clock=lambda: 1.0)
    assert again.open().gpus == s.open().gpus
    assert ticks(again, 3) == original


def test_recording_of_no_driver(tmp_path):
    rec = RecordingNvml(replay("no-driver.json"))
    inv = Sampler(rec).open()
    assert inv.error
    rec.write(tmp_path / "x.json")
    assert json.loads((tmp_path / "x.json").read_text())["init"] == {"error": "LIBRARY_NOT_FOUND"}


def test_bad_recording_rejected(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not an NVML recording"):
        RecordedNvml.load(p)
    with pytest.raises(NvmlError):
        replay("h100.json").handle(7)


# -- real recordings (made with `gpus --record` on the device machine's H100s) -------------


def test_real_h100_recording_idle():
    s = Sampler(replay("h100-real-idle.json"), clock=lambda: 1.0)
    inv = s.open()
    assert inv.driver_version == "580.159.04" and inv.cuda_version == "13.0"
    (g,) = inv.gpus
    assert (g.name, g.memory_total, g.compute_capability) == ("NVIDIA H100 80GB HBM3", 81559 * MiB, (9, 0))
    assert catalog_name(inv) == ("H100-80GB", 1)
    x = s.tick().samples[0]
    # v2 query on a real idle H100: nothing used, 480 MiB reserved by the driver, no fan reading
    assert (x.memory_used, x.memory_reserved, x.fan_percent) == (0, 480 * MiB, None)
    assert x.memory_free == g.memory_total - x.memory_reserved


def test_real_h100_recording_process_comes_and_goes():
    """A CUDA context plus an 8 GiB allocation (tests/data/nvml/cuda_hold.py), then the process exits."""
    s = Sampler(replay("h100-real-process.json"), clock=lambda: 1.0)
    s.open()
    xs = [s.tick().samples[0] for _ in range(10)]
    (p,) = xs[0].processes
    assert p.name == "python3" and p.used_memory == 9133096960  # 8 GiB + ~0.5 GiB context
    assert all(x.processes for x in xs[:5]) and not any(x.processes for x in xs[5:])
    assert xs[-1].memory_used == 0


def test_real_two_h100_recording():
    inv = read_inventory(replay("2xh100-real.json"))
    assert [g.name for g in inv.gpus] == ["NVIDIA H100 80GB HBM3"] * 2
    assert inv.gpus[0].uuid != inv.gpus[1].uuid
    assert catalog_name(inv) == ("H100-80GB", 2)


def catalog_name(inv):
    spec, count = plan_gpus(inv)
    return spec.name, count


def test_snapshot_document_for_crash_bundles(monkeypatch):
    from console.gpu import snapshot

    d = snapshot(replay("h100.json"))
    assert d["gpus"][0]["sample"]["memory_reserved"] == 503 * MiB
    json.dumps(d)
    monkeypatch.setenv(REPLAY_ENV, str(DATA / "no-driver.json"))
    assert snapshot()["error"].endswith("no GPUs to show")

"""Property tests: NVML recordings (``--replay FILE``, ``GPT_OSS_CONSOLE_NVML_REPLAY``) are files
a person can edit, truncate or hand-make. Whatever one holds, ``gpus`` (text, JSON, a few
watched ticks) and ``plan`` for the detected box answer with GPUs or with the reason in words,
never a traceback.

Recordings are generated well-shaped most of the time (so the planner and the telemetry see
odd but valid numbers: a card of 0 bytes, used > total, 10⁹ °C, 10⁵ processes' worth of PIDs)
and with any JSON value put anywhere some of the time (so the shape check must catch it).
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import example, given, strategies as st

from console.cli import main
from console.gpu.replay import FORMAT, check_recording

ERRORS = st.sampled_from(["NOT_SUPPORTED", "GPU_IS_LOST", "TIMEOUT", "UNKNOWN", "NOT_FOUND", "RESET_REQUIRED",
                          "INVALID_ARGUMENT", "DRIVER_NOT_LOADED", "NO_PERMISSION", ""])
error = st.builds(lambda k: {"error": k}, ERRORS)
scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12)
anything = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                        max_leaves=10)
count = st.integers(0, 2**40) | st.sampled_from([0, 1, 85520809984, 150754820096, 2**63])
pct = st.integers(0, 100) | st.floats(-1e9, 1e9, allow_nan=False) | st.just(1e308)


def loose(strategy):
    """Usually the right shape, sometimes NVML's error answer, rarely anything at all."""
    return st.one_of(strategy, strategy, strategy, error, anything)


pid = st.integers(0, 2**22) | st.sampled_from([1, 4242])
memory = st.tuples(count, count, count, st.none() | count).map(list)
names = st.sampled_from(["NVIDIA H100 80GB HBM3", "NVIDIA H200", "NVIDIA A100-SXM4-80GB", "NVIDIA L4",
                         "NVIDIA GeForce RTX 4090", "NVIDIA B200", "Tesla T4", ""]) | st.text(max_size=30)


def recordings(wrap):
    """Recordings whose every answer goes through ``wrap`` (itself: valid ones, ``loose``: not always)."""
    tick = st.one_of(error, st.fixed_dictionaries({}, optional={
        "memory": wrap(memory), "utilization": wrap(st.tuples(pct, pct).map(list)),
        "temperature": wrap(pct), "power_usage": wrap(count), "sm_clock": wrap(count), "fan_speed": wrap(pct),
        "processes": wrap(st.lists(st.tuples(pid, st.none() | count).map(list), max_size=4)),
        "process_utilization": wrap(st.lists(st.tuples(pid, pct, pct).map(list), max_size=4)),
        "process_name": wrap(st.dictionaries(pid.map(str), st.text(max_size=20) | error, max_size=3)),
    }))
    static = st.fixed_dictionaries({}, optional={
        "handle": st.none() | error, "name": wrap(names), "uuid": wrap(st.text(max_size=40)),
        "compute_capability": wrap(st.tuples(st.integers(0, 12), st.integers(0, 9)).map(list)),
        "memory_total": wrap(count), "power_limit": wrap(count), "pcie_gen": wrap(st.integers(0, 6)),
        "pcie_gen_max": wrap(st.integers(0, 6)),
    })
    device = st.fixed_dictionaries({"static": static, "ticks": st.lists(tick, min_size=1, max_size=4)})
    return st.fixed_dictionaries({"format": st.just(FORMAT)}, optional={
        "init": st.none() | error, "driver_version": wrap(st.text(max_size=12)),
        "cuda_version": wrap(st.integers(0, 13000)), "nvml_version": wrap(st.text(max_size=12)),
        "device_count": wrap(st.integers(0, 9)), "devices": wrap(st.lists(device, max_size=4)),
        "process_names": wrap(st.dictionaries(pid.map(str), st.text(max_size=12), max_size=3)),
        "source": st.text(max_size=10)})


# Half valid (odd numbers reach the planner and the telemetry), half with a wrong answer somewhere.
recording = st.one_of(recordings(lambda s: s), recordings(loose), anything)


def _replay(tmp_path, doc, *, raw: bool = False) -> str:
    path = tmp_path / "rec.json"
    path.write_text(doc if raw else json.dumps(doc), encoding="utf-8")
    return str(path)


def _ok(capsys, rc: int, *, json_out: bool = False) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if rc == 1:  # the answer is no (nothing fits): an answer, not a refusal
        if json_out:
            json.loads(out)
    elif rc != 0 and json_out:  # a refusal: the sentence and what to do, as JSON
        doc = json.loads(out)
        assert rc in (2, 3, 4) and doc["error"].strip() and doc["hint"], (rc, doc)
    elif rc != 0:  # ... or on stderr
        assert rc in (2, 3, 4) and err.startswith("error: ") and "\n  → " in err, (rc, err)
    elif json_out:
        json.loads(out)
    return out


@given(doc=recording)
@example(doc={"format": FORMAT, "devices": 3})  # found: len() of a number in the constructor
@example(doc=[1])  # found: a list is not a recording ('list' has no attribute 'get')
@example(doc={"format": FORMAT, "device_count": 1,  # found: memory of 2 values unpacked as 4 in read_sample
              "devices": [{"static": {"name": "x"}, "ticks": [{"memory": [1, 2]}]}]})
@example(doc={"format": FORMAT, "devices": [{  # found: a card lost in the first sample planned as present
    "static": {"handle": None, "memory_total": 85520809984}, "ticks": [{"error": "GPU_IS_LOST"}]}]})
@example(doc={"format": FORMAT, "devices": [{  # found: a 1-byte card divided by its 0 MiB
    "static": {"handle": None, "memory_total": 1}, "ticks": [{"error": "NOT_SUPPORTED"}]}]})
def test_any_recording_gives_gpus_or_a_reason(doc, tmp_path_factory, capsys):
    path = _replay(tmp_path_factory.mktemp("nvml"), doc)
    out = _ok(capsys, main(["gpus", "--json", "--replay", path]), json_out=True)
    report = json.loads(out)
    try:
        check_recording(doc, ticks=1)
    except ValueError as exc:  # a malformed recording: no GPUs, and the reason names the answer
        assert report["gpus"] == [] and str(exc) in report["error"] and "record one" in report["error"]
    # A later tick of the wrong shape: that GPU is marked lost with the reason when it is read.
    _ok(capsys, main(["gpus", "--replay", path]))
    _ok(capsys, main(["gpus", "--watch", "--count", "3", "--interval", "0.001", "--replay", path]))
    _ok(capsys, main(["gpus", "--json", "--watch", "--count", "2", "--interval", "0.001", "--replay", path]))


@given(doc=recording, model=st.sampled_from(["gpt-oss-20b", "gpt-oss-120b"]),
       context=st.sampled_from([None, "1", "8192", "131072"]))
def test_any_recording_plans_or_says_why(doc, model, context, tmp_path_factory, capsys, monkeypatch):
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", _replay(tmp_path_factory.mktemp("nvml"), doc))
    argv = ["plan", "--json", "--model", model] + (["--context-length", context] if context else [])
    _ok(capsys, main(argv), json_out=True)


def test_a_later_malformed_tick_marks_its_gpu_lost_with_the_reason(tmp_path, capsys):
    doc = json.loads((Path(__file__).parent / "data" / "nvml" / "h100.json").read_text())
    doc["devices"][0]["ticks"] = doc["devices"][0]["ticks"][:1] * 2 + [{"memory": "full"}]
    path = _replay(tmp_path, doc)
    rc = main(["gpus", "--json", "--watch", "--count", "4", "--interval", "0.001", "--replay", path])
    out = _ok(capsys, rc)
    assert "ticks[2].memory must be [total, used, free, reserved]" in out and "no more readings" in out


@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
@example(text='{"format": "gpt-oss-console/nvml/1", "devices": [{"ticks": [{"temperature": NaN}]}]}')
def test_any_bytes_as_a_recording(text, tmp_path_factory, capsys):
    path = _replay(tmp_path_factory.mktemp("nvml"), text, raw=True)
    _ok(capsys, main(["gpus", "--json", "--replay", path]), json_out=True)

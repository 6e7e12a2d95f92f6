"""The background sampler: thread, history bound, subscribers, interval, stop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from console.gpu import Sampler
from console.gpu.replay import RecordedNvml

DATA = Path(__file__).parent / "data" / "nvml"


def sampler(name="2xh100.json", **kw) -> Sampler:
    return Sampler(RecordedNvml.load(DATA / name), **kw)


def test_thread_samples_and_calls_subscribers():
    s = sampler(interval=0.01)
    got: list = []
    enough = threading.Event()

    def on_tick(snap):
        got.append(snap)
        if len(got) >= 5:
            enough.set()

    s.subscribe(on_tick)
    with s:
        assert s.running
        assert enough.wait(5), "sampler thread did not tick"
    assert not s.running
    seqs = [x.seq for x in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(len(x.samples) == 2 for x in got)
    assert s.snapshot is got[-1] or s.snapshot.seq >= got[-1].seq


def test_history_is_bounded_and_holds_ten_minutes():
    s = sampler()
    assert s.interval == 1.0
    s.open()
    for _ in range(605):
        s.tick()
    h = s.history(0)
    assert len(h) == 600  # 10 min at 1 s
    assert h[-1].index == 0
    s.interval = 0.5  # finer sampling keeps 10 minutes: twice the samples
    for _ in range(700):
        s.tick()
    assert len(s.history(0)) == 1200
    assert s.history(9) == ()


def test_snapshots_are_immutable_and_swapped():
    s = sampler()
    s.open()
    a = s.tick()
    b = s.tick()
    assert a is not b and a.seq + 1 == b.seq
    with pytest.raises(AttributeError):
        a.seq = 9  # frozen
    with pytest.raises(AttributeError):
        a.samples[0].util_gpu = 1


def test_broken_subscriber_does_not_stop_sampling():
    s = sampler()
    s.open()
    calls = []
    s.subscribe(lambda snap: (_ for _ in ()).throw(RuntimeError("boom")))
    unsubscribe = s.subscribe(calls.append)
    s.tick()
    unsubscribe()
    s.tick()
    assert len(calls) == 1


def test_stop_is_prompt_with_a_long_interval():
    s = sampler(interval=30)
    s.start()
    t = threading.Thread(target=s.stop)
    t.start()
    t.join(3)
    assert not t.is_alive() and not s.running


def test_bad_interval():
    with pytest.raises(ValueError):
        sampler(interval=0)


def test_restart_after_stop():
    s = sampler(interval=0.01)
    s.start()
    s.stop()
    first = s.snapshot.seq
    s.start()
    try:
        assert s.running and s.snapshot.seq > first
    finally:
        s.stop()

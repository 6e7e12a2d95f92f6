"""The phase tracker: forward-only steps, ready by log or by probes, unhealthy, exit, stall detection."""

from __future__ import annotations

from console.engines.sglang.scanner import parse_line
from console.runtime.phases import PhaseTracker, RunPhase


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


LOG = [
    "[2026-01-05 14:31:10 TP0] Load weight begin. avail mem=61.20 GB",
    "[2026-01-05 14:31:22 TP0] Load weight end. type=GptOssForCausalLM, dtype=torch.bfloat16, avail mem=48.2 GB, mem usage=13.0 GB.",
    "[2026-01-05 14:31:23 TP0] KV Cache is allocated. #tokens: 1234567, K size: 8.00 GB, V size: 8.00 GB",
    "[2026-01-05 14:31:23 TP0] max_total_num_tokens=1234567, chunked_prefill_size=8192, max_prefill_tokens=16384, max_running_requests=2048, context_len=131072",
    "[2026-01-05 14:31:24 TP0] Capture cuda graph begin. This can take up to several minutes. avail mem=30.0 GB",
    "[2026-01-05 14:31:40 TP0] Capture cuda graph end. Time elapsed: 16.0 s. mem usage=1.2 GB. avail mem=28.8 GB.",
    "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
    "[2026-01-05 14:31:45] The server is fired up and ready to roll!",
]


def test_log_lines_walk_the_steps_in_order_and_time_to_ready():
    clock = Clock()
    t = PhaseTracker(clock=clock)
    for i, line in enumerate(LOG):
        clock.now += 1
        ev = parse_line(line)
        assert ev is not None, line
        t.log_event(ev)
    assert t.phase is RunPhase.READY
    assert t.seen() == [RunPhase.CREATED, RunPhase.LOADING_WEIGHTS, RunPhase.KV_POOL, RunPhase.CUDA_GRAPHS,
                        RunPhase.READY]
    assert t.time_to_ready == len(LOG)
    clock.now += 100
    assert t.elapsed == len(LOG)  # frozen at ready
    # a late line of an earlier phase never moves it back
    assert not t.log_event(parse_line(LOG[0])) and t.phase is RunPhase.READY


def test_ready_from_probes_needs_health_and_models():
    t = PhaseTracker(clock=Clock())
    assert not t.probe(True, False) and t.phase is RunPhase.CREATED  # /health 200 alone is not ready
    assert t.probe(True, True) and t.phase is RunPhase.READY


def test_unhealthy_after_consecutive_failed_probes_and_back():
    t = PhaseTracker(clock=Clock())
    t.probe(True, True)
    t.probe(False, False)
    t.probe(False, False)
    assert t.phase is RunPhase.READY
    assert t.probe(False, False) and t.phase is RunPhase.UNHEALTHY
    assert t.probe(True, True) and t.phase is RunPhase.READY


def test_exit_is_final_and_keeps_code_and_oom():
    t = PhaseTracker(clock=Clock())
    t.advance(RunPhase.LOADING_WEIGHTS)
    assert t.exited(137, oom_killed=True)
    assert t.phase is RunPhase.EXITED and t.exit_code == 137 and t.oom_killed
    assert "OOM-killed" in t.detail
    assert not t.advance(RunPhase.READY) and not t.probe(True, True)
    d = t.to_dict()
    assert d["phase"] == "exited" and d["history"][-1]["phase"] == "exited"


def test_stall_is_flagged_after_the_limit_and_cleared_by_progress():
    clock = Clock()
    t = PhaseTracker(clock=clock, stall_after=60)
    t.advance(RunPhase.LOADING_WEIGHTS)
    clock.now += 59
    assert t.stalled_for() is None
    clock.now += 2
    assert t.stalled_for() == 61
    t.activity()  # a log line arrived
    assert t.stalled_for() is None
    clock.now += 61
    t.advance(RunPhase.READY)
    assert t.stalled_for() is None  # a ready server idles, it does not stall


def test_reattach_uses_log_timestamps():
    clock = Clock()
    t = PhaseTracker(clock=clock, started_at=900.0)
    t.log_event(parse_line(LOG[0]), at=905.0)
    t.log_event(parse_line(LOG[-1]), at=950.0)
    assert t.time_to_ready == 50.0 and t.history[0].at == 900.0


def test_weight_shards_give_a_count_and_an_eta():
    """Issue 19: no ETA in the phase tracker (weights-loading shards n/m)."""
    clock = Clock()
    t = PhaseTracker(clock=clock)
    t.log_event(parse_line("[2026-01-05 14:31:10 TP0] Load weight begin. avail mem=61.20 GB"))
    assert t.progress is None
    for done, at in ((0, 1000.0), (1, 1002.0), (3, 1006.0)):
        clock.now = at
        t.log_event(parse_line(f"Loading safetensors checkpoint shards:  {done * 12}% Completed | {done}/8 [00:0{done}<?, ?it/s]"))
    assert t.phase is RunPhase.LOADING_WEIGHTS
    # 3 shards in 6 s since the first count: 5 more take 10 s
    assert t.progress.text() == "3/8 shards, ~10 s left"
    assert t.progress.step() == ("shards", 3)
    assert t.to_dict()["progress"] == "3/8 shards, ~10 s left"
    t.log_event(parse_line("[2026-01-05 14:31:22 TP0] KV Cache is allocated. #tokens: 1234567, K size: 8.00 GB, V size: 8.00 GB"))
    assert t.progress is None  # the next phase measures its own


def test_a_download_measured_in_the_cache_counts_as_progress_with_an_eta():
    clock = Clock()
    t = PhaseTracker(clock=clock, stall_after=5)
    t.advance(RunPhase.LOADING_WEIGHTS, "loading weights")
    gib = 2**30
    assert t.measure("downloaded", 1 * gib, 12 * gib)
    assert t.progress.text() == "1.0 of 12.0 GiB downloaded"  # one sample: no rate yet
    clock.now += 30
    assert not t.measure("downloaded", 1 * gib, 12 * gib)  # nothing new
    assert t.stalled_for() == 30
    clock.now += 30
    assert t.measure("downloaded", 3 * gib, 12 * gib)
    assert t.stalled_for() is None  # bytes arriving are progress
    assert t.progress.text() == "3.0 of 12.0 GiB downloaded, ~4 min left"
    assert t.progress.step() == ("downloaded", 2)


def test_download_watch_finds_the_models_folder_in_the_mounted_cache(tmp_path):
    from console.runtime.download import DownloadWatch
    from console.runtime.spec import HF_CACHE_IN_CONTAINER, LABEL_MODEL

    attrs = {"Config": {"Labels": {LABEL_MODEL: "openai/gpt-oss-20b"}},
             "Mounts": [{"Source": str(tmp_path), "Destination": HF_CACHE_IN_CONTAINER}]}
    watch = DownloadWatch.for_container(attrs)
    assert watch is not None and watch.total_bytes == int(12.8 * 2**30) and watch.sample() == 0
    blobs = tmp_path / "hub" / "models--openai--gpt-oss-20b" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / "a.incomplete").write_bytes(b"x" * 1000)
    (blobs / "b").write_bytes(b"x" * 24)
    assert watch.sample() == 1024
    assert DownloadWatch.for_container({**attrs, "Mounts": []}) is None  # no cache mount (or not this host)
    assert DownloadWatch.for_container({**attrs, "Config": {"Labels": {LABEL_MODEL: "some/model"}}}) is None

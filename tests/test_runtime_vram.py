"""VRAM per container: NVML-style host PIDs mapped to real containers on a real engine."""

from __future__ import annotations

import os

import pytest

from console.gpu.data import GpuProcess, GpuSample
from console.runtime.spec import LABEL_OWNED, LABEL_PROFILE
from console.runtime.vram import container_id_of_pid, map_pids, vram_by_container
from tests.fixtures.docker_engine import test_name as unique_name

pytestmark = pytest.mark.docker
GiB = 1 << 30


@pytest.fixture
def two_containers(containers, standin_sglang_image):
    ours = containers.run(standin_sglang_image, ["sleep", "60"], name=unique_name("vram-ours"),
                          labels={LABEL_OWNED: "1", LABEL_PROFILE: "h100"})
    other = containers.run(standin_sglang_image, ["sleep", "60"], name=unique_name("vram-other"))
    for c in (ours, other):
        c.reload()
    return ours, other


def test_pids_map_to_containers_through_cgroups(two_containers, docker_client):
    ours, other = two_containers
    pid_ours, pid_other = ours.attrs["State"]["Pid"], other.attrs["State"]["Pid"]
    assert container_id_of_pid(pid_ours) == ours.id
    assert container_id_of_pid(os.getpid()) is None
    samples = [
        GpuSample(0, 0.0, processes=(GpuProcess(pid_ours, 40 * GiB, "python3"), GpuProcess(os.getpid(), GiB, "x"))),
        GpuSample(1, 0.0, processes=(GpuProcess(pid_ours, 38 * GiB, "python3"), GpuProcess(pid_other, 2 * GiB, None))),
    ]
    rows = vram_by_container(samples, client=docker_client)
    assert [r.label for r in rows] == [ours.name, other.name, "host processes"]
    mine = rows[0]
    assert mine.container.owned and mine.container.profile == "h100"
    assert mine.per_gpu == {0: 40 * GiB, 1: 38 * GiB} and mine.total == 78 * GiB and mine.pids == [pid_ours]
    assert rows[1].per_gpu == {1: 2 * GiB} and not rows[1].container.owned
    assert rows[2].container is None and rows[2].per_gpu == {0: GiB}


def test_docker_top_answers_when_proc_cannot(two_containers, docker_client, tmp_path):
    ours, _ = two_containers
    pid = ours.attrs["State"]["Pid"]
    found = map_pids([pid, 999_999_999], client=docker_client, proc_root=str(tmp_path))  # an empty /proc
    assert found[pid].id == ours.id and found[999_999_999] is None


def test_unknown_memory_is_flagged_not_counted(two_containers, docker_client):
    ours, _ = two_containers
    pid = ours.attrs["State"]["Pid"]
    (row,) = vram_by_container([GpuSample(0, 0.0, processes=(GpuProcess(pid, None, None),))], client=docker_client)
    assert row.unknown_memory and row.total == 0 and row.to_dict()["container"]["id"] == ours.id

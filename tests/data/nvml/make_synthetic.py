"""Writes the hand-made NVML recordings in this folder (run it after changing them).

Values follow a real H100 80GB HBM3 (driver 580.159.04, see
shared/reference/baselines.md): total 81559 MiB, ~503 MB driver-reserved memory
reported apart from "used" by the v2 query, fan speed NotSupported, 700 W limit,
PCIe gen 5. ``h100-real*.json`` files, when present, are real recordings made with
``gpt-oss-console gpus --record`` and are not touched by this script.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
MiB = 2**20
H100_TOTAL = 81559 * MiB
RESERVED = 503 * MiB
NS = {"error": "NOT_SUPPORTED"}


def h100_static(i: int) -> dict:
    return {
        "handle": None,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": f"GPU-5d3f6a2e-0c1b-4e8a-9f11-00000000000{i}",
        "compute_capability": [9, 0],
        "memory_total": H100_TOTAL,
        "power_limit": 700000,
        "pcie_gen": 5,
        "pcie_gen_max": 5,
    }


def tick(used_mib: int, util: int, mem_util: int, temp: int, power_w: int, clock: int, procs=()) -> dict:
    used = used_mib * MiB
    return {
        "memory": [H100_TOTAL, used, H100_TOTAL - used - RESERVED, RESERVED],
        "utilization": [util, mem_util],
        "temperature": temp,
        "power_usage": power_w * 1000,
        "sm_clock": clock,
        "fan_speed": NS,
        "processes": [[pid, mib * MiB] for pid, mib in procs],
    }


def base(source: str, devices: list, **extra) -> dict:
    d = {
        "format": "gpt-oss-console/nvml/1",
        "source": source,
        "init": None,
        "driver_version": "580.159.04",
        "cuda_version": 13000,
        "nvml_version": "13.580.159.04",
        "device_count": len(devices),
        "devices": devices,
    }
    d.update(extra)
    return d


# A real H200 (tests/data/nvml/h200-real.json, driver 580.159.04): 143771 MiB, 615 MiB reserved.
H200_TOTAL = 150754820096
H200_RESERVED = 644939776


def h200_busy(i: int, held_mib: int) -> dict:
    """An H200 on which another process holds ``held_mib`` (0: idle)."""
    used = held_mib * MiB
    procs = [[31337, used]] if held_mib else []
    return {
        "static": {"handle": None, "name": "NVIDIA H200", "uuid": f"GPU-38291a0b-36e8-5c94-04f5-bf7a809ac76{i}",
                   "compute_capability": [9, 0], "memory_total": H200_TOTAL, "power_limit": 700000,
                   "pcie_gen": 5, "pcie_gen_max": 5},
        "ticks": [{
            "memory": [H200_TOTAL, used, H200_TOTAL - used - H200_RESERVED, H200_RESERVED],
            "utilization": [0, 0], "temperature": 34, "power_usage": 78800, "sm_clock": 345,
            "fan_speed": NS, "processes": procs,
        }] * 3,
    }


SERVE = [(4242, 8806)]  # an 8 GiB torch allocation moved v2 "used" by 8.6 GiB

RECORDINGS = {
    "h100.json": base(
        "hand-made: one H100 80GB HBM3, idle then a python3 process allocates 8.6 GiB",
        [{
            "static": h100_static(0),
            "ticks": [
                tick(0, 0, 0, 31, 70, 345),
                tick(0, 0, 0, 31, 71, 345),
                tick(8806, 37, 12, 38, 212, 1980, SERVE),
                tick(8806, 98, 41, 52, 486, 1980, SERVE),
                tick(8806, 96, 40, 55, 503, 1980, SERVE),
            ],
        }],
        process_names={"4242": "python3"},
    ),
    "2xh100.json": base(
        "hand-made: two H100 80GB HBM3 serving gpt-oss-120b with TP=2 (sglang::scheduler per GPU)",
        [
            {
                "static": h100_static(i),
                "ticks": [
                    tick(71234, 64 + 3 * k + i, 30 + k, 48 + k + i, 390 + 20 * k + 7 * i, 1980,
                         [(9100 + i, 71234)])
                    for k in range(5)
                ],
            }
            for i in range(2)
        ],
        process_names={"9100": "sglang::scheduler_TP0", "9101": "sglang::scheduler_TP1"},
    ),
    "h200-busy.json": base(
        "hand-made from h200-real.json: one H200 on which a python3 process already holds 20.6 GiB "
        "(the case of issue 10 item 11)",
        [h200_busy(0, 21094)],
        process_names={"31337": "python3"},
    ),
    "2xh200-one-busy.json": base(
        "hand-made from h200-real.json: two H200s, a python3 process holds 20.6 GiB on GPU 0",
        [h200_busy(0, 21094), h200_busy(1, 0)],
        process_names={"31337": "python3"},
    ),
    "notsupported.json": base(
        "hand-made: a card whose fan, power, PCIe and v2 memory queries answer NotSupported",
        [{
            "static": {
                "handle": None,
                "name": "NVIDIA L4",
                "uuid": "GPU-0b9e8d1c-7a65-4f32-8e10-0000000000l4",
                "compute_capability": [8, 9],
                "memory_total": 23034 * MiB,
                "power_limit": NS,
                "pcie_gen": NS,
                "pcie_gen_max": NS,
            },
            "ticks": [
                {
                    "memory": [23034 * MiB, 1200 * MiB + k * MiB, 21834 * MiB - k * MiB, None],
                    "utilization": [5 * k, k],
                    "temperature": 40 + k,
                    "power_usage": NS,
                    "sm_clock": 2040,
                    "fan_speed": NS,
                    "processes": [],
                }
                for k in range(3)
            ],
        }],
    ),
    "gpu-lost.json": base(
        "hand-made: two H100s; GPU 1 falls off the bus after two ticks (GPU_IS_LOST)",
        [
            {"static": h100_static(0), "ticks": [tick(1000, 10, 2, 35, 120, 1980) for _ in range(5)]},
            {
                "static": h100_static(1),
                "ticks": [tick(2000, 20, 4, 36, 130, 1980), tick(2000, 20, 4, 36, 130, 1980),
                          tick(2000, 20, 4, 36, 130, 1980), {"error": "GPU_IS_LOST"}],
            },
        ],
    ),
    "handle-lost.json": base(
        "hand-made: two H100s; GPU 1 cannot even be opened (handle answers GPU_IS_LOST)",
        [
            {"static": h100_static(0), "ticks": [tick(1000, 10, 2, 35, 120, 1980)]},
            {"static": {**h100_static(1), "handle": {"error": "GPU_IS_LOST"}}, "ticks": []},
        ],
    ),
    "process-vanishes.json": base(
        "hand-made: pid 5001 is listed, then ends before its name is read, then is gone",
        [{
            "static": h100_static(0),
            "ticks": [
                tick(3000, 5, 1, 33, 110, 1980, [(4242, 3000)]),
                {**tick(3500, 5, 1, 33, 110, 1980, [(4242, 3000), (5001, 500)]),
                 "process_name": {"5001": {"error": "NOT_FOUND"}}},
                tick(3000, 5, 1, 33, 110, 1980, [(4242, 3000)]),
            ],
        }],
        process_names={"4242": "python3"},
    ),
    "no-driver.json": {
        "format": "gpt-oss-console/nvml/1",
        "source": "hand-made: no NVIDIA driver installed (libnvidia-ml.so.1 missing)",
        "init": {"error": "LIBRARY_NOT_FOUND"},
        "devices": [],
    },
    "no-gpus.json": base("hand-made: the driver is loaded but sees no GPU (all passed to VMs)", []),
    "driver-not-loaded.json": {
        "format": "gpt-oss-console/nvml/1",
        "source": "hand-made: driver installed but its kernel module is not loaded",
        "init": {"error": "DRIVER_NOT_LOADED"},
        "devices": [],
    },
}



def serving_hour() -> dict:
    """An hour of two H100s at one tick every 5 s: idle, SGLang loads gpt-oss-120b (TP=2),
    bench bursts, a lull, a restart (memory freed, loaded again), a last burst.
    Process utilisation (``process_utilization``) follows the card's."""
    import math

    ticks: list[list[dict]] = [[], []]
    for k in range(720):
        t = k * 5
        for i in range(2):
            if t < 300 or 2400 <= t < 2460:  # idle; the restart's gap
                used, util, procs = 0, 0, []
            elif t < 420 or 2460 <= t < 2580:  # weights and KV pool allocating
                frac = ((t - 300) if t < 420 else (t - 2460)) / 120
                used, util, procs = int(71234 * frac), 15 + 10 * i, [(9100 + i, int(71234 * frac))]
            else:
                burst = (900 <= t < 1500) or (1800 <= t < 2100) or t >= 3000
                wave = 0.5 + 0.5 * math.sin(t / 90 + i)
                util = int(88 + 8 * wave) if burst else int(3 + 4 * wave)
                used, procs = 71234, [(9100 + i, 71234)]
            temp = 33 + util // 3 + i
            power = 70 + int(util * 5.8) + 7 * i
            tick_ = tick(used, util, util // 3, temp, power, 1980 if util else 345, procs)
            tick_["process_utilization"] = [[pid, util, util // 3] for pid, _ in procs]
            ticks[i].append(tick_)
    return base(
        "hand-made: an hour of two H100s serving gpt-oss-120b (TP=2) at 5 s a tick: load, bench bursts, a restart",
        [{"static": h100_static(i), "ticks": ticks[i]} for i in range(2)],
        process_names={"9100": "sglang::scheduler_TP0", "9101": "sglang::scheduler_TP1"},
    )


def eight_h100() -> dict:
    """Eight H100s, one process each, five ticks (the 8-GPU benchmarks and snapshots)."""
    return base(
        "hand-made: eight H100 80GB HBM3, gpt-oss-120b at TP=8 (one scheduler per GPU)",
        [
            {
                "static": h100_static(i),
                "ticks": [tick(70100 + 11 * i, 60 + 4 * k + i, 25 + k, 45 + k + i, 380 + 25 * k + 5 * i, 1980,
                               [(9200 + i, 70100 + 11 * i)]) for k in range(5)],
            }
            for i in range(8)
        ],
        process_names={str(9200 + i): f"sglang::scheduler_TP{i}" for i in range(8)},
    )


RECORDINGS["2xh100-hour.json"] = serving_hour()
RECORDINGS["8xh100.json"] = eight_h100()

if __name__ == "__main__":
    for name, data in RECORDINGS.items():
        compact = name in ("2xh100-hour.json",)  # 1,440 ticks: compact JSON keeps the file small
        text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=1)
        (HERE / name).write_text(text + "\n", encoding="utf-8")
        print("wrote", HERE / name)

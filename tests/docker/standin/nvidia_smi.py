#!/usr/bin/env python3
"""Fake ``nvidia-smi`` for the stand-in image: the inventory comes from env FAKE_GPUS.

``FAKE_GPUS=H100-80GB:2`` or ``L40S:1,RTX-4090-24GB:1`` (names as the planner catalog
knows them; memory and compute capability come from the catalog). Supports
``--query-gpu=index,name,memory.total,compute_cap[,...] --format=csv[,noheader][,nounits]``
(``memory.free`` = total − 480 MiB driver reserve − ``FAKE_GPU_USED_MIB``, as a real driver reports it;
idle telemetry for utilization, temperature, power, SM clock and PCIe, ``[N/A]`` for the PCIe
maximum) and ``-L``; anything else prints a short table. No GPUs → "No devices were found", exit 6.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "/opt/fake")


KEYS = ("index", "name", "memory_mib", "compute_cap", "uuid")


def inventory(spec: str) -> list[dict]:
    """The GPUs ``spec`` names, computed from the catalog once per inventory and kept in /tmp.

    Importing the catalog (and json, re) was most of this fake's run time: a benchmark that
    polls many stand-in hosts on one machine measured the fake, not the console. The cache is
    tab-separated text, read with nothing but builtins."""
    import os

    # Keyed by the catalog file too: a changed catalog must not be answered from an old cache.
    catalog = next((os.stat(p) for p in (os.path.join(d, "gpu_catalog.py") for d in sys.path) if os.path.isfile(p)), None)
    stamp = f"{catalog.st_size}-{catalog.st_mtime_ns}" if catalog else "none"
    cache = "/tmp/fake-nvidia-smi-" + "".join(c if c.isalnum() else "_" for c in f"{spec}-{stamp}")[:160] + ".tsv"
    try:
        with open(cache) as fh:
            rows = [line.rstrip("\n").split("\t") for line in fh]
        return [dict(zip(KEYS, (int(r[0]), r[1], int(r[2]), r[3], r[4]))) for r in rows]
    except (OSError, ValueError, IndexError):
        pass
    out = _from_catalog(spec)
    tmp = f"{cache}.{os.getpid()}"
    try:
        with open(tmp, "w") as fh:
            fh.writelines("\t".join(str(g[k]) for k in KEYS) + "\n" for g in out)
        os.replace(tmp, cache)
    except OSError:
        pass
    return out


def _from_catalog(spec: str) -> list[dict]:
    from gpu_catalog import lookup_gpu  # the planner's catalog, copied into the image

    out: list[dict] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, count = part.rpartition(":") if ":" in part else (part, "", "1")
        g = lookup_gpu(name)
        for _ in range(int(count or 1)):
            out.append({"index": len(out), "name": g.nvml_names[0], "memory_mib": g.memory_total // 2**20,
                        "compute_cap": f"{g.compute_capability[0]}.{g.compute_capability[1]}",
                        "uuid": f"GPU-00000000-0000-0000-0000-{len(out):012d}"})
    return out


RESERVED_MIB = 480
FIELDS = {"index": "index", "name": "name", "memory.total": "memory_mib", "compute_cap": "compute_cap",
          "uuid": "uuid", "memory.used": None, "memory.free": "memory_mib", "driver_version": None}
# Telemetry fields an idle card reports; "[N/A]" is what nvidia-smi prints for a field the
# card or its virtualisation does not expose (a passthrough VM often hides the PCIe maximum).
IDLE = {"utilization.gpu": "0", "utilization.memory": "0", "temperature.gpu": "34", "power.draw": "71.52",
        "power.limit": "700.00", "clocks.sm": "345", "pcie.link.gen.current": "5", "pcie.link.gen.max": "[N/A]"}


def main(argv: list[str]) -> int:
    import os

    try:
        gpus = inventory(os.environ.get("FAKE_GPUS", ""))
    except Exception as exc:  # unknown name: say so like a broken driver would
        print(f"fake nvidia-smi: {exc}", file=sys.stderr)
        return 9
    if not gpus:
        print("No devices were found")
        return 6
    query = next((a.split("=", 1)[1] for a in argv if a.startswith("--query-gpu=")), None)
    fmt = next((a.split("=", 1)[1] for a in argv if a.startswith("--format=")), "")
    if query:
        cols = [c.strip() for c in query.split(",")]
        units = "nounits" not in fmt
        if "noheader" not in fmt:
            print(", ".join(f"{c} [MiB]" if c.startswith("memory") and units else c for c in cols))
        for g in gpus:
            row = []
            for c in cols:
                if c in IDLE:
                    row.append(IDLE[c])
                    continue
                if c not in FIELDS:
                    print(f'Field "{c}" is not a valid field to query.', file=sys.stderr)
                    return 2
                key = FIELDS[c]
                value = "580.00" if c == "driver_version" else (0 if key is None else g[key])
                if c in ("memory.free", "memory.used"):
                    # a driver keeps ~480 MiB (an H100's, measured); FAKE_GPU_USED_MIB is held by others
                    used = int(os.environ.get("FAKE_GPU_USED_MIB", "0") or 0)
                    value = used if c == "memory.used" else g["memory_mib"] - RESERVED_MIB - used
                if c.startswith("memory") and units:
                    value = f"{value} MiB"
                row.append(str(value))
            print(", ".join(row))
        return 0
    if "-L" in argv:
        for g in gpus:
            print(f"GPU {g['index']}: {g['name']} (UUID: {g['uuid']})")
        return 0
    print("+-----------------------------------------------------------------------------+")
    print("| NVIDIA-SMI 580.00 (fake)     Driver Version: 580.00     CUDA Version: 13.0  |")
    for g in gpus:
        print(f"| {g['index']}  {g['name']:<40} {0:>6}MiB / {g['memory_mib']:>6}MiB |")
    print("+-----------------------------------------------------------------------------+")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

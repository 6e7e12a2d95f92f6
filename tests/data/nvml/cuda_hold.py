"""Holds GPU memory through the CUDA driver API (ctypes, no torch) so a recording
shows a real compute process: ``python cuda_hold.py GIB SECONDS``.
Prints the free/total memory CUDA reports before and after creating its context."""

import ctypes
import sys
import time

gib, seconds = float(sys.argv[1]), float(sys.argv[2])
cuda = ctypes.CDLL("libcuda.so.1")
assert cuda.cuInit(0) == 0
dev = ctypes.c_int()
assert cuda.cuDeviceGet(ctypes.byref(dev), 0) == 0
ctx = ctypes.c_void_p()
assert cuda.cuCtxCreate_v2(ctypes.byref(ctx), 0, dev) == 0
free, total = ctypes.c_size_t(), ctypes.c_size_t()
cuda.cuMemGetInfo_v2(ctypes.byref(free), ctypes.byref(total))
print(f"after context: free={free.value} total={total.value}", flush=True)
ptr = ctypes.c_uint64()
assert cuda.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(int(gib * 2**30))) == 0
cuda.cuMemGetInfo_v2(ctypes.byref(free), ctypes.byref(total))
print(f"after {gib} GiB: free={free.value} total={total.value}", flush=True)
time.sleep(seconds)

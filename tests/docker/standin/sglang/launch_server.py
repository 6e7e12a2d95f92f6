"""Stand-in for ``python3 -m sglang.launch_server`` (stdlib only).

Records its argv (stdout line ``SGLANG_ARGV {json}`` and /tmp/sglang-argv.json), reads
``--config FILE.yaml`` like SGLang ≥ 0.5.2 (the command line wins over the file),
logs SGLang-format start-up lines for the scenario in ``FAKE_SGLANG_SCENARIO``,
serves the SGLang-shaped HTTP API once "uvicorn" is up, and on SIGTERM logs
SGLang's shutdown lines and exits 0. See tests/docker/images.py for the scenarios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time

SCENARIOS = ("ok", "not_enough_memory", "cuda_oom", "bad_backend", "gated_repo", "capture_fail",
             "crash_after_ready", "slow_start")
GPT_OSS_BACKENDS = ("triton", "trtllm_mha", "fa3", "fa4", "aiter", "intel_amx", "intel_xpu", "ascend")
ARGV_FILE = os.environ.get("FAKE_SGLANG_ARGV_FILE", "/tmp/sglang-argv.json")

_lock = threading.Lock()


def _prefix(rank: int = 0) -> str:
    return time.strftime("[%Y-%m-%d %H:%M:%S") + f" TP{rank}] "


def log(msg: str, rank: int = 0, stream=None) -> None:
    with _lock:
        print(_prefix(rank) + msg, file=stream or sys.stdout, flush=True)


def plain(msg: str, stream=None) -> None:
    with _lock:
        print(msg, file=stream or sys.stdout, flush=True)


def traceback_lines(exc_line: str, where: str) -> None:
    plain("Traceback (most recent call last):", sys.stderr)
    plain(f'  File "/sgl-workspace/sglang/python/sglang/srt/{where}", line 312, in __init__', sys.stderr)
    plain(exc_line, sys.stderr)


def download(model: str, megabytes: int, seconds: float) -> None:
    """Write ``megabytes`` into the HF cache the way a download grows (an .incomplete blob in
    the model's folder), over ``seconds``: the console measures the cache, SGLang logs nothing."""
    if megabytes <= 0:
        return
    org, _, name = model.partition("/")
    folder = os.path.join(os.path.expanduser("~/.cache/huggingface/hub"), f"models--{org}--{name}", "blobs")
    os.makedirs(folder, exist_ok=True)
    chunk = b"\0" * (1 << 20)
    with open(os.path.join(folder, "0123abcd.incomplete"), "wb") as fh:
        for _ in range(megabytes):
            fh.write(chunk)
            fh.flush()
            time.sleep(seconds / megabytes)


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="sglang.launch_server")
    ap.add_argument("--model-path", "--model", required=True)
    ap.add_argument("--served-model-name")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=30000)
    ap.add_argument("--tp", "--tp-size", dest="tp", type=int, default=1)
    ap.add_argument("--api-key")
    ap.add_argument("--context-length", type=int)
    ap.add_argument("--mem-fraction-static", type=float)
    ap.add_argument("--max-running-requests", type=int)
    ap.add_argument("--chunked-prefill-size", type=int)
    ap.add_argument("--attention-backend")
    ap.add_argument("--enable-metrics", action="store_true")
    ap.add_argument("--enable-cache-report", action="store_true")
    args, _rest = ap.parse_known_args(argv)
    return args


def sglang_answer(model: str, tp: int) -> dict | None:
    """SGLang 0.5.23's own figures for the first fake GPU, this model and TP
    (/opt/fake/sglang_answers.json, made by tests/data/sglang/make_answers.py)."""
    try:
        sys.path.insert(0, "/opt/fake")
        from nvidia_smi import inventory  # type: ignore
        from gpu_catalog import lookup_gpu  # type: ignore

        gpus = inventory(os.environ.get("FAKE_GPUS", ""))
        gpu = lookup_gpu(gpus[0]["name"]).name if gpus else None
        with open(os.environ.get("FAKE_SGLANG_ANSWERS", "/opt/fake/sglang_answers.json"), encoding="utf-8") as fh:
            cases = json.load(fh)["cases"]
    except Exception:
        return None
    size = "gpt-oss-120b" if "120b" in model else "gpt-oss-20b"
    return next((c for c in cases if c["gpu"] == gpu and c["model"] == size and c["tp"] == tp), None)


def pool(answer: dict, fraction: float | None, held: float) -> tuple[float, float, int, int]:
    """(free at load GiB, weights GiB, pool GiB, tokens) the way SGLang 0.5.23 sizes it
    (mem_cache/kv_cache_configurator.py _profile_available_bytes, model_executor/pool_configurator.py)
    with ``held`` GiB taken by another process before it loaded."""
    gib = 1 << 30
    free = answer["inputs"]["free_at_load_bytes"] / gib - held
    weights = answer["inputs"]["weight_bytes_per_gpu"] / gib
    f = fraction or answer["mem_fraction_static"]
    budget = (free - weights) - free * (1 - f)
    page = answer["page_size"]
    tokens = int(max(budget, 0) * gib // answer["kv_bytes_per_token"]) // page * page
    return free, weights, budget, tokens


def gpu_memory_gb() -> float:
    """Memory of the first fake GPU (via the fake nvidia-smi's inventory), 80 GB otherwise."""
    try:
        sys.path.insert(0, "/opt/fake")
        from nvidia_smi import inventory  # type: ignore

        gpus = inventory(os.environ.get("FAKE_GPUS", ""))
        if gpus:
            return gpus[0]["memory_mib"] / 1024
    except Exception:
        pass
    return 79.1


class Server:
    """The SGLang-shaped peer server when the image has it, else a minimal /health + /v1/models."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        name = args.served_model_name or args.model_path
        try:
            sys.path.insert(0, "/opt/fake")
            from sglang_shaped.server import make_server  # type: ignore

            self.srv = make_server(args.host, args.port, served_model_name=name, api_key=args.api_key,
                                   startup_delay_s=10**9, metrics=True,
                                   token_interval_s=float(os.environ.get("FAKE_SGLANG_TOKEN_INTERVAL", "0")))
        except ImportError:
            self.srv = _minimal_server(args.host, args.port, name, args.api_key)
        threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def mark_ready(self) -> None:
        self.srv.ready_at = time.monotonic()


def _minimal_server(host: str, port: int, name: str, api_key: str | None):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Srv(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        ready_at = float("inf")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _send(self, code: int, obj) -> None:
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            ready = time.monotonic() >= self.server.ready_at
            if self.path.startswith("/health"):
                return self._send(200 if ready else 503, {} if ready else {"error": "starting"})
            if api_key and self.headers.get("Authorization") != f"Bearer {api_key}":
                return self._send(401, {"error": "Unauthorized"})
            if self.path == "/v1/models":
                return self._send(200, {"object": "list", "data": [
                    {"id": name, "object": "model", "created": int(time.time()), "owned_by": "sglang",
                     "root": name, "max_model_len": 131072}]})
            self._send(404, {"detail": "Not Found"})

    return Srv((host, port), Handler)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    record = {"argv": argv, "env": {k: ("<set>" if v else "") for k, v in os.environ.items()
                                   if k in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}}
    token_path = os.environ.get("HF_TOKEN_PATH")
    if token_path:  # where huggingface_hub would read the token: say whether it can
        record["env"]["HF_TOKEN_PATH"] = "<readable>" if os.access(token_path, os.R_OK) else "<unreadable>"
    plain("SGLANG_ARGV " + json.dumps(record))
    try:
        with open(ARGV_FILE, "w") as fh:
            json.dump(record, fh)
    except OSError:
        pass
    from sglang.srt.utils.server_args_config_parser import merge_config_with_args

    try:
        args = parse(merge_config_with_args(argv))
    except (ValueError, OSError) as exc:
        plain(f"ValueError: {exc}", sys.stderr)
        return 1
    scenario = os.environ.get("FAKE_SGLANG_SCENARIO", "ok") or "ok"
    if scenario not in SCENARIOS:
        plain(f"fake sglang: unknown FAKE_SGLANG_SCENARIO={scenario!r}; known: {', '.join(SCENARIOS)}", sys.stderr)
        return 2
    if args.attention_backend and args.attention_backend not in GPT_OSS_BACKENDS:
        scenario = "bad_backend"
    delay = float(os.environ.get("FAKE_SGLANG_DELAY", "0.2"))
    if scenario == "slow_start":
        delay = float(os.environ.get("FAKE_SGLANG_PHASE_DELAY", "2"))
    server: list[Server] = []

    def on_term(signum, frame):
        plain("INFO:     Shutting down")
        plain("INFO:     Waiting for application shutdown.")
        plain("INFO:     Application shutdown complete.")
        plain(f"INFO:     Finished server process [{os.getpid()}]")
        log("Gracefully exiting... Remaining number of requests 0")
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    tp = max(1, args.tp)
    mem = gpu_memory_gb()
    name = args.model_path
    served = args.served_model_name or name
    ctx = args.context_length or 131072
    size_gb = 63.3 if "120b" in name else 13.7
    per_rank = size_gb / tp

    log(f"server_args=ServerArgs(model_path='{name}', tokenizer_path='{name}', served_model_name='{served}', "
        f"host='{args.host}', port={args.port}, tp_size={tp}, context_length={args.context_length}, "
        f"mem_fraction_static={args.mem_fraction_static}, attention_backend={args.attention_backend!r}, "
        f"api_key={args.api_key!r})")  # verbatim, as SGLang does (sglang#37457)
    time.sleep(delay)
    if scenario == "bad_backend":
        traceback_lines(f"AssertionError: GptOssForCausalLM requires one of ['triton', 'trtllm_mha', 'fa3', 'fa4'] "
                        f"attention backend, but got the following backends\n- Prefill: {args.attention_backend}\n"
                        f"- Decode: {args.attention_backend}", "model_executor/model_runner.py")
        return 1
    answer = sglang_answer(name, tp)
    if answer is not None:  # what SGLang 0.5.23 computes for this GPU, model and TP
        free_gb, size_gb, pool_gb, tokens = pool(answer, args.mem_fraction_static,
                                                 float(os.environ.get("FAKE_SGLANG_HELD_GIB", "0")))
        mem, per_rank = free_gb + 0.6, size_gb
    for rank in range(tp):
        log(f"Load weight begin. avail mem={mem - 0.6:.2f} GB", rank)
    download(name, int(os.environ.get("FAKE_SGLANG_DOWNLOAD_MB", "0") or 0), delay)
    shards = int(os.environ.get("FAKE_SGLANG_SHARDS", "0") or 0)
    for done in range(shards + 1 if shards > 0 else 0):  # tqdm's bar, as SGLang's loader prints it
        plain(f"Loading safetensors checkpoint shards: {100 * done // shards:3d}% Completed | {done}/{shards} "
              f"[00:{done:02d}<00:{shards - done:02d},  1.00s/it]", sys.stderr)
        if done < shards:
            time.sleep(delay / shards)
    time.sleep(delay)
    if scenario == "gated_repo":
        traceback_lines("huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-6789abcd)\n\n"
                        f"Cannot access gated repo for url <hub>/{name}/resolve/main/config.json.\n"
                        f"Access to model {name} is restricted. You must have access to it and be authenticated "
                        "to access it. Please log in.", "model_loader/weight_utils.py")
        return 1
    for rank in range(tp):
        log(f"Load weight end. elapsed=12.34 s, type=GptOssForCausalLM, dtype=torch.bfloat16, "
            f"avail mem={mem - 0.6 - per_rank:.2f} GB, mem usage={per_rank:.2f} GB.", rank)
    time.sleep(delay)
    if scenario == "not_enough_memory" or (answer is not None and tokens <= 0):
        log("Scheduler hit an exception: Traceback (most recent call last):", stream=sys.stderr)
        plain("RuntimeError: Not enough memory. Please try to increase --mem-fraction-static.", sys.stderr)
        log("Received sigquit from a child process. It usually means the child failed.")
        return 1
    if answer is None:  # a GPU the answers do not cover: rough figures
        per_token = (72 if "120b" in name else 48) * 1024 / tp  # bf16 K+V, all layers full
        pool_gb = max(1.0, mem * (args.mem_fraction_static or 0.88) - per_rank)
        tokens = int(pool_gb * 1024**3 / per_token)
    chunked = args.chunked_prefill_size or (answer["chunked_prefill_size"] if answer else 8192)
    log(f"Use sliding window memory pool. full_layer_tokens={tokens}, swa_layer_tokens={int(tokens * 0.8)}")
    log(f"KV Cache is allocated. #tokens: {tokens}, K size: {pool_gb / 2:.2f} GB, V size: {pool_gb / 2:.2f} GB")
    log(f"max_total_num_tokens={tokens}, chunked_prefill_size={chunked}, "
        f"max_prefill_tokens=16384, max_running_requests={args.max_running_requests or 2048}, "
        f"context_len={ctx}, available_gpu_mem=5.20 GB")
    time.sleep(delay)
    log("Capture cuda graph begin. This can take up to several minutes. avail mem=5.20 GB")
    time.sleep(delay)
    if scenario == "cuda_oom":
        traceback_lines("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total "
                        f"capacity of {mem:.2f} GiB of which 1.02 GiB is free.", "model_executor/cuda_graph_runner.py")
        return 1
    if scenario == "capture_fail":
        traceback_lines("Exception: Capture cuda graph failed: CUDA error: operation not permitted when stream is "
                        "capturing\nPossible solutions:\n1. set --mem-fraction-static to a smaller value (e.g., 0.8 "
                        "or 0.7)\n2. set --cuda-graph-max-bs to a smaller value (e.g., 16)\n3. disable torch compile "
                        "by not using --enable-torch-compile\n4. disable CUDA graph by --disable-cuda-graph. (Not "
                        "recommended. Huge performance loss)", "model_executor/cuda_graph_runner.py")
        return 1
    log("Capture cuda graph end. Time elapsed: 8.12 s. mem usage=1.20 GB. avail mem=4.00 GB.")
    server.append(Server(args))
    plain(f"INFO:     Started server process [{os.getpid()}]")
    plain("INFO:     Waiting for application startup.")
    plain("INFO:     Application startup complete.")
    plain(f"INFO:     Uvicorn running on http://{args.host}:{args.port} (Press CTRL+C to quit)")
    time.sleep(delay)
    plain('INFO:     127.0.0.1:40000 - "GET /get_model_info HTTP/1.1" 200 OK')
    log("Prefill batch. #new-seq: 1, #new-token: 7, #cached-token: 0, token usage: 0.00, #running-req: 0, "
        "#queue-req: 0, ")
    plain('INFO:     127.0.0.1:40002 - "POST /generate HTTP/1.1" 200 OK')
    server[0].mark_ready()
    log("The server is fired up and ready to roll!")
    crash_at = time.monotonic() + float(os.environ.get("FAKE_SGLANG_CRASH_AFTER", "3"))
    interval = float(os.environ.get("FAKE_SGLANG_STATS_INTERVAL", "1"))
    rng = random.Random(0)
    while True:
        time.sleep(interval)
        if scenario == "crash_after_ready" and time.monotonic() >= crash_at:
            log("Scheduler hit an exception: Traceback (most recent call last):", stream=sys.stderr)
            plain("RuntimeError: CUDA error: an illegal memory access was encountered", sys.stderr)
            log("Received sigquit from a child process. It usually means the child failed.")
            return 1
        running = rng.randint(1, 8)
        log(f"Prefill batch. #new-seq: 1, #new-token: {rng.randint(64, 2048)}, #cached-token: {rng.randint(0, 512)}, "
            f"token usage: 0.0{rng.randint(1, 9)}, #running-req: {running - 1}, #queue-req: 0, ")
        log(f"Decode batch. #running-req: {running}, #token: {running * 1100}, token usage: 0.0{rng.randint(1, 9)}, "
            f"cuda graph: True, gen throughput (token/s): {running * 160 + rng.random() * 20:.2f}, #queue-req: 0, ")


if __name__ == "__main__":
    sys.exit(main())

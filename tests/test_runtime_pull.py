"""Pulling a missing image with per-layer progress, from a registry served by the test on 127.0.0.1.

No registry is reachable from this machine, so the test serves the Registry HTTP API v2 itself
(dockerd treats 127.0.0.0/8 registries as insecure, i.e. plain HTTP is fine) with two gzip layers
built here; the Engine really pulls, verifies digests and extracts them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from console.runtime.lifecycle import Runtime

pytestmark = pytest.mark.docker
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def _layer(name: str, size: int) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        data = os.urandom(size)  # incompressible: the download takes several progress events
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    plain = raw.getvalue()
    return gzip.compress(plain, compresslevel=1), "sha256:" + hashlib.sha256(plain).hexdigest()


def _digest(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class Registry:
    """Registry API v2 (pull side only) for one image: ``layers`` are (blob bytes or file path, diff_id, type)."""

    def __init__(self, repo: str, tag: str, layers: list[tuple[bytes | str, str, str]], config: dict):
        config = dict(config, rootfs={"type": "layers", "diff_ids": [diff for _, diff, _ in layers]})
        config_bytes = json.dumps(config).encode()
        self.blobs: dict[str, bytes | str] = {_digest(config_bytes): config_bytes}
        entries = []
        for blob, _, media in layers:
            digest = _digest(blob) if isinstance(blob, bytes) else _file_digest(blob)
            size = len(blob) if isinstance(blob, bytes) else os.path.getsize(blob)
            self.blobs[digest] = blob
            entries.append({"mediaType": media, "size": size, "digest": digest})
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config_bytes),
                       "digest": _digest(config_bytes)},
            "layers": entries,
        }).encode()
        self.layer_digests = [e["digest"] for e in entries]
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, body: bytes | str, ctype: str, digest: str | None = None, head: bool = False):
                size = len(body) if isinstance(body, bytes) else os.path.getsize(body)
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(size))
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                if digest:
                    self.send_header("Docker-Content-Digest", digest)
                self.end_headers()
                if head:
                    return
                stream = io.BytesIO(body) if isinstance(body, bytes) else open(body, "rb")
                with stream:
                    while chunk := stream.read(256 << 10):
                        self.wfile.write(chunk)

            def _route(self, head: bool):
                path = self.path.split("?")[0]
                if path == "/v2/":
                    return self._send(b"{}", "application/json", head=head)
                if path in (f"/v2/{repo}/manifests/{tag}", f"/v2/{repo}/manifests/{_digest(manifest)}"):
                    return self._send(manifest, MANIFEST_TYPE, _digest(manifest), head)
                if path.startswith(f"/v2/{repo}/blobs/"):
                    digest = path.rsplit("/", 1)[1]
                    if digest in registry.blobs:
                        return self._send(registry.blobs[digest], "application/octet-stream", digest, head)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                self._route(False)

            def do_HEAD(self):
                self._route(True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def random_layers() -> list[tuple[bytes, str, str]]:
    return [(*_layer("a.bin", 3 << 20), LAYER_GZIP), (*_layer("b.bin", 2 << 20), LAYER_GZIP)]


@pytest.fixture(scope="module")
def standin_layers(tmp_path_factory, standin_sglang_image):
    """The stand-in image as registry layers (uncompressed, from docker save) + its config."""
    import subprocess

    out = tmp_path_factory.mktemp("saved")
    save = subprocess.Popen(["docker", "save", standin_sglang_image], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(out)], stdin=save.stdout, check=True)
    save.wait()
    (entry,) = json.loads((out / "manifest.json").read_text())
    config = json.loads((out / entry["Config"]).read_text())
    layers = [(str(out / rel), diff, LAYER_TAR) for rel, diff in zip(entry["Layers"], config["rootfs"]["diff_ids"])]
    return layers, config


def test_missing_image_is_pulled_with_progress_per_layer(docker_client):
    repo, tag = "gpt-oss-console-test/pulled", "layers"
    registry = Registry(repo, tag, random_layers(), {"architecture": "amd64", "os": "linux",
                                                      "config": {"Cmd": ["/a.bin"]}})
    image = f"127.0.0.1:{registry.port}/{repo}:{tag}"
    events = []
    try:
        assert Runtime().ensure_image(image, on_progress=events.append) is True
        assert docker_client.images.get(image)
        layer_ids = {e.layer for e in events}
        short = {d.split(":")[1][:12] for d in registry.layer_digests}
        assert short <= layer_ids
        for lid in short:
            statuses = [e.status for e in events if e.layer == lid]
            assert statuses[-1] == "Pull complete", statuses
            downloading = [e for e in events if e.layer == lid and e.status == "Downloading"]
            assert downloading and downloading[-1].total > 0 and 0 < downloading[-1].fraction <= 1
        assert Runtime().ensure_image(image) is False  # present now: no pull
    finally:
        registry.close()
        try:
            docker_client.images.remove(image, force=True)
        except Exception:
            pass


async def test_the_launch_pane_pulls_then_starts_the_server(standin_layers, docker_client, tmp_path, monkeypatch):
    """F5 on an image that is not here: per-layer pull progress, then the usual phases, then ready."""
    import asyncio

    from console.runtime.phases import RunPhase
    from console.ui.launch.pane import LaunchPane
    from tests.fixtures.docker_engine import free_port
    from tests.fixtures.docker_engine import test_name as unique_name
    from tests.test_launch_pane import LaunchApp
    from tests.ui_helpers import screen_text

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    layers, config = standin_layers
    registry = Registry("gpt-oss-console-test/pulled-sglang", "standin", layers, config)
    image = f"127.0.0.1:{registry.port}/gpt-oss-console-test/pulled-sglang:standin"
    name = unique_name("pull")
    env = {"GPT_OSS_IMAGE": image, "GPT_OSS_GPUS": "none", "GPT_OSS_HF_CACHE": "none", "GPT_OSS_CONTAINER_NAME": name,
           "GPT_OSS_HOST_PORT": str(free_port())}
    app = LaunchApp(env=env)
    screens = []
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.query_one(LaunchPane)
            pane.query_one("#f-image_mode").value = "stock"
            await pilot.pause()
            await pilot.press("f5")
            for _ in range(900):
                await asyncio.sleep(0.1)
                if pane.pull_layers and pane.snap is None:
                    screens.append(screen_text(app))
                if pane.snap is not None and pane.snap.phase is RunPhase.READY:
                    break
            assert pane.snap.phase is RunPhase.READY
            # an earlier run may have taught the engine these blobs: "Already exists" is a finished layer too
            assert {p.status for p in pane.pull_layers.values()} <= {"Pull complete", "Already exists"}
            assert len(pane.pull_layers) == len(layers)
            history = [t.phase for t in pane.monitor.tracker.history]
            assert history[:2] == [RunPhase.CREATED, RunPhase.PULLING] and history == sorted(history)
            assert any("pull" in s and "layers" in s for s in screens)  # the tracker said so while pulling
            assert any("█" in s or "░" in s for s in screens)  # and drew the per-layer bars
            await pilot.press("f6")
            for _ in range(100):
                await asyncio.sleep(0.1)
                if pane.snap.phase is RunPhase.EXITED:
                    break
    finally:
        registry.close()
        for remove in (lambda: docker_client.containers.get(name).remove(force=True),
                       lambda: docker_client.images.remove(image, force=True)):
            try:
                remove()
            except Exception:
                pass

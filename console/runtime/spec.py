"""A launch spec: everything Docker needs to run SGLang, derived from setting values.

One spec feeds three outputs that must agree: the SDK's ``containers.create``
keyword arguments, the equivalent ``docker run`` command shown to the operator and a
compose file. Secrets are in none of them: they travel as read-only files
(:mod:`console.runtime.secret_files`), so the command and compose file run as printed
(once :meth:`LaunchSpec.write_secret_files` has written the console's copies). Two image modes:

* ``project`` — the project's image (docker/): settings travel as env vars (secrets as
  ``*_FILE`` paths) and its entrypoint builds SGLang's argv;
* ``stock`` — an image with SGLang installed (``lmsysorg/sglang``): the console
  builds the argv itself and runs ``python3 -m sglang.launch_server ARGV``, the API key
  in SGLang's ``--config`` file and the HF token behind ``HF_TOKEN_PATH``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from console.planner.sglang import IMAGE as SGLANG_IMAGE
from console.runtime import secret_files
from console.logs.scanner import ENGINE_LABEL
from console.runtime.errors import LaunchRefused
from console.runtime.secret_files import SecretFile
from console.secret import Secret
from console.settings.mask import scrub

LABEL_PREFIX = "org.gpt-oss-console"
LABEL_OWNED = f"{LABEL_PREFIX}.owned"
LABEL_PROFILE = f"{LABEL_PREFIX}.profile"
LABEL_HASH = f"{LABEL_PREFIX}.settings-hash"
LABEL_PORT = f"{LABEL_PREFIX}.port"
LABEL_BIND = f"{LABEL_PREFIX}.bind"
LABEL_MODE = f"{LABEL_PREFIX}.mode"
LABEL_MODEL = f"{LABEL_PREFIX}.model"
LABEL_SERVED = f"{LABEL_PREFIX}.served-model"
LABEL_PLAN = f"{LABEL_PREFIX}.plan"  # the planner's prediction at launch (console.planner.capacity)
LABEL_USER = f"{LABEL_PREFIX}.user"  # who launched it: one engine may serve several operators
LABEL_ENGINE = ENGINE_LABEL  # which inference engine (sglang, vllm, llamacpp): its log scanner, metrics, probes


def console_user() -> str:
    """The launching user as the user label says it (the uid: not spoofable through $USER)."""
    return str(os.getuid())


# Stock SGLang, pinned to the version the planner plans for (console/planner/sglang.py); the same
# as console.engines.get("sglang").stock_image().image (the other engines' images are theirs).
STOCK_IMAGE = SGLANG_IMAGE
PROJECT_IMAGE = "gpt-oss-sglang:latest"
HF_CACHE_IN_CONTAINER = "/root/.cache/huggingface"


def settings_hash(values: dict[str, Any], secrets: set[str]) -> str:
    """Stable hash of the values that shape the server; secrets count only as set/unset."""
    canon = {k: (bool(v) if k in secrets else v) for k, v in sorted(values.items()) if v not in (None, "")}
    return hashlib.sha256(json.dumps(canon, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_loopback(address: str) -> bool:
    if address in ("localhost", ""):
        return address == "localhost"
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_publish(bind: str, api_key: str | None, allow_public: bool) -> list[str]:
    """Refuse to expose the API beyond this host without a key; return warnings to show."""
    if is_loopback(bind):
        return []
    if api_key:
        return []
    if not allow_public:
        raise LaunchRefused(
            f"refusing to publish the API on {bind or '0.0.0.0'} without an API key: "
            "anyone who can reach this host could use (and abuse) the server",
            "set an API key (API_KEY / --api-key), or keep the default bind 127.0.0.1 and reach it over "
            "an SSH tunnel (ssh -L PORT:127.0.0.1:PORT host); to expose it anyway pass --allow-public",
        )
    return [
        f"the API is published on {bind or '0.0.0.0'} with no API key: anyone who can reach this host can use it"
    ]



def _yaml_str(value: str) -> str:
    """A YAML double-quoted string: JSON's escapes, which YAML shares, except that YAML reads
    JSON's surrogate pair for a character beyond U+FFFF as two lone surrogates: ``\\U0001f600``."""
    if value.isascii():
        return json.dumps(value)
    return '"' + "".join(f"\\U{ord(c):08x}" if ord(c) > 0xFFFF else json.dumps(c)[1:-1] for c in value) + '"'

@dataclass
class LaunchSpec:
    name: str
    profile: str
    image: str
    mode: str  # "stock" | "project"
    command: list[str] | None
    environment: dict[str, str]
    container_port: int
    host_port: int
    bind: str = "127.0.0.1"
    gpus: str | list[int] | None = "all"  # "all", chosen indices, or None (no GPU request)
    shm_size: str | None = "32g"
    ipc_host: bool = True
    hf_cache: str | None = None  # host path mounted at HF_CACHE_IN_CONTAINER
    settings: dict[str, Any] = field(default_factory=dict)
    secret_files: list[SecretFile] = field(default_factory=list)
    # Copy the secret files into the created container instead of mounting them: for an engine
    # on another host, whose bind mounts would name that host's files (the fleet's workers).
    secrets_copied: bool = False
    settings_hash: str = ""
    model: str = ""
    served_model: str = ""
    api_key: Secret | None = None
    warnings: list[str] = field(default_factory=list)
    prediction: Any = None  # console.planner.capacity.Prediction, when the GPUs could be planned
    engine: str = "sglang"  # console.engines name, kept as a label

    @property
    def labels(self) -> dict[str, str]:
        return {
            LABEL_OWNED: "1",
            LABEL_PROFILE: self.profile,
            LABEL_HASH: self.settings_hash,
            LABEL_PORT: str(self.host_port),
            LABEL_BIND: self.bind,
            LABEL_MODE: self.mode,
            LABEL_ENGINE: self.engine,
            LABEL_MODEL: self.model,
            LABEL_SERVED: self.served_model or self.model,
            **({LABEL_PLAN: self.prediction.to_label()} if self.prediction is not None else {}),
        }

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "", "::") else self.bind
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.host_port}"

    # -- secrets as files ---------------------------------------------------
    def secret_mounts(self) -> list[tuple[str, str]]:
        """(host path, container path) of each secret file, mounted read-only (none when copied)."""
        if self.secrets_copied:
            return []
        return [(secret_files.host_path(f, self.name), f.container_path) for f in self.secret_files]

    def write_secret_files(self) -> list[str]:
        """Write the console's copies (0400) so the mounts exist; returns their paths."""
        if self.secrets_copied:
            return []
        return [str(p) for p in secret_files.write(self.secret_files, self.name)]

    def _volumes(self) -> list[tuple[str, str, str]]:
        out = [(self.hf_cache, HF_CACHE_IN_CONTAINER, "rw")] if self.hf_cache else []
        return out + [(host, inside, "ro") for host, inside in self.secret_mounts()]

    def _shown_command(self) -> list[str] | None:
        # The command carries no secret (they are files); the scrubber still checks what the
        # operator added (extra args), since a preview is a place a key could surface.
        return None if self.command is None else [scrub(a) for a in self.command]

    def _shown_environment(self) -> dict[str, str]:
        return {k: scrub(v) for k, v in self.environment.items()}

    # -- Docker SDK --------------------------------------------------------
    def device_requests(self):
        if not self.gpus:
            return None
        from docker.types import DeviceRequest

        if self.gpus == "all":
            return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
        return [DeviceRequest(device_ids=[str(i) for i in self.gpus], capabilities=[["gpu"]])]

    def create_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "image": self.image,
            "name": self.name,
            "environment": dict(self.environment),
            # The user label only where the console launches: an exported command runs as whoever runs it.
            "labels": {**self.labels, LABEL_USER: console_user()},
            "ports": {f"{self.container_port}/tcp": (self.bind, self.host_port)},
            "detach": True,
        }
        if self.command is not None:
            kw["command"] = list(self.command)
        if self.ipc_host:
            kw["ipc_mode"] = "host"
        if self.shm_size:
            kw["shm_size"] = self.shm_size
        volumes = self._volumes()
        if volumes:
            kw["volumes"] = {host: {"bind": inside, "mode": mode} for host, inside, mode in volumes}
        requests = self.device_requests()
        if requests:
            kw["device_requests"] = requests
        return kw

    # -- what the operator sees --------------------------------------------
    def _run_groups(self) -> list[list[str]]:
        """``docker run`` as groups (an option with its value; last: image + command)."""
        groups = [["docker", "run", "-d"], ["--name", self.name]]
        if self.gpus == "all":
            groups.append(["--gpus", "all"])
        elif self.gpus:
            # the CLI needs the inner quotes: --gpus '"device=0,1"'
            groups.append(["--gpus", '"device=' + ",".join(str(i) for i in self.gpus) + '"'])
        if self.ipc_host:
            groups.append(["--ipc=host"])
        if self.shm_size:
            groups.append(["--shm-size", self.shm_size])
        groups.append(["-p", f"{self._publish_host()}:{self.host_port}:{self.container_port}"])
        if self._local_image():
            groups.append(["--pull", "never"])
        for host, inside, mode in self._volumes():
            groups.append(["-v", f"{host}:{inside}" + (":ro" if mode == "ro" else "")])
        groups += [["-e", f"{k}={v}"] for k, v in sorted(self._shown_environment().items())]
        groups += [["--label", f"{k}={v}"] for k, v in self.labels.items() if k != LABEL_PLAN]
        groups.append([self.image, *(self._shown_command() or [])])
        return groups

    def _local_image(self) -> bool:
        """An engine's local image name (built or tagged here, published under no such name): a pasted
        command must not try to pull it, which would fail with Docker's "pull access denied"."""
        from console import engines

        return engines.local_image(self.image) is not None

    def docker_run_argv(self) -> list[str]:
        return [a for g in self._run_groups() for a in g]

    def _publish_host(self) -> str:
        return f"[{self.bind}]" if ":" in self.bind else self.bind

    def docker_run(self) -> str:
        """The equivalent shell command, one option per line, ready to paste (no secret in it)."""
        return " \\\n  ".join(" ".join(shlex.quote(a) for a in g) for g in self._run_groups())

    def compose(self) -> str:
        """A docker compose file for the same container (YAML; strings JSON-quoted, which YAML accepts)."""
        q = _yaml_str
        out = ["services:", f"  {self.profile or 'sglang'}:", f"    image: {q(self.image)}", f"    container_name: {q(self.name)}"]
        if self._local_image():
            out.append('    pull_policy: "never"')
        command = self._shown_command()
        if command:
            out.append("    command: [" + ", ".join(q(a) for a in command) + "]")
        if self.ipc_host:
            out.append('    ipc: "host"')
        if self.shm_size:
            out.append(f"    shm_size: {q(self.shm_size)}")
        out += ["    ports:", f"      - {q(f'{self._publish_host()}:{self.host_port}:{self.container_port}')}"]
        volumes = self._volumes()
        if volumes:
            out.append("    volumes:")
            out += [f"      - {q(f'{host}:{inside}' + (':ro' if mode == 'ro' else ''))}" for host, inside, mode in volumes]
        env = self._shown_environment()
        if env:
            out.append("    environment:")
            out += [f"      {q(k)}: {q(v)}" for k, v in sorted(env.items())]
        out.append("    labels:")
        # The launch's plan is the console's own bookkeeping, not part of a command to copy.
        out += [f"      {q(k)}: {q(v)}" for k, v in self.labels.items() if k != LABEL_PLAN]
        if self.gpus:
            out += ["    deploy:", "      resources:", "        reservations:", "          devices:", '            - driver: "nvidia"']
            if self.gpus == "all":
                out.append('              count: "all"')
            else:
                out.append("              device_ids: [" + ", ".join(q(str(i)) for i in self.gpus) + "]")
            out.append('              capabilities: ["gpu"]')
        return "\n".join(out) + "\n"

    def describe(self) -> dict[str, Any]:
        """JSON-safe summary (secrets masked) for --json output and crash bundles."""
        return {
            "name": self.name,
            "profile": self.profile,
            "image": self.image,
            "mode": self.mode,
            "engine": self.engine,
            "command": self._shown_command(),
            "environment": self._shown_environment(),
            "secret_files": [{"container": inside, "host": host} for host, inside in self.secret_mounts()],
            "publish": f"{self.bind}:{self.host_port}->{self.container_port}/tcp",
            "gpus": self.gpus,
            "shm_size": self.shm_size,
            "hf_cache": self.hf_cache,
            "settings_hash": self.settings_hash,
            "base_url": self.base_url,
            "warnings": list(self.warnings),
        }

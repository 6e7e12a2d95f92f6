"""The published image on a cloud pod: a RunPod pod template and a docker compose file, one source.

``PodSpec`` holds what both need (image, base, settings env, disks, secrets by reference);
``runpod_template`` gives the JSON RunPod's REST API takes for ``POST /v1/templates`` (fields
``name``, ``imageName``, ``category``, ``containerDiskInGb``, ``volumeInGb``,
``volumeMountPath``, ``ports``, ``env``, ``dockerStartCmd``, ``isServerless``, ``readme``);
``compose_file`` a plain compose file for any other cloud VM; ``readme_section`` the docs,
generated from the same example (``tests/readme_sections.py``).

No secret value ever enters either file: on RunPod the API key is a RunPod secret the pod
reads as ``{{ RUNPOD_SECRET_<name> }}``, and RunPod injects the account's SSH key as
``PUBLIC_KEY`` itself; with compose the key is a file mounted as a compose secret
(``API_KEY_FILE``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE

PORT = 8000
HF_CACHE = "/root/.cache/huggingface"
API_KEY_SECRET = "gpt_oss_api_key"
CONTAINER_DISK_GB = 30  # the writable layer: logs, compile caches (the image itself is not counted)
KEY_FILE = "./api_key"
# Settings a pod must not carry: secrets go by reference, SSH keys are RunPod's business.
_LEFT_OUT = {"API_KEY", "HF_TOKEN", "SSH_PASSWORD", "SSH_PUBLIC_KEY", "HOST", "PORT"}


@dataclass(frozen=True)
class PodSpec:
    name: str
    image: str  # with its tag
    base: str  # hopper, blackwell, spark, amd (console.publish.bases)
    category: str  # RunPod's: NVIDIA or AMD
    model: str
    env: dict[str, str] = field(default_factory=dict)  # the settings, no secrets
    volume_gb: int = 100
    container_disk_gb: int = CONTAINER_DISK_GB
    api_key_secret: str = API_KEY_SECRET
    hf_token_secret: str | None = None
    shm_size: str = "32g"


def volume_for(model: str) -> int:
    """GB for the HF cache volume: the checkpoint plus a third for downloads in flight, rounded up to 10."""
    from console.planner.catalog import lookup_model

    try:
        gib = lookup_model(model).checkpoint_gib
    except Exception:  # another model: room for the larger gpt-oss
        gib = lookup_model("openai/gpt-oss-120b").checkpoint_gib
    return int(math.ceil((gib * 1.074 * 1.3 + 5) / 10.0) * 10)  # GiB → GB, +30 %, +5 GB


def pod_spec(values: Mapping[str, Any], sources: Mapping[str, str], *, image: str, base: str = "hopper",
             version: str | None = None, name: str | None = None, hf_token_secret: str | None = None,
             api_key_secret: str = API_KEY_SECRET) -> PodSpec:
    """A pod for these settings (only those set on purpose, plus the model) and the published ``image``."""
    from console import __version__
    from console.publish.bases import TRAITS
    from console.runtime.build import image_env
    from console.settings.spec import SETTINGS

    if base not in TRAITS:
        raise ConsoleError(f"unknown base {base!r}", f"use one of {', '.join(TRAITS)}", exit_code=EXIT_USAGE)
    if not image or image.startswith("-"):
        raise ConsoleError("no image to run on the pod", "pass --image REGISTRY/OWNER/gpt-oss-sglang (what the "
                           "publish workflow pushed), or set GPT_OSS_CONSOLE_IMAGE", exit_code=EXIT_USAGE)
    last = image.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        image = f"{image}:{version or __version__}-{base}"
    full = image_env(dict(values))
    env_names = {s.key: s.env for s in SETTINGS}
    kept = {env_names[k] for k, src in sources.items() if src != "default" and k in env_names}
    model = str(values.get("model") or "openai/gpt-oss-20b")
    env = {k: v for k, v in full.items() if (k in kept or k == "MODEL") and k not in _LEFT_OUT}
    short = model.rsplit("/", 1)[-1]
    return PodSpec(name=name or f"{short}-sglang-{base}", image=image, base=base, category=TRAITS[base][1],
                   model=model, env=env, volume_gb=volume_for(model), api_key_secret=api_key_secret,
                   hf_token_secret=hf_token_secret)


def _secret_ref(name: str) -> str:
    return "{{ RUNPOD_SECRET_" + name + " }}"


def runpod_template(spec: PodSpec) -> dict[str, Any]:
    """The body of RunPod's ``POST /v1/templates`` (a pod template)."""
    env = dict(spec.env)
    env["API_KEY"] = _secret_ref(spec.api_key_secret)
    if spec.hf_token_secret:
        env["HF_TOKEN"] = _secret_ref(spec.hf_token_secret)
    return {
        "name": spec.name,
        "imageName": spec.image,
        "category": spec.category,
        "isServerless": False,
        "containerDiskInGb": spec.container_disk_gb,
        "volumeInGb": spec.volume_gb,
        "volumeMountPath": HF_CACHE,
        "ports": [f"{PORT}/http", "22/tcp"],
        "env": env,
        "dockerStartCmd": [],  # the image's own entrypoint and command
        "readme": template_readme(spec),
    }


def template_readme(spec: PodSpec) -> str:
    return "\n".join([
        f"# {spec.model} on SGLang ({spec.base})",
        "",
        f"The API is on port {PORT} (RunPod's proxy: `https://<pod id>-{PORT}.proxy.runpod.net/v1`), "
        f"OpenAI-compatible, with reasoning and tool calls. Clients send `Authorization: Bearer <key>`; the key is "
        f"the RunPod secret `{spec.api_key_secret}` (create it before the first pod).",
        f"The Hugging Face cache is the pod volume at `{HF_CACHE}`: weights download once per volume.",
        "SSH: RunPod puts your account's key in `PUBLIC_KEY`; the image starts a key-only sshd on port 22.",
        "From a shell on the pod, or over SSH, `gpt-oss-console connect` prints the URLs and snippets.",
    ])


def _q(value: Any) -> str:
    return json.dumps(value)


def compose_file(spec: PodSpec) -> str:
    """A docker compose file for any other cloud VM (YAML; strings JSON-quoted, which YAML reads as is)."""
    out = [
        f"# {spec.model} on SGLang ({spec.base}) for a cloud VM with Docker"
        + (" and the NVIDIA Container Toolkit." if spec.category == "NVIDIA" else " and ROCm."),
        f"# Put the API key in {KEY_FILE} first (chmod 600): the server reads it as a file, never from its env.",
        "# SSH (optional): SSH_PUBLIC_KEY=\"$(cat ~/.ssh/id_ed25519.pub)\" docker compose up -d",
        "services:",
        "  gpt-oss:",
        f"    image: {_q(spec.image)}",
        '    restart: "unless-stopped"',
        "    ports:",
        f"      - {_q(f'{PORT}:{PORT}')}",
        '      - "2222:22"',
        "    environment:",
    ]
    env = dict(spec.env) | {"API_KEY_FILE": "/run/secrets/api_key", "SSH_PUBLIC_KEY": "${SSH_PUBLIC_KEY:-}"}
    out += [f"      {_q(k)}: {_q(v)}" for k, v in env.items()]
    out += ["    secrets:", '      - "api_key"', "    volumes:", f"      - {_q('hf-cache:' + HF_CACHE)}",
            '    ipc: "host"', f"    shm_size: {_q(spec.shm_size)}"]
    if spec.category == "AMD":
        out += ["    devices:", '      - "/dev/kfd"', '      - "/dev/dri"', "    group_add:", '      - "video"']
    else:
        out += ["    deploy:", "      resources:", "        reservations:", "          devices:",
                '            - driver: "nvidia"', '              count: "all"', '              capabilities: ["gpu"]']
    out += ["secrets:", "  api_key:", f"    file: {_q(KEY_FILE)}", "volumes:", "  hf-cache: {}"]
    return "\n".join(out) + "\n"


EXAMPLE_IMAGE = "REGISTRY/OWNER/gpt-oss-sglang"


def example_spec() -> PodSpec:
    """The docs' example: 120b with a 64k context on the default base, the published image."""
    from console.settings import resolve

    res = resolve({}, cli={"model": "openai/gpt-oss-120b", "max_model_len": 65536}, read_files=False)
    return pod_spec(res.values, res.sources, image=EXAMPLE_IMAGE, base="hopper", version="VERSION")


def readme_section(spec: PodSpec | None = None) -> str:
    """docker/README.md's generated RunPod part: the template's fields, its JSON and the compose file."""
    spec = spec or example_spec()
    template = runpod_template(spec)
    why = {
        "imageName": "the published image for the base (the publish workflow pushes `VERSION-<base>` tags)",
        "category": "RunPod's compute type for the base: NVIDIA, or AMD for the ROCm base",
        "containerDiskInGb": "the container's writable layer (logs, compile caches)",
        "volumeInGb": "the model's checkpoint plus room for the download, at the HF cache path",
        "volumeMountPath": "the Hugging Face cache, so weights download once per volume",
        "ports": f"{PORT}/http through RunPod's HTTPS proxy; 22/tcp for SSH (RunPod maps a public port)",
        "env": f"the settings; `API_KEY` from the RunPod secret `{spec.api_key_secret}`; "
               "`PUBLIC_KEY` is left to RunPod",
        "dockerStartCmd": "empty: the image's entrypoint reads the env",
    }
    rows = ["| field | value | why |", "|---|---|---|"]
    for key, text in why.items():
        value = template[key]
        shown = ", ".join(f"`{k}={v}`" for k, v in value.items()) if isinstance(value, dict) else (
            ", ".join(f"`{v}`" for v in value) if isinstance(value, list) and value else f"`{json.dumps(value)}`")
        rows.append(f"| `{key}` | {shown.replace('|', '/')} | {text} |")
    return "\n".join([
        "The pod template is made by `gpt-oss-console pod --image REGISTRY/OWNER/gpt-oss-sglang "
        "--model gpt-oss-120b --max-model-len 65536` (any launch setting as a flag; `--format compose` for the "
        "compose file), from the same settings declaration as everything else:",
        "",
        *rows,
        "",
        "<details><summary>The template (RunPod's <code>POST /v1/templates</code> body)</summary>",
        "",
        "```json",
        json.dumps(template, indent=2),
        "```",
        "",
        "</details>",
        "",
        "Create the RunPod secret first (Settings → Secrets), then the template with RunPod's API (the RunPod "
        "API key goes on curl's standard input, not its command line):",
        "",
        "```sh",
        "gpt-oss-console pod --image REGISTRY/OWNER/gpt-oss-sglang --model gpt-oss-120b > template.json",
        "printf 'Authorization: Bearer %s\\n' \"$RUNPOD_API_KEY\" |",
        "  curl -sS --fail-with-body https://rest.runpod.io/v1/templates -H @- \\",
        "  -H 'Content-Type: application/json' -d @template.json",
        "```",
        "",
        "Any other cloud VM with Docker: the same image and settings as a compose file (the API key as a file):",
        "",
        "```yaml",
        compose_file(spec).rstrip("\n"),
        "```",
    ])

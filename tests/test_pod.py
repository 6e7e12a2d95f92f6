"""Cloud pods: the RunPod template validated against RunPod's documented template fields, the compose
file validated by docker-compose itself, neither carrying a secret, and the docs generated from them."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess

import jsonschema
import pytest

from console.cli import main
from console.connect.pod import compose_file, example_spec, pod_spec, runpod_template, volume_for
from console.settings import resolve
from tests.conftest import need

# RunPod's REST API, POST /v1/templates (docs.runpod.io, API reference → templates → "Create a new
# template"): name and imageName required; category NVIDIA | AMD | CPU; containerDiskInGb and volumeInGb
# integers (GB); volumeMountPath an absolute path; ports a list of "<port>/<http|tcp>" strings; env a
# map of strings (at most 50 per pod); dockerEntrypoint / dockerStartCmd lists of strings ([] = the
# image's own); isPublic, isServerless booleans; readme Markdown; containerRegistryAuthId a string.
# Nothing else is accepted. (The older GraphQL API took ports as one comma-separated string and env
# as [{key, value}]; the REST shape is this one.)
RUNPOD_TEMPLATE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "imageName"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "imageName": {"type": "string", "minLength": 1, "pattern": r"^\S+$"},
        "category": {"enum": ["NVIDIA", "AMD", "CPU"]},
        "containerDiskInGb": {"type": "integer", "minimum": 1},
        "containerRegistryAuthId": {"type": "string"},
        "dockerEntrypoint": {"type": "array", "items": {"type": "string"}},
        "dockerStartCmd": {"type": "array", "items": {"type": "string"}},
        "env": {"type": "object", "maxProperties": 50, "additionalProperties": {"type": "string"},
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}},
        "isPublic": {"type": "boolean"},
        "isServerless": {"type": "boolean"},
        "ports": {"type": "array", "uniqueItems": True,
                  "items": {"type": "string", "pattern": r"^[1-9][0-9]{0,4}/(http|tcp)$"}},
        "readme": {"type": "string"},
        "volumeInGb": {"type": "integer", "minimum": 0},
        "volumeMountPath": {"type": "string", "pattern": "^/"},
    },
}
SECRET = "sk-pod-test-should-never-appear-0123"
HF = "hf_pod_test_should_never_appear_0123"


def spec_for(base="hopper", **cli):
    res = resolve({}, cli=cli, read_files=False)
    return pod_spec(res.values, res.sources, image="registry.invalid/me/gpt-oss-sglang", base=base)


@pytest.mark.parametrize("base", ["hopper", "blackwell", "spark", "amd"])
def test_runpod_template_matches_runpods_documented_fields(base):
    template = runpod_template(spec_for(base, model="openai/gpt-oss-120b", max_model_len=65536))
    jsonschema.validate(template, RUNPOD_TEMPLATE_SCHEMA)
    assert template["imageName"] == f"registry.invalid/me/gpt-oss-sglang:0.1.0-{base}"
    assert template["category"] == ("AMD" if base == "amd" else "NVIDIA")
    assert template["ports"] == ["8000/http", "22/tcp"] and template["volumeMountPath"] == "/root/.cache/huggingface"
    assert template["env"] == {"MODEL": "openai/gpt-oss-120b", "MAX_MODEL_LEN": "65536",
                               "API_KEY": "{{ RUNPOD_SECRET_gpt_oss_api_key }}"}
    assert "PUBLIC_KEY" not in template["env"]  # RunPod injects the account's key itself


def test_the_schema_bites_on_the_shapes_runpod_refuses():
    good = runpod_template(spec_for())
    for bad in (good | {"ports": "8000/http,22/tcp"},  # the GraphQL API's shape, not REST's
                good | {"env": [{"key": "MODEL", "value": "x"}]},
                good | {"category": "GPU"}, good | {"volumeMountPath": "relative"},
                good | {"containerDiskInGb": "30"}, good | {"dockerArgs": ""},
                {k: v for k, v in good.items() if k != "imageName"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, RUNPOD_TEMPLATE_SCHEMA)


def test_volume_sizes_hold_each_checkpoint():
    assert volume_for("openai/gpt-oss-20b") == 30 and volume_for("openai/gpt-oss-120b") == 90
    assert volume_for("someone/else") == 90


@pytest.fixture
def secret_env(monkeypatch):
    for name in ("GPT_OSS_CONSOLE_IMAGE", "MODEL", "MAX_MODEL_LEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("API_KEY", SECRET)
    monkeypatch.setenv("HF_TOKEN", HF)
    monkeypatch.setenv("SSH_PUBLIC_KEY", "ssh-ed25519 AAAAexample me@laptop")
    return monkeypatch


def test_pod_cli_carries_settings_not_secrets(secret_env, capsys, tmp_path):
    code = main(["pod", "--image", "registry.invalid/me/gpt-oss-sglang:1.2.0-hopper", "--model", "gpt-oss-120b",
                 "--max-model-len", "65536", "--hf-token-secret", "hf_token"])
    out = capsys.readouterr().out
    template = json.loads(out)
    jsonschema.validate(template, RUNPOD_TEMPLATE_SCHEMA)
    assert code == 0 and template["imageName"] == "registry.invalid/me/gpt-oss-sglang:1.2.0-hopper"
    assert template["env"]["HF_TOKEN"] == "{{ RUNPOD_SECRET_hf_token }}"
    assert SECRET not in out and HF not in out and "SSH_PUBLIC_KEY" not in template["env"]

    target = tmp_path / "compose.yaml"
    code = main(["pod", "--image", "registry.invalid/me/gpt-oss-sglang", "--format", "compose", "-o", str(target)])
    assert code == 0 and stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert SECRET not in text and HF not in text and '"API_KEY_FILE": "/run/secrets/api_key"' in text

    code = main(["pod"])
    err = capsys.readouterr().err
    assert code == 2 and "--image REGISTRY/OWNER/gpt-oss-sglang" in err
    code = main(["pod", "--image", "x/y", "--max-model-len", "abc"])
    assert code == 2 and "MAX_MODEL_LEN" in capsys.readouterr().err


@pytest.mark.parametrize("base", ["hopper", "amd"])
def test_compose_file_is_valid_for_docker_compose(base, tmp_path):
    tool = shutil.which("docker-compose")
    need(tool is not None, "docker-compose (tests/setup.sh installs it) to validate the exported compose file")
    (tmp_path / "api_key").write_text(SECRET)
    (tmp_path / "docker-compose.yml").write_text(compose_file(spec_for(base, model="openai/gpt-oss-20b")))
    proc = subprocess.run([tool, "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "image: registry.invalid/me/gpt-oss-sglang:0.1.0-" + base in proc.stdout
    assert SECRET not in proc.stdout  # the key stays in its file
    bad = compose_file(spec_for(base)).replace("    ipc:", "    ipcc:")
    (tmp_path / "docker-compose.yml").write_text(bad)
    assert subprocess.run([tool, "config", "-q"], cwd=tmp_path, capture_output=True).returncode != 0


def test_readme_section_comes_from_the_same_template():
    from console.connect.pod import readme_section

    text = readme_section()
    template = runpod_template(example_spec())
    assert json.dumps(template, indent=2) in text
    assert compose_file(example_spec()).rstrip("\n") in text
    jsonschema.validate(template, RUNPOD_TEMPLATE_SCHEMA)

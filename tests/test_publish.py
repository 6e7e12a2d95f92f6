"""The publish workflow: actionlint passes on it and fails on a deliberate error; its bases are the
Dockerfile's; and its build command, run by the tests on the stand-in base, builds the real
Dockerfile with the OCI labels and tags it promises."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from console.publish import bases as B
from console.publish.build import build_argv, description, labels, tags
from tests.conftest import need

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "publish-image.yml"


def actionlint() -> str:
    # The `actionlint` binary from the test extra (pyproject.toml says which package and why).
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    need(Path(found).exists(), "actionlint (pip install -e '.[test]')")
    return found


def lint(workflow: Path) -> subprocess.CompletedProcess:
    return subprocess.run([actionlint(), "-no-color", str(workflow)], capture_output=True, text=True, timeout=120)


def test_actionlint_passes_on_the_workflow():
    proc = lint(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_fails_on_a_deliberate_error(tmp_path):
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    text = WORKFLOW.read_text()
    assert "needs.bases.outputs.matrix" in text
    # a typo in the output the build job reads: the build matrix would be empty on GitHub
    (broken / "publish-image.yml").write_text(text.replace("needs.bases.outputs.matrix", "needs.bases.outputs.matrx"))
    proc = lint(broken / "publish-image.yml")
    assert proc.returncode == 1 and "matrx" in proc.stdout and "publish-image.yml" in proc.stdout


def test_the_workflow_builds_with_the_tested_command_and_names_no_registry():
    text = WORKFLOW.read_text()
    assert "python3 -m console.publish matrix" in text and "python3 -m console.publish build" in text
    assert "vars.IMAGE_NAME" in text and "secrets.REGISTRY_PASSWORD" in text
    # no host/path image reference outside the `uses:` lines: the registry comes from variables
    for line in text.splitlines():
        if line.strip().startswith(("- uses:", "uses:", "#")):
            continue
        assert not re.search(r"\b[a-z0-9-]+(\.[a-z0-9-]+)+/[\w.-]+", line), line
    assert "lmsysorg" not in text  # the bases are read from the Dockerfile, not repeated here


def test_bases_are_the_dockerfiles_lines(tmp_path):
    found = B.bases()
    assert [b.name for b in found] == ["hopper", "blackwell", "spark", "amd"]
    text = B.DOCKERFILE.read_text()
    for b in found:
        assert f"ARG BASE_IMAGE_{b.name.upper()}={b.image}\n" in text
    assert [b.name for b in found if b.default] == ["hopper"]
    assert {b.platform for b in found} == {"linux/amd64", "linux/arm64"}
    # a base the Dockerfile adds without TRAITS (or the reverse) is an error that says which
    extra = tmp_path / "Dockerfile"
    extra.write_text(text.replace("ARG BASE_IMAGE=", "ARG BASE_IMAGE_TPU=x/y:z\nARG BASE_IMAGE=", 1))
    with pytest.raises(B.BasesError, match="tpu"):
        B.bases(extra)
    with pytest.raises(B.BasesError, match="unknown base"):
        B.get("gaudi")


def test_tags_labels_and_description():
    hopper, spark = B.get("hopper"), B.get("spark")
    assert tags("r/o/n", "1.2.0", hopper) == ["r/o/n:1.2.0-hopper", "r/o/n:latest-hopper", "r/o/n:1.2.0", "r/o/n:latest"]
    assert tags("r/o/n", "1.2.0", spark) == ["r/o/n:1.2.0-spark", "r/o/n:latest-spark"]
    got = labels(spark, version="1.2.0", revision="abc", source="https://example.invalid/o/r", created="2026-01-01T00:00:00Z")
    assert got["org.opencontainers.image.base.name"] == spark.image
    assert got["org.opencontainers.image.source"] == "https://example.invalid/o/r"
    from console.settings.spec import SETTINGS

    text = description(hopper)
    assert len(text) <= 512 and all(s.env in text for s in SETTINGS if not s.runtime)
    argv = build_argv(spark, image="r/o/n", version="1.2.0", revision="abc", push=True)
    assert argv[:5] == ["docker", "buildx", "build", "--platform", "linux/arm64"] and argv[-2:] == ["--push", "."]
    assert f"BASE_IMAGE={spark.image}" in argv
    with pytest.raises(ValueError):
        build_argv(spark, image="r/o/n", version="1", revision="a", builder="legacy", push=True)


def test_publish_cli_matrix_and_refusals():
    run = lambda *a: subprocess.run([sys.executable, "-m", "console.publish", *a], cwd=REPO, capture_output=True,
                                    text=True, timeout=60)
    proc = run("matrix")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["include"][2] == {"base": "spark", "platform": "linux/arm64"}
    proc = run("build", "--base", "hopper", "--image", "r/o/n", "--version", "v1.2.0", "--builder", "legacy", "--push")
    assert proc.returncode == 2 and "--push needs --builder buildx" in proc.stderr
    proc = run("settings")
    assert proc.returncode == 0 and "| `MODEL` |" in proc.stdout


@pytest.mark.docker
def test_the_workflows_build_command_builds_the_real_dockerfile_on_the_stand_in(standin_sglang_image, docker_client):
    import os

    image = f"gpt-oss-console-test/published-{os.environ.get('GPT_OSS_CONSOLE_TEST_NS') or 'main'}"
    cmd = [sys.executable, "-m", "console.publish", "build", "--base", "hopper", "--image", image,
           "--version", "v0.0.0-test", "--revision", "0123abc", "--source", "https://example.invalid/o/r",
           "--builder", "legacy", "--base-image", standin_sglang_image]
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        built = docker_client.images.get(f"{image}:0.0.0-test-hopper")
        assert sorted(built.tags) == sorted(f"{image}:{t}" for t in
                                            ("0.0.0-test-hopper", "latest-hopper", "0.0.0-test", "latest"))
        got = built.labels
        assert got["org.opencontainers.image.version"] == "0.0.0-test"
        assert got["org.opencontainers.image.revision"] == "0123abc"
        assert got["org.opencontainers.image.base.name"] == B.get("hopper").image  # what it pins, not the stand-in
        assert "MODEL=openai/gpt-oss-20b" in got["org.opencontainers.image.description"]
        # the built image is the console's image: its entrypoint answers
        out = docker_client.containers.run(f"{image}:0.0.0-test", entrypoint=["python3", "-c",
                                           "import sys; sys.path.insert(0, '/opt/gpt-oss-console'); "
                                           "import console.image.entrypoint; print('ok')"], remove=True)
        assert out.strip() == b"ok"
    finally:
        for tag in ("0.0.0-test-hopper", "latest-hopper", "0.0.0-test", "latest"):
            subprocess.run(["docker", "image", "rm", f"{image}:{tag}"], capture_output=True)

"""No file of the project names a package or image registry's host.

The project's brief forbids writing a registry's host name anywhere: packages come through their
clients as configured (pip's index, apt's sources, the Docker Engine's mirrors), and an image the
console runs is a name without a host (``vllm/vllm-openai``) or a local name the operator builds or
tags (llama.cpp's ``llama.cpp:server-cuda``), so a site whose clients reach a mirror or no registry
at all finds nothing that bypasses them. The hosts are written below as regular expressions
(``\\.`` for each dot), so this file does not name them itself; ``docker.io`` alone is Debian's
package of the Docker Engine (tests/setup.sh installs it), not a host, and is not listed: Docker
Hub's own hosts are.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[1]

REGISTRY_HOSTS = (
    # container images
    r"ghcr\.io", r"nvcr\.io", r"quay\.io", r"gcr\.io", r"pkg\.dev", r"public\.ecr\.aws", r"azurecr\.io",
    r"mcr\.microsoft\.com", r"registry\.k8s\.io", r"registry\.gitlab\.com", r"registry-1\.docker\.io",
    r"index\.docker\.io", r"hub\.docker\.com",
    # packages
    r"pypi\.org", r"pythonhosted\.org", r"registry\.npmjs\.org", r"crates\.io", r"proxy\.golang\.org",
    r"rubygems\.org", r"conda\.anaconda\.org", r"repo1?\.maven(?:\.apache)?\.org",
)
# A host is a whole name or the tail of a subdomain's name, never part of a longer word.
PATTERN = re.compile(r"(?<![\w-])(?:" + "|".join(REGISTRY_HOSTS) + r")(?![\w-])", re.I)


def project_files() -> list[Path]:
    """The tracked files and the new ones git does not ignore (what a commit would carry)."""
    need(shutil.which("git") is not None and (ROOT / ".git").exists(), "a git checkout of the project")
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def test_the_pattern_finds_the_hosts_and_leaves_debians_package_alone():
    for text in ("image: " + "ghcr" + ".io/x/y:z", "us." + "gcr" + ".io/p/i",
                 "--index-url https://" + "pypi" + ".org/simple"):
        assert PATTERN.search(text), text
    for text in ("apt-get install docker.io", "lmsysorg/sglang:v0.5.23", "llama.cpp:server-cuda",
                 "my" + "ghcr" + ".iox"):
        assert not PATTERN.search(text), text


def test_no_project_file_names_a_registry_host():
    files = project_files()
    assert ROOT / "console" / "engines" / "llamacpp" / "__init__.py" in files  # the scan sees the code
    found = []
    for path in files:
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary: no text to name a host in
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            for match in PATTERN.finditer(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert not found, "registry host names (use a host-less or local image name):\n" + "\n".join(found)

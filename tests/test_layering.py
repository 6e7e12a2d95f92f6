"""Layering, enforced: the import-linter contracts in pyproject.toml hold, and each one bites
(a deliberate violation in a temporary copy of the package makes lint-imports fail); exit codes
by name; the client key's environment read in one place."""

from __future__ import annotations

import ast
import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import console

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {c["id"]: c for c in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]}


def lint(root: Path, *contracts: str) -> subprocess.CompletedProcess:
    args = [str(LINT), "--no-cache", "--no-logo", *(a for c in contracts for a in ("--contract", c))]
    env = dict(os.environ, PYTHONPATH=str(root))  # the copy's console package, not this checkout's
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_contracts_hold():
    proc = lint(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in proc.stdout


def test_the_core_list_names_every_package_but_the_front_ends():
    """A new console.* package must be placed on purpose: core (listed) or front end."""
    top = {m.name for m in pkgutil.iter_modules(console.__path__)}
    core = {m.removeprefix("console.") for m in CONTRACTS["core-no-front-ends"]["source_modules"]}
    assert core == top - {"cli", "ui", "__main__"}
    textual_free = {m.removeprefix("console.") for m in CONTRACTS["textual-in-ui-only"]["source_modules"]}
    assert textual_free == top - {"ui"}


# Each contract, broken on purpose in a copy: (contract id, file, line added).
VIOLATIONS = [
    ("core-no-front-ends", "console/settings/mask.py", "from console.cli import common  # deliberate"),
    ("core-no-front-ends", "console/runtime/spec.py", "def _f():\n    import console.ui.messages  # deliberate\n"),
    ("textual-in-ui-only", "console/planner/fit.py", "import textual  # deliberate"),
    ("ui-no-heavy-clients", "console/ui/gpus/format.py", "import httpx  # deliberate"),
    ("ui-no-heavy-clients", "console/ui/chat/settings.py", "def _f():\n    import openai  # deliberate\n"),
    ("exit-codes-leaf", "console/exit_codes.py", "import console.errors  # deliberate"),
    ("no-cycles", "console/gpu/errors.py", "def _f():\n    from console.gpu import nvml  # deliberate\n"),
]


@pytest.fixture(scope="module")
def copy_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layering")
    shutil.copytree(REPO / "console", root / "console", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize("contract,path,line", VIOLATIONS, ids=[f"{c}:{Path(p).stem}" for c, p, _ in VIOLATIONS])
def test_each_contract_bites(contract, path, line, copy_root):
    target = copy_root / path
    original = target.read_text()
    target.write_text(original + "\n" + line + "\n")
    try:
        proc = lint(copy_root, contract)
    finally:
        target.write_text(original)
    assert proc.returncode != 0, proc.stdout
    assert f"{CONTRACTS[contract]['name'].split()[0]}" in proc.stdout and "BROKEN" in proc.stdout
    assert lint(copy_root, contract).returncode == 0  # the copy is clean again: the line alone broke it


def _python_files():
    for path in sorted((REPO / "console").rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def test_exit_codes_are_named_never_bare_numbers():
    bare = []
    for path, tree in _python_files():
        if path.name == "exit_codes.py":
            continue
        for node in ast.walk(tree):
            values = []
            if isinstance(node, ast.keyword) and node.arg == "exit_code":
                values.append(node.value)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "exit_code" for t in targets) and node.value is not None:
                    values.append(node.value)
            bare += [f"{path.relative_to(REPO)}:{v.lineno}" for v in values
                     if isinstance(v, ast.Constant) and isinstance(v.value, int) and not isinstance(v.value, bool)]
    assert not bare, f"use the names in console/exit_codes.py: {bare}"


def test_the_client_environment_is_read_in_one_place():
    """GPT_OSS_CONSOLE_API_KEY / _FILE / _BASE_URL / _MODEL: only console/server/endpoint.py names them."""
    names = {"GPT_OSS_CONSOLE_API_KEY", "GPT_OSS_CONSOLE_API_KEY_FILE", "GPT_OSS_CONSOLE_BASE_URL",
             "GPT_OSS_CONSOLE_MODEL"}
    found = []
    for path, tree in _python_files():
        if path.relative_to(REPO).as_posix() == "console/server/endpoint.py":
            continue
        found += [f"{path.relative_to(REPO)}:{n.lineno}" for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in names]
    assert not found, f"read the endpoint through console.server.endpoint: {found}"

#!/usr/bin/env bash
# The one test command: sets up what the tests need on a fresh Debian/Ubuntu
# machine (run as root) and runs the whole suite (tests/perf excluded).
#
#   bash tests/run-all.sh [extra pytest args]
#
# Idempotent: packages, the venv and the llama.cpp peer are only (re)installed
# or built when missing or stale, so a second run goes straight to pytest.
# CI defaults to true: every engine and peer this script sets up is required,
# so a missing one fails the run instead of skipping (tests/conftest.py:need).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CI="${CI:-true}"
export PYTHONDONTWRITEBYTECODE=1
export DEBIAN_FRONTEND=noninteractive
CACHE="$ROOT/.cache"
mkdir -p "$CACHE"

# shellcheck source=tests/setup.sh
source "$ROOT/tests/setup.sh"

# --- system packages (each checked by use: tests/setup.sh) -------------------------
install_system
PY="$(pick_python)" || fail "no Python >= 3.11 with a working venv after installing packages"

# --- the project's venv --------------------------------------------------------
VENV="$ROOT/.venv"
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if ! works "$VENV/bin/python" -c 'import sys'; then
    # Absent, or made by a Python that has since gone: start over.
    say "creating .venv with $PY"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV" || fail "$PY -m venv .venv failed (see above)"
fi
if [ ! -e "$stamp" ]; then
    say "installing the console and its test extras into .venv"
    "$VENV/bin/python" -m pip install -q --upgrade pip || fail "upgrading pip in .venv failed (see above)"
    "$VENV/bin/python" -m pip install -q -e '.[test]' \
        || fail "installing the console into .venv failed (see above); check the package index is reachable"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
fi

# --- the llama.cpp inference peer (cached build) ----------------------------------
if [ -f tests/peers/setup_llama.sh ]; then
    say "llama.cpp peer"
    PYTHON="$PY" bash tests/peers/setup_llama.sh >/dev/null \
        || fail "building the llama.cpp peer failed (see above); remove .cache/llama-venv to retry from scratch"
fi

# --- the real llama-server (llama.cpp's own server, built once into .cache/) --------
if [ -f tests/peers/setup_llama_server.sh ]; then
    say "llama-server (the llama.cpp engine's tests)"
    PYTHON="$PY" bash tests/peers/setup_llama_server.sh >/dev/null \
        || fail "building llama-server failed (see above); remove .cache/llama-server to retry from scratch"
fi

# --- Docker Engine -------------------------------------------------------------
start_engine

# --- the suite -------------------------------------------------------------------
say "pytest (CI=$CI)"
export TERM="${TERM:-xterm-256color}"
set +e
"$VENV/bin/python" -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$rc"

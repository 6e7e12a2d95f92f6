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

say() { printf '\n== %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
as_root() { [ "$(id -u)" = 0 ]; }

# --- system packages ---------------------------------------------------------
pick_python() {
    local py
    for py in python3.13 python3.12 python3.11 python3; do
        if have "$py" && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"
            return 0
        fi
    done
    return 1
}

missing=()
have docker || missing+=(docker.io)
have debootstrap || missing+=(debootstrap)
have tmux || missing+=(tmux)
have ssh || missing+=(openssh-client)
have git || missing+=(git)
have cmake || missing+=(cmake)
have g++ || missing+=(g++)
have make || missing+=(make)
have curl || missing+=(curl)
PY="$(pick_python || true)"
if [ -z "$PY" ]; then
    missing+=(python3 python3-venv)
elif ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=("$(basename "$PY")-venv")
fi

if [ "${#missing[@]}" -gt 0 ]; then
    if ! as_root; then
        echo "missing: ${missing[*]} (run this script as root to install them)" >&2
        exit 3
    fi
    say "installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates iptables procps >/dev/null
    PY="$(pick_python)" || { echo "Python >= 3.11 is required" >&2; exit 3; }
fi

# --- the project's venv --------------------------------------------------------
VENV="$ROOT/.venv"
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating .venv with $PY"
    "$PY" -m venv "$VENV"
fi
if [ ! -e "$stamp" ]; then
    say "installing the console and its test extras into .venv"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e '.[test]'
    rm -f "$VENV"/.installed-*
    touch "$stamp"
fi

# --- the llama.cpp inference peer (cached build) ----------------------------------
if [ -f tests/peers/setup_llama.sh ]; then
    say "llama.cpp peer"
    PYTHON="$PY" bash tests/peers/setup_llama.sh >/dev/null
fi

# --- Docker Engine -------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
    if ! as_root; then
        echo "Docker Engine is not reachable and only root can start it" >&2
        exit 3
    fi
    say "starting dockerd (log: .cache/dockerd.log)"
    nohup dockerd >"$CACHE/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { echo "dockerd did not come up; see .cache/dockerd.log" >&2; tail -20 "$CACHE/dockerd.log" >&2; exit 3; }
fi

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

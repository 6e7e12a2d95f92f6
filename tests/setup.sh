#!/usr/bin/env bash
# What the test suite needs from the machine, checked by use rather than by name:
# a command on PATH can be a stub, a bare client (a `docker` with no engine), or a
# Python without `venv`. Sourced by tests/run-all.sh; also runnable on its own:
#
#   bash tests/setup.sh plan      # print what is missing and why (exit 0), install nothing
#   bash tests/setup.sh system [PKG…]  # install what is missing (root); only PKG… of it if given
#   bash tests/setup.sh engine    # make a Docker Engine reachable, starting dockerd if needed (root)
#
# Each failure names the step, says what to do, and exits 3 (the suite never starts half-set-up).

CACHE="${CACHE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache}"

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'setup failed: %s\n' "$*" >&2; exit 3; }
as_root() { [ "$(id -u)" = 0 ]; }
# Runs quietly, bounded: a hung stub must not hang the set-up.
works() { timeout 20 "$@" >/dev/null 2>&1; }

# Python >= 3.11 that can really make a venv with pip (Debian splits venv/ensurepip out).
python_ok() {
    local py="$1" tmp
    works "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || return 1
    works "$py" -c 'import ensurepip, venv' || return 1
    tmp="$(mktemp -d)"
    local rc=0
    works "$py" -m venv --without-pip "$tmp/v" || rc=1
    rm -rf "$tmp"
    return $rc
}
pick_python() {
    local py
    for py in python3.13 python3.12 python3.11 python3; do
        command -v "$py" >/dev/null 2>&1 && python_ok "$py" && { echo "$py"; return 0; }
    done
    return 1
}
# The Python that is there, even without venv: its version names the -venv package.
any_python() {
    local py
    for py in python3.13 python3.12 python3.11 python3; do
        works "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' && { echo "$py"; return 0; }
    done
    return 1
}

# A docker *client*: answers with its own version (the engine may be absent).
# (`docker version` exits 1 when the engine is away, after printing the client's part.)
docker_client_ok() { { timeout 20 docker version --format '{{.Client.Version}}' 2>/dev/null || true; } | grep -q '^[0-9]'; }
# The engine's pieces, each asked for its version: dockerd alone does not start without
# containerd, runc and iptables.
engine_missing() {
    local piece
    for piece in dockerd containerd runc iptables; do
        works "$piece" --version || echo "$piece"
    done
}
engine_reachable() { timeout 20 docker info >/dev/null 2>&1; }

# A C++ compiler that compiles and links (into a scratch folder: the linker chmods its output).
cxx_ok() {
    local tmp rc=0
    tmp="$(mktemp -d)"
    echo 'int main(){return 0;}' | works g++ -x c++ - -o "$tmp/a.out" || rc=1
    rm -rf "$tmp"
    return $rc
}

# "package<TAB>why" for everything the suite needs and this machine lacks.
plan_packages() {
    local missing
    if ! engine_reachable; then
        missing="$(engine_missing | tr '\n' ' ')"
        [ -z "$missing" ] || printf 'docker.io\tthe Docker Engine (no usable %s)\n' "${missing% }"
    fi
    docker_client_ok || printf 'docker.io\tthe docker client (`docker version` does not answer)\n'
    works debootstrap --version || printf 'debootstrap\tbuilds the stand-in images\n'
    works tmux -V || printf 'tmux\tdrives the real program in tests\n'
    { works ssh -V && command -v ssh-keygen >/dev/null; } || printf 'openssh-client\tssh and ssh-keygen for SSH host tests\n'
    works git --version || printf 'git\tclones in tests\n'
    works cmake --version || printf 'cmake\tbuilds the llama.cpp peer\n'
    works make --version || printf 'make\tbuilds the llama.cpp peer\n'
    cxx_ok || printf 'g++\tbuilds the llama.cpp peer\n'
    works ss -V || printf 'iproute2\tss, which the port-in-use hint prints\n'
    works curl --version || printf 'curl\tprobes servers in tests; runs connect --check\n'
    works docker-compose version || printf 'docker-compose\tvalidates the exported compose files\n'
    works tar --version || printf 'tar\tpacks image contexts\n'
    if [ -z "$(pick_python)" ]; then
        local py
        py="$(any_python)"
        if [ -n "$py" ]; then
            printf '%s-venv\t%s cannot create a virtual environment\n' "$(basename "$py")" "$py"
        else
            printf 'python3\tPython >= 3.11\n'
            printf 'python3-venv\tvirtual environments\n'
        fi
    fi
}

# Installs what plan_packages lists; with arguments, only those of it (e.g. `system docker.io`).
install_system() {
    local plan pkgs
    plan="$(plan_packages)"
    if [ "$#" -gt 0 ]; then
        plan="$(grep -F -f <(printf '%s\t\n' "$@") <<<"$plan" || true)"
    fi
    [ -n "$plan" ] || return 0
    pkgs="$(cut -f1 <<<"$plan" | sort -u | tr '\n' ' ')"
    if ! as_root; then
        printf '%s\n' "$plan" | sed 's/\t/: /; s/^/  missing /' >&2
        fail "installing ${pkgs% } needs root: run 'sudo bash tests/run-all.sh'"
    fi
    say "installing ${pkgs% }"
    printf '%s\n' "$plan" | sed 's/\t/: /; s/^/  /'
    apt-get update -qq || fail "apt-get update failed: check the machine's package sources"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $pkgs ca-certificates iptables procps >/dev/null \
        || fail "apt-get install $pkgs failed (see above)"
    # Debian's client lands in /usr/bin; a stub earlier on PATH would still shadow it.
    if ! docker_client_ok && [ -x /usr/bin/docker ]; then
        mkdir -p "$CACHE/bin" && ln -sf /usr/bin/docker "$CACHE/bin/docker"
        export PATH="$CACHE/bin:$PATH"
    fi
    local still
    still="$(plan_packages)"
    [ "$#" -eq 0 ] || still="$(grep -F -f <(printf '%s\t\n' "$@") <<<"$still" || true)"
    [ -z "$still" ] || fail "still missing after installing: $(cut -f2 <<<"$still" | tr '\n' ';')"
}

start_engine() {
    engine_reachable && return 0
    as_root || fail "the Docker Engine is not reachable and only root can start it: run 'sudo bash tests/run-all.sh'"
    local missing
    missing="$(engine_missing | tr '\n' ' ')"
    [ -z "$missing" ] || fail "cannot start the Docker Engine: ${missing% } missing (run this script as root to install docker.io)"
    mkdir -p "$CACHE"
    say "starting dockerd (log: .cache/dockerd.log)"
    nohup dockerd >"$CACHE/dockerd.log" 2>&1 &
    local _
    for _ in $(seq 1 60); do
        engine_reachable && break
        sleep 1
    done
    if ! engine_reachable; then
        tail -20 "$CACHE/dockerd.log" >&2
        fail "dockerd did not come up within 60 s; its log is .cache/dockerd.log (above: its last lines)"
    fi
    # A client newer than the engine must negotiate down; say so if it does not.
    timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1 \
        || fail "the docker client cannot talk to the engine it started: $(docker version 2>&1 | tail -1)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    case "${1:-}" in
        plan) plan_packages ;;
        system) shift; install_system "$@" ;;
        engine) start_engine ;;
        *) echo "usage: bash tests/setup.sh plan|system|engine" >&2; exit 2 ;;
    esac
fi

#!/usr/bin/env bash
# Build the real upstream `llama-server` (llama.cpp's own HTTP server) for the tests.
#
#   tests/peers/setup_llama_server.sh        # → $REPO/.cache/llama-server/bin/llama-server
#   LLAMA_SERVER_DIR=/some/where tests/peers/setup_llama_server.sh
#
# Sources: the llama.cpp tree that the llama-cpp-python sdist vendors (PyPI is reachable, GitHub
# is not), version pinned below so the flag fixture in tests/data/engines/ matches the binary.
# A static CPU build without OpenMP, OpenSSL or the web UI: one file that runs in the
# debootstrapped test image (same Debian release as this machine) and needs nothing at run time.
# Portable on purpose: a -march=native build dies with "illegal instruction" on another CPU.
# Idempotent: an existing binary built from the same version is kept. Prints its path last.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${LLAMA_SERVER_DIR:-$REPO/.cache/llama-server}"
PY="${PYTHON:-python3}"
# The llama-cpp-python release whose vendored llama.cpp is built (its flags are in
# tests/data/engines/llamacpp-flags.json; regenerate that when changing this).
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
BIN="$DIR/bin/llama-server"
STAMP="$DIR/built-from"

if [[ -x "$BIN" && "$(cat "$STAMP" 2>/dev/null)" == "llama-cpp-python $VERSION" ]] && "$BIN" --version >/dev/null 2>&1; then
    echo "llama-server already built in $DIR" >&2
    echo "$BIN"
    exit 0
fi

echo "building llama-server from llama-cpp-python $VERSION's llama.cpp (10-20 minutes on 2 cores)" >&2
# Sources and objects live under $DIR/work until the binary is installed, so an interrupted
# build resumes where it stopped instead of starting over.
WORK="$DIR/work-$VERSION"
mkdir -p "$WORK"
if [[ ! -f "$WORK/src/tools/server/server.cpp" ]]; then
    TMP="$(mktemp -d)"
    trap 'rm -rf "$TMP"' EXIT
    # A fresh Debian's python3 has no pip: download with a throwaway venv's.
    PIP=("$PY" -m pip)
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
        "$PY" -m venv "$TMP/venv" && PIP=("$TMP/venv/bin/python" -m pip)
    fi
    "${PIP[@]}" download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$TMP/sdist" \
        || { echo "error: pip could not download the llama-cpp-python $VERSION sdist" >&2; exit 1; }
    tar -xzf "$TMP"/sdist/llama_cpp_python-*.tar.gz -C "$TMP"
    rm -rf "$WORK/src"
    mv "$(echo "$TMP"/llama_cpp_python-*/vendor/llama.cpp)" "$WORK/src"
fi
[[ -f "$WORK/src/tools/server/server.cpp" ]] || { echo "error: no tools/server in the vendored llama.cpp" >&2; exit 1; }

# -O1: a third less compile time than -O3 on this 2-core budget; ggml's hot loops are AVX2
# intrinsics either way, and the tests' model is 135M parameters.
cmake -S "$WORK/src" -B "$WORK/build" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF \
    -DGGML_OPENMP=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc" >"$WORK/cmake.log" 2>&1 \
    || { tail -30 "$WORK/cmake.log" >&2; echo "error: cmake configure failed" >&2; exit 1; }
cmake --build "$WORK/build" --target llama-server -j "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" >"$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log" >&2; echo "error: building llama-server failed" >&2; exit 1; }

mkdir -p "$DIR/bin"
install -m 755 "$WORK/build/bin/llama-server" "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
"$BIN" --version >&2 || { echo "error: the built llama-server does not run" >&2; exit 1; }
echo "llama-cpp-python $VERSION" >"$STAMP"
rm -rf "$WORK"
echo "$BIN"

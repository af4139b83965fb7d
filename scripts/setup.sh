#!/usr/bin/env bash
# Installs everything scalargrad's demo, tests and notebooks need on a fresh Debian machine:
# a virtual environment in .venv with the package and its extras, and the system programs
# the tests drive for real (Graphviz's `dot`, Chromium for the step-through page test).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
if [ "${SCALARGRAD_SKIP_BROWSER:-0}" != 1 ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} with apt-get"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${need_apt[@]}" fonts-dejavu-core >/dev/null
  else
    echo "setup: missing system programs: ${need_apt[*]}" >&2
    echo "setup: install them with your package manager, e.g." >&2
    echo "         sudo apt-get install ${need_apt[*]}     (Debian/Ubuntu)" >&2
    echo "         brew install graphviz chromium            (macOS)" >&2
    echo "setup: drawings need 'dot' (Graphviz); the page test needs Chromium." >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[all]'
echo "setup: done (.venv ready; dot: $(command -v dot))"

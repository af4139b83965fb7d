#!/usr/bin/env bash
# Opens the lessons in JupyterLab: `make notebooks` (or `bash scripts/notebooks.sh`).
# Installs the notebooks extra into .venv the first time, and passes --allow-root only
# when run as root (Jupyter refuses to start as root without it; a normal user needs nothing).
# Extra arguments go to `jupyter lab`, e.g. `bash scripts/notebooks.sh --no-browser --port 8899`.
# `--print` shows the command instead of running it.
set -euo pipefail
cd "$(dirname "$0")/.."

dry=0
args=()
for a in "$@"; do
  if [ "$a" = --print ]; then dry=1; else args+=("$a"); fi
done

cmd=(.venv/bin/jupyter lab notebooks/)
if [ "$(id -u)" = 0 ]; then
  cmd+=(--allow-root)
fi
cmd+=(${args[@]+"${args[@]}"})

if [ "$dry" = 1 ]; then
  echo "${cmd[*]}"
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  echo "notebooks: no .venv yet; run 'make demo' (or 'bash scripts/setup.sh') first" >&2
  exit 1
fi
if [ ! -x .venv/bin/jupyter-lab ]; then
  echo "notebooks: installing JupyterLab into .venv (pip install -e '.[notebooks]', about a minute)"
  .venv/bin/python -m pip install -q -e '.[notebooks]'
fi
exec "${cmd[@]}"

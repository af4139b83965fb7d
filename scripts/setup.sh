#!/usr/bin/env bash
# Installs everything scalargrad's demo, tests and notebooks need on a fresh Debian machine:
# a virtual environment in .venv with the package and its extras, and the system programs
# the tests drive for real (Graphviz's `dot`, Chromium for the step-through page test, and
# with the docs extra Node.js's npm, which fetches the site's pinned browser files: Pyodide,
# KaTeX, Graphviz in WebAssembly — see web/package.json).
#
# It says what it is doing: each long phase prints a line when it starts (with how long it
# usually takes), a "still working" line every 15 s, and how long it took. The commands'
# own output goes to a log (build/setup.log); if a phase fails, its last lines are shown.
#
# Settings (environment): PYTHON (default python3), SCALARGRAD_VENV (default .venv),
# SCALARGRAD_EXTRAS (default all; empty for the bare package), SCALARGRAD_SKIP_BROWSER=1,
# SCALARGRAD_SETUP_LOG, SCALARGRAD_SETUP_HEARTBEAT (seconds between "still working" lines).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${SCALARGRAD_VENV:-.venv}
EXTRAS=${SCALARGRAD_EXTRAS-all}
LOG=${SCALARGRAD_SETUP_LOG:-build/setup.log}
HEARTBEAT=${SCALARGRAD_SETUP_HEARTBEAT:-15}
mkdir -p "$(dirname "$LOG")"
: >"$LOG"
started=$SECONDS

# phase WHAT USUALLY COMMAND...: runs COMMAND with its output in the log, saying what it does.
phase() {
  local what=$1 usually=$2
  shift 2
  local start=$SECONDS next=$HEARTBEAT
  echo "setup: $what (usually $usually) ..."
  echo "=== $what: $*" >>"$LOG"
  "$@" >>"$LOG" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ $((SECONDS - start)) -ge "$next" ] && kill -0 "$pid" 2>/dev/null; then
      echo "setup:   ... still $what ($((SECONDS - start)) s so far)"
      next=$((next + HEARTBEAT))
    fi
  done
  local rc=0
  wait "$pid" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "setup: FAILED while $what (exit status $rc); the last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit "$rc"
  fi
  echo "setup:   done in $((SECONDS - start)) s"
}

need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
if [ "${SCALARGRAD_SKIP_BROWSER:-0}" != 1 ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fi
# The documentation site (the docs extra, part of "all") needs npm for its browser files.
wants_site=0
case ",$EXTRAS," in *,all,* | *,docs,*) wants_site=1 ;; esac
if [ "$wants_site" = 1 ]; then
  command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
  # The playground lays drawings out in the browser with Helvetica's metrics (the only sans
  # face Graphviz-in-WebAssembly measures); Liberation Sans has the same metrics.
  if command -v fc-list >/dev/null 2>&1 && ! fc-list | grep -qi "Liberation Sans"; then
    need_apt+=(fonts-liberation)
  fi
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    phase "updating apt-get's package lists" "10-60 s" apt-get update -q
    phase "installing ${need_apt[*]} with apt-get" "1-3 minutes" \
      env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${need_apt[@]}" fonts-dejavu-core
  else
    echo "setup: missing system programs: ${need_apt[*]}" >&2
    echo "setup: install them with your package manager, e.g." >&2
    echo "         sudo apt-get install ${need_apt[*]}     (Debian/Ubuntu)" >&2
    echo "         brew install graphviz chromium            (macOS)" >&2
    echo "setup: drawings need 'dot' (Graphviz); the page test needs Chromium; the site" >&2
    echo "       (make docs) needs npm (Node.js) for its pinned browser files." >&2
    exit 1
  fi
else
  echo "setup: the system programs are already installed (dot$([ "$wants_site" = 0 ] || echo ", npm")$([ "${SCALARGRAD_SKIP_BROWSER:-0}" = 1 ] || echo ", chromium"))"
fi

if [ ! -x "$VENV/bin/python" ]; then
  phase "creating the virtual environment $VENV" "5-15 s" "$PY" -m venv "$VENV"
fi
phase "upgrading pip in $VENV" "5-20 s" "$VENV/bin/python" -m pip install -q --upgrade pip
spec=. what="scalargrad"
if [ -n "$EXTRAS" ]; then spec=".[$EXTRAS]" what="scalargrad and its extras [$EXTRAS]"; fi
# setuptools warns on every editable install of a flat layout ("be careful with folders
# named like your package"); it is harmless here, so it is filtered by its message.
phase "installing $what with pip" \
  "20 s with a warm cache, 1-3 minutes on a fresh machine" \
  env PYTHONWARNINGS="ignore:Editable installation" \
  "$VENV/bin/python" -m pip install -q -e "$spec"
if [ "$wants_site" = 1 ] && [ -f web/package-lock.json ]; then
  phase "installing the site's pinned browser files with npm ci (web/)" "5-30 s" \
    npm ci --prefix web --no-audit --no-fund --loglevel=error
fi
echo "setup: done in $((SECONDS - started)) s ($VENV ready; dot: $(command -v dot || echo missing); log: $LOG)"

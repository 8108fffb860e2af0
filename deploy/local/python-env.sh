#!/usr/bin/env bash
# Creates .venv and installs paywatch with its pinned dependencies (once per pyproject change).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || die "python 3.11 or newer is needed; '$PY' not found"
ver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "python 3.11 or newer is needed; found $ver ($PY); set PYTHON=/path/to/python3.11"

VENV="$ROOT/.venv"
STAMP="$VENV/.paywatch-installed"
if [[ -f "$STAMP" && "$STAMP" -nt "$ROOT/pyproject.toml" ]]; then
    exit 0
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV" 2>"$LOGS/venv.log" \
        || die "could not create $VENV (Debian: apt-get install python3-venv); see $LOGS/venv.log"
fi
say "installing paywatch and its pinned dependencies into .venv (log: $LOGS/pip.log)"
"$VENV/bin/python" -m pip install -q --upgrade pip >"$LOGS/pip.log" 2>&1 || true
"$VENV/bin/python" -m pip install -e "$ROOT[dev]" >>"$LOGS/pip.log" 2>&1 \
    || die "pip install failed; see $LOGS/pip.log"
touch "$STAMP"

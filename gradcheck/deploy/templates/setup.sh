#!/usr/bin/env bash
# gradcheck on Gradescope: run once, as root, when the autograder image is built.
# Installs gradcheck from the wheel shipped beside this script (non-editable; its dependencies
# from the package index) into its own virtual environment, readable by every user so that the
# sandbox can run student code as `nobody` where the container has no user namespaces.
set -euo pipefail
ROOT="${GRADCHECK_AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/gradcheck-venv"

pick_python() {  # the first interpreter >= 3.11 that can make a venv
    for cand in "${GRADCHECK_AUTOGRADER_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$cand" ] && command -v "$cand" >/dev/null 2>&1 || continue
        if "$cand" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$cand"
            return 0
        fi
    done
    return 1
}

PY="$(pick_python)" || {
    echo "gradcheck setup: no Python >= 3.11 with venv; trying apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq python3-venv >/dev/null || true                   # Ubuntu 24.04: 3.12
    apt-get install -y -qq python3.11 python3.11-venv >/dev/null || true     # Ubuntu 22.04: 3.11
    PY="$(pick_python)" || { echo "gradcheck setup: error: Python >= 3.11 is required" >&2; exit 1; }
}
echo "gradcheck setup: using $PY ($("$PY" --version 2>&1))"

WHEEL="$(ls "$SOURCE"/gradcheck-*.whl | head -n 1)"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q "${WHEEL}[notebook]"
if [ -s "$SOURCE/requirements.txt" ]; then  # packages the students' code may import (--pip-install)
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$SOURCE/requirements.txt"
fi
chmod -R a+rX "$VENV"
chmod +x "$SOURCE/run_autograder"
"$VENV/bin/gradcheck" --version
"$VENV/bin/python" -I -m gradcheck.deploy.run --check

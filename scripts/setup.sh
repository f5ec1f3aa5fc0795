#!/usr/bin/env bash
# Set up everything alliancesim needs on a Debian machine, without running anything:
#   1. Debian packages: chromium (browser tests) and npm (front-end assets), only if missing
#   2. .venv with Python >= 3.12 (python3 resolves to 3.12 through .python-version / pyenv);
#      a .venv made with an older Python is replaced
#   3. pip install -e ".[dev]", skipped when pyproject.toml and the build are unchanged
#   4. the dashboard's front-end files into alliancesim/dashboard/frontend/
#      (scripts/install_solara_assets.py), so the dashboard works without a CDN
# Idempotent: re-running reuses .venv and skips what is done, in seconds.
# Usage: scripts/setup.sh            (from anywhere; works on the repo this script is in)
# Env: SETUP_TIMINGS_FILE=path  append "phase  seconds" lines there (used by .ci/run)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

VENV="$REPO_ROOT/.venv"
MIN_PY="3.12"

SETUP_TIMINGS=()
phase_start() { PHASE_NAME="$1"; PHASE_T0=$(date +%s.%N); echo "==> [setup] $1"; }
phase_end() {
    local dt
    dt=$(awk -v a="$PHASE_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    SETUP_TIMINGS+=("$(printf '%-28s %7s s' "$PHASE_NAME" "$dt")")
    # .ci/run collects the phases into its own summary
    if [ -n "${SETUP_TIMINGS_FILE:-}" ]; then printf '%-28s %7s s\n' "setup: $PHASE_NAME" "$dt" >>"$SETUP_TIMINGS_FILE"; fi
    echo "    [setup] $PHASE_NAME: ${dt} s"
}
die() { echo "setup.sh: error: $*" >&2; exit 1; }

# --- 1. Debian packages ---------------------------------------------------------------------
phase_start "apt packages"
apt_pkgs=()
command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium fonts-dejavu-core)
command -v npm >/dev/null 2>&1 || apt_pkgs+=(npm)
if ((${#apt_pkgs[@]})); then
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        die "need root (or sudo) to apt-get install ${apt_pkgs[*]}"
    fi
    echo "    installing: ${apt_pkgs[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" </dev/null >/dev/null
    command -v chromium >/dev/null 2>&1 || die "chromium still not on PATH after apt-get install"
    command -v npm >/dev/null 2>&1 || die "npm still not on PATH after apt-get install"
else
    echo "    chromium and npm already present, skipping apt"
fi
phase_end

# --- 2. virtual environment -----------------------------------------------------------------
phase_start "venv"
py_version() { "$1" -c 'import platform; print(platform.python_version())' 2>/dev/null; }
py_ok() { "$1" -c "import sys; sys.exit(0 if sys.version_info >= (${MIN_PY/./, }) else 1)" 2>/dev/null; }
# a .venv made with an older Python (e.g. 3.11 before pyenv was set up) is replaced, not kept
if [ -e "$VENV" ] && ! py_ok "$VENV/bin/python"; then
    echo "    .venv has Python $(py_version "$VENV/bin/python" || echo '(broken)'), needs >= $MIN_PY: recreating it"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    PYTHON=""
    for candidate in python3 "python$MIN_PY" python; do  # python3 follows .python-version under pyenv
        if command -v "$candidate" >/dev/null 2>&1 && py_ok "$candidate"; then PYTHON="$(command -v "$candidate")"; break; fi
    done
    if [ -z "$PYTHON" ]; then
        die "alliancesim needs Python $MIN_PY (found $(py_version python3 || echo none) as python3): install it with 'pyenv install $MIN_PY' (pyenv then reads .python-version) or 'uv python install $MIN_PY', then re-run"
    fi
    "$PYTHON" -m venv "$VENV"
fi
echo "    $("$VENV/bin/python" --version) at $VENV"
phase_end

# --- 3. the package and its dev tools ---------------------------------------------------------
# A checkout from before the Numba engine may still hold the Cython build's compiled modules
# (alliancesim/session.*.so, _kernel.*.so): Python would import them instead of session.py.
stale=(alliancesim/*.so alliancesim/_kernel.c alliancesim/session.c)
existing=()
for f in "${stale[@]}"; do [ -e "$f" ] && existing+=("$f"); done
if ((${#existing[@]})); then
    echo "==> [setup] removing files left by the old Cython build: ${existing[*]}"
    rm -f "${existing[@]}"
fi

# Skipped when nothing that decides the installation changed since the last successful run
# (the package metadata and its build hook); a stamp in .venv records it.
phase_start "pip install -e .[dev]"
STAMP="$VENV/.alliancesim-setup-stamp"
stamp_files=(pyproject.toml _build_frontend.py)
want_stamp="$("$VENV/bin/python" --version 2>&1) $(cat "${stamp_files[@]}" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] \
        && "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(not (u.find_spec('alliancesim') and u.find_spec('pytest')))" 2>/dev/null; then
    echo "    already installed (${stamp_files[*]} unchanged), skipping"
else
    rm -f "$STAMP"
    echo "    installing the package and its dependencies (first time: a few minutes)"
    # progress: one line per package collected and built; everything in .venv/pip-install.log
    set +e
    PYTHONUNBUFFERED=1 "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -e ".[dev]" </dev/null 2>&1 \
        | tee "$VENV/pip-install.log" \
        | grep --line-buffered -E '^ *(Collecting|Installing|Preparing|Building|Successfully|ERROR)' | sed -u 's/^ */    /'
    rc=${PIPESTATUS[0]}
    set -e
    [ "$rc" -eq 0 ] || die "pip install -e .[dev] failed (exit $rc); the whole output is in $VENV/pip-install.log"
    echo "$want_stamp" >"$STAMP"
fi
phase_end

# --- 4. the dashboard's front-end files ---------------------------------------------------------------
phase_start "dashboard front-end files"
if "$VENV/bin/python" "$REPO_ROOT/scripts/install_solara_assets.py" --check >/dev/null; then
    echo "    already in alliancesim/dashboard/frontend/, skipping"
else
    "$VENV/bin/python" "$REPO_ROOT/scripts/install_solara_assets.py" | sed -u 's/^/    /'
fi
phase_end

echo "==> [setup] timings"
printf '    %s\n' "${SETUP_TIMINGS[@]}"

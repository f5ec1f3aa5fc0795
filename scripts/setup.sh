#!/usr/bin/env bash
# Set up everything alliancesim needs on a Debian machine, without running anything:
#   1. Debian packages: chromium (browser tests) and npm (front-end assets), only if missing
#   2. .venv with Python >= 3.12 (python3 resolves to 3.12 through .python-version / pyenv)
#   3. pip install -e ".[dev]"
#   4. Solara's front-end assets into the venv (scripts/install_solara_assets.py), so the
#      dashboard works without a CDN
# Idempotent: re-running reuses .venv and skips what is already installed.
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
py_ok() { "$1" -c "import sys; sys.exit(0 if sys.version_info >= (${MIN_PY/./, }) else 1)" 2>/dev/null; }
if [ -x "$VENV/bin/python" ] && ! py_ok "$VENV/bin/python"; then
    die "$VENV uses Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'), need >= $MIN_PY; delete .venv and re-run"
fi
if [ ! -x "$VENV/bin/python" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 not found on PATH"
    python3 -m venv "$VENV"
fi
py_ok "$VENV/bin/python" || die "$VENV/bin/python is Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'), need >= $MIN_PY (python3 is $(command -v python3); is pyenv set up so that .python-version applies?)"
echo "    $("$VENV/bin/python" --version) at $VENV"
phase_end

# --- 3. the package and its dev tools ---------------------------------------------------------
phase_start "pip install -e .[dev]"
"$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q -e ".[dev]" </dev/null
phase_end

# --- 4. Solara front-end assets ---------------------------------------------------------------
phase_start "solara assets"
"$VENV/bin/python" "$REPO_ROOT/scripts/install_solara_assets.py"
phase_end

echo "==> [setup] timings"
printf '    %s\n' "${SETUP_TIMINGS[@]}"

# Sourced by scripts/dev and scripts/test: make ./.venv exist and hold this checkout's package.
# Re-installs only when setup.cfg changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CONBENCH_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.conbench-installed"
if [ ! -f "$stamp" ] || [ "$root/setup.cfg" -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[$1]"
  touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$root"

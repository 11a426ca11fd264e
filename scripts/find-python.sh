#!/usr/bin/env bash
# Print the path of a CPython X.Y interpreter that actually runs, or explain what is missing.
# Usage: scripts/find-python.sh 3.12
# Order: $PYTHON<XY> (e.g. PYTHON312), pythonX.Y on PATH (pyenv shims may exist yet refuse),
# then pyenv's installed versions.
set -euo pipefail
want=${1:?usage: find-python.sh X.Y}
override_var="PYTHON${want/./}"
candidates=()
[ -n "${!override_var:-}" ] && candidates+=("${!override_var}")
candidates+=("python$want")
pyenv_root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
for dir in "$pyenv_root"/versions/"$want".*/bin; do
  [ -x "$dir/python$want" ] && candidates+=("$dir/python$want")
done
for candidate in "${candidates[@]}"; do
  if path=$(command -v "$candidate" 2>/dev/null) &&
     "$path" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
cat >&2 <<MSG
error: no working CPython $want found.
  tried: ${candidates[*]}
  install one (e.g. 'pyenv install $want' or your OS package python$want),
  or point $override_var at its interpreter: $override_var=/path/to/python$want make ...
MSG
exit 1

#!/usr/bin/env bash
# Prints the path of a working CPython of the version given (default 3.13), the Lambda runtime the template names.
# A pyenv shim on PATH is not enough: it answers "command not found" unless that version is the active one, so each
# candidate is run before it is chosen.
set -uo pipefail
want="${1:-3.13}"
candidates=()
if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root 2>/dev/null)"
    [ -n "$root" ] && candidates+=("$root"/versions/"$want"*/bin/python"$want")
fi
candidates+=("${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want"*/bin/python"$want")
candidates+=(/usr/local/bin/python"$want" /usr/bin/python"$want")
found="$(command -v python"$want" 2>/dev/null)" && candidates+=("$found")
for candidate in "${candidates[@]}"; do
    [ -x "$candidate" ] || continue
    if "$candidate" -c "import sys, venv; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" \
        >/dev/null 2>&1; then
        echo "$candidate"
        exit 0
    fi
done
echo "python$want not found: install it (pyenv install $want, or apt install python$want)" >&2
exit 1

#!/usr/bin/env bash
# The README's test command: installs what the tests need at run time, then runs every crate's
# tests (`cargo test --workspace --no-fail-fast`, extra arguments passed on to cargo test).
#
# The corpus generator's tests synthesise speech with espeak-ng and WordNet text, which are
# Debian packages (tools/test-packages), not crates. They are installed here when missing, with
# apt-get as root or through passwordless sudo; when that is impossible this script stops before
# building anything and prints the one command that installs them. It never skips tests.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < tools/test-packages

if [ ${#missing[@]} -gt 0 ]; then
  hint="apt-get install ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "tools/test.sh: the tests need ${missing[*]} (Debian package names) and this machine has no apt-get;" >&2
    echo "tools/test.sh: install espeak-ng (library + data) and WordNet 3.0's database by hand, then re-run." >&2
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "tools/test.sh: the tests need ${missing[*]}; run \`sudo $hint\` once, then re-run." >&2
    exit 1
  fi
  echo "tools/test.sh: installing ${missing[*]} (apt-get)"
  log=$(mktemp)
  if ! { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "tools/test.sh: could not install ${missing[*]} (apt-get output above); install them, then re-run." >&2
    exit 1
  fi
  rm -f "$log"
fi

exec cargo test --workspace --no-fail-fast "$@"

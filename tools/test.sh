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

. tools/lib/apt-install.sh
packages=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  packages+=("$pkg")
done < tools/test-packages
apt_install_missing tools/test.sh 1 "espeak-ng (library + data) and WordNet 3.0's database" "${packages[@]}"

exec cargo test --workspace --no-fail-fast "$@"

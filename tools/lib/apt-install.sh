# Sourced by tools/test.sh and tools/backends/wgpu-check.sh (not run on its own).
#
# apt_install_missing WHO CODE HINT PKG...
#   Installs the Debian packages PKG... that are missing, quietly, with apt-get as root or
#   through passwordless sudo. Returns when all are installed. Otherwise it prints one line
#   prefixed by WHO saying what to install (HINT: what they are, for a machine without
#   apt-get) and exits the calling script with CODE.
apt_install_missing() {
  local who=$1 code=$2 hint=$3
  shift 3
  local missing=() sudo=() log pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: needs ${missing[*]} (Debian package names) and this machine has no apt-get; install $hint by hand, then re-run." >&2
    exit "$code"
  fi
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "$who: needs ${missing[*]}; run \`sudo apt-get install ${missing[*]}\` once, then re-run." >&2
      exit "$code"
    fi
  fi
  echo "$who: installing ${missing[*]} (apt-get)"
  log=$(mktemp)
  if ! { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "$who: could not install ${missing[*]} (apt-get output above); install them, then re-run." >&2
    exit "$code"
  fi
  rm -f "$log"
}

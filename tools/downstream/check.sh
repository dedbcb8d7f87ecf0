#!/usr/bin/env bash
# Builds and runs a crate outside the workspace that depends on ssl-distill-models and
# ssl-distill-audio by path, the way a Rust user adds them to a project: its own Cargo.toml,
# ordinary requirements (`burn = "0.22"` with the `flex` backend), no lock file (so cargo picks
# the newest compatible version of every dependency, not the workspace's Cargo.lock). The program
# loads the bundled mini HuBERT, decodes a WAV, extracts every hidden state and checks them.
#
# Usage: tools/downstream/check.sh [WORK_DIR]   (default: a fresh temporary directory)
# Uses $CARGO_TARGET_DIR when set (CI points it at its cache; dependencies whose versions match the
# workspace's are then reused), else WORK_DIR/target.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$(mktemp -d)}"
crate="$work/downstream-user"
rm -rf "$crate"
mkdir -p "$crate/src"

cat > "$crate/Cargo.toml" <<TOML
[package]
name = "downstream-user"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
ssl-distill-models = { path = "$repo/crates/ssl-distill-models" }
ssl-distill-audio = { path = "$repo/crates/ssl-distill-audio" }
burn = { version = "0.22", features = ["flex"] }

[profile.dev.package."*"]
opt-level = 3
TOML
cp "$repo/tools/downstream/main.rs" "$crate/src/main.rs"

cd "$crate"
test ! -e Cargo.lock || { echo "downstream: unexpected Cargo.lock" >&2; exit 1; }
echo "downstream: building $crate (no lock file; newest compatible dependencies)"
cargo build --quiet
echo "downstream: burn resolved to $(cargo tree -i burn --depth 0 2>/dev/null | head -1)"
cargo run --quiet -- "$repo/assets/mini-hubert" "$repo/assets/hello-22khz.wav"

#!/usr/bin/env bash
# Writes the probe fixtures, the real benchmarks' layouts made from the bundled synthetic corpus
# (assets/demo-corpus), to DIR so they can be looked at or probed by hand:
#   DIR/speech_commands/  Speech Commands v0.01 (ks)
#   DIR/voxceleb1/        VoxCeleb1 with iden_split.txt (sid)
#   DIR/LibriSpeech/      train-clean-100 / dev-clean / test-clean + lexicon.txt (asr, pr)
# The tests write the same trees into temporary directories (see
# crates/ssl-distill-probe/tests/it/real_layouts.rs); nothing binary is committed.
#
# Usage: tools/probe-layouts.sh DIR
#   then e.g. ssl-distill probe --model assets/mini-hubert --task ks --data DIR/speech_commands --out runs/ks
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
# --workspace, as everywhere here: `-p` would resolve burn's features differently and rebuild it.
PROBE_LAYOUTS_OUT="$out" cargo test --workspace --test it write_real_layouts_to \
    -- --ignored --nocapture

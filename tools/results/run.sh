#!/usr/bin/env bash
# Regenerates docs/results.md: the science check of issue 5. Every recipe of recipes/study/
# (DistilHuBERT, deep-narrow vs shallow-wide, Wang et al.'s regression / disc / disc+Fbank,
# DPHuBERT vs SKILL pruning, GenDistiller vs its non-autoregressive baseline) is distilled from
# the bundled mini teacher on the `small` synthetic corpus (2000 utterances, 2 h); the teacher,
# its random-init twin and every student are probed on PR / SID / KS on the `probe` corpus (a
# second synthetic corpus, seed 1: 24 speakers, 240 / 60 / 120 utterances, 240 / 60 / 120
# keyword clips); `ssl-distill study` compares each paper's claim with the numbers and writes
# the report.
#
#   tools/results/run.sh                 # everything: ~1 h 50 min on 2 CPU cores (flex), 1 h 33 min with FEATURES=tch DEVICE=tch; resumable
#   STEPS=300 PROBE_EPOCHS=1 tools/results/run.sh   # every recipe 300 steps, full probe budgets
#   (tch needs libtorch 2.9 and its environment variables: docs/backends.md; a separate
#   CARGO_TARGET_DIR keeps the flex build.)
#
# Defaults: each recipe's own steps (150 of batch 8 x 2 s; the pruning ones 4050 of 2 x 0.5 s)
# and half the probes' default epochs (PR 15, SID 30, KS 30).
#
# Needs espeak-ng (libespeak-ng-dev, wordnet-base: .ci/apt-packages) to synthesise the corpus
# the first time. Everything finished is kept in OUT (runs/study): run it again after an
# interruption and it continues; delete OUT/probes or OUT/distill/<recipe> to redo a piece.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CORPUS=${CORPUS:-runs/corpus-small}
PROBE_DATA=${PROBE_DATA:-runs/corpus-probe}
OUT=${OUT:-runs/study}
STEPS=${STEPS:-}
PROBE_EPOCHS=${PROBE_EPOCHS:-0.5}
SEED=${SEED:-0}
DEVICE=${DEVICE:-cpu}
FEATURES=${FEATURES:-}

cargo build --release -p ssl-distill-cli ${FEATURES:+--features "$FEATURES"}
BIN=$CARGO_TARGET_DIR/release/ssl-distill

if [ ! -f "$CORPUS/train.jsonl" ]; then
  "$BIN" corpus synth --preset small --seed 0 --format flac --out "$CORPUS"
fi
if [ ! -f "$PROBE_DATA/train.jsonl" ]; then
  "$BIN" corpus synth --preset probe --seed 1 --format flac --out "$PROBE_DATA"
fi

"$BIN" study --data "$CORPUS" --probe-data "$PROBE_DATA" ${STEPS:+--steps "$STEPS"} \
  --probe-epochs "$PROBE_EPOCHS" --seed "$SEED" --device "$DEVICE" --out "$OUT" \
  --doc docs/results.md

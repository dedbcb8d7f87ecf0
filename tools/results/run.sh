#!/usr/bin/env bash
# Regenerates docs/results.md: the science check of issue 5. Every recipe of recipes/study/
# (DistilHuBERT, deep-narrow vs shallow-wide, Wang et al.'s regression / disc / disc+Fbank,
# DPHuBERT vs SKILL pruning, GenDistiller vs its non-autoregressive baseline) is distilled from
# the bundled mini teacher on the `small` synthetic corpus (2000 utterances, 2 h); the teacher,
# its random-init twin and every student are probed on PR / SID / KS on the `probe` corpus (a
# second synthetic corpus, seed 1: 24 speakers, 240 / 60 / 600 utterances, 240 / 60 / 600
# keyword clips; 38 s to synthesise); all of it on SEEDS seeds (3), and `ssl-distill study`
# judges each paper's claim with paired statistics over the seeds and writes the report.
#
#   FEATURES=tch DEVICE=tch tools/results/run.sh   # the budget below; resumable
#   tools/results/run.sh                           # flex: about 1.2x the tch time
#   (tch needs libtorch 2.9 and its environment variables: docs/backends.md; a separate
#   CARGO_TARGET_DIR keeps the flex build.)
#
# Budget (2 CPU cores, tch), estimated from the one-seed run of 2026-12-05 (37 min distilling,
# 56 min probing 12 models at PROBE_EPOCHS=0.5 with 120-utterance test sets): per seed, the 8
# students of 150 steps distil in ~17 min and the 2 pruning students (4050 steps) in ~20 min; a
# probe costs ~4.2 min of training per model at 0.5 and ~0.9 min of feature extraction with the
# larger test sets. Three seeds of everything at 0.5 would take ~5 h, so this script cuts:
# PROBE_EPOCHS=0.25 (PR 8, SID 15, KS 15 epochs: ~3.0 min per model and seed), and the pruning
# pair (dphubert, skill) on the first seed only (SINGLE_SEED). Estimate: seed 0 ~73 min
# (37 + 12 x 3.0), seeds 1 and 2 ~47 min each (17 + 10 x 3.0): ~2 h 50 min on a busy machine
# like the one of the last run, about 2 h 30 min if its slowest pieces (distilhubert 4.8 min
# vs 1.5 for the same-size wang-regression; dphubert 13 min vs 6.6 for skill) were contention.
# Measured (2026-12-06, tch, these settings): 48 min distilling + 94 min probing = 2 h 22 min.
# Keep SEEDS at 3 or more (with 2 the seed spread has one degree of freedom: t = 12.7); to cut
# further, lower PROBE_EPOCHS (PR dominates probing) or add recipes to SINGLE_SEED.
# Each piece's time is in OUT/results.json (per model and seed): the next estimate can use them.
#
# Defaults: each recipe's own steps (150 of batch 8 x 2 s; the pruning ones 4050 of 2 x 0.5 s).
# Needs espeak-ng (libespeak-ng1, espeak-ng-data, wordnet-base: tools/test-packages) to synthesise the corpora
# the first time. Everything finished is kept in OUT (runs/study) with a key of what made it:
# run it again after an interruption and it continues; change a flag and what it changes is
# made again.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CORPUS=${CORPUS:-runs/corpus-small}
# A new directory name for the 600-utterance test split: an older runs/corpus-probe (120) is not
# reused by mistake.
PROBE_DATA=${PROBE_DATA:-runs/corpus-probe-600}
OUT=${OUT:-runs/study}
STEPS=${STEPS:-}
PROBE_EPOCHS=${PROBE_EPOCHS:-0.25}
SEED=${SEED:-0}
SEEDS=${SEEDS:-3}
SINGLE_SEED=${SINGLE_SEED-dphubert,skill}
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
  --probe-epochs "$PROBE_EPOCHS" --seed "$SEED" --seeds "$SEEDS" \
  ${SINGLE_SEED:+--single-seed "$SINGLE_SEED"} --device "$DEVICE" --out "$OUT" \
  --doc docs/results.md

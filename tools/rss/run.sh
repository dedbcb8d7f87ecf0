#!/usr/bin/env bash
# Long-run memory stability of `ssl-distill distill` (issue 7, part 4).
#
# Runs STEPS (2000) small distillation steps with the release binary, by default on the tiny
# teacher and tones of tests/bad_inputs/good (3 x 8 HuBERT, 1-layer student, batch 2 x 0.25 s;
# TEACHER, DATA, RECIPE and EXTRA choose others), with a checkpoint every EVERY (100) steps
# (keep_last_n = 3, so old ones are pruned). The training
# loop writes the process's resident set size (`rss_mib`, from /proc/self/status) into every
# metrics.jsonl row; this script logs a row every EVERY steps, writes step,rss_mib,sec_per_step
# to OUT/rss.csv and prints the growth of RSS after the warm-up (WARMUP, 500 steps): goal flat,
# under 5 %. Linux only (VmRSS).
#
#   tools/rss/run.sh                      # CSV in $CARGO_TARGET_DIR/rss/rss.csv
#   STEPS=4000 EVERY=200 tools/rss/run.sh
#   # the bundled 4 x 256 mini teacher on the demo corpus, DistilHuBERT's recipe:
#   TEACHER=assets/mini-hubert DATA=assets/demo-corpus/train.jsonl \
#     RECIPE=recipes/distilhubert.toml EXTRA="--batch-size 2 --crop-seconds 0.5" tools/rss/run.sh
#
# Exit status 1 when the growth is 5 % or more.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STEPS=${STEPS:-2000}
EVERY=${EVERY:-100}
WARMUP=${WARMUP:-500}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${OUT:-$CARGO_TARGET_DIR/rss}
GOOD=$ROOT/tests/bad_inputs/good
TEACHER=${TEACHER:-$GOOD/teacher}
DATA=${DATA:-$GOOD/data}
RECIPE=${RECIPE:-$GOOD/recipe.toml}
EXTRA=${EXTRA:-}

cargo build --release -p ssl-distill-cli --manifest-path "$ROOT/Cargo.toml"
BIN=$CARGO_TARGET_DIR/release/ssl-distill

rm -rf "$OUT"
mkdir -p "$OUT"
sed -e "s/^log_every = .*/log_every = $EVERY/" \
    -e "s/^checkpoint_every = .*/checkpoint_every = $EVERY/" \
    "$RECIPE" > "$OUT/recipe.toml"
grep -q "^log_every = $EVERY" "$OUT/recipe.toml"
grep -q "^checkpoint_every = $EVERY" "$OUT/recipe.toml"

start=$(date +%s)
# shellcheck disable=SC2086 # EXTRA holds several flags
"$BIN" --log warn distill --recipe "$OUT/recipe.toml" --teacher "$TEACHER" \
    --data "$DATA" --out "$OUT/run" --max-steps "$STEPS" --seed 1 $EXTRA
took=$(( $(date +%s) - start ))

# metrics.jsonl -> CSV (one row per logged step).
awk -v out="$OUT/rss.csv" '
    BEGIN { print "step,rss_mib,sec_per_step" > out }
    {
        step = ""; rss = ""; sps = ""
        if (match($0, /"step":[0-9]+/)) step = substr($0, RSTART + 7, RLENGTH - 7)
        if (match($0, /"rss_mib":[0-9.eE+-]+/)) rss = substr($0, RSTART + 10, RLENGTH - 10)
        if (match($0, /"sec_per_step":[0-9.eE+-]+/)) sps = substr($0, RSTART + 15, RLENGTH - 15)
        if (step != "" && rss != "") print step "," rss "," sps > out
    }' "$OUT/run/metrics.jsonl"

cat "$OUT/rss.csv"
awk -F, -v warm="$WARMUP" -v took="$took" '
    NR == 1 { next }
    { last_step = $1; last = $2; if ($2 > peak) peak = $2 }
    $1 >= warm && base == "" { base = $2; base_step = $1 }
    $1 >= warm { if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2 }
    END {
        if (base == "") { print "no row at or after the warm-up step " warm; exit 2 }
        growth = 100 * (last - base) / base
        spread = 100 * (max - min) / base
        printf "%d steps in %d s; RSS %.1f MiB at step %d -> %.1f MiB at step %d: %+.2f %% (range after warm-up %.2f %%, peak %.1f MiB)\n", \
            last_step, took, base, base_step, last, last_step, growth, spread, peak
        exit (growth >= 5 ? 1 : 0)
    }' "$OUT/rss.csv"

#!/usr/bin/env bash
# Teacher vs its random-init twin on several independent probe corpora: the `probe` preset with
# corpus seeds 1..N (each seed: 24 new speakers, new texts, 240 / 60 / 600 utterances; 120 test
# utterances before the preset grew its test split), the same probe budget as the study (half
# the default epochs), probe seed 0. One probe corpus is one draw of 24 voices, whose spread a
# bigger test split does not remove; this pools N of them and reports the per-seed numbers,
# their mean and the paired difference.
#
#   tools/results/twin-seeds.sh                      # SID, seeds 1-5: 9 min on 2 cores (flex, 120-utterance test splits)
#   TASKS="sid ks" SEEDS="1 2 3 4 5 6 7 8" tools/results/twin-seeds.sh
#
# Needs the twin the study writes (runs/study/twin: tools/results/run.sh, or any `ssl-distill
# study` run with the same teacher), espeak-ng for the corpora, and python3 for the table.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TEACHER=${TEACHER:-assets/mini-hubert}
TWIN=${TWIN:-runs/study/twin}
OUT=${OUT:-runs/twin-seeds}
TASKS=${TASKS:-sid}
SEEDS=${SEEDS:-1 2 3 4 5}
DEVICE=${DEVICE:-cpu}
FEATURES=${FEATURES:-}
# Half of `ssl-distill probe`'s default epochs (PR 30, SID 60, KS 60), as the study's
# `--probe-epochs 0.5`: keep in step with ProbeConfig::new.
declare -A EPOCHS=([pr]=15 [sid]=30 [ks]=30)

if [ ! -f "$TWIN/model.safetensors" ]; then
  echo "error: no random-init twin at $TWIN: run tools/results/run.sh first (it writes" \
    "runs/study/twin), or point TWIN at one" >&2
  exit 1
fi
cargo build --release -p ssl-distill-cli ${FEATURES:+--features "$FEATURES"}
BIN=$CARGO_TARGET_DIR/release/ssl-distill

for seed in $SEEDS; do
  data=$OUT/corpus-$seed
  if [ ! -f "$data/train.jsonl" ]; then
    "$BIN" corpus synth --preset probe --seed "$seed" --format flac --out "$data"
  fi
  for task in $TASKS; do
    for model in teacher twin; do
      dir=$OUT/probes/$seed/$model
      [ -f "$dir/probe-$task.json" ] && continue
      path=$TEACHER
      [ "$model" = twin ] && path=$TWIN
      "$BIN" probe --model "$path" --task "$task" --data "$data" --out "$dir" \
        --epochs "${EPOCHS[$task]}" --seed 0 --device "$DEVICE"
    done
  done
done

python3 - "$OUT" "$TASKS" "$SEEDS" <<'EOF'
import json, math, sys
out, tasks, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
for task in tasks:
    rows = []
    for seed in seeds:
        r = {m: json.load(open(f"{out}/probes/{seed}/{m}/probe-{task}.json")) for m in ("teacher", "twin")}
        rows.append((seed, r["teacher"]["value"], r["twin"]["value"], r["teacher"]["data"]["utterances"][2]))
    metric = "PER (lower is better)" if task == "pr" else "accuracy"
    print(f"\n{task}: test {metric}, teacher vs random-init twin")
    print("| corpus seed | test utts | teacher | twin | teacher - twin |")
    print("|---|---|---|---|---|")
    for seed, t, w, n in rows:
        print(f"| {seed} | {n} | {t:.3f} | {w:.3f} | {t - w:+.3f} |")
    d = [t - w for _, t, w, _ in rows]
    k = len(d)
    mean = sum(d) / k
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (k - 1)) if k > 1 else float("nan")
    pooled_t = sum(t * n for _, t, _, n in rows) / sum(n for *_, n in rows)
    pooled_w = sum(w * n for _, _, w, n in rows) / sum(n for *_, n in rows)
    print(f"| pooled | {sum(n for *_, n in rows)} | {pooled_t:.3f} | {pooled_w:.3f} | "
          f"{mean:+.3f} ± {sd / math.sqrt(k):.3f} (mean ± s.e. over {k} corpora) |")
EOF

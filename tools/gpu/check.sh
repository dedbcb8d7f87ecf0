#!/usr/bin/env bash
# CUDA through libtorch, checked on a machine with an NVIDIA GPU. NOT RUN on the development
# machine (it has no GPU): written and type-checked there, so treat its first run as a test of
# the script too.
#
# Needs: an NVIDIA GPU + driver; a Python whose torch is a CUDA build of torch 2.9 (burn-tch 0.22
# builds against libtorch 2.9), with transformers and soundfile:
#     python3 -m venv /opt/torch29 && /opt/torch29/bin/pip install torch==2.9.0 transformers soundfile
#     PYTHON=/opt/torch29/bin/python tools/gpu/check.sh
#
# It builds the CLI with `--features tch`, then:
#   1. `features --device tch-cuda` on a random HuBERT Base vs transformers on CUDA (<= 1e-3);
#   2. the whole-process DistilHuBERT job on tch-cuda vs PyTorch CUDA (tools/bench/distill_process.py;
#      timed, not a pass/fail check);
#   3. with 2+ GPUs: `distill --num-devices 2 --batch-size B` vs `--num-devices 1 --batch-size 2B`,
#      the students' weights after 3 steps (<= 1e-4).
# Prints one table; exits non-zero when a check fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-python3}"
work="${WORK:-$(mktemp -d)}"
mkdir -p "$work"
declare -a rows=()
failed=0
row() { rows+=("$(printf '| %-44s | %-28s | %-6s |' "$1" "$2" "$3")"); [ "$3" != FAIL ] || failed=1; }

command -v nvidia-smi >/dev/null 2>&1 || { echo "check.sh: no nvidia-smi: this needs an NVIDIA GPU" >&2; exit 2; }
gpus=$(nvidia-smi -L | grep -c '^GPU ')
"$PYTHON" - <<'PY' || { echo "check.sh: $PYTHON needs a CUDA build of torch 2.9 with transformers and soundfile" >&2; exit 2; }
import torch, transformers, soundfile
assert torch.__version__.startswith("2.9"), torch.__version__
assert torch.cuda.is_available(), "torch sees no CUDA device"
PY
torch_lib=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')

echo "check.sh: building ssl-distill with tch (libtorch from $PYTHON)"
PATH="$(dirname "$PYTHON"):$PATH" LIBTORCH_USE_PYTORCH=1 cargo build --release -q -p ssl-distill-cli --features tch
bin="$(cargo metadata --format-version 1 --no-deps | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/ssl-distill"
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# 1. features on CUDA vs transformers on CUDA.
"$PYTHON" tools/gpu/hf_features.py make "$work"
"$bin" features --model "$work/teacher" --audio "$work/clip.wav" --device tch-cuda --out "$work/ours.safetensors"
if d=$("$PYTHON" tools/gpu/hf_features.py compare "$work/ref.safetensors" "$work/ours.safetensors" 1e-3); then
  row "features tch-cuda vs transformers CUDA" "max |diff| $d (<= 1e-3)" ok
else
  row "features tch-cuda vs transformers CUDA" "max |diff| $d (<= 1e-3)" FAIL
fi

# 2. The whole-process distillation job, timed against PyTorch CUDA.
if "$PYTHON" tools/bench/distill_process.py --device tch-cuda --binary "$bin" --work "$work/bench" \
     --reps 3 --steps 20 --batch 8 --seconds 4 --json "$work/bench.json" | tee "$work/bench.txt"; then
  ratio=$("$PYTHON" -c 'import json,sys; print(f"{json.load(open(sys.argv[1]))["ratio"]:.2f}")' "$work/bench.json")
  row "distill job (20 steps, 8 x 4 s) vs PyTorch CUDA" "ours/PyTorch $ratio (median of 3)" info
else
  row "distill job (20 steps, 8 x 4 s) vs PyTorch CUDA" "did not run (see above)" FAIL
fi

# 3. Two GPUs x batch b == one GPU x batch 2b.
if [ "$gpus" -ge 2 ]; then
  for n in 1 2; do
    rm -rf "$work/dp$n"
    "$bin" distill --recipe recipes/distilhubert.toml --teacher "$work/teacher" --data "$work/bench/train.tsv" \
      --out "$work/dp$n" --max-steps 3 --batch-size $((8 / n)) --crop-seconds 2 --seed 0 \
      --device tch-cuda --num-devices "$n" >/dev/null
  done
  if d=$("$PYTHON" tools/gpu/hf_features.py weights "$work/dp1/student/model.safetensors" "$work/dp2/student/model.safetensors" 1e-4); then
    row "2 GPUs x batch 4 == 1 GPU x batch 8 (3 steps)" "max |weight diff| $d" ok
  else
    row "2 GPUs x batch 4 == 1 GPU x batch 8 (3 steps)" "max |weight diff| $d" FAIL
  fi
else
  row "2 GPUs x batch 4 == 1 GPU x batch 8" "skipped: $gpus GPU" info
fi

echo
echo "| check | result | status |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
echo "(GPUs: $(nvidia-smi --query-gpu=name --format=csv,noheader | sort | uniq -c | xargs); work dir $work)"
exit "$failed"

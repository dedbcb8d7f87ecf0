#!/usr/bin/env bash
# The same code on wgpu: runs the CLI on Mesa's Vulkan driver for the CPU (lavapipe), which is
# slow but a conformant Vulkan implementation, so it shows correctness on a machine without a GPU.
#
# Usage: tools/backends/wgpu-check.sh [WORK_DIR]   (default: a fresh temporary directory)
#   PROFILE=release builds and runs the release binary instead of the dev one (dev has every
#   dependency at opt-level 3; lavapipe, not our code, is the bottleneck here).
#   ADAPTER=default runs on the adapter wgpu picks by itself (a GPU when there is one) instead of
#   lavapipe, and skips step 1 (not run yet: this machine has no GPU).
#
# 1. Installs lavapipe (Debian's mesa-vulkan-drivers + libvulkan1) when its ICD is missing, with
#    apt-get as root or through passwordless sudo; otherwise stops and prints the command.
# 2. Builds the CLI with `--features ssl-distill-cli/wgpu` and its helper binary `backend-compare`
#    (feature `backend-compare`; tools/backends/compare.rs: makes the inputs, compares outputs; no
#    Python needed). The same binary has flex (the default feature), the check's reference.
# 3. On lavapipe only (VK_ICD_FILENAMES / VK_DRIVER_FILES name its ICD; cubecl's
#    CUBECL_WGPU_DEFAULT_DEVICE=Cpu picks the CPU adapter), with flex in the same binary:
#    a. `features --device wgpu` on the transformers fixtures of every family
#       (crates/ssl-distill-models/tests/fixtures, tools/reference/models.py): every hidden state
#       and the CNN features within 1e-4; the padded fixtures through `--data` (a batch of two
#       unequal lengths, attention masks on the device);
#    b. a tiny DistilHuBERT run (tools/backends/tiny-distill.toml, toy 4-layer teacher): flex runs
#       steps 1-5; wgpu resumes flex's step-1 checkpoint and runs steps 2-5; the losses of steps
#       2-5 within 1e-4. The runs start from flex's checkpoint because a student's random heads are
#       drawn from the device's RNG, which is a different generator on each backend (the
#       models have no dropout, and data order and crops are drawn on the host);
#    c. a fresh wgpu run (steps 1-5) and the same run stopped after step 2 and resumed
#       (`--resume`): the same losses and final weights, within 1e-6.
# Prints one table; exits 1 when a check fails, 2 when the check cannot run.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/lib/apt-install.sh
repo="$(pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
profile="${PROFILE:-dev}"

# 1. lavapipe (or, with ADAPTER=default, whatever adapter wgpu picks: a GPU when there is one).
adapter="${ADAPTER:-lavapipe}"
lavapipe_icd() { ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null | head -1 || true; }
install_lavapipe() {
  apt_install_missing wgpu-check 2 "Mesa's lavapipe Vulkan driver and the Vulkan loader" mesa-vulkan-drivers libvulkan1
}
case "$adapter" in
  lavapipe)
    [ -n "$(lavapipe_icd)" ] || install_lavapipe
    icd=$(lavapipe_icd)
    [ -n "$icd" ] || { echo "wgpu-check: no lavapipe ICD (/usr/share/vulkan/icd.d/lvp_icd.*.json)" >&2; exit 2; }
    export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd" CUBECL_WGPU_DEFAULT_DEVICE=Cpu
    adapter_info="lavapipe: $(dpkg-query -W -f='mesa-vulkan-drivers ${Version}' mesa-vulkan-drivers 2>/dev/null || echo 'Mesa'), ICD $icd"
    if command -v vulkaninfo >/dev/null 2>&1; then
      adapter_info="$adapter_info, $(vulkaninfo --summary 2>/dev/null | grep -m1 'deviceName' | sed 's/.*= *//' || true)"
    fi
    ;;
  default) adapter_info="wgpu's default adapter" ;;
  *) echo "wgpu-check: ADAPTER is lavapipe (the default) or default, not \`$adapter\`" >&2; exit 2 ;;
esac

# 2. Build.
t0=$SECONDS
echo "wgpu-check: building ssl-distill with wgpu ($profile profile; 25+ minutes cold on 2 cores)"
release=()
[ "$profile" = release ] && release=(--release)
cargo build -q --locked "${release[@]}" --workspace --bin ssl-distill --bin backend-compare \
  --features ssl-distill-cli/wgpu,ssl-distill-cli/backend-compare
target="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)}"
dir="$target/$([ "$profile" = release ] && echo release || echo debug)"
bin="$dir/ssl-distill"
cmp="$dir/backend-compare"
build_s=$((SECONDS - t0))

declare -a rows=()
failed=0
# row CHECK RESULT STATUS SECONDS
row() {
  rows+=("$(printf '| %-52s | %-64s | %-4s | %5s |' "${1//|/\\|}" "${2//|/\\|}" "$3" "$4")")
  [ "$3" = ok ] || failed=1
}
# fail_row NAME ERR_FILE SECONDS_SINCE: a failed step's row, with the last line of its stderr.
fail_row() {
  row "$1" "$(tail -1 "$2" | cut -c1-64)" FAIL "$((SECONDS - $3))"
}
# losses_of RUN_DIR: the losses of a distill run's metrics.jsonl, comma-separated.
losses_of() {
  grep -o '"loss":[0-9.e-]*' "$1/metrics.jsonl" | cut -d: -f2 | cut -c1-7 | xargs | tr ' ' ','
}
# check NAME SECONDS_SINCE -- COMMAND...: a comparison's one line into the table.
check() {
  local name="$1" since="$2"
  shift 3
  local out status=ok
  out=$("$@" 2>&1) || status=FAIL
  row "$name" "$(echo "$out" | tail -1)" "$status" "$((SECONDS - since))"
}
# ours LOG COMMAND...: runs the CLI, its stderr to LOG; on failure, the error into the table.
ours() {
  local log="$1"
  shift
  if ! "$bin" "$@" 2>"$log"; then
    # The last error line of ours (not the Vulkan/EGL probing's XDG_RUNTIME_DIR noise), else the
    # log's tail (a panic).
    grep '^error' "$log" | grep -v XDG_RUNTIME_DIR | tail -1 | grep . >&2 || tail -3 "$log" >&2
    return 1
  fi
}

fixtures="$repo/crates/ssl-distill-models/tests/fixtures"

# 3a. features vs transformers.
for case in hubert_tiny hubert_tiny_preln wavlm_tiny wavlm_tiny_preln wav2vec2_tiny; do
  t=$SECONDS
  "$cmp" wav "$fixtures/$case/io.safetensors" "$work/in/$case"
  out="$work/features/$case.safetensors"
  mkdir -p "$work/features"
  if ours "$work/features/$case.log" features --model "$fixtures/$case" --audio "$work/in/$case/row0.wav" \
       --out "$out" --device wgpu 2>"$work/features/$case.err"; then
    check "features --audio, $case vs transformers (1e-4)" "$t" -- \
      "$cmp" features "$fixtures/$case/io.safetensors" "$out" 1e-4
  else
    fail_row "features --audio, $case vs transformers (1e-4)" "$work/features/$case.err" "$t"
  fi
done
for case in hubert_tiny_preln_padded wavlm_tiny_preln_padded; do
  t=$SECONDS
  "$cmp" wav "$fixtures/$case/io.safetensors" "$work/in/$case"
  out="$work/features/$case"
  rm -rf "$out"
  if ours "$work/features/$case.log" features --model "$fixtures/$case" --data "$work/in/$case/rows.tsv" \
       --out "$out" --batch-size 2 --device wgpu 2>"$work/features/$case.err"; then
    check "features --data (padded batch of 2), $case (1e-4)" "$t" -- \
      "$cmp" features "$fixtures/$case/io.safetensors" "$out" 1e-4
  else
    fail_row "features --data (padded batch of 2), $case (1e-4)" "$work/features/$case.err" "$t"
  fi
done

# 3b/3c. distillation.
"$cmp" toy "$work/toy" 4
distill() { # OUT DEVICE EXTRA...
  local out="$1" device="$2"
  shift 2
  ours "$out.log" distill --recipe tools/backends/tiny-distill.toml --teacher "$work/toy/teacher" \
    --data "$work/toy/audio/train.tsv" --out "$out" --seed 5 --device "$device" "$@"
}
rm -rf "$work/flex" "$work/flex-1" "$work/wgpu-from-flex" "$work/wgpu" "$work/wgpu-split"
t=$SECONDS
if distill "$work/flex" cpu 2>"$work/flex.err" && distill "$work/flex-1" cpu --stop-after 1 2>>"$work/flex.err"; then
  row "distill on flex: steps 1-5, and stopped after step 1" "losses $(losses_of "$work/flex")" ok $((SECONDS - t))
else
  fail_row "distill on flex" "$work/flex.err" "$t"
fi
t=$SECONDS
cp -r "$work/flex-1" "$work/wgpu-from-flex"
if distill "$work/wgpu-from-flex" wgpu --resume 2>"$work/wgpu-from-flex.err"; then
  check "wgpu resumes flex's step 1: losses 2-5 vs flex (1e-4)" "$t" -- \
    "$cmp" losses "$work/flex/metrics.jsonl" "$work/wgpu-from-flex/metrics.jsonl" 2 5 1e-4
  t=$SECONDS
  check "  its student after step 5 vs flex's (1e-3)" "$t" -- \
    "$cmp" weights "$work/flex/student/model.safetensors" "$work/wgpu-from-flex/student/model.safetensors" 1e-3
else
  fail_row "wgpu resumes flex's step 1 (steps 2-5)" "$work/wgpu-from-flex.err" "$t"
fi
t=$SECONDS
if distill "$work/wgpu" wgpu 2>"$work/wgpu.err"; then
  row "distill on wgpu from scratch: steps 1-5" "losses $(losses_of "$work/wgpu")" ok $((SECONDS - t))
  t=$SECONDS
  if distill "$work/wgpu-split" wgpu --stop-after 2 2>"$work/wgpu-split.err" \
     && distill "$work/wgpu-split" wgpu --resume 2>>"$work/wgpu-split.err"; then
    check "wgpu stopped after 2 + --resume: losses 1-5 (1e-6)" "$t" -- \
      "$cmp" losses "$work/wgpu/metrics.jsonl" "$work/wgpu-split/metrics.jsonl" 1 5 1e-6
    t=$SECONDS
    check "  its student vs the uninterrupted run's (1e-6)" "$t" -- \
      "$cmp" weights "$work/wgpu/student/model.safetensors" "$work/wgpu-split/student/model.safetensors" 1e-6
  else
    fail_row "wgpu stopped after 2 + --resume" "$work/wgpu-split.err" "$t"
  fi
else
  fail_row "distill on wgpu from scratch" "$work/wgpu.err" "$t"
fi

echo
echo "| check | result | status | s |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo "($adapter_info;" \
  "build ${build_s} s, checks $((SECONDS - t0 - build_s)) s; $(date -u +%Y-%m-%d); work dir $work)"
exit "$failed"

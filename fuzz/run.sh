#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each and prints, per target, the executions, exec/s, corpus
# size and any crash/leak/timeout/OOM file libFuzzer wrote.
#
#   fuzz/run.sh SECONDS            # every target, one after another
#   JOBS=2 fuzz/run.sh 600         # two targets at a time
#   TARGETS="wav flac" fuzz/run.sh 60
#
# Needs the nightly toolchain; installs cargo-fuzz when `cargo +nightly fuzz` is missing. Seeds
# the corpora with fuzz/seed.sh, builds all targets once (ASan, debug assertions and overflow
# checks on: cargo-fuzz's defaults), then runs the binaries with -rss_limit_mb=2048 (also the
# malloc limit), -timeout=10 and the target's dictionary fuzz/dicts/<target>.dict if any.
# Logs: fuzz/logs/<target>.log; crashes: fuzz/artifacts/<target>/.
set -euo pipefail
seconds="${1:?usage: fuzz/run.sh SECONDS}"
jobs="${JOBS:-1}"
fuzz="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz"
all_targets=(wav flac manifest_tsv manifest_jsonl hf_config safetensors recipe fairseq_cfg)
read -r -a targets <<< "${TARGETS:-${all_targets[*]}}"

if ! cargo +nightly fuzz --version > /dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz"
    cargo install cargo-fuzz
fi

./seed.sh > /dev/null
echo "building ${#all_targets[@]} targets (the first build compiles burn with ASan: 15+ min)"
cargo +nightly fuzz build
bin_dir="$fuzz/target/x86_64-unknown-linux-gnu/release"
mkdir -p logs

run_one() {
    local t="$1"
    mkdir -p "artifacts/$t"
    touch "logs/$t.start"
    local start
    start="$(date +%s)"
    local dict=()
    if [[ -f "dicts/$t.dict" ]]; then
        dict=("-dict=dicts/$t.dict")
    fi
    set +e
    "$bin_dir/$t" "corpus/$t" "${dict[@]}" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" > "logs/$t.log" 2>&1
    local rc=$?
    set -e
    echo "$rc $(( $(date +%s) - start ))" > "logs/$t.rc"
}

# Up to $jobs targets at a time.
running=0
for t in "${targets[@]}"; do
    echo "$(date +%H:%M:%S) fuzzing $t for ${seconds}s"
    run_one "$t" &
    running=$((running + 1))
    if (( running >= jobs )); then
        wait -n
        running=$((running - 1))
    fi
done
wait

printf '\n%-15s %8s %12s %8s %8s %10s  %s\n' target seconds executions exec/s corpus peak_MB \
    "crashes (artifacts)"
failed=0
for t in "${targets[@]}"; do
    read -r rc elapsed < "logs/$t.rc"
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | awk '{print $2}' | tail -n 1)"
    if [[ -z "$execs" ]]; then
        # No final stats (killed): the last status line's "#N".
        execs="$(grep -o '^#[0-9]*' "logs/$t.log" | tr -d '#' | tail -n 1)"
    fi
    rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "logs/$t.log" | awk '{print $2}' | tail -n 1)"
    peak="$(grep -o 'stat::peak_rss_mb: *[0-9]*' "logs/$t.log" | awk '{print $2}' | tail -n 1)"
    corpus_files="$(find "corpus/$t" -type f | wc -l)"
    # Only what this run wrote: earlier runs' artifacts stay as regression inputs.
    crashes="$(find "artifacts/$t" -type f -newer "logs/$t.start" | sort | tr '\n' ' ')"
    if [[ "$rc" != 0 || -n "$crashes" ]]; then
        failed=1
        crashes="exit $rc: ${crashes:-no artifact} (see fuzz/logs/$t.log)"
    fi
    printf '%-15s %8s %12s %8s %8s %10s  %s\n' "$t" "$elapsed" "${execs:-?}" "${rate:-?}" \
        "$corpus_files" "${peak:-?}" "${crashes:-none}"
done
exit "$failed"

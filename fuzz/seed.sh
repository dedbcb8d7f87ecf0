#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds: the small hand-made ones committed under
# fuzz/seeds/<target>/ plus copies of the repository's own fixtures (demo-corpus FLACs and
# manifests, model configs and safetensors fixtures, recipes, the bad-input corpus). Existing corpus entries are kept,
# so a corpus grown by earlier runs keeps growing. Usage: fuzz/seed.sh
set -euo pipefail
fuzz="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$fuzz")"
corpus="$fuzz/corpus"

targets=(wav flac manifest_tsv manifest_jsonl hf_config safetensors recipe fairseq_cfg)
for t in "${targets[@]}"; do
    mkdir -p "$corpus/$t"
    if [[ -d "$fuzz/seeds/$t" ]]; then
        cp -n "$fuzz/seeds/$t"/* "$corpus/$t/"
    fi
done

# copy TARGET FILE...: copies each file under a name that keeps its origin readable.
copy() {
    local target="$1"
    shift
    for f in "$@"; do
        [[ -f "$f" ]] || continue
        local rel="${f#"$repo"/}"
        cp -n "$f" "$corpus/$target/${rel//\//_}"
    done
}

# FLAC: the three smallest keyword clips of the demo corpus (~11 kB each, 16-bit mono).
mapfile -t flacs < <(find "$repo/assets/demo-corpus" -name '*.flac' -printf '%s %p\n' \
    | sort -n | head -n 3 | cut -d' ' -f2-)
copy flac "${flacs[@]}"

# JSONL: the keyword-spotting manifests whole, the first lines of the big ones (the `align`
# field makes full lines long).
copy manifest_jsonl "$repo"/assets/demo-corpus/ks/*.jsonl
for f in "$repo"/assets/demo-corpus/*.jsonl; do
    head -n 4 "$f" > "$corpus/manifest_jsonl/head4_$(basename "$f")"
done

# TSV: a fairseq manifest of the demo corpus's paths (the repository commits none).
{
    echo "$repo/assets/demo-corpus"
    find "$repo/assets/demo-corpus/ks" -name '*.flac' | sort | head -n 8 \
        | sed "s|^$repo/assets/demo-corpus/||; s|\$|\t16000|"
} > "$corpus/manifest_tsv/demo_ks.tsv"

# HF config.json: the mini teacher and every model test fixture.
copy hf_config "$repo/assets/mini-hubert/config.json" \
    "$repo"/crates/ssl-distill-models/tests/fixtures/*/config.json

# safetensors: the tiny HuBERT fixtures (the architecture the target loads into) and a WavLM
# one (other keys: unexpected-tensor paths).
copy safetensors "$repo"/crates/ssl-distill-models/tests/fixtures/hubert_tiny/model.safetensors \
    "$repo"/crates/ssl-distill-models/tests/fixtures/hubert_tiny_preln/model.safetensors \
    "$repo"/crates/ssl-distill-models/tests/fixtures/wavlm_tiny/model.safetensors

# Recipes: every distillation and pretraining recipe.
copy recipe "$repo"/recipes/*.toml

# The bad-input corpus of docs/hardening.md (tests/bad_inputs/, ~680 kB): each file goes to the
# target of its format, so fuzzing starts from the known-bad cases as well as the good ones.
# fairseq: the top-level pickle (data.pkl) of each zip fixture checkpoint (DictConfig with
# unimportable classes, plain-dict cfg, a contradiction).
for f in "$repo"/crates/ssl-distill-models/tests/fixtures/fairseq/*.pt; do
    name="$(basename "$f" .pt)"
    unzip -p "$f" "$name/data.pkl" > "$corpus/fairseq_cfg/$name.data.pkl" 2>/dev/null \
        || rm -f "$corpus/fairseq_cfg/$name.data.pkl"
done

bad="$repo/tests/bad_inputs"
if [[ -d "$bad" ]]; then
    mapfile -t files < <(find "$bad" -type f | sort)
    for f in "${files[@]}"; do
        case "$f" in
            *.wav) copy wav "$f" ;;
            *.flac) copy flac "$f" ;;
            *.tsv) copy manifest_tsv "$f" ;;
            *.jsonl) copy manifest_jsonl "$f" ;;
            */config.json) copy hf_config "$f" ;;
            *.safetensors) copy safetensors "$f" ;;
            *.toml) copy recipe "$f" ;;
        esac
    done
fi

for t in "${targets[@]}"; do
    printf '%-15s %4d seeds, %7d bytes\n' "$t" "$(find "$corpus/$t" -type f | wc -l)" \
        "$(find "$corpus/$t" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
done

#!/usr/bin/env bash
# HF export verified by transformers: makes (once, then reuses) a Python environment with the
# pinned torch + transformers of tools/hf/requirements.txt, then runs the round-trip tests, in
# which `transformers.AutoModel.from_pretrained` loads our exports and must reproduce our hidden
# states within 1e-4:
#   - ssl-distill-models: exported teachers of every family (HuBERT post-/pre-LN, WavLM, wav2vec 2.0);
#   - ssl-distill-students: a HuBERT-shaped student and a pruned student with uniform layers.
#
# The environment lives in $SSL_DISTILL_PYENV (default ~/.cache/ssl-distill/pyenv; CI keeps it
# like the cargo target). It is rebuilt when requirements.txt changes. torch's wheel is ~3 GB:
# the first run downloads it from PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."

env_dir="${SSL_DISTILL_PYENV:-${HOME}/.cache/ssl-distill/pyenv}"
stamp="$env_dir/.requirements"
if ! cmp -s tools/hf/requirements.txt "$stamp" 2>/dev/null || [ ! -x "$env_dir/bin/python" ]; then
  command -v python3 >/dev/null 2>&1 || { echo "tools/hf/roundtrip.sh: python3 is needed" >&2; exit 1; }
  echo "tools/hf/roundtrip.sh: making the Python environment $env_dir (torch, transformers; ~3 GB once)"
  rm -rf "$env_dir"
  log=$(mktemp)
  if ! { python3 -m venv "$env_dir" && "$env_dir/bin/pip" install -q --disable-pip-version-check -r tools/hf/requirements.txt; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "tools/hf/roundtrip.sh: could not make the Python environment (output above)" >&2
    exit 1
  fi
  rm -f "$log"
  cp tools/hf/requirements.txt "$stamp"
fi
export SSL_DISTILL_PYTHON="$env_dir/bin/python"
"$SSL_DISTILL_PYTHON" -c "import torch, transformers; print(f'tools/hf/roundtrip.sh: torch {torch.__version__}, transformers {transformers.__version__}')"

# Both tests run by their exact names in one `cargo test --workspace` (the same feature set as the
# README's test command, so no dependency is rebuilt); each must be reported as passed, so a
# renamed test fails here instead of passing as "0 tests".
tests=(export::transformers_loads_our_export hf_roundtrip::transformers_loads_exported_students)
log=$(mktemp)
cargo test --workspace --test it -- --ignored --exact "${tests[@]}" 2>&1 | tee "$log"
for t in "${tests[@]}"; do
  grep -q "^test $t \.\.\. ok$" "$log" || { echo "tools/hf/roundtrip.sh: $t did not run and pass" >&2; exit 1; }
done
rm -f "$log"

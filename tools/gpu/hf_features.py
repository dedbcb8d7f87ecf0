#!/usr/bin/env python3
"""Reference side of tools/gpu/check.sh.

  hf_features.py make WORK     a random-init HuBERT Base HF directory (WORK/teacher), a 16 kHz WAV
                               (WORK/clip.wav, the bundled corpus's first utterance) and
                               transformers' hidden states of it on CUDA (WORK/ref.safetensors)
  hf_features.py compare REF OURS TOL
                               max |ref - ours| over hidden_states.*; exit 1 above TOL
  hf_features.py weights A B TOL
                               max |a - b| over every tensor of two model.safetensors; exit 1 above TOL
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def make(work):
    import soundfile
    import torch
    from safetensors.torch import save_file
    from transformers import HubertConfig, HubertModel

    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = HubertModel(HubertConfig()).eval()
    model.save_pretrained(work / "teacher")
    (work / "teacher" / "preprocessor_config.json").write_text(json.dumps(
        {"do_normalize": False, "sampling_rate": 16000,
         "feature_extractor_type": "Wav2Vec2FeatureExtractor"}))
    corpus = ROOT / "assets" / "demo-corpus"
    utt = json.loads((corpus / "train.jsonl").read_text().splitlines()[0])
    audio, rate = soundfile.read(corpus / utt["path"], dtype="int16")
    assert rate == 16000
    soundfile.write(work / "clip.wav", audio, 16000, subtype="PCM_16")
    wave = torch.from_numpy(audio.astype("float32") / 32768.0)[None].cuda()
    with torch.no_grad():
        out = model.cuda()(wave, output_hidden_states=True)
    save_file({f"hidden_states.{i}": h.float().cpu().contiguous()
               for i, h in enumerate(out.hidden_states)}, work / "ref.safetensors")


def max_diff(a_path, b_path, prefix=""):
    from safetensors.torch import load_file

    a, b = load_file(a_path), load_file(b_path)
    keys = [k for k in a if k.startswith(prefix)]
    missing = [k for k in keys if k not in b]
    if not keys or missing:
        sys.exit(f"compare: {b_path} lacks {missing or 'every key'}")
    return max((a[k].float() - b[k].float().reshape(a[k].shape)).abs().max().item() for k in keys)


def main():
    cmd = sys.argv[1]
    if cmd == "make":
        make(pathlib.Path(sys.argv[2]))
    elif cmd in ("compare", "weights"):
        worst = max_diff(sys.argv[2], sys.argv[3], "hidden_states." if cmd == "compare" else "")
        tol = float(sys.argv[4])
        print(f"{worst:.2e}")
        sys.exit(0 if worst <= tol else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

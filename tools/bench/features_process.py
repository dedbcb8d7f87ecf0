#!/usr/bin/env python3
"""The whole-process teacher job: `ssl-distill features` vs the same job in transformers, each a
fresh process timed from start to exit, same machine, same run, interleaved.

The job (what a user runs to probe or cluster a teacher): every hidden state of a random-init
HuBERT Base teacher (an HF directory written by transformers) on a manifest of 16 kHz WAV
utterances (the bundled corpus's first `--clips`), written to safetensors files.

  ours:    ssl-distill features --model T --data M --out DIR --device D
             (utterances sorted by length, batches of 8; each utterance's states equal its
             one-by-one forward within 1e-5, tests/it of ssl-distill-models)
  PyTorch: this file's `--worker torch`: HubertModel(output_hidden_states=True) one utterance
             at a time (transformers says a Base model must not get padded batches: it has no
             attention mask in its conv front-end), states saved with safetensors

Requires torch==2.11.0 transformers soundfile safetensors (PyPI). `--device` picks ours among
cpu (flex) and tch (libtorch CPU); PyTorch runs on the CPU.

Usage: python tools/bench/features_process.py [--reps 5] [--clips 40] [--threads 2]
           [--device cpu|tch] [--binary PATH] [--work DIR] [--json OUT]
Prints each run, the medians of wall time and peak RSS per side, and the ratio ours / PyTorch.
"""

import argparse
import pathlib
import sys
import time

from distill_process import add_common_args, interleave, setup


def torch_worker(args):
    """The PyTorch side as one process: load, run every utterance, save the states."""
    import soundfile
    import torch
    from safetensors.torch import save_file
    from transformers import HubertModel

    torch.set_num_threads(args.threads)
    model = HubertModel.from_pretrained(args.teacher).eval()
    paths = [line.split("\t")[0] for line in pathlib.Path(args.manifest).read_text().splitlines()[1:]]
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    states = {}
    with torch.inference_mode():
        for p in paths:
            audio, _ = soundfile.read(p, dtype="float32")
            hs = model(torch.from_numpy(audio)[None], output_hidden_states=True).hidden_states
            for layer, h in enumerate(hs):
                states[f"{pathlib.Path(p).stem}.layer{layer}"] = h[0].contiguous()
    save_file(states, out / "features.safetensors")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "tch"])
    ap.add_argument("--binary", type=pathlib.Path, required=True, help="ssl-distill binary")
    add_common_args(ap)
    args = ap.parse_args()
    if args.worker:
        torch_worker(args)
        return

    work, teacher, manifest, env = setup(args, "features-process-")
    print(f"whole-process features: HuBERT Base teacher (random init), every hidden state of "
          f"{args.clips} utterances, {args.threads} threads, device {args.device}; "
          f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}", flush=True)

    def command(side, out):
        if side == "pytorch":
            return [sys.executable, __file__, "--worker", "torch", "--teacher", str(teacher),
                    "--manifest", str(manifest), "--out", str(out),
                    "--threads", str(args.threads), "--binary", str(args.binary)]
        return [str(args.binary), "features", "--model", str(teacher), "--data", str(manifest),
                "--out", str(out), "--device", args.device]

    interleave(args.reps, command, env, work / "features", args)

if __name__ == "__main__":
    main()

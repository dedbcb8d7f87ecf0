#!/usr/bin/env python3
"""Teacher forward speed: transformers HubertModel (PyTorch eager) vs ssl-distill (burn flex),
same config (HuBERT Base, random init), same input sizes, same thread count, one run.

Requires: pip install torch==2.11.0 transformers; cargo.
Usage: python tools/bench/teacher_vs_pytorch.py [--repeats 5] [--threads N (default: all cores)]
Prints the medians and the ratio ours / PyTorch (goal <= 0.8) for 1 x 10 s and 8 x 4 s.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import time

import torch
from transformers import HubertConfig, HubertModel

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    cmd = ["cargo", "run", "--release", "-q", "-p", "ssl-distill-models", "--example", "teacher_timing", "--",
           str(args.repeats)]
    ours = json.loads(subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, env=env).stdout)

    model = HubertModel(HubertConfig(mask_time_prob=0.0)).eval()
    print(f"HuBERT Base, random init; {args.threads} threads; median of {args.repeats} after 1 warm-up")
    for batch, seconds in [(1, 10), (8, 4)]:
        x = torch.randn(batch, seconds * 16000) * 0.1
        with torch.inference_mode():
            model(x, output_hidden_states=True)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                model(x, output_hidden_states=True)
                times.append(time.perf_counter() - start)
        theirs = statistics.median(times)
        mine = ours[f"{batch}x{seconds}s"]
        print(f"{batch} x {seconds} s: PyTorch {theirs:.3f} s, ssl-distill {mine['median_s']:.3f} s "
              f"(CNN {mine['cnn_median_s']:.3f} s) -> ratio ours/PyTorch {mine['median_s'] / theirs:.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Teacher forward speed: transformers HubertModel (PyTorch eager) vs ssl-distill (burn, flex or
tch), same config (HuBERT Base, random init), same input sizes, same thread count, one run.

Requires: pip install torch==2.11.0 transformers; cargo.
Usage: python tools/bench/teacher_vs_pytorch.py [--repeats 5] [--threads N (default: all cores)]
           [--device flex|tch] [--binary PATH_TO_teacher_timing] [--json OUT]
Without --binary it builds `examples/teacher_timing.rs` (release, flex). Prints the medians and
the ratio ours / PyTorch (goal <= 0.8) for 1 x 10 s and 8 x 4 s.
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
SHAPES = [(1, 10), (8, 4)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--device", default="flex", choices=["flex", "tch"])
    ap.add_argument("--binary", type=pathlib.Path, help="a built teacher_timing example")
    ap.add_argument("--json", type=pathlib.Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    if args.binary:
        cmd = [str(args.binary)]
    else:
        cmd = ["cargo", "run", "--release", "-q", "-p", "ssl-distill", "--example", "teacher_timing", "--"]
    cmd += ["--repeats", str(args.repeats), "--device", args.device]
    load = os.getloadavg()[0]
    ours = json.loads(subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True,
                                     env=env).stdout)

    model = HubertModel(HubertConfig(mask_time_prob=0.0)).eval()
    print(f"HuBERT Base, random init; {args.threads} threads; median of {args.repeats} after 1 "
          f"warm-up; ours on {args.device}")
    result = {"device": args.device, "threads": args.threads, "load_before": load, "shapes": {}}
    for batch, seconds in SHAPES:
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
        ratio = mine["median_s"] / theirs
        result["shapes"][f"{batch}x{seconds}s"] = {"pytorch_s": theirs, "ours_s": mine["median_s"],
                                                   "ours_cnn_s": mine["cnn_median_s"], "ratio": ratio}
        print(f"{batch} x {seconds} s: PyTorch {theirs:.3f} s, ssl-distill {mine['median_s']:.3f} s "
              f"(CNN {mine['cnn_median_s']:.3f} s) -> ratio ours/PyTorch {ratio:.2f}")
    result["load_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

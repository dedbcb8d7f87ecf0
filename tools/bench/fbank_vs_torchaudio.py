#!/usr/bin/env python3
"""Kaldi Fbank speed: torchaudio.compliance.kaldi.fbank vs ssl-distill-audio, same audio, same run.

Requires: pip install torch==2.11.0 torchaudio==2.11.0 soundfile numpy; cargo.
Usage: python tools/bench/fbank_vs_torchaudio.py [--seconds 10] [--repeats 50]

Writes a 16 kHz speech-like WAV of the given length, builds and runs the Rust timing example
(`crates/ssl-distill-audio/examples/fbank_timing.rs`, release) on it, times torchaudio's fbank
(80 bins, dither 0, on waveform * 32768) on the same samples, and prints medians and ratios at
1 thread (torch.set_num_threads(1), RAYON_NUM_THREADS=1) and at all cores (both libraries
parallelise a 10 s clip: torch inside its ops, ours over frames with rayon).
"""

import argparse
import json
import math
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np
import soundfile as sf
import torch
from torchaudio.compliance import kaldi

ROOT = pathlib.Path(__file__).resolve().parents[2]


def speechlike(seconds, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 40 * np.sin(2 * t)
    phase = 2 * math.pi * np.cumsum(f0) / sr
    x = sum(np.sin(h * phase) / h for h in range(1, 12)) * 0.1
    return (x + np.random.default_rng(0).normal(0, 0.01, t.shape)).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wav = pathlib.Path(tmp) / "clip.wav"
        sf.write(wav, speechlike(args.seconds), 16000, subtype="PCM_16")
        x, _ = sf.read(wav, dtype="float32")
        x = torch.from_numpy(x).unsqueeze(0) * 32768.0

        subprocess.run(["cargo", "build", "--release", "-q", "-p", "ssl-distill-audio", "--example", "fbank_timing"],
                       cwd=ROOT, check=True)
        cores = os.cpu_count() or 1
        print(f"audio: {args.seconds:g} s at 16 kHz, 80 bins; {args.repeats} calls each; {cores} cores")
        for threads in sorted({1, cores}):
            env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
            ours = json.loads(subprocess.run(
                ["cargo", "run", "--release", "-q", "-p", "ssl-distill-audio", "--example", "fbank_timing", "--",
                 str(wav), str(args.repeats)], cwd=ROOT, check=True, capture_output=True, text=True,
                env=env).stdout)
            torch.set_num_threads(threads)
            kaldi.fbank(x, num_mel_bins=80, dither=0.0)  # warm-up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                out = kaldi.fbank(x, num_mel_bins=80, dither=0.0)
                times.append(time.perf_counter() - start)
            theirs = statistics.median(times)
            assert out.shape[0] == ours["frames"], (out.shape, ours)
            print(f"{threads} thread(s): torchaudio {theirs * 1e3:7.2f} ms, ssl-distill {ours['median_s'] * 1e3:7.2f} ms"
                  f" -> {theirs / ours['median_s']:.2f}x faster; ours with decode+resample (22.05k->16k not"
                  f" needed here) {ours['decode_resample_fbank_s'] * 1e3:.2f} ms")


if __name__ == "__main__":
    main()

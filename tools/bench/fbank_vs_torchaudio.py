#!/usr/bin/env python3
"""Kaldi Fbank speed: torchaudio.compliance.kaldi.fbank vs ssl-distill-audio, same audio, same run.

Requires: pip install torch==2.11.0 torchaudio==2.11.0 numpy; cargo.
Usage: python tools/bench/fbank_vs_torchaudio.py [--seconds 10] [--repeats 50] [--rounds 3]

Writes a 16 kHz speech-like WAV of the given length, builds and runs the Rust timing example
(`crates/ssl-distill-audio/examples/fbank_timing.rs`, release) on it, times torchaudio's fbank
(80 bins, dither 0, on waveform * 32768) on the same samples, and prints medians and ratios at
1 thread (torch.set_num_threads(1), RAYON_NUM_THREADS=1) and at all cores (both libraries
parallelise a 10 s clip: torch inside its ops, ours over frames with rayon), alternating the two
for --rounds rounds and reporting medians (the machine is shared: also read the load average it
prints; the CPU-time comparison at the end is the one to trust on a loaded machine). First it
checks parity on a speech file (--check, default a demo-corpus utterance):
the largest difference of our features from torchaudio's on the same decoded samples.
"""

import argparse
import json
import math
import os
import pathlib
import resource
import statistics
import subprocess
import tempfile
import time
import wave

import numpy as np
import torch
from torchaudio.compliance import kaldi

ROOT = pathlib.Path(__file__).resolve().parents[2]


def speechlike(seconds, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 40 * np.sin(2 * t)
    phase = 2 * math.pi * np.cumsum(f0) / sr
    x = sum(np.sin(h * phase) / h for h in range(1, 12)) * 0.1
    return (x + np.random.default_rng(0).normal(0, 0.01, t.shape)).astype(np.float32)


def run_ours(wav, repeats, threads, extra=()):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run(
        ["cargo", "run", "--release", "-q", "-p", "ssl-distill-audio", "--example", "fbank_timing", "--",
         str(wav), str(repeats), *extra], cwd=ROOT, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def time_theirs(x, repeats, threads):
    torch.set_num_threads(threads)
    kaldi.fbank(x, num_mel_bins=80, dither=0.0)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = kaldi.fbank(x, num_mel_bins=80, dither=0.0)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out.shape[0]


def cpu_per_call(wav, x, repeats):
    """CPU seconds per call at 1 thread (ours, theirs): unlike wall time, barely inflated when
    other jobs load the machine. Ours: the children's CPU time of a run with `repeats + 1`
    calls minus that of a run with 1 call (decoding and start-up cancel)."""
    def child_cpu(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run_ours(wav, n, 1)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ours = (child_cpu(repeats + 1) - child_cpu(1)) / repeats
    torch.set_num_threads(1)
    kaldi.fbank(x, num_mel_bins=80, dither=0.0)
    start = time.thread_time()
    for _ in range(repeats):
        kaldi.fbank(x, num_mel_bins=80, dither=0.0)
    return ours, (time.thread_time() - start) / repeats


def check_parity(audio, tmp):
    """Max abs difference against torchaudio on the samples our decoder gives for `audio`."""
    prefix = str(pathlib.Path(tmp) / "check")
    ours = run_ours(audio, 1, 1, ["--dump", prefix])
    wave_ = np.fromfile(prefix + ".wave.f32", dtype="<f4")
    feats = np.fromfile(prefix + ".fbank.f32", dtype="<f4").reshape(ours["frames"], 80)
    ref = kaldi.fbank(torch.from_numpy(wave_).unsqueeze(0) * 32768.0, num_mel_bins=80, dither=0.0).numpy()
    return float(np.abs(feats - ref).max()), ref.shape


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs; medians are reported")
    ap.add_argument("--check", default=str(ROOT / "assets/demo-corpus/wav/valid/000000.flac"),
                    help="speech file for the parity check against torchaudio")
    ap.add_argument("--json", type=pathlib.Path, help="write the medians here (tools/bench/run_all.py)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wav = pathlib.Path(tmp) / "clip.wav"
        pcm = np.clip(np.round(speechlike(args.seconds) * 32768.0), -32768, 32767).astype("<i2")
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(pcm.tobytes())
        # what the Rust side decodes: int16 / 32768, then * 32768 (its input_scale)
        x = torch.from_numpy(pcm.astype(np.float32) / 32768.0).unsqueeze(0) * 32768.0

        subprocess.run(["cargo", "build", "--release", "-q", "-p", "ssl-distill-audio", "--example", "fbank_timing"],
                       cwd=ROOT, check=True)
        diff, shape = check_parity(args.check, tmp)
        print(f"parity on {pathlib.Path(args.check).name} ({shape[0]} frames): max |ours - torchaudio| = {diff:.2e}")
        cores = os.cpu_count() or 1
        print(f"audio: {args.seconds:g} s at 16 kHz, 80 bins; {args.repeats} calls each; {cores} cores; "
              f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        results = {t: [] for t in sorted({1, cores})}
        for r in range(args.rounds):
            for threads in results:
                ours = run_ours(wav, args.repeats, threads)
                theirs, frames = time_theirs(x, args.repeats, threads)
                assert frames == ours["frames"], (frames, ours)
                results[threads].append((theirs, ours["median_s"]))
                print(f"round {r + 1}, {threads} thread(s): torchaudio {theirs * 1e3:7.2f} ms, "
                      f"ssl-distill {ours['median_s'] * 1e3:7.3f} ms -> {theirs / ours['median_s']:.2f}x")
        summary = {}
        for threads, runs in results.items():
            theirs = statistics.median(t for t, _ in runs)
            ours = statistics.median(o for _, o in runs)
            summary[str(threads)] = {"torchaudio_ms": theirs * 1e3, "ours_ms": ours * 1e3,
                                     "load": f"{os.getloadavg()[0]:.1f}"}
            ratios = sorted(t / o for t, o in runs)
            print(f"median of {len(runs)}, {threads} thread(s): torchaudio {theirs * 1e3:.2f} ms, ssl-distill "
                  f"{ours * 1e3:.3f} ms -> {theirs / ours:.2f}x (per-round ratios "
                  f"{', '.join(f'{q:.2f}' for q in ratios)})")
        cpu_runs = [cpu_per_call(wav, x, 10 * args.repeats) for _ in range(args.rounds)]
        ours = statistics.median(o for o, _ in cpu_runs)
        theirs = statistics.median(t for _, t in cpu_runs)
        print(f"CPU time per call, 1 thread, median of {len(cpu_runs)}: torchaudio {theirs * 1e3:.2f} ms, "
              f"ssl-distill {ours * 1e3:.3f} ms -> {theirs / ours:.2f}x (per-round ratios "
              f"{', '.join(f'{t / o:.2f}' for o, t in sorted(cpu_runs, key=lambda r: r[1] / r[0]))})")
        print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

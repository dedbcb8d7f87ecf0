#!/usr/bin/env python3
"""Kaldi Fbank/MFCC parity fixtures from torchaudio.compliance.kaldi.

Requires: pip install torch==2.11.0 torchaudio==2.11.0 safetensors numpy
(the newest torch on PyPI does not import with the newest torchaudio).

Writes crates/ssl-distill-audio/tests/fixtures/kaldi/<case>.safetensors, each holding
`wave` (floats in [-1, 1], the Rust input), `fbank80`, `fbank40`, `fbank80_energy` and `mfcc`,
`mfcc_energy`, `mfcc40`, and `fbank80_nosnip`, `mfcc_nosnip` (snip_edges=False) as torchaudio computes them on `wave * 32768` (Kaldi's int16 scale),
plus `sample_rate` (a 1-element tensor). Deterministic: fixed seeds, no downloads.
"""

import math
import pathlib

import numpy as np
import torch
from safetensors.torch import save_file
from torchaudio.compliance import kaldi

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/ssl-distill-audio/tests/fixtures/kaldi"


def noise_floor(n, seed):
    """Background noise at -34 dBFS (std 0.02). Without it, bins far from a loud pure tone hold only
    float32 FFT rounding noise (about 140 dB below the peak bin; pre-emphasis pushes the lowest
    mel bins there too), where two correct implementations differ by ~1 in log and no comparison
    means anything. Real recordings always have such a floor. At std 0.01 one low bin of the
    sweep with snip_edges=False still differed by 0.012 between torchaudio in float32 and in
    float64; at 0.02 the largest float32-vs-float64 gap over all cases is 1.4e-3."""
    return np.random.default_rng(seed).normal(0.0, 2e-2, n)


def sweep(n, sr):
    t = np.arange(n) / sr
    f0, f1 = 50.0, sr / 2 * 0.9
    k = (f1 - f0) / (n / sr)
    return 0.5 * np.sin(2 * math.pi * (f0 * t + 0.5 * k * t * t)) + noise_floor(n, 11)


def noise(n, seed):
    return np.random.default_rng(seed).normal(0.0, 0.1, n).clip(-1, 1)


def chirp_speech(n, sr):
    """A speech-like signal: a gliding 100-220 Hz pitch with harmonics under a formant-ish envelope."""
    t = np.arange(n) / sr
    f0 = 100 + 60 * (1 + np.sin(2 * math.pi * 1.5 * t))
    phase = 2 * math.pi * np.cumsum(f0) / sr
    x = sum(np.sin(h * phase) / h * (1.0 if h * 150 < 1000 else 0.3) for h in range(1, 20))
    env = 0.5 * (1 + np.sin(2 * math.pi * 3 * t)) * 0.2
    return x * env + noise_floor(n, 7)


def cases():
    sr = 16000
    yield "sweep_1s", sweep(sr, sr), sr
    yield "noise_odd", noise(12345, 0), sr
    yield "silence", np.zeros(8000), sr
    yield "speechlike_2s", chirp_speech(2 * sr + 77, sr), sr
    yield "exact_frame_400", noise(400, 1), sr
    yield "short_399", noise(399, 2), sr
    yield "one_frame_plus_559", noise(559, 3), sr
    yield "sweep_22k", sweep(22050, 22050), 22050


def feats(w, sr):
    x = torch.from_numpy(w.astype(np.float32)).unsqueeze(0) * 32768.0
    common = dict(sample_frequency=float(sr), dither=0.0)
    out = {}
    if w.shape[0] < int(sr * 0.025):
        # torchaudio 2.11 raises AssertionError ("choose a window size 400 that is [2, 399]"),
        # with or without snip_edges; the Rust test checks that we return FeatureError::TooShort.
        return out
    out["fbank80"] = kaldi.fbank(x, num_mel_bins=80, **common)
    out["fbank40"] = kaldi.fbank(x, num_mel_bins=40, **common)
    out["fbank80_energy"] = kaldi.fbank(x, num_mel_bins=80, use_energy=True, **common)
    out["mfcc"] = kaldi.mfcc(x, **common)
    out["mfcc_energy"] = kaldi.mfcc(x, use_energy=True, **common)
    out["mfcc40"] = kaldi.mfcc(x, num_mel_bins=40, num_ceps=20, **common)
    out["fbank80_nosnip"] = kaldi.fbank(x, num_mel_bins=80, snip_edges=False, **common)
    out["mfcc_nosnip"] = kaldi.mfcc(x, snip_edges=False, **common)
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, w, sr in cases():
        tensors = {"wave": torch.from_numpy(w.astype(np.float32)), "sample_rate": torch.tensor([float(sr)])}
        for k, v in feats(w, sr).items():
            tensors[k] = v.contiguous().float()
        save_file(tensors, str(OUT / f"{name}.safetensors"))
        print(name, {k: tuple(v.shape) for k, v in tensors.items()})


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Resampling reference: torchaudio.functional.resample (default sinc_interp_hann, width 6,
rolloff 0.99) on fixed test signals, for the SNR test of ssl-distill-audio's rubato resampler.

Requires: pip install torch==2.11.0 torchaudio==2.11.0 safetensors numpy

Writes crates/ssl-distill-audio/tests/fixtures/resample/<case>.safetensors with `input`,
`output` (torchaudio's default resample, at 16 kHz), `output_hq` (torchaudio with a long
Kaiser filter: lowpass_filter_width=64, rolloff=0.95), `ideal` (the analytic signal evaluated
at 16 kHz) and `rates` = [in_rate, out_rate].
"""

import math
import pathlib

import numpy as np
import torch
import torchaudio.functional as F
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/ssl-distill-audio/tests/fixtures/resample"


def signal(sr, seconds=0.5, n=None):
    """Tones and a chirp from 100 Hz up to 90% of the lower Nyquist frequency (both rates keep
    it), sampled at `sr` (n samples, default `seconds` worth). Evaluated at 16 kHz it is the
    ideal output of a resampler."""
    top = 0.45 * min(sr, 16000)
    rate = sr
    if n is not None:
        rate = 16000
    t = np.arange(n if n is not None else int(sr * seconds)) / rate
    tones = sum(a * np.sin(2 * math.pi * f * t + p) for f, a, p in [(220, 0.2, 0.1), (1234, 0.15, 1.0), (3100, 0.1, 2.0), (5900, 0.05, 0.5)] if f < top)
    k = (top - 100) / seconds
    chirp = 0.2 * np.sin(2 * math.pi * (100 * t + 0.5 * k * t * t))
    return (tones + chirp).astype(np.float32)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for sr in [8000, 22050, 44100, 48000]:
        x = torch.from_numpy(signal(sr))
        y = F.resample(x, sr, 16000)
        # A long Kaiser-windowed filter, closer to ours (rubato: 256 taps, cutoff 0.95).
        y_hq = F.resample(x, sr, 16000, lowpass_filter_width=64, rolloff=0.95,
                          resampling_method="sinc_interp_kaiser")
        ideal = torch.from_numpy(signal(sr, n=y.shape[0]))
        save_file({"input": x, "output": y.contiguous(),
                   "output_hq": y_hq.contiguous(), "ideal": ideal,
                   "rates": torch.tensor([float(sr), 16000.0])},
                  str(OUT / f"from_{sr}.safetensors"))
        print(sr, tuple(x.shape), tuple(y.shape))


if __name__ == "__main__":
    main()

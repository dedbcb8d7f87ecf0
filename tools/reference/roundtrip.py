#!/usr/bin/env python3
"""Loads an exported ssl-distill model with transformers.AutoModel and compares its hidden
states with a fixture's (io.safetensors from tools/reference/models.py). Exit 1 above 1e-4.

Usage: python tools/reference/roundtrip.py EXPORT_DIR IO_SAFETENSORS
"""

import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModel


def main():
    export_dir, io_path = sys.argv[1], sys.argv[2]
    model = AutoModel.from_pretrained(export_dir).eval()
    io = load_file(io_path)
    with torch.no_grad():
        out = model(io["wave"], output_hidden_states=True)
    worst = 0.0
    for i, h in enumerate(out.hidden_states):
        worst = max(worst, (h - io[f"hidden_states.{i}"]).abs().max().item())
    print(f"{type(model).__name__}: {len(out.hidden_states)} hidden states, max abs diff {worst:.2e}")
    sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()

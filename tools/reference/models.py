#!/usr/bin/env python3
"""Parity fixtures for ssl-distill-models from HF transformers (random init, fixed seeds).

Requires: pip install torch==2.11.0 transformers safetensors numpy   (measured with 5.23.0)

For each case, writes crates/ssl-distill-models/tests/fixtures/<case>/ with
  config.json + model.safetensors   (save_pretrained, safetensors)
  io.safetensors                    wave [B, S], attention_mask [B, S] (1 = valid, if any),
                                    cnn_features [B, T, C] (conv extractor output, before any LN),
                                    hidden_states.<i> [B, T, D] (output_hidden_states=True),
                                    last_hidden_state [B, T, D]
The `hubert_base_closed_form` case is full HuBERT Base size; its weights are NOT stored: every
tensor is a closed-form pattern (see `closed_form`) that the Rust test rebuilds, and only a few
hidden states are stored to keep the fixture small.
"""

import json
import math
import pathlib
import shutil

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import (HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2Model, WavLMConfig,
                          WavLMModel)

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/ssl-distill-models/tests/fixtures"

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            conv_dim=[16] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, layerdrop=0.0,
            hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0)


def wave(batch, samples, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, samples, generator=g) * 0.1).float()


def run(model, x, mask=None, layers=None):
    model.eval()
    with torch.no_grad():
        out = model(x, attention_mask=mask, output_hidden_states=True)
        cnn = model.feature_extractor(x).transpose(1, 2)
    tensors = {"wave": x.contiguous(), "cnn_features": cnn.contiguous(),
               "last_hidden_state": out.last_hidden_state.clone().contiguous()}
    if mask is not None:
        tensors["attention_mask"] = mask.float()
    for i, h in enumerate(out.hidden_states):
        if layers is None or i in layers:
            tensors[f"hidden_states.{i}"] = h.clone().contiguous()
    return tensors


def save_case(name, model, tensors, weights=True):
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    if weights:
        model.save_pretrained(d, safe_serialization=True)
    else:
        (d / "config.json").write_text(model.config.to_json_string())
    save_file(tensors, str(d / "io.safetensors"))
    size = sum(f.stat().st_size for f in d.iterdir())
    print(f"{name}: {size / 1e3:.0f} kB, " + ", ".join(f"{k}{tuple(v.shape)}" for k, v in tensors.items()))


def closed_form(name, shape):
    """The deterministic weight pattern shared with the Rust test (f64 math, cast to f32)."""
    n = int(np.prod(shape))
    phase = (sum(name.encode()) % 97) * 0.1
    i = np.arange(n, dtype=np.float64)
    s = np.sin(0.37 * i + phase)
    if name.endswith("layer_norm.weight") or name.endswith("original0"):
        v = 1.0 + 0.1 * s
    elif len(shape) == 1:
        v = 0.05 * s
    else:
        fan_in = int(np.prod(shape[1:]))
        v = s / math.sqrt(fan_in)
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def main():
    torch.manual_seed(0)
    cases = [
        ("hubert_tiny", HubertModel, HubertConfig(**TINY)),
        ("hubert_tiny_preln", HubertModel, HubertConfig(**TINY, feat_extract_norm="layer", conv_bias=True,
                                                        do_stable_layer_norm=True, mask_time_prob=0.0)),
        ("wavlm_tiny", WavLMModel, WavLMConfig(**TINY, num_buckets=320, max_bucket_distance=800)),
        ("wavlm_tiny_preln", WavLMModel, WavLMConfig(**TINY, feat_extract_norm="layer", conv_bias=True,
                                                     do_stable_layer_norm=True, num_buckets=320,
                                                     max_bucket_distance=800)),
        ("wav2vec2_tiny", Wav2Vec2Model, Wav2Vec2Config(**TINY)),
    ]
    for seed, (name, cls, cfg) in enumerate(cases):
        torch.manual_seed(100 + seed)
        model = cls(cfg)
        # Random LayerNorm / GroupNorm affine parameters, so a wrong placement cannot hide.
        with torch.no_grad():
            for k, p in model.named_parameters():
                if "norm" in k:
                    p.add_(torch.randn_like(p) * 0.2)
        save_case(name, model, run(model, wave(1, 8000, seed)))
        if name == "hubert_tiny":
            # The same model as a legacy pytorch_model.bin (torch.save of the state dict).
            d = OUT / "hubert_tiny_bin"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            shutil.copy(OUT / name / "config.json", d / "config.json")
            torch.save(model.state_dict(), d / "pytorch_model.bin")

    # Padded batch with an attention mask, layer-norm extractor (where masking is exact).
    for name, cls, extra in [("hubert_tiny_preln_padded", HubertModel, {}),
                             ("wavlm_tiny_preln_padded", WavLMModel, dict(num_buckets=320, max_bucket_distance=800))]:
        torch.manual_seed(7)
        cfg = (HubertConfig if cls is HubertModel else WavLMConfig)(
            **TINY, **extra, feat_extract_norm="layer", conv_bias=True, do_stable_layer_norm=True, mask_time_prob=0.0)
        model = cls(cfg)
        x = wave(2, 8000, 42)
        mask = torch.ones(2, 8000, dtype=torch.long)
        mask[1, 5000:] = 0
        x[1, 5000:] = 0.0
        save_case(name, model, run(model, x, mask))

    # Group-norm extractor (HuBERT Base style), padded batch with an attention mask. The reference
    # itself is not padding-invariant here (GroupNorm statistics span the padded length), so the
    # case also stores item 1 run alone (`alone.*`) to document the difference.
    torch.manual_seed(8)
    model = HubertModel(HubertConfig(**TINY, mask_time_prob=0.0))
    with torch.no_grad():
        for k, p in model.named_parameters():
            if "norm" in k:
                p.add_(torch.randn_like(p) * 0.2)
    x = wave(2, 8000, 43)
    mask = torch.ones(2, 8000, dtype=torch.long)
    mask[1, 5000:] = 0
    x[1, 5000:] = 0.0
    tensors = run(model, x, mask)
    alone = run(model, x[1:2, :5000].contiguous())
    tensors.update({f"alone.{k}": v for k, v in alone.items() if k != "wave"})
    save_case("hubert_tiny_group_padded", model, tensors)

    # Full-size HuBERT Base with closed-form weights, 2 s of audio; a few hidden states only.
    cfg = HubertConfig(layerdrop=0.0, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                       feat_proj_dropout=0.0, mask_time_prob=0.0)
    model = HubertModel(cfg)
    with torch.no_grad():
        for k, p in model.state_dict().items():
            p.copy_(closed_form(k, tuple(p.shape)))
    tensors = run(model, wave(1, 32000, 3), layers={0, 4, 12})
    del tensors["cnn_features"]
    del tensors["last_hidden_state"]
    save_case("hubert_base_closed_form", model, tensors, weights=False)
    names = {k: list(v.shape) for k, v in model.state_dict().items()}
    (OUT / "hubert_base_closed_form" / "names.json").write_text(json.dumps(names))


if __name__ == "__main__":
    main()

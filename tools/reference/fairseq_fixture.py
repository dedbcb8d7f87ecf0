#!/usr/bin/env python3
"""fairseq-format checkpoints for ssl-distill-models' fairseq loader, made WITHOUT fairseq
(not installable here): a tiny HF model's state dict is renamed to fairseq's module names
(the inverse map, written here from fairseq's hubert.py / wav2vec2.py / wavlm modules), a HuBERT
pretraining head is added, and the result is saved the way fairseq saves checkpoints:
torch.save({"cfg": {...}, "model": state_dict}).

Requires: pip install torch==2.11.0 transformers safetensors
Writes crates/ssl-distill-models/tests/fixtures/fairseq/<case>.pt and <case>.io.safetensors
(wave, hidden_states.<i> from the HF model, and the head tensors).
"""

import pathlib
import re

import torch
from safetensors.torch import save_file
from transformers import HubertConfig, HubertModel, WavLMConfig, WavLMModel

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/ssl-distill-models/tests/fixtures/fairseq"
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            conv_dim=[16] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, layerdrop=0.0,
            hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0)


def to_fairseq(name, layer_norm_extractor):
    """HF name -> fairseq name."""
    m = re.match(r"feature_extractor\.conv_layers\.(\d+)\.(conv|layer_norm)\.(weight|bias)", name)
    if m:
        n, part, p = m.groups()
        if part == "conv":
            return f"feature_extractor.conv_layers.{n}.0.{p}"
        return f"feature_extractor.conv_layers.{n}.2.1.{p}" if layer_norm_extractor else f"feature_extractor.conv_layers.{n}.2.{p}"
    name = name.replace("feature_projection.layer_norm.", "layer_norm.")
    name = name.replace("feature_projection.projection.", "post_extract_proj.")
    name = name.replace("encoder.pos_conv_embed.conv.parametrizations.weight.original0", "encoder.pos_conv.0.weight_g")
    name = name.replace("encoder.pos_conv_embed.conv.parametrizations.weight.original1", "encoder.pos_conv.0.weight_v")
    name = name.replace("encoder.pos_conv_embed.conv.", "encoder.pos_conv.0.")
    name = name.replace(".attention.rel_attn_embed.", ".self_attn.relative_attention_bias.")
    name = name.replace(".attention.gru_rel_pos_linear.", ".self_attn.grep_linear.")
    name = name.replace(".attention.gru_rel_pos_const", ".self_attn.grep_a")
    name = re.sub(r"(encoder\.layers\.\d+)\.layer_norm\.", r"\1.self_attn_layer_norm.", name)
    name = name.replace(".attention.", ".self_attn.")
    name = name.replace(".feed_forward.intermediate_dense.", ".fc1.")
    name = name.replace(".feed_forward.output_dense.", ".fc2.")
    return "mask_emb" if name == "masked_spec_embed" else name


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for case, cls, cfg in [
        ("hubert_base_like", HubertModel, HubertConfig(**TINY)),
        ("wavlm_large_like", WavLMModel, WavLMConfig(**TINY, feat_extract_norm="layer", conv_bias=True,
                                                     do_stable_layer_norm=True, num_buckets=320,
                                                     max_bucket_distance=800)),
    ]:
        torch.manual_seed(11)
        model = cls(cfg).eval()
        layer_norm = cfg.feat_extract_norm == "layer"
        sd = {to_fairseq(k, layer_norm): v.clone() for k, v in model.state_dict().items()}
        io = {}
        if cls is HubertModel:
            sd["final_proj.weight"] = torch.randn(16, 32)
            sd["final_proj.bias"] = torch.randn(16)
            sd["label_embs_concat"] = torch.randn(10, 16)
            io.update({k: v.clone() for k, v in sd.items() if k.startswith("final_proj") or k == "label_embs_concat"})
        sd["_float_tensor"] = torch.zeros(1, dtype=torch.int64)  # an integer buffer, as fairseq has
        torch.save({"cfg": {"model": {"_name": case, "encoder_layers": 2}}, "model": sd}, OUT / f"{case}.pt")
        x = torch.randn(1, 8000, generator=torch.Generator().manual_seed(5)) * 0.1
        with torch.no_grad():
            out = model(x, output_hidden_states=True)
        io["wave"] = x
        for i, h in enumerate(out.hidden_states):
            io[f"hidden_states.{i}"] = h.clone().contiguous()
        save_file(io, str(OUT / f"{case}.io.safetensors"))
        print(case, len(sd), "tensors;", sorted(sd)[:4], "...")


if __name__ == "__main__":
    main()

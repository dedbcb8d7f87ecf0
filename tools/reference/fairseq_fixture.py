#!/usr/bin/env python3
"""fairseq checkpoints as fairseq writes them, for ssl-distill-models' fairseq loader, made
WITHOUT fairseq (not installable here).

A tiny random-init HF model's state dict is renamed to fairseq's module names (the inverse map,
written from fairseq's hubert.py / wav2vec2.py and unilm's WavLM.py) and saved with torch.save
(pickle protocol 2) next to the configuration each generation of fairseq pickled:

- `hubert_cfg`: `cfg` an omegaconf DictConfig whose `model` section is a structured config
  (its `extractor_mode` an EnumNode holding a member of an enum class, as fairseq's ChoiceEnum),
  `task_state` holding a `fairseq.data.dictionary.Dictionary`, `optimizer_history`,
  `last_optimizer_state`, `extra_state` holding meters: every class from a `fairseq.*` module that
  is deleted from sys.modules after saving, so nothing can import it at load time;
- `wav2vec2_args`: the 2020 layout, `args` an argparse.Namespace (`arch="wav2vec2"`), in torch's
  legacy (non-zip) serialisation;
- `wavlm_dict`: WavLM's official layout, `cfg` a plain dict of WavLMConfig fields;
- `hubert_large_cfg`: a Large-style HuBERT (layer-norm extractor with conv bias, pre-LN,
  `task.normalize: true`, a stride-3 conv that tensor shapes cannot reveal).

Every model has 2 layers, 32 wide and 4 heads (so `hidden / 64` is not the head count).
Requires: pip install torch==2.11.0 transformers safetensors omegaconf
Writes crates/ssl-distill-models/tests/fixtures/fairseq/<case>.pt and <case>.io.safetensors:
`wave` (raw), `input_values` (what the HF model saw: normalised when the cfg says so),
`hidden_states.<i>` from the HF model, and HuBERT's head tensors.
"""

import argparse
import collections
import dataclasses
import enum
import pathlib
import re
import sys
import types

import torch
from omegaconf import OmegaConf
from safetensors.torch import save_file
from transformers import (HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2FeatureExtractor,
                          Wav2Vec2Model, WavLMConfig, WavLMModel)

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/ssl-distill-models/tests/fixtures/fairseq"
HIDDEN, LAYERS, HEADS, FFN = 32, 2, 4, 64
DROPOUTS = dict(layerdrop=0.0, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                feat_proj_dropout=0.0)


# ------------------------------------------------------------------------------------------------
# Throwaway `fairseq.*` modules: importable while saving, gone when loading.

def fake_module(name):
    module = types.ModuleType(name)
    sys.modules[name] = module
    return module


FAKE = [fake_module(n) for n in ["fairseq", "fairseq.data", "fairseq.data.dictionary",
                                 "fairseq.logging", "fairseq.logging.meters", "fairseq.dataclass",
                                 "fairseq.dataclass.constants", "fairseq.models",
                                 "fairseq.models.hubert", "fairseq.models.hubert.hubert"]]


class Dictionary:
    """fairseq.data.dictionary.Dictionary's pickled attributes."""

    def __init__(self, symbols):
        self.bos_word, self.unk_word, self.pad_word, self.eos_word = "<s>", "<unk>", "<pad>", "</s>"
        self.symbols = ["<s>", "<pad>", "</s>", "<unk>"] + symbols
        self.count = [1] * len(self.symbols)
        self.indices = {s: i for i, s in enumerate(self.symbols)}
        self.nspecial = 4


class AverageMeter:
    def __init__(self):
        self.val, self.sum, self.count, self.round = 0.5, 12.0, 24, 3


class Choices(str, enum.Enum):
    """fairseq's `ChoiceEnum(["default", "layer_norm"])` (EXTRACTOR_MODE_CHOICES)."""
    default = "default"
    layer_norm = "layer_norm"


@dataclasses.dataclass
class HubertConfigDC:
    """The fields of fairseq's `HubertConfig` dataclass that matter here (and a few that don't)."""
    _name: str = "hubert"
    label_rate: float = 50.0
    extractor_mode: Choices = Choices.default
    encoder_layers: int = 12
    encoder_embed_dim: int = 768
    encoder_ffn_embed_dim: int = 3072
    encoder_attention_heads: int = 12
    activation_fn: str = "gelu"
    layer_norm_first: bool = False
    conv_feature_layers: str = "[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2"
    conv_bias: bool = False
    conv_pos: int = 128
    conv_pos_groups: int = 16
    dropout: float = 0.1
    attention_dropout: float = 0.1
    encoder_layerdrop: float = 0.0
    final_dim: int = 0
    untie_final_proj: bool = False


for cls, module in [(Dictionary, "fairseq.data.dictionary"), (AverageMeter, "fairseq.logging.meters"),
                    (Choices, "fairseq.dataclass.constants"),
                    (HubertConfigDC, "fairseq.models.hubert.hubert")]:
    cls.__module__ = module
    name = "HubertConfig" if cls is HubertConfigDC else cls.__name__
    cls.__name__ = cls.__qualname__ = name
    setattr(sys.modules[module], name, cls)


def forget_fairseq():
    for m in FAKE:
        sys.modules.pop(m.__name__, None)


# ------------------------------------------------------------------------------------------------
# Names and models.

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


def conv_layers(spec):
    """fairseq's `eval(conv_feature_layers)`."""
    return eval(spec)  # noqa: S307 -- our own literal


def hf_config(cls, spec, extractor_mode, pre_ln, conv_bias, **extra):
    dims, kernels, strides = zip(*conv_layers(spec))
    return cls(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
               intermediate_size=FFN, conv_dim=list(dims), conv_kernel=list(kernels),
               conv_stride=list(strides), num_conv_pos_embeddings=16,
               num_conv_pos_embedding_groups=4,
               feat_extract_norm="layer" if extractor_mode == "layer_norm" else "group",
               do_stable_layer_norm=pre_ln, conv_bias=conv_bias, **DROPOUTS, **extra)


def model_fields(spec, extractor_mode, pre_ln, conv_bias):
    """fairseq's model-section fields for this architecture."""
    return dict(extractor_mode=extractor_mode, encoder_layers=LAYERS, encoder_embed_dim=HIDDEN,
                encoder_ffn_embed_dim=FFN, encoder_attention_heads=HEADS, activation_fn="gelu",
                layer_norm_first=pre_ln, conv_feature_layers=spec, conv_bias=conv_bias, conv_pos=16,
                conv_pos_groups=4, dropout=0.1, attention_dropout=0.1, encoder_layerdrop=0.05)


def training_state():
    """What a training run leaves beside the weights (fairseq's trainer.state_dict())."""
    return {
        "optimizer_history": [{"criterion_name": "HubertCriterion", "optimizer_name": "FairseqAdam",
                               "lr_scheduler_state": {"best": None}, "num_updates": 400000}],
        "task_state": {"dictionaries": [Dictionary([str(i) for i in range(10)])]},
        "extra_state": {"metrics": collections.OrderedDict(
            train=collections.OrderedDict(loss=AverageMeter())),
            "previous_training_time": 1234.5,
            "train_iterator": {"epoch": 7, "iterations_in_epoch": 0, "shuffle": True}},
        "last_optimizer_state": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(2),
                                               "exp_avg_sq": torch.ones(2)}},
                                 "param_groups": [{"lr": 5e-4, "betas": (0.9, 0.98), "eps": 1e-6,
                                                   "params": [0]}]},
        "criterion": None,
    }


def hubert_dictconfig(fields, normalize):
    model = OmegaConf.structured(HubertConfigDC)
    for k, v in fields.items():
        model[k] = Choices(v) if k == "extractor_mode" else v
    return OmegaConf.create({
        "_name": None,
        "common": {"fp16": True, "log_interval": 200, "seed": 1337},
        "task": {"_name": "hubert_pretraining", "data": "/data/ls960", "labels": ["km"],
                 "normalize": normalize, "sample_rate": 16000, "max_sample_size": 250000},
        "model": model,
        "criterion": {"_name": "hubert", "pred_masked_weight": 1.0},
        "optimization": {"max_update": 400000, "lr": [0.0005]},
    })


CASES = {
    "hubert_cfg": dict(family="hubert", spec="[(16, 10, 5)] + [(16, 3, 2)] * 2 + [(16, 2, 2)]",
                       mode="default", pre_ln=False, conv_bias=False, normalize=False),
    "wav2vec2_args": dict(family="wav2vec2", spec="[(16, 10, 5)] + [(16, 3, 2)] * 3",
                          mode="default", pre_ln=False, conv_bias=False, normalize=False),
    "wavlm_dict": dict(family="wavlm", spec="[(16, 10, 5)] + [(16, 3, 2)] * 2 + [(16, 2, 2)]",
                       mode="default", pre_ln=False, conv_bias=False, normalize=False),
    "hubert_large_cfg": dict(family="hubert", spec="[(16, 10, 5), (16, 4, 3)] + [(16, 3, 2)] * 2",
                             mode="layer_norm", pre_ln=True, conv_bias=True, normalize=True),
}


def build(case, c):
    torch.manual_seed(11)
    args = (c["spec"], c["mode"], c["pre_ln"], c["conv_bias"])
    if c["family"] == "hubert":
        model = HubertModel(hf_config(HubertConfig, *args))
    elif c["family"] == "wav2vec2":
        model = Wav2Vec2Model(hf_config(Wav2Vec2Config, *args))
    else:
        model = WavLMModel(hf_config(WavLMConfig, *args, num_buckets=320, max_bucket_distance=800))
    with torch.no_grad():
        # Peaked attention (HF's 0.02-std init makes it nearly uniform), so that the head count
        # changes the hidden states by far more than the parity tolerance.
        for name, p in model.named_parameters():
            if name.endswith(("q_proj.weight", "k_proj.weight")):
                p.mul_(8.0)
    model.eval()
    sd = collections.OrderedDict(
        (to_fairseq(k, c["mode"] == "layer_norm"), v.clone()) for k, v in model.state_dict().items())
    head = {}
    if c["family"] == "hubert":
        sd["final_proj.weight"] = torch.randn(8, HIDDEN)
        sd["final_proj.bias"] = torch.randn(8)
        sd["label_embs_concat"] = torch.randn(10, 8)
        head = {k: sd[k].clone() for k in ["final_proj.weight", "final_proj.bias", "label_embs_concat"]}
    elif c["family"] == "wav2vec2":
        sd["quantizer.vars"] = torch.randn(1, 8, 4)
        sd["quantizer.weight_proj.weight"] = torch.randn(8, 16)
        sd["quantizer.weight_proj.bias"] = torch.randn(8)
        sd["project_q.weight"] = torch.randn(8, 4)
        sd["project_q.bias"] = torch.randn(8)
        sd["final_proj.weight"] = torch.randn(8, HIDDEN)
        sd["final_proj.bias"] = torch.randn(8)
    sd["_float_tensor"] = torch.zeros(1, dtype=torch.int64)  # an integer buffer, as fairseq has
    return model, sd, head


def checkpoint(case, c, sd):
    fields = model_fields(c["spec"], c["mode"], c["pre_ln"], c["conv_bias"])
    if case.startswith("hubert"):
        return {"args": None, "cfg": hubert_dictconfig(fields, c["normalize"]), "model": sd,
                **training_state()}
    if case == "wav2vec2_args":
        args = argparse.Namespace(arch="wav2vec2", task="audio_pretraining", criterion="wav2vec",
                                  data="/data/ls960", normalize=c["normalize"], sample_rate=16000,
                                  max_sample_size=250000, quantize_targets=True, latent_vars=320,
                                  final_dim=256, lr=[0.0005], **fields)
        return {"args": args, "model": sd, **training_state()}
    return {"cfg": dict(fields, relative_position_embedding=True, num_buckets=320, max_distance=800,
                        gru_rel_pos=True, normalize=c["normalize"], encoder_layers_to_keep=None),
            "model": sd}


def contradiction():
    """`contradicts_conv_pos`: the cfg says `conv_pos: 32`, the positional conv has kernel 16 (the
    loader refuses it before building a model, so a few tensors are enough)."""
    shapes = {"feature_extractor.conv_layers.0.0.weight": (16, 1, 10),
              "feature_extractor.conv_layers.0.2.weight": (16,),
              "feature_extractor.conv_layers.0.2.bias": (16,), "layer_norm.weight": (16,),
              "post_extract_proj.weight": (HIDDEN, 16), "encoder.pos_conv.0.weight_v": (HIDDEN, 8, 16),
              "encoder.layers.0.fc1.weight": (FFN, HIDDEN)}
    sd = collections.OrderedDict((k, torch.zeros(s)) for k, s in shapes.items())
    cfg = OmegaConf.create({"model": {"_name": "hubert", "encoder_attention_heads": HEADS,
                                      "conv_pos": 32, "conv_pos_groups": 4},
                            "task": {"normalize": False}})
    torch.save({"cfg": cfg, "model": sd}, OUT / "contradicts_conv_pos.pt")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*"):
        old.unlink()
    wave = torch.randn(1, 2400, generator=torch.Generator().manual_seed(5)) * 0.1 + 0.02
    for case, c in CASES.items():
        model, sd, head = build(case, c)
        ckpt = checkpoint(case, c, sd)
        legacy = case == "wav2vec2_args"
        torch.save(ckpt, OUT / f"{case}.pt", _use_new_zipfile_serialization=not legacy)
        extractor = Wav2Vec2FeatureExtractor(do_normalize=c["normalize"], return_attention_mask=False)
        inputs = extractor(wave[0].numpy(), sampling_rate=16000, return_tensors="pt").input_values
        with torch.no_grad():
            out = model(inputs, output_hidden_states=True)
        io = {"wave": wave.clone(), "input_values": inputs.clone(), **head}
        for i, h in enumerate(out.hidden_states):
            io[f"hidden_states.{i}"] = h.clone().contiguous()
        save_file(io, str(OUT / f"{case}.io.safetensors"))
        print(case, len(sd), "tensors,", (OUT / f"{case}.pt").stat().st_size, "bytes")
    contradiction()
    forget_fairseq()
    # The files must load without fairseq: torch.load (weights_only=False) now fails on them,
    # which is the point; the pickle still parses with a permissive unpickler.
    for case in CASES:
        try:
            torch.load(OUT / f"{case}.pt", weights_only=False)
            unimportable = False
        except (ModuleNotFoundError, AttributeError):
            unimportable = True
        print(case, "needs fairseq to torch.load:", unimportable)


if __name__ == "__main__":
    main()

"""The PyTorch side of the DistilHuBERT benchmarks, written once for `distill_vs_pytorch.py`
(one step) and `distill_process.py` (the whole job): s3prl's student initialisation, the conv
gradient scale, the prediction heads, the loss and the optimizer (Chang et al. 2022,
arXiv:2110.01900; s3prl `pretrain/distiller`)."""

import torch
import torch.nn.functional as F
from torch import nn

TARGETS = (4, 8, 12)


class GradMultiply(torch.autograd.Function):
    """fairseq's GradMultiply: identity forward, gradient x scale."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def student_from_teacher(teacher, **overrides):
    """A 2-layer copy of the teacher's architecture (its config plus `overrides`, without the
    feature-projection LayerNorm), initialised as DistilHuBERT does: CNN, feature projection
    Linear, positional conv and the first 2 layers copied (not the encoder LayerNorm); the CNN's
    gradient is scaled by 0.1."""
    config = type(teacher.config).from_dict(dict(
        teacher.config.to_dict(), num_hidden_layers=2, feat_proj_layer_norm=False, **overrides))
    student = type(teacher)(config)
    student.feature_extractor.load_state_dict(teacher.feature_extractor.state_dict())
    student.feature_projection.projection.load_state_dict(
        teacher.feature_projection.projection.state_dict())
    student.encoder.pos_conv_embed.load_state_dict(teacher.encoder.pos_conv_embed.state_dict())
    for i in range(2):
        student.encoder.layers[i].load_state_dict(teacher.encoder.layers[i].state_dict())
    # HF makes the waveform require grad in training (for gradient checkpointing); s3prl and
    # ssl-distill do not compute that gradient.
    if hasattr(student.feature_extractor, "_requires_grad"):
        student.feature_extractor._requires_grad = False
    student.feature_extractor.register_forward_hook(
        lambda _m, _i, out: GradMultiply.apply(out, 0.1))
    return student


class PredictionHeads(nn.Module):
    """Linear(d -> d * n) -> GELU -> n x Linear(d -> d_target), one per target layer."""

    def __init__(self, d=768, n=len(TARGETS), d_target=768):
        super().__init__()
        self.d = d
        self.expand = nn.Linear(d, d * n)
        self.heads = nn.ModuleList(nn.Linear(d, d_target) for _ in range(n))

    def forward(self, x):
        x = F.gelu(self.expand(x))
        return [h(x[..., i * self.d:(i + 1) * self.d]) for i, h in enumerate(self.heads)]


def loss(preds, targets):
    """mean|p - t| + mean(-log sigmoid(cos(p, t))), averaged over the targets."""
    return sum((p - t).abs().mean() - F.logsigmoid(F.cosine_similarity(p, t, dim=-1)).mean()
               for p, t in zip(preds, targets)) / len(targets)


def adamw(params):
    """DistilHuBERT's AdamW: lr 2e-4, betas (0.9, 0.98), eps 1e-6, weight decay 0.01."""
    return torch.optim.AdamW(params, lr=2e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)

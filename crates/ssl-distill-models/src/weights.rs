//! The one table between our modules and HF checkpoint names: [`walk`] visits every parameter
//! holder of an [`SslModel`] with its HF name prefix. Loading and exporting both go through it,
//! so a name can only be wrong in one place.
//!
//! Names (HF `HubertModel` / `Wav2Vec2Model` / `WavLMModel`):
//! `feature_extractor.conv_layers.N.{conv,layer_norm}`, `feature_projection.{layer_norm,
//! projection}`, `encoder.pos_conv_embed.conv`, `encoder.layer_norm`,
//! `encoder.layers.N.attention.{q,k,v,out}_proj`, `...attention.gru_rel_pos_{linear,const}`,
//! `...attention.rel_attn_embed` (WavLM layer 0), `encoder.layers.N.{layer_norm,
//! feed_forward.intermediate_dense, feed_forward.output_dense, final_layer_norm}`,
//! `masked_spec_embed`.

use burn::module::Param;
use burn::nn::conv::Conv1d;
use burn::nn::{Embedding, GroupNorm, LayerNorm, Linear};
use burn::tensor::Tensor;

use crate::model::SslModel;
use crate::nn::feature_extractor::ConvNorm;

/// A parameter holder and how its tensors are named and laid out in a PyTorch checkpoint.
pub(crate) enum Slot<'a> {
    /// `weight` `[out, in]` (burn stores `[in, out]`), optional `bias`.
    Linear(&'a mut Linear),
    /// `weight`, `bias`.
    LayerNorm(&'a mut LayerNorm),
    /// `weight`, `bias`.
    GroupNorm(&'a mut GroupNorm),
    /// `weight` `[out, in / groups, kernel]`, optional `bias`.
    Conv(&'a mut Conv1d),
    /// Like `Conv`, but the weight is stored weight-normed (`weight_g`/`weight_v` or
    /// `parametrizations.weight.original0/1`), or plain.
    WeightNormConv(&'a mut Conv1d),
    /// `weight` `[num_embeddings, dim]`.
    Embedding(&'a mut Embedding),
    /// A bare vector parameter (the prefix is its full name).
    Vector(&'a mut Param<Tensor<1>>),
    /// A bare rank-4 parameter (the prefix is its full name).
    Rank4(&'a mut Param<Tensor<4>>),
}

/// Calls `f(prefix, slot)` for every parameter holder of `model`, in checkpoint order.
pub(crate) fn walk(model: &mut SslModel, f: &mut dyn FnMut(&str, Slot<'_>)) {
    for (i, layer) in model.feature_extractor.conv_layers.iter_mut().enumerate() {
        let p = format!("feature_extractor.conv_layers.{i}");
        f(&format!("{p}.conv"), Slot::Conv(&mut layer.conv));
        match &mut layer.layer_norm {
            Some(ConvNorm::Group(norm)) => f(&format!("{p}.layer_norm"), Slot::GroupNorm(norm)),
            Some(ConvNorm::Layer(norm)) => f(&format!("{p}.layer_norm"), Slot::LayerNorm(norm)),
            None => {}
        }
    }
    let proj = &mut model.feature_projection;
    if let Some(norm) = &mut proj.layer_norm {
        f("feature_projection.layer_norm", Slot::LayerNorm(norm));
    }
    f(
        "feature_projection.projection",
        Slot::Linear(&mut proj.projection),
    );
    let enc = &mut model.encoder;
    f(
        "encoder.pos_conv_embed.conv",
        Slot::WeightNormConv(&mut enc.pos_conv_embed.conv),
    );
    f("encoder.layer_norm", Slot::LayerNorm(&mut enc.layer_norm));
    for (i, layer) in enc.layers.iter_mut().enumerate() {
        let p = format!("encoder.layers.{i}");
        let att = &mut layer.attention;
        f(
            &format!("{p}.attention.k_proj"),
            Slot::Linear(&mut att.k_proj),
        );
        f(
            &format!("{p}.attention.v_proj"),
            Slot::Linear(&mut att.v_proj),
        );
        f(
            &format!("{p}.attention.q_proj"),
            Slot::Linear(&mut att.q_proj),
        );
        f(
            &format!("{p}.attention.out_proj"),
            Slot::Linear(&mut att.out_proj),
        );
        if let Some(gate) = &mut att.gru_rel_pos_linear {
            f(
                &format!("{p}.attention.gru_rel_pos_linear"),
                Slot::Linear(gate),
            );
        }
        if let Some(c) = &mut att.gru_rel_pos_const {
            f(&format!("{p}.attention.gru_rel_pos_const"), Slot::Rank4(c));
        }
        if let Some(e) = &mut att.rel_attn_embed {
            f(&format!("{p}.attention.rel_attn_embed"), Slot::Embedding(e));
        }
        f(
            &format!("{p}.layer_norm"),
            Slot::LayerNorm(&mut layer.layer_norm),
        );
        let ff = &mut layer.feed_forward;
        f(
            &format!("{p}.feed_forward.intermediate_dense"),
            Slot::Linear(&mut ff.intermediate_dense),
        );
        f(
            &format!("{p}.feed_forward.output_dense"),
            Slot::Linear(&mut ff.output_dense),
        );
        f(
            &format!("{p}.final_layer_norm"),
            Slot::LayerNorm(&mut layer.final_layer_norm),
        );
    }
    if let Some(m) = &mut model.masked_spec_embed {
        f("masked_spec_embed", Slot::Vector(m));
    }
}

//! Physical pruning (DPHuBERT `prune.py` and the `prune()` methods of
//! `wav2vec2/components.py`): the units whose deterministic gate is 0 are removed, and the
//! kept units' gate values are folded into the weights that read them (the next conv's input
//! channels, the feature projection's input rows, `out_proj`'s input rows, `output_dense`'s
//! input rows), so the pruned dense student computes exactly what the gated one computes with
//! deterministic gates.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ssl_distill_models::nn::feature_extractor::ConvNorm;

use super::LayerShape;
use super::hard_concrete::HardConcrete;
use crate::error::StudentError;
use crate::student::Student;

/// Kept units and their gate values; when every gate is 0 the unit with the largest `log α`
/// stays with value 0, so its outgoing weights become 0 (exact, and no width-0 tensor).
fn kept(gate: &HardConcrete) -> (Vec<usize>, Vec<f32>) {
    let kept = gate.kept();
    if kept.is_empty() {
        let la: Vec<f32> = gate
            .log_alpha
            .val()
            .try_into_vec_as::<f32>()
            .expect("f32 data");
        let best = (0..la.len())
            .max_by(|&a, &b| la[a].total_cmp(&la[b]))
            .unwrap_or(0);
        return (vec![best], vec![0.0]);
    }
    kept.into_iter().unzip()
}

fn index(idx: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, [idx.len()]), device)
}

fn values(v: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
}

fn param<const D: usize>(t: Tensor<D>) -> Param<Tensor<D>> {
    Param::from_tensor(t)
}

/// `linear` with only output columns `idx`.
fn keep_outputs(linear: &mut Linear, idx: &Tensor<1, Int>) {
    linear.weight = param(linear.weight.val().select(1, idx.clone()));
    linear.bias = linear
        .bias
        .as_ref()
        .map(|b| param(b.val().select(0, idx.clone())));
}

/// `linear` with only input rows `idx`, row `j` scaled by `scale[j]`.
fn keep_inputs(linear: &mut Linear, idx: &Tensor<1, Int>, scale: Tensor<1>) {
    let w = linear.weight.val().select(0, idx.clone());
    linear.weight = param(w * scale.unsqueeze_dim::<2>(1));
}

impl Student {
    /// Removes every unit whose deterministic gate is 0 and folds the other gate values into
    /// the weights (see the module docs): a dense student without gates whose `student.json`
    /// records the kept conv channels (`backbone.conv_dim`) and per-layer heads and FFN widths
    /// (`layer_shapes`). Its outputs equal this student's with deterministic gates (the gates
    /// of a student on a plain device, or after `valid()`).
    ///
    /// # Errors
    /// [`StudentError::Config`] when the student has no gates.
    pub fn prune(mut self) -> Result<Student, StudentError> {
        let gates = self
            .gates
            .take()
            .ok_or_else(|| StudentError::config("prune", "the student has no pruning gates"))?;
        let mut config = self.config().clone();
        let head_dim = config.backbone.head_dim();
        let convs = &mut self.backbone.feature_extractor.conv_layers;
        for (i, gate) in gates.conv.iter().enumerate() {
            let device = gate.log_alpha.val().device();
            let (idx, vals) = kept(gate);
            let n = idx.len();
            let idx_t = index(&idx, &device);
            let layer = &mut convs[i];
            layer.conv.weight = param(layer.conv.weight.val().select(0, idx_t.clone()));
            layer.conv.bias = layer
                .conv
                .bias
                .as_ref()
                .map(|b| param(b.val().select(0, idx_t.clone())));
            match &mut layer.layer_norm {
                Some(ConvNorm::Group(norm)) => {
                    norm.gamma = norm
                        .gamma
                        .as_ref()
                        .map(|g| param(g.val().select(0, idx_t.clone())));
                    norm.beta = norm
                        .beta
                        .as_ref()
                        .map(|b| param(b.val().select(0, idx_t.clone())));
                    norm.num_groups = n;
                    norm.num_channels = n;
                }
                Some(ConvNorm::Layer(_)) => {
                    return Err(StudentError::config(
                        "prune.conv",
                        "conv channels of a layer-norm extractor cannot be pruned",
                    ));
                }
                None => {}
            }
            let scale = values(&vals, &device);
            if let Some(next) = convs.get_mut(i + 1) {
                let w = next.conv.weight.val().select(1, idx_t);
                next.conv.weight = param(w * scale.reshape([1, n, 1]));
            } else {
                let proj = &mut self.backbone.feature_projection;
                keep_inputs(&mut proj.projection, &idx_t, scale);
            }
            config.backbone.conv_dim[i] = n;
        }
        let layers = &mut self.backbone.encoder.layers;
        let mut shapes: Vec<LayerShape> =
            (0..layers.len()).map(|l| config.layer_shape(l)).collect();
        for (l, gate) in gates.heads.iter().enumerate() {
            let device = gate.log_alpha.val().device();
            let (heads, vals) = kept(gate);
            let cols: Vec<usize> = heads
                .iter()
                .flat_map(|&h| h * head_dim..(h + 1) * head_dim)
                .collect();
            let scale: Vec<f32> = vals
                .iter()
                .flat_map(|&v| std::iter::repeat_n(v, head_dim))
                .collect();
            let idx = index(&cols, &device);
            let att = &mut layers[l].attention;
            keep_outputs(&mut att.q_proj, &idx);
            keep_outputs(&mut att.k_proj, &idx);
            keep_outputs(&mut att.v_proj, &idx);
            keep_inputs(&mut att.out_proj, &idx, values(&scale, &device));
            att.num_heads = heads.len();
            shapes[l].heads = heads.len();
        }
        for (l, gate) in gates.ffn.iter().enumerate() {
            let device = gate.log_alpha.val().device();
            let (units, vals) = kept(gate);
            let idx = index(&units, &device);
            let ff = &mut layers[l].feed_forward;
            keep_outputs(&mut ff.intermediate_dense, &idx);
            keep_inputs(&mut ff.output_dense, &idx, values(&vals, &device));
            shapes[l].ffn = units.len();
        }
        let uniform = config.uniform_shape();
        config.layer_shapes = if shapes.iter().all(|s| *s == uniform) {
            Vec::new()
        } else {
            shapes
        };
        config.prune = None;
        config
            .validate()
            .expect("a pruned student has a valid architecture");
        self.set_config(config);
        Ok(self)
    }
}

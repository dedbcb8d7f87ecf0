//! HuBERT's pretraining head (`final_proj`, `label_embs_concat`), as fairseq checkpoints and
//! this project's pretrained HF directories store it beside the model's weights.

use crate::state::{StateDict, StateTensor};

/// HuBERT's pretraining head: `logits = cos(final_proj(h), label_embs) / 0.1`.
#[derive(Debug, Clone, PartialEq)]
pub struct HubertHead {
    /// `final_proj.weight` `[proj_dim, hidden]` (PyTorch layout).
    pub final_proj_weight: StateTensor,
    /// `final_proj.bias` `[proj_dim]`.
    pub final_proj_bias: StateTensor,
    /// `label_embs_concat` `[num_codewords, proj_dim]`.
    pub label_embs: StateTensor,
}

/// The head's tensor names: `final_proj.weight`, `final_proj.bias`, `label_embs_concat`.
const KEYS: [&str; 3] = ["final_proj.weight", "final_proj.bias", "label_embs_concat"];

impl HubertHead {
    /// Removes the head from `dict` when all of it is there (a half head stays, so the load
    /// report lists it).
    pub(crate) fn take(dict: &mut StateDict) -> Option<Self> {
        if !KEYS.iter().all(|k| dict.contains_key(*k)) {
            return None;
        }
        Some(Self {
            final_proj_weight: dict.remove(KEYS[0])?,
            final_proj_bias: dict.remove(KEYS[1])?,
            label_embs: dict.remove(KEYS[2])?,
        })
    }

    /// A copy of the head in `dict` when all of it is there (`dict` keeps the tensors, which
    /// the loader then reports as ignored).
    pub(crate) fn copied(dict: &StateDict) -> Option<Self> {
        match KEYS.map(|k| dict.get(k)) {
            [Some(w), Some(b), Some(e)] => Some(Self {
                final_proj_weight: w.clone(),
                final_proj_bias: b.clone(),
                label_embs: e.clone(),
            }),
            _ => None,
        }
    }
}

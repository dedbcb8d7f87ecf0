//! Building blocks shared by HuBERT, wav2vec 2.0 and WavLM (and by students).

pub mod attention;
pub mod conv_matmul;
pub mod encoder_layer;
pub mod feature_extractor;
pub mod feature_projection;
pub mod feed_forward;
pub mod pos_conv;
pub mod rel_pos;

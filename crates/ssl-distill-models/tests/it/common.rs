//! Fixture access shared by the test modules.

use std::path::{Path, PathBuf};

use burn::tensor::{Bool, Device, Tensor, TensorData};
use safetensors::SafeTensors;

/// `tests/fixtures/<case>`.
pub fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(case)
}

/// The tensors of a case's `io.safetensors`: name → (shape, values).
pub struct Io(pub std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)>);

impl Io {
    /// Reads `tests/fixtures/<case>/io.safetensors`.
    pub fn read(case: &str) -> Self {
        Self::from_path(&fixture(case).join("io.safetensors"))
    }

    /// Reads any safetensors file of f32 tensors.
    pub fn from_path(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut map = std::collections::BTreeMap::new();
        for (name, view) in st.tensors() {
            let data = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            map.insert(name, (view.shape().to_vec(), data));
        }
        Self(map)
    }

    /// A tensor of the fixture on `device`.
    pub fn tensor<const D: usize>(&self, key: &str, device: &Device) -> Tensor<D> {
        let (shape, data) = &self.0[key];
        let shape: [usize; D] = shape.clone().try_into().unwrap();
        Tensor::from_data(TensorData::new(data.clone(), shape), device)
    }

    /// The sample padding mask (`true` = padded) from HF's `attention_mask`, if present.
    pub fn padding_mask(&self, device: &Device) -> Option<Tensor<2, Bool>> {
        self.0
            .contains_key("attention_mask")
            .then(|| self.tensor::<2>("attention_mask", device).lower_elem(0.5))
    }

    /// Indices of the stored hidden states.
    pub fn hidden_indices(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix("hidden_states.").map(|i| i.parse().unwrap()))
            .collect();
        v.sort_unstable();
        v
    }
}

/// Max absolute difference between a tensor and fixture values (shapes must match).
pub fn max_diff<const D: usize>(got: &Tensor<D>, want: &(Vec<usize>, Vec<f32>), what: &str) -> f32 {
    assert_eq!(got.dims().to_vec(), want.0, "{what}: shape");
    let got: Vec<f32> = got.clone().try_into_vec_as::<f32>().unwrap();
    got.iter()
        .zip(&want.1)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// The largest element-wise difference between two state-dict tensors of one shape.
pub fn max_state_diff(
    a: &ssl_distill_models::StateTensor,
    b: &ssl_distill_models::StateTensor,
) -> f32 {
    assert_eq!(a.shape, b.shape);
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

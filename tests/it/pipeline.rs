//! Manifest → background loader → padded batch → burn tensors on the CPU backend.

use std::sync::Arc;

use burn::tensor::Device;
use ssl_distill::audio::{
    AudioDataset, Cursor, DatasetConfig, Loader, LoaderConfig, Manifest, num_frames,
};

fn write_wav(path: &std::path::Path, len: usize) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for t in 0..len {
        w.write_sample(((t as f32 * 0.07).sin() * 8000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn batches_from_a_manifest_become_masked_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let mut tsv = format!("{}\n", dir.path().display());
    for (i, len) in [22050usize, 11025, 16000].into_iter().enumerate() {
        write_wav(&dir.path().join(format!("{i}.wav")), len);
        tsv.push_str(&format!("{i}.wav\t{len}\n"));
    }
    std::fs::write(dir.path().join("train.tsv"), tsv).unwrap();
    let manifest = Manifest::open(dir.path().join("train.tsv")).unwrap();
    let dataset = Arc::new(AudioDataset::new(manifest, DatasetConfig::default()).unwrap());
    let config = LoaderConfig {
        batch_size: 3,
        shuffle: false,
        max_epochs: Some(1),
        ..LoaderConfig::default()
    };
    let loaded = Loader::new(dataset, config, Cursor::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let batch = loaded.batch;
    // 22050 Hz → 16 kHz: ceil(len * 16000 / 22050) samples.
    assert_eq!(batch.lengths, vec![16000, 8000, 11610]);

    let device = Device::flex();
    let (waves, mask) = batch.to_tensors(&device);
    assert_eq!(waves.dims(), [3, 16000]);
    assert_eq!(mask.dims(), [3, 16000]);
    assert_eq!(waves.into_data().try_to_vec::<f32>().unwrap(), batch.waves);
    assert_eq!(
        mask.into_data().try_to_vec::<bool>().unwrap(),
        batch.padding_mask
    );

    let (frame_mask, frames) = batch.frame_padding_mask();
    assert_eq!(frames, num_frames(16000));
    let valid: Vec<usize> = frame_mask
        .chunks(frames)
        .map(|row| row.iter().filter(|m| !**m).count())
        .collect();
    assert_eq!(valid, vec![49, 24, 36]); // floor((L - 400) / 320) + 1
}

//! What training is watched by: reconstruction error and the free-energy gap, per epoch.
//!
//! Both are measured on fixed samples (the same images every epoch, the same random draws),
//! so that a change from one epoch to the next is the model's and not the sample's. The
//! definitions are on [`EpochMetrics`].

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use ndarray::Axis;

use continuo_model::rbm::softplus;
use continuo_model::weights::EpochMetrics;
use continuo_model::Rbm;

use crate::counter_rng;
use crate::cpu;
use crate::sparse_images::SparseImages;

/// Images per chunk when measuring: bounds the dense reconstruction buffer.
const CHUNK_IMAGES: usize = 100;

/// Distinguishes the monitoring draws from the training draws of the same seed.
const MONITOR_SEED_SALT: u32 = 0x9e37_79b9;

/// Mean over images and units of `(v - p(v | h))^2`, `h` a binary sample of `p(h | v)`.
pub fn reconstruction_error(rbm: &Rbm, images: &SparseImages, seed: u64) -> f64 {
    if images.is_empty() {
        return 0.0;
    }
    let seed = counter_rng::fold_seed(seed) ^ MONITOR_SEED_SALT;
    let mut squared_error = 0.0f64;
    for (chunk, first) in (0..images.len()).step_by(CHUNK_IMAGES).enumerate() {
        let batch: Vec<&[u32]> = (first..(first + CHUNK_IMAGES).min(images.len()))
            .map(|index| images.image(index))
            .collect();
        let hidden = cpu::hidden_probabilities_sparse(rbm, &batch);
        let hidden = cpu::sample_binary(&hidden, seed, chunk as u32);
        let visible = cpu::visible_probabilities(rbm, hidden.view());
        // sum_i (v_i - p_i)^2 = sum_i p_i^2 + sum over on-units of (1 - 2 p_i).
        for (image, probabilities) in batch.iter().zip(visible.axis_iter(Axis(0))) {
            let all: f64 = probabilities.iter().map(|&p| f64::from(p * p)).sum();
            let on: f64 = image
                .iter()
                .map(|&unit| 1.0 - 2.0 * f64::from(probabilities[unit as usize]))
                .sum();
            squared_error += all + on;
        }
    }
    squared_error / (images.len() * images.visible_units) as f64
}

/// Mean of `F(v) = -b'v - sum_j softplus(c_j + (v'W)_j)` over the images.
pub fn mean_free_energy(rbm: &Rbm, images: &SparseImages) -> f64 {
    if images.is_empty() {
        return 0.0;
    }
    let mut total = 0.0f64;
    for first in (0..images.len()).step_by(CHUNK_IMAGES) {
        let batch: Vec<&[u32]> = (first..(first + CHUNK_IMAGES).min(images.len()))
            .map(|index| images.image(index))
            .collect();
        let inputs = cpu::hidden_inputs_sparse(rbm, &batch);
        for (image, input) in batch.iter().zip(inputs.axis_iter(Axis(0))) {
            let visible_term: f64 = image
                .iter()
                .map(|&unit| f64::from(rbm.b[unit as usize]))
                .sum();
            let hidden_term: f64 = input.iter().map(|&x| f64::from(softplus(x))).sum();
            total -= visible_term + hidden_term;
        }
    }
    total / images.len() as f64
}

/// Both figures on the two fixed samples; the held-out ones are `None` without held-out data.
pub fn measure(
    rbm: &Rbm,
    epoch: usize,
    training_sample: &SparseImages,
    heldout_sample: &SparseImages,
    seed: u64,
) -> EpochMetrics {
    let train_free_energy = mean_free_energy(rbm, training_sample);
    let heldout = (!heldout_sample.is_empty()).then(|| {
        (
            reconstruction_error(rbm, heldout_sample, seed) as f32,
            mean_free_energy(rbm, heldout_sample),
        )
    });
    EpochMetrics {
        epoch,
        train_reconstruction_error: reconstruction_error(rbm, training_sample, seed) as f32,
        heldout_reconstruction_error: heldout.map(|(error, _)| error),
        train_free_energy: train_free_energy as f32,
        heldout_free_energy: heldout.map(|(_, energy)| energy as f32),
        free_energy_gap: heldout.map(|(_, energy)| (energy - train_free_energy) as f32),
    }
}

/// The metrics CSV: one row per epoch, appended as training goes, so it survives a stop.
pub struct MetricsCsv {
    file: std::fs::File,
}

const CSV_HEADER: &str = "epoch,seconds,images_per_second,train_reconstruction_error,\
heldout_reconstruction_error,train_free_energy,heldout_free_energy,free_energy_gap";

impl MetricsCsv {
    /// Opens the CSV; a fresh run truncates it, a resumed run appends to it.
    pub fn open(path: &Path, append: bool) -> anyhow::Result<Self> {
        let exists = path.exists();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .with_context(|| format!("opening the metrics file {}", path.display()))?;
        let mut csv = MetricsCsv { file };
        if !(append && exists) {
            writeln!(csv.file, "{CSV_HEADER}")?;
        }
        Ok(csv)
    }

    pub fn write(
        &mut self,
        metrics: &EpochMetrics,
        seconds: f64,
        images_per_second: f64,
    ) -> anyhow::Result<()> {
        let optional = |value: Option<f32>| value.map(|v| v.to_string()).unwrap_or_default();
        writeln!(
            self.file,
            "{},{seconds:.2},{images_per_second:.1},{},{},{},{},{}",
            metrics.epoch,
            metrics.train_reconstruction_error,
            optional(metrics.heldout_reconstruction_error),
            metrics.train_free_energy,
            optional(metrics.heldout_free_energy),
            optional(metrics.free_energy_gap),
        )?;
        self.file.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::tests::tiny_geometry;
    use ndarray::{Array1, Array2};

    /// With `W = 0`, `p(v_i = 1 | h) = sigmoid(b_i)` whatever `h` is.
    fn constant_model(visible_bias: f32, hidden_bias: f32) -> Rbm {
        Rbm::from_parts(
            tiny_geometry(),
            Array2::zeros((8, 2)),
            Array1::from_elem(8, visible_bias),
            Array1::from_elem(2, hidden_bias),
        )
        .expect("model")
    }

    #[test]
    fn reconstruction_error_of_a_constant_model() {
        let mut images = SparseImages::new(8);
        images.push(&[0, 1]);
        images.push(&[]);
        // b = 0: p = 1/2 everywhere, each unit is off by exactly 1/2: error 1/4.
        let error = reconstruction_error(&constant_model(0.0, 0.0), &images, 1);
        assert!((error - 0.25).abs() < 1e-7, "{error}");

        // b = ln(1/4): p = 0.2. 2 on-units err by 0.8, 14 off-units by 0.2:
        // (2 * 0.64 + 14 * 0.04) / 16 = 0.115.
        let error = reconstruction_error(&constant_model(0.25f32.ln(), 0.0), &images, 1);
        assert!((error - 0.115).abs() < 1e-6, "{error}");
    }

    #[test]
    fn free_energy_of_a_constant_model() {
        let mut images = SparseImages::new(8);
        images.push(&[0, 1, 2]);
        images.push(&[5]);
        // F(v) = -b * ones - 2 ln(1 + e^c). b = 0.5, c = 0: image 1: -1.5 - 2 ln 2,
        // image 2: -0.5 - 2 ln 2; mean -1 - 2 ln 2 = -2.386294.
        let energy = mean_free_energy(&constant_model(0.5, 0.0), &images);
        assert!((energy - (-1.0 - 2.0 * 2f64.ln())).abs() < 1e-6, "{energy}");
    }

    #[test]
    fn free_energy_gap_is_heldout_minus_training() {
        let mut training = SparseImages::new(8);
        training.push(&[0, 1, 2, 3]);
        let mut heldout = SparseImages::new(8);
        heldout.push(&[0]);
        // b = 1, c = 0: F = -ones - 2 ln 2; gap = -1 - (-4) = 3.
        let metrics = measure(&constant_model(1.0, 0.0), 1, &training, &heldout, 0);
        assert!((metrics.free_energy_gap.expect("held out") - 3.0).abs() < 1e-5);
        let none = measure(
            &constant_model(1.0, 0.0),
            1,
            &training,
            &SparseImages::new(8),
            0,
        );
        assert_eq!(none.free_energy_gap, None);
    }
}

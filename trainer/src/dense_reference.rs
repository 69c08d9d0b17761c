//! The CD-1 step written the straightforward way, as a yardstick for `continuo bench train`.
//!
//! Dense matrices of 0/1 values and ndarray's matrix products, step by step as the textbook
//! writes them, on one thread. It draws the same counter-based uniforms as [`crate::cpu`], so
//! both compute the same update from the same data and seed.

use ndarray::Array2;

use continuo_model::rbm::sigmoid;
use continuo_model::weights::Hyperparameters;
use continuo_model::Rbm;

use crate::counter_rng;
use crate::cpu::Velocity;

/// One CD-1 update from a dense batch `data` (images x visible units, 0/1).
pub fn cd1_step(
    rbm: &mut Rbm,
    velocity: &mut Velocity,
    data: &Array2<f32>,
    settings: &Hyperparameters,
    batch_index: u64,
) {
    let seed = counter_rng::fold_seed(settings.seed);
    let draw = |half_step| counter_rng::draw_index(batch_index, 1, half_step);

    let positive_hidden = (data.dot(&rbm.w) + &rbm.c).mapv(sigmoid);
    let hidden = sample(&positive_hidden, seed, draw(0));
    let visible = (hidden.dot(&rbm.w.t()) + &rbm.b).mapv(sigmoid);
    let reconstruction = sample(&visible, seed, draw(1));
    let negative_hidden = (reconstruction.dot(&rbm.w) + &rbm.c).mapv(sigmoid);

    let images = data.nrows() as f32;
    let weight_gradient =
        (data.t().dot(&positive_hidden) - reconstruction.t().dot(&negative_hidden)) / images;
    let visible_gradient = (data - &reconstruction).sum_axis(ndarray::Axis(0)) / images;
    let hidden_gradient = (&positive_hidden - &negative_hidden).sum_axis(ndarray::Axis(0)) / images;

    let lr = settings.learning_rate;
    velocity.w =
        settings.momentum * &velocity.w + lr * (weight_gradient - settings.weight_decay * &rbm.w);
    velocity.b = settings.momentum * &velocity.b + lr * visible_gradient;
    velocity.c = settings.momentum * &velocity.c + lr * hidden_gradient;
    rbm.w += &velocity.w;
    rbm.b += &velocity.b;
    rbm.c += &velocity.c;
}

fn sample(probabilities: &Array2<f32>, seed: u32, draw: u32) -> Array2<f32> {
    Array2::from_shape_fn(probabilities.raw_dim(), |(image, unit)| {
        let uniform = counter_rng::uniform(seed, draw, image as u32, unit as u32);
        if uniform < probabilities[[image, unit]] {
            1.0
        } else {
            0.0
        }
    })
}

/// The dense 0/1 matrix of images given by on-units.
pub fn densify(images: &[&[u32]], visible_units: usize) -> Array2<f32> {
    let mut dense = Array2::zeros((images.len(), visible_units));
    for (row, image) in images.iter().enumerate() {
        for &unit in *image {
            dense[[row, unit as usize]] = 1.0;
        }
    }
    dense
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuTrainer;
    use crate::sparse_images::SparseImages;
    use continuo_model::geometry::{Geometry, Grid};

    /// The sparse trainer and the textbook step agree on a batch sparse enough to be gathered
    /// (3% data) and on one dense enough to be multiplied (early reconstructions near 1/2).
    #[test]
    fn sparse_trainer_agrees_with_the_textbook_step() {
        let geometry = Geometry {
            grid: Grid {
                lowest_pitch: 24,
                pitch_rows: 12,
                steps_per_quarter: 4,
                quarters_per_measure: 4,
            },
            measures: 2,
        };
        let visible_units = geometry.visible_units();
        let images = SparseImages::synthetic(visible_units, 16, 0.03, 9);
        let batch: Vec<&[u32]> = (0..images.len()).map(|i| images.image(i)).collect();
        let dense = densify(&batch, visible_units);

        for visible_bias in [0.0f32, -4.0] {
            let mut rbm = Rbm::xavier(geometry, 20, 5);
            rbm.b.fill(visible_bias);
            let settings = Hyperparameters {
                learning_rate: 0.05,
                momentum: 0.5,
                batch_size: 16,
                weight_decay: 0.001,
                cd_steps: 1,
                persistent: false,
                seed: 8,
                holdout_fraction: 0.0,
                visible_bias_init: continuo_model::weights::VisibleBiasInit::Zero,
            };
            let mut reference = rbm.clone();
            let mut reference_velocity = Velocity::zeros(&rbm);
            let mut trainer = CpuTrainer::new(rbm, settings.clone());
            for batch_index in 0..3 {
                cd1_step(
                    &mut reference,
                    &mut reference_velocity,
                    &dense,
                    &settings,
                    batch_index,
                );
                trainer.train_batch(&batch);
            }
            let largest = |a: &Array2<f32>, b: &Array2<f32>| {
                (a - b).iter().fold(0.0f32, |m, x| m.max(x.abs()))
            };
            assert!(largest(&trainer.rbm.w, &reference.w) < 1e-5);
            assert!(largest(&trainer.velocity.w, &reference_velocity.w) < 1e-5);
            let bias_difference = (&trainer.rbm.b - &reference.b)
                .iter()
                .fold(0.0f32, |m, x| m.max(x.abs()));
            assert!(bias_difference < 1e-5);
        }
    }
}

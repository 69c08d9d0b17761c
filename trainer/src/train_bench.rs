//! `continuo bench train`: the sparse CPU trainer against the textbook dense CD-1 step, timed in
//! the same run on the same images and starting weights.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use continuo_model::geometry::Geometry;
use continuo_model::weights::Hyperparameters;
use continuo_model::Rbm;

use crate::cpu::{CpuTrainer, Velocity};
use crate::dense_reference;
use crate::sparse_images::SparseImages;
use crate::train::{check_model_size, read_training_data, require_at_least_one};

/// Images of one epoch of the paper-sized corpus, for the projected epoch time.
const PAPER_EPOCH_IMAGES: usize = 22_116;

/// The most random images a measurement makes: a few paper epochs, a few minutes of the dense
/// step on one thread. Dataset images are capped by the dataset's size instead.
const MAX_RANDOM_IMAGES: usize = 100_000;

#[derive(clap::Args)]
pub struct BenchTrainArgs {
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Images to train on per measurement: at most 100000 random images, or all of --data's.
    #[arg(long, default_value_t = 1000)]
    pub images: usize,
    /// A dataset to take the images from; without it, random images of --density.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Fraction of on-cells of the random images.
    #[arg(long, default_value_t = 0.03)]
    pub density: f32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `gpu` or `auto` also times the GPU trainer (see `continuo train --device`).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: crate::train::Device,
}

impl BenchTrainArgs {
    /// Refuses what would panic in a worker thread, never finish, or make no images.
    fn validate(&self) -> anyhow::Result<()> {
        require_at_least_one(&[
            ("--batch", self.batch),
            ("--hidden", self.hidden),
            ("--images", self.images),
        ])?;
        if !(self.density > 0.0 && self.density < 1.0) {
            bail!("--density is a fraction in (0, 1), not {}", self.density);
        }
        if self.data.is_none() && self.images > MAX_RANDOM_IMAGES {
            bail!(
                "--images {} is more random images than a measurement needs; at most \
                 {MAX_RANDOM_IMAGES}",
                self.images
            );
        }
        Ok(())
    }
}

pub fn bench(args: BenchTrainArgs) -> anyhow::Result<()> {
    args.validate()?;
    let (geometry, images, source) = bench_images(&args)?;
    check_model_size(geometry.visible_units(), args.hidden)?;
    if images.is_empty() {
        bail!("{source} holds no images");
    }
    let batches = images.batches(args.batch);
    println!(
        "CD-1, P = {}, batch {}, {} images of {} ({:.2}% on), {} threads",
        args.hidden,
        args.batch,
        images.len(),
        source,
        100.0 * images.density(),
        rayon::current_num_threads()
    );

    // A trained model reconstructs images about as sparse as the data; a fresh one with zero
    // visible biases reconstructs half of all cells. Steady state is measured with the visible
    // biases at the data's log-odds, so that reconstructions have the data's density.
    let fresh = Rbm::xavier(geometry, args.hidden, args.seed);
    let mut steady = fresh.clone();
    steady.b = images.log_odds();
    let settings = Hyperparameters {
        learning_rate: 0.05,
        momentum: 0.5,
        batch_size: args.batch,
        weight_decay: 0.0,
        cd_steps: 1,
        persistent: false,
        seed: args.seed,
        holdout_fraction: 0.0,
        visible_bias_init: continuo_model::weights::VisibleBiasInit::DataLogOdds,
    };

    let dense_seconds = time_dense(&steady, &settings, &batches, geometry.visible_units());
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .context("building a one-thread pool")?;
    let sparse_one_thread = one_thread.install(|| time_sparse(&steady, &settings, &batches));
    let sparse_seconds = time_sparse(&steady, &settings, &batches);
    let fresh_seconds = time_sparse(&fresh, &settings, &batches);

    let flops_per_image = 3.0 * 2.0 * geometry.visible_units() as f64 * args.hidden as f64;
    let report = |name: &str, seconds: f64| {
        let images_per_second = images.len() as f64 / seconds;
        println!(
            "{name:<44} {seconds:>7.2} s {images_per_second:>8.0} img/s {:>7.1} GFLOP/s {:>6.1}x  epoch of {PAPER_EPOCH_IMAGES}: {:>6.1} s",
            images_per_second * flops_per_image / 1e9,
            dense_seconds / seconds,
            PAPER_EPOCH_IMAGES as f64 / images_per_second,
        );
    };
    println!(
        "GFLOP/s counts 3 dense products of batch x {} x {} (2 FLOPs per multiply-add)",
        geometry.visible_units(),
        args.hidden
    );
    report("dense textbook step (ndarray dot, 1 thread)", dense_seconds);
    report("sparse trainer, 1 thread", sparse_one_thread);
    report("sparse trainer, all threads", sparse_seconds);
    report("sparse trainer, all threads, fresh model", fresh_seconds);
    let gpu = crate::gpu::bench::time_training(&steady, &settings, &batches, args.device)?;
    if let Some(gpu) = gpu {
        report(&format!("GPU trainer ({})", gpu.adapter.name), gpu.seconds);
        let step_gflops = images.len() as f64 * flops_per_image / gpu.seconds / 1e9;
        println!("{}", gpu.summary(step_gflops, sparse_seconds));
    }
    Ok(())
}

fn bench_images(args: &BenchTrainArgs) -> anyhow::Result<(Geometry, SparseImages, String)> {
    let Some(path) = &args.data else {
        let geometry = Geometry::PAPER;
        let images = SparseImages::synthetic(
            geometry.visible_units(),
            args.images,
            args.density,
            args.seed,
        );
        return Ok((geometry, images, "random images".to_string()));
    };
    let data = read_training_data(path)?;
    let mut indices: Vec<usize> = (0..data.images.len()).collect();
    indices.shuffle(&mut rand_pcg::Pcg64Mcg::seed_from_u64(args.seed));
    indices.truncate(args.images);
    Ok((
        data.geometry,
        data.images.subset(&indices),
        path.display().to_string(),
    ))
}

fn time_dense(
    start: &Rbm,
    settings: &Hyperparameters,
    batches: &[Vec<&[u32]>],
    visible_units: usize,
) -> f64 {
    let dense_batches: Vec<_> = batches
        .iter()
        .map(|batch| dense_reference::densify(batch, visible_units))
        .collect();
    let mut rbm = start.clone();
    let mut velocity = Velocity::zeros(&rbm);
    let started = Instant::now();
    for (index, batch) in dense_batches.iter().enumerate() {
        dense_reference::cd1_step(&mut rbm, &mut velocity, batch, settings, index as u64);
    }
    started.elapsed().as_secs_f64()
}

/// Seconds the CPU trainer takes for `batches`, starting from `start`.
pub fn time_sparse(start: &Rbm, settings: &Hyperparameters, batches: &[Vec<&[u32]>]) -> f64 {
    let mut trainer = CpuTrainer::new(start.clone(), settings.clone());
    let started = Instant::now();
    for batch in batches {
        trainer.train_batch(batch);
    }
    started.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_bench() -> BenchTrainArgs {
        BenchTrainArgs {
            hidden: 4,
            batch: 5,
            images: 10,
            data: None,
            density: 0.03,
            seed: 1,
            device: crate::train::Device::Cpu,
        }
    }

    #[test]
    fn zero_hidden_units_or_batch_are_refused_without_a_panic() {
        for (hidden, batch) in [(0, 5), (4, 0)] {
            let args = BenchTrainArgs {
                hidden,
                batch,
                ..tiny_bench()
            };
            let error = bench(args).expect_err("nothing to time").to_string();
            assert!(error.contains("must be at least 1"), "{error}");
        }
    }

    #[test]
    fn density_and_image_count_out_of_range_are_refused() {
        for density in [f32::NAN, 2.0, -1.0, 0.0, 1.0] {
            let args = BenchTrainArgs {
                density,
                ..tiny_bench()
            };
            let error = args.validate().expect_err("bad density").to_string();
            assert!(error.starts_with("--density"), "{error}");
        }
        for images in [0, MAX_RANDOM_IMAGES + 1, usize::MAX] {
            let args = BenchTrainArgs {
                images,
                ..tiny_bench()
            };
            let error = args.validate().expect_err("bad image count").to_string();
            assert!(error.contains("--images"), "{error}");
        }
        tiny_bench().validate().expect("the tiny bench is fine");
    }
}

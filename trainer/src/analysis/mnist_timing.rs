//! `continuo bench mnist`: the paper's Fig. A.1, the time of one training epoch on MNIST
//! against the number of hidden units, on the CPU and, when asked and there is one, a GPU.
//!
//! The images are the 10,000 binarised digits of the MNIST test set (784 visible units, about
//! a fifth of them on, so the trainer takes its dense path for the reconstructions). Each size
//! trains one epoch of CD-1 from the same start (Xavier weights, visible biases at the data's
//! log-odds) with the built-in model's settings.

use std::path::PathBuf;

use anyhow::bail;

use continuo_model::weights::{Hyperparameters, VisibleBiasInit};
use continuo_model::{Geometry, Grid, Rbm};

use super::mnist::{binarised_on_units, read_test_set};
use super::plot::{line_chart, LineChart, Series};
use super::{output_path, write_text};
use crate::sparse_images::SparseImages;
use crate::train::Device;
use crate::train_bench::time_sparse;

#[derive(clap::Args)]
pub struct BenchMnistArgs {
    /// The folder of the gzipped MNIST test files.
    #[arg(long)]
    pub mnist: PathBuf,
    /// Hidden units to time.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "64,128,256,512,1024,2048,4096"
    )]
    pub hidden: Vec<usize>,
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Images of the epoch timed (the first ones of the test set; at most 10,000).
    #[arg(long, default_value_t = 10_000)]
    pub images: usize,
    /// Epochs timed per size, each from the same start; the fastest counts, since other work
    /// on a shared machine can only slow an epoch down.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// `auto` also times a hardware GPU when there is one, `gpu` any adapter (see
    /// `continuo train --device`).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: Device,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The folder the CSV and the plot go to.
    #[arg(long, default_value = "analysis")]
    pub out_dir: PathBuf,
}

/// A 28 x 28 image as the trainer's geometry: 28 "pitches" by 28 steps of one measure. Only
/// the count of units matters to the trainer; the layout is the digits' own row-major order.
const MNIST_GEOMETRY: Geometry = Geometry {
    grid: Grid {
        lowest_pitch: 0,
        pitch_rows: 28,
        steps_per_quarter: 7,
        quarters_per_measure: 4,
    },
    measures: 1,
};

fn settings(batch: usize, seed: u64) -> Hyperparameters {
    Hyperparameters {
        learning_rate: 0.1,
        momentum: 0.5,
        batch_size: batch,
        weight_decay: 1e-4,
        cd_steps: 1,
        persistent: false,
        seed,
        holdout_fraction: 0.0,
        visible_bias_init: VisibleBiasInit::DataLogOdds,
    }
}

pub fn run(args: BenchMnistArgs) -> anyhow::Result<()> {
    if args.batch == 0 || args.images == 0 || args.repeats == 0 || args.hidden.contains(&0) {
        bail!("--batch, --images, --repeats and every --hidden must be at least 1");
    }
    let digits = read_test_set(&args.mnist)?;
    if digits.width * digits.height != MNIST_GEOMETRY.visible_units() {
        bail!(
            "expected 28 x 28 digits, found {} x {}",
            digits.width,
            digits.height
        );
    }
    let mut images = SparseImages::new(MNIST_GEOMETRY.visible_units());
    for on_units in binarised_on_units(&digits).iter().take(args.images) {
        images.push(on_units);
    }
    let batches = images.batches(args.batch);
    println!(
        "CD-1 on {} binarised MNIST digits ({:.1}% on), batch {}, the fastest of {} epochs per \
         size, {} CPU threads",
        images.len(),
        100.0 * images.density(),
        args.batch,
        args.repeats,
        rayon::current_num_threads()
    );
    println!(
        "{:>6} {:>14} {:>10} {:>14}",
        "P", "CPU s/epoch", "img/s", "GPU s/epoch"
    );

    let mut csv = String::from("hidden_units,cpu_seconds,gpu_seconds\n");
    let (mut cpu_points, mut gpu_points) = (Vec::new(), Vec::new());
    for &hidden in &args.hidden {
        let mut start = Rbm::xavier(MNIST_GEOMETRY, hidden, args.seed);
        start.b = images.log_odds();
        let settings = settings(args.batch, args.seed);

        let cpu_seconds = (0..args.repeats)
            .map(|_| time_sparse(&start, &settings, &batches))
            .fold(f64::INFINITY, f64::min);
        let gpu = crate::gpu::bench::time_training(&start, &settings, &batches, args.device)?;
        let gpu_seconds = gpu.map(|timing| timing.seconds);

        println!(
            "{hidden:>6} {cpu_seconds:>14.2} {:>10.0} {:>14}",
            images.len() as f64 / cpu_seconds,
            gpu_seconds.map_or("-".to_string(), |s| format!("{s:.2}"))
        );
        csv.push_str(&format!(
            "{hidden},{cpu_seconds},{}\n",
            gpu_seconds.map_or(String::new(), |s| s.to_string())
        ));
        cpu_points.push((hidden as f64, cpu_seconds));
        if let Some(seconds) = gpu_seconds {
            gpu_points.push((hidden as f64, seconds));
        }
    }

    write_text(&output_path(&args.out_dir, "mnist-timing.csv")?, &csv)?;
    let mut series = vec![Series {
        name: format!("CPU, {} threads", rayon::current_num_threads()),
        points: cpu_points,
        marked: true,
    }];
    if !gpu_points.is_empty() {
        series.push(Series {
            name: "GPU".to_string(),
            points: gpu_points,
            marked: true,
        });
    }
    line_chart(
        &output_path(&args.out_dir, "mnist-timing.png")?,
        &LineChart {
            title: "CD-1 on MNIST: seconds per epoch against hidden units",
            x_label: "hidden units P",
            y_label: "seconds per epoch",
            log2_x: true,
            series: &series,
        },
    )
}

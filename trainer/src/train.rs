//! `continuo train` and `continuo bench train`: contrastive-divergence training from a dataset
//! file to a weight file, with monitoring, checkpoints, resuming and a clean stop on Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

use continuo_model::geometry::Geometry;
use continuo_model::weights::{
    self, CorpusSummary, EpochMetrics, Hyperparameters, ModelCard, Precision, VisibleBiasInit,
};
use continuo_model::Rbm;

use crate::checkpoint::{self, RunPosition};
use crate::cpu::CpuTrainer;
use crate::gpu::{self, GpuTrainer};
use crate::metrics::{self, MetricsCsv};
use crate::outputs::{check_distinct_files, folder_of, NamedPath};
use crate::sparse_images::{self, SparseImages};

pub use crate::train_bench::{bench, BenchTrainArgs};

/// Which machine trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Device {
    Cpu,
    /// The best GPU adapter there is, a software one (Mesa's lavapipe) included with a
    /// warning that it is slow; fails, listing what it found, without any.
    Gpu,
    /// A hardware GPU when there is one (said in the log), else the CPU; never a software
    /// adapter.
    Auto,
}

/// The `--visible-bias` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VisibleBias {
    Data,
    Zero,
}

impl From<VisibleBias> for VisibleBiasInit {
    fn from(choice: VisibleBias) -> Self {
        match choice {
            VisibleBias::Data => VisibleBiasInit::DataLogOdds,
            VisibleBias::Zero => VisibleBiasInit::Zero,
        }
    }
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Dataset file written by `continuo dataset`.
    #[arg(long)]
    pub data: PathBuf,
    /// Hidden units P.
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    /// Epochs to reach in total; with --resume, training continues up to this count.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Learning rate on gradients averaged over the batch (a summed-gradient rate x equals
    /// x * batch here).
    #[arg(long, default_value_t = 0.05)]
    pub lr: f32,
    #[arg(long, default_value_t = 0.5)]
    pub momentum: f32,
    /// L2 weight decay on W.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Gibbs steps of the negative phase (CD-k).
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    /// Persistent CD: negative chains continue from batch to batch.
    #[arg(long)]
    pub persistent: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Fraction of the images held out for monitoring, taken as whole pieces.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f32,
    /// The weight file, rewritten after every epoch.
    #[arg(long)]
    pub out: PathBuf,
    /// CSV of the per-epoch metrics.
    #[arg(long)]
    pub metrics: Option<PathBuf>,
    /// Continue from --out and its .state file.
    #[arg(long)]
    pub resume: bool,
    /// Store the weights in f16 (half the file).
    #[arg(long)]
    pub half: bool,
    #[arg(long, value_enum, default_value = "auto")]
    pub device: Device,
    /// The model's name in its card.
    #[arg(long, default_value = "continuo")]
    pub name: String,
    /// Starting visible biases: the log-odds of each unit's frequency in the training images,
    /// or zero.
    #[arg(long, value_enum, default_value = "data")]
    pub visible_bias: VisibleBias,
    /// Images in each fixed monitoring sample (training and held-out).
    #[arg(long, default_value_t = 500)]
    pub monitor_images: usize,
}

impl TrainArgs {
    /// Refuses flags no run can train with, before anything is read or written.
    fn validate(&self) -> anyhow::Result<()> {
        require_at_least_one(&[
            ("--batch", self.batch),
            ("--hidden", self.hidden),
            ("--k", self.k),
        ])?;
        if !(0.0..1.0).contains(&self.holdout) {
            bail!("--holdout is a fraction in [0, 1)");
        }
        // A rate of 0 learns nothing and a negative one climbs the gradient; a momentum of 1
        // or more lets the updates grow without bound.
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("--lr must be a positive number, not {}", self.lr);
        }
        if !(0.0..1.0).contains(&self.momentum) {
            bail!("--momentum is a fraction in [0, 1), not {}", self.momentum);
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            bail!(
                "--weight-decay must be 0 or more, not {}",
                self.weight_decay
            );
        }
        if self.epochs == 0 && !self.resume {
            bail!("--epochs 0 trains nothing and writes no model; give at least 1");
        }
        Ok(())
    }
}

/// Refuses a count of 0 among `counts` (flag and value), naming the flags.
pub(crate) fn require_at_least_one(counts: &[(&str, usize)]) -> anyhow::Result<()> {
    if counts.iter().any(|&(_, count)| count == 0) {
        let flags: Vec<&str> = counts.iter().map(|&(flag, _)| flag).collect();
        let listed = match flags.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        bail!("{listed} must be at least 1");
    }
    Ok(())
}

/// A dataset read into the trainer's form.
pub struct TrainingData {
    pub geometry: Geometry,
    pub images: SparseImages,
    /// The source file of each image, which the held-out split goes by.
    pub piece_of_image: Vec<String>,
    pub summary: CorpusSummary,
}

/// Reads a dataset file written by `continuo dataset`.
pub fn read_training_data(path: &Path) -> anyhow::Result<TrainingData> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let dataset_sha256 = hex(&Sha256::digest(&bytes));
    drop(bytes);

    let (geometry, images, piece_of_image) = read_dataset_images(path)?;
    let mut pieces = piece_of_image.clone();
    pieces.sort();
    pieces.dedup();
    let summary = CorpusSummary {
        dataset: path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        dataset_sha256,
        pieces: pieces.len(),
        images: images.len(),
        training_images: 0,
        heldout_images: 0,
        heldout_pieces: Vec::new(),
    };
    Ok(TrainingData {
        geometry,
        images,
        piece_of_image,
        summary,
    })
}

/// The images of a dataset file as on-units, with the source file of each.
fn read_dataset_images(path: &Path) -> anyhow::Result<(Geometry, SparseImages, Vec<String>)> {
    let dataset = continuo_model::dataset::Dataset::read(path)?;
    let geometry = dataset.geometry();
    let mut images = SparseImages::new(geometry.visible_units());
    let mut piece_of_image = Vec::with_capacity(dataset.len());
    let mut on_units = Vec::new();
    for index in 0..dataset.len() {
        on_units.clear();
        dataset.on_units(index, &mut on_units);
        images.push(&on_units);
        piece_of_image.push(dataset.provenance(index).file.clone());
    }
    Ok((geometry, images, piece_of_image))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    args.validate()?;
    check_output_files(&args)?;

    let data = read_training_data(&args.data)?;
    check_model_size(data.geometry.visible_units(), args.hidden)?;
    let session = Session::prepare(&args, data)?;
    session.train(&args)
}

/// The most weights a model trained here may have: 2^30, 4 GiB of `f32` for `W` and as much
/// again for its momentum. The paper's images allow up to 77,672 hidden units.
const MAX_WEIGHTS: usize = 1 << 30;

/// Refuses a model too large to hold, before anything is allocated for it (a mistyped
/// `--hidden` would otherwise abort the program on a failed allocation).
pub(crate) fn check_model_size(visible_units: usize, hidden_units: usize) -> anyhow::Result<()> {
    match visible_units.checked_mul(hidden_units) {
        Some(weights) if weights <= MAX_WEIGHTS => Ok(()),
        _ => bail!(
            "--hidden {hidden_units}: a model of {visible_units} visible x {hidden_units} hidden \
             units is more than the {MAX_WEIGHTS} weights this trainer holds; at most {} hidden \
             units for these images",
            MAX_WEIGHTS / visible_units.max(1)
        ),
    }
}

/// Checks, before the first epoch, that the run's files can be written and that none of them
/// is another: `--out x.ds` would replace the dataset with a model, `--metrics` the same as
/// `--out` would make each file overwrite the other.
fn check_output_files(args: &TrainArgs) -> anyhow::Result<()> {
    let state = checkpoint::state_path(&args.out);
    let mut outputs: Vec<NamedPath> = vec![("--out", &args.out), ("the state file", &state)];
    if let Some(metrics) = &args.metrics {
        outputs.push(("--metrics", metrics));
    }
    for &(flag, path) in &outputs {
        check_writable_folder(flag, path)?;
    }
    check_distinct_files(&[("--data", &args.data)], &outputs)
}

/// Tries a probe file in the folder of an output file: a run that cannot save should fail
/// before its first epoch, not after it.
fn check_writable_folder(flag: &str, file: &Path) -> anyhow::Result<()> {
    if file.is_dir() {
        bail!(
            "{flag} {} is a folder; give the file to write",
            file.display()
        );
    }
    let folder = folder_of(file);
    if !folder.is_dir() {
        bail!(
            "{flag} {}: the folder {} does not exist",
            file.display(),
            folder.display()
        );
    }
    let probe = folder.join(format!(".continuo-probe-{}", std::process::id()));
    std::fs::File::create(&probe).with_context(|| {
        format!(
            "{flag} {}: the folder {} is not writable",
            file.display(),
            folder.display()
        )
    })?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// Everything a run needs, set up before its first batch.
struct Session {
    trainer: CpuTrainer,
    /// The GPU trainer when `--device` chose a GPU: it trains, and `trainer` receives its
    /// state after every epoch for monitoring and saving.
    gpu: Option<GpuTrainer>,
    card: ModelCard,
    training: SparseImages,
    training_sample: SparseImages,
    heldout_sample: SparseImages,
    position: RunPosition,
}

impl Session {
    fn prepare(args: &TrainArgs, data: TrainingData) -> anyhow::Result<Self> {
        let settings = Hyperparameters {
            learning_rate: args.lr,
            momentum: args.momentum,
            batch_size: args.batch,
            weight_decay: args.weight_decay,
            cd_steps: args.k,
            persistent: args.persistent,
            seed: args.seed,
            holdout_fraction: args.holdout,
            visible_bias_init: args.visible_bias.into(),
        };

        let pieces: Vec<&str> = data.piece_of_image.iter().map(String::as_str).collect();
        let split = sparse_images::split_by_piece(&pieces, args.holdout, args.seed);
        let training = data.images.subset(&split.training);
        let heldout = data.images.subset(&split.heldout);
        if training.is_empty() {
            bail!(
                "no training images are left after holding out {}",
                args.holdout
            );
        }
        log::info!(
            "{} images from {} pieces: {} train, {} held out ({} pieces), {:.2}% of cells on",
            data.images.len(),
            data.summary.pieces,
            training.len(),
            heldout.len(),
            split.heldout_pieces.len(),
            100.0 * data.images.density()
        );
        let mut summary = data.summary;
        summary.training_images = training.len();
        summary.heldout_images = heldout.len();
        summary.heldout_pieces = split.heldout_pieces;

        let mut rbm = Rbm::xavier(data.geometry, args.hidden, args.seed);
        if args.visible_bias == VisibleBias::Data {
            rbm.b = training.log_odds();
        }
        let mut trainer = CpuTrainer::new(rbm, settings.clone());
        let mut card = ModelCard::untrained(&args.name, data.geometry, args.hidden);
        card.hyperparameters = Some(settings);
        card.corpus = Some(summary.clone());
        let mut position = RunPosition {
            epochs: 0,
            batches_done: 0,
            training_seconds: 0.0,
            dataset_sha256: summary.dataset_sha256.clone(),
        };
        if args.resume {
            let batches_per_epoch = training.len().div_ceil(args.batch);
            position = resume(args, &mut trainer, &position, batches_per_epoch)?;
        }

        let gpu = gpu::for_device(args.device, &trainer)?;
        Ok(Session {
            trainer,
            gpu,
            card,
            training_sample: monitoring_sample(&training, args.monitor_images, args.seed),
            heldout_sample: monitoring_sample(&heldout, args.monitor_images, args.seed),
            training,
            position,
        })
    }

    fn train(mut self, args: &TrainArgs) -> anyhow::Result<()> {
        let stop = stop_flag()?;

        let mut csv = args
            .metrics
            .as_deref()
            .map(|path| MetricsCsv::open(path, args.resume))
            .transpose()?;
        let batches_per_epoch = self.training.len().div_ceil(args.batch);
        let remaining_epochs = args.epochs.saturating_sub(self.position.epochs);
        if remaining_epochs == 0 {
            log::info!(
                "{} already holds {} epochs; nothing to train up to --epochs {}",
                args.out.display(),
                self.position.epochs,
                args.epochs
            );
            return Ok(());
        }
        let progress = progress_bar((remaining_epochs * batches_per_epoch) as u64);
        let precision = if args.half {
            Precision::F16
        } else {
            Precision::F32
        };

        for epoch in self.position.epochs..args.epochs {
            let started = Instant::now();
            let finished = self.train_epoch(epoch, args, &progress, stop)?;
            if !finished {
                let message = format!(
                    "stopped during epoch {}; {} holds epoch {}",
                    epoch + 1,
                    args.out.display(),
                    self.position.epochs
                );
                progress.abandon();
                log::warn!("{message}");
                return Ok(());
            }
            if let Some(gpu) = &mut self.gpu {
                gpu.write_back(&mut self.trainer)?;
            }
            let seconds = started.elapsed().as_secs_f64();
            let images_per_second = self.training.len() as f64 / seconds;

            let epoch_metrics = metrics::measure(
                &self.trainer.rbm,
                epoch + 1,
                &self.training_sample,
                &self.heldout_sample,
                args.seed,
            );
            let summary = format!(
                "epoch {}/{} · {images_per_second:.0} img/s · recon {:.5}/{} · gap {}",
                epoch + 1,
                args.epochs,
                epoch_metrics.train_reconstruction_error,
                format_optional(epoch_metrics.heldout_reconstruction_error, 5),
                format_optional(epoch_metrics.free_energy_gap, 2),
            );
            // A line per epoch also reaches a log file, where the bar is not drawn.
            progress.suspend(|| log::info!("{summary}"));
            progress.set_message(summary);
            // Checked before anything is written, so that the files keep the last good epoch.
            if !epoch_is_finite(&self.trainer.rbm, &epoch_metrics) {
                progress.abandon();
                return Err(self.divergence_error(epoch + 1, args));
            }
            if let Some(csv) = &mut csv {
                csv.write(&epoch_metrics, seconds, images_per_second)?;
            }

            self.position.epochs = epoch + 1;
            self.position.batches_done = self.trainer.batches_done;
            self.position.training_seconds += seconds;
            self.card.epochs = self.position.epochs;
            self.card.training_seconds = self.position.training_seconds;
            self.card.metrics = Some(epoch_metrics);
            checkpoint::save(
                &checkpoint::state_path(&args.out),
                &self.trainer,
                &self.position,
            )?;
            weights::save(&args.out, &self.trainer.rbm, &self.card, precision)?;
        }
        progress.finish();
        log::info!(
            "{} epochs in {:.0} s; model written to {}",
            self.position.epochs,
            self.position.training_seconds,
            args.out.display()
        );
        Ok(())
    }

    /// The error of an epoch whose weights or metrics are not finite, saying what the files
    /// on disk still hold.
    fn divergence_error(&self, epoch: usize, args: &TrainArgs) -> anyhow::Error {
        let kept = match self.position.epochs {
            0 => "nothing was written".to_string(),
            good => format!(
                "{} and {} still hold epoch {good}, the last good checkpoint",
                args.out.display(),
                checkpoint::state_path(&args.out).display()
            ),
        };
        anyhow!(
            "the weights diverged (not finite) in epoch {epoch}; {kept}; start a new run with a \
             lower --lr"
        )
    }

    /// One pass over the training images in a seeded order; `false` when Ctrl-C stopped it.
    fn train_epoch(
        &mut self,
        epoch: usize,
        args: &TrainArgs,
        progress: &ProgressBar,
        stop: &AtomicBool,
    ) -> anyhow::Result<bool> {
        let mut order: Vec<usize> = (0..self.training.len()).collect();
        let epoch_seed = args.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ epoch as u64;
        order.shuffle(&mut rand_pcg::Pcg64Mcg::seed_from_u64(epoch_seed));
        let started = Instant::now();
        let mut images_done = 0;
        for batch_indices in order.chunks(args.batch) {
            if stop.load(Ordering::SeqCst) {
                return Ok(false);
            }
            let batch: Vec<&[u32]> = batch_indices
                .iter()
                .map(|&index| self.training.image(index))
                .collect();
            match &mut self.gpu {
                Some(gpu) => gpu.train_batch(&batch)?,
                None => self.trainer.train_batch(&batch),
            }
            images_done += batch.len();
            progress.inc(1);
            if images_done % (20 * args.batch) < args.batch {
                let rate = images_done as f64 / started.elapsed().as_secs_f64();
                progress.set_message(format!(
                    "epoch {}/{} · {rate:.0} img/s",
                    epoch + 1,
                    args.epochs
                ));
            }
        }
        Ok(true)
    }
}

/// Whether an epoch's parameters and monitoring figures are all finite: a diverged model
/// would be saved with NaN weights and a card whose metrics JSON cannot store (as `null`).
fn epoch_is_finite(rbm: &Rbm, metrics: &EpochMetrics) -> bool {
    let parameters_finite = rbm
        .w
        .iter()
        .chain(&rbm.b)
        .chain(&rbm.c)
        .all(|x| x.is_finite());
    let figures = [
        Some(metrics.train_reconstruction_error),
        metrics.heldout_reconstruction_error,
        Some(metrics.train_free_energy),
        metrics.heldout_free_energy,
        metrics.free_energy_gap,
    ];
    parameters_finite && figures.iter().flatten().all(|x| x.is_finite())
}

/// The flag Ctrl-C sets. `ctrlc` takes one handler per process, so it is installed on the
/// first call and shared by every later run in the process (the tests run several).
fn stop_flag() -> anyhow::Result<&'static AtomicBool> {
    static STOP: AtomicBool = AtomicBool::new(false);
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst)).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|message| anyhow!("installing the Ctrl-C handler: {message}"))?;
    Ok(&STOP)
}

/// Continues from `--out` and its state file. Without a state file the weights still come
/// from `--out`, but the momentum starts at zero and persistent chains start afresh.
fn resume(
    args: &TrainArgs,
    trainer: &mut CpuTrainer,
    fresh: &RunPosition,
    batches_per_epoch: usize,
) -> anyhow::Result<RunPosition> {
    if !args.out.is_file() {
        bail!(
            "{} does not exist: --resume needs the weight file of an earlier run as --out",
            args.out.display()
        );
    }
    let (rbm, card) = weights::load(&args.out)?;
    if rbm.geometry != trainer.rbm.geometry {
        bail!(
            "{} is a model of another image geometry than {}",
            args.out.display(),
            args.data.display()
        );
    }
    check_same_run(args, &card, &trainer.settings, &fresh.dataset_sha256)?;
    let card_position = position_of_card(&card, batches_per_epoch, &fresh.dataset_sha256)
        .with_context(|| format!("the card of {} is implausible", args.out.display()))?;

    let state_path = checkpoint::state_path(&args.out);
    if state_path.exists() {
        let position = checkpoint::load(&state_path, trainer)?;
        check_position(&position, &card_position).with_context(|| {
            format!(
                "{} does not belong to {}; remove it to resume from the weights alone",
                state_path.display(),
                args.out.display()
            )
        })?;
        log::info!(
            "resuming after epoch {} from {}",
            position.epochs,
            state_path.display()
        );
        return Ok(position);
    }
    log::warn!(
        "{} is missing: resuming from the weights of {} with zero momentum",
        state_path.display(),
        args.out.display()
    );
    trainer.rbm = rbm;
    trainer.batches_done = card_position.batches_done;
    Ok(card_position)
}

/// Refuses to continue a model on other data or with other settings than its card records:
/// the card would then describe a model that no single run produced (and a changed
/// `--holdout` or `--seed` would train on the held-out pieces).
fn check_same_run(
    args: &TrainArgs,
    card: &ModelCard,
    settings: &Hyperparameters,
    dataset_sha256: &str,
) -> anyhow::Result<()> {
    let out = args.out.display();
    let (Some(trained_with), Some(corpus)) = (&card.hyperparameters, &card.corpus) else {
        bail!("{out} has no training record in its card, so --resume cannot continue it");
    };
    if corpus.dataset_sha256 != dataset_sha256 {
        bail!(
            "{out} was trained on another dataset ({}, SHA-256 {}); resume with the same --data",
            corpus.dataset,
            corpus.dataset_sha256
        );
    }
    let mut changed = changed_settings(trained_with, settings);
    if card.hidden_units != args.hidden {
        changed.insert(
            0,
            format!(
                "--hidden {} (the run used {})",
                args.hidden, card.hidden_units
            ),
        );
    }
    if !changed.is_empty() {
        bail!(
            "{out} was trained with other settings: {}; --resume continues a run with the \
             settings it started with (changing them is not supported)",
            changed.join(", ")
        );
    }
    Ok(())
}

/// The flags whose values differ between the settings a run used and the current ones, as
/// `--lr 0.1 (the run used 0.05)`.
fn changed_settings(used: &Hyperparameters, now: &Hyperparameters) -> Vec<String> {
    let visible_bias = |init: VisibleBiasInit| match init {
        VisibleBiasInit::DataLogOdds => "data",
        VisibleBiasInit::Zero => "zero",
    };
    let flags = [
        (
            "--batch",
            used.batch_size.to_string(),
            now.batch_size.to_string(),
        ),
        (
            "--lr",
            used.learning_rate.to_string(),
            now.learning_rate.to_string(),
        ),
        (
            "--momentum",
            used.momentum.to_string(),
            now.momentum.to_string(),
        ),
        (
            "--weight-decay",
            used.weight_decay.to_string(),
            now.weight_decay.to_string(),
        ),
        ("--k", used.cd_steps.to_string(), now.cd_steps.to_string()),
        (
            "--persistent",
            used.persistent.to_string(),
            now.persistent.to_string(),
        ),
        ("--seed", used.seed.to_string(), now.seed.to_string()),
        (
            "--holdout",
            used.holdout_fraction.to_string(),
            now.holdout_fraction.to_string(),
        ),
        (
            "--visible-bias",
            visible_bias(used.visible_bias_init).to_string(),
            visible_bias(now.visible_bias_init).to_string(),
        ),
    ];
    flags
        .into_iter()
        .filter(|(_, used, now)| used != now)
        .map(|(flag, used, now)| format!("{flag} {now} (the run used {used})"))
        .collect()
}

/// Where a run stands according to its weight file's card: what its state file must agree
/// with, and what a run without one resumes from.
fn position_of_card(
    card: &ModelCard,
    batches_per_epoch: usize,
    dataset_sha256: &str,
) -> anyhow::Result<RunPosition> {
    let Some(batches_done) = (card.epochs as u64).checked_mul(batches_per_epoch as u64) else {
        bail!("{} epochs is not a count a run reaches", card.epochs);
    };
    check_training_seconds(card.training_seconds)?;
    Ok(RunPosition {
        epochs: card.epochs,
        batches_done,
        training_seconds: card.training_seconds,
        dataset_sha256: dataset_sha256.to_string(),
    })
}

/// Refuses a state file that disagrees with its weight file's card: both are written after
/// every epoch, so they only disagree when one was damaged, replaced or cut off midway.
fn check_position(state: &RunPosition, card: &RunPosition) -> anyhow::Result<()> {
    if state.dataset_sha256 != card.dataset_sha256 {
        bail!(
            "it was written for another dataset (SHA-256 {})",
            state.dataset_sha256
        );
    }
    if state.epochs != card.epochs || state.batches_done != card.batches_done {
        bail!(
            "it holds epoch {} after {} batches, but the card says epoch {} after {} batches",
            state.epochs,
            state.batches_done,
            card.epochs,
            card.batches_done
        );
    }
    check_training_seconds(state.training_seconds)
}

fn check_training_seconds(seconds: f64) -> anyhow::Result<()> {
    if !(seconds.is_finite() && seconds >= 0.0) {
        bail!("{seconds} s of training is not a duration");
    }
    Ok(())
}

/// A fixed, seeded choice of up to `count` images, the same every epoch.
fn monitoring_sample(images: &SparseImages, count: usize, seed: u64) -> SparseImages {
    let mut indices: Vec<usize> = (0..images.len()).collect();
    indices.shuffle(&mut rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ 0x6d6f_6e69));
    indices.truncate(count);
    images.subset(&indices)
}

fn progress_bar(batches: u64) -> ProgressBar {
    let progress = ProgressBar::new(batches);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} batches, {elapsed} (eta {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress
}

fn format_optional(value: Option<f32>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

#[cfg(test)]
mod tests;

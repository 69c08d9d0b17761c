//! `continuo ais`: the log-likelihood of held-out music, `ln p(v) = -F(v) - ln Z`, with the
//! partition function `Z` estimated by annealed importance sampling (Salakhutdinov & Murray,
//! "On the quantitative analysis of deep belief networks", 2008). The paper compares models
//! only by eye; this gives models of different sizes a common measure.
//!
//! AIS walks from a base model whose `Z` is known to the trained one through the tempered
//! models `p_beta(v) ~ exp((1 - beta) b_A'v + beta b'v) prod_j (1 + exp(beta (c_j + v'W_j)))`
//! for `0 = beta_0 < ... < beta_K = 1`. The base (`beta = 0`) has independent visible units
//! with biases `b_A`, the log-odds of each unit in the training images, and `P` hidden units
//! that are fair coins, so `ln Z_0 = sum_i softplus(b_A,i) + P ln 2`. Each run starts from a
//! sample of the base, and at every temperature adds `ln p*_k(v) - ln p*_(k-1)(v)` to its log
//! weight and then takes one Gibbs step of `p_k`. The mean of the weights estimates `Z / Z_0`.
//!
//! Too few temperatures bias the estimate of `ln Z` low (and so the log-likelihood high); the
//! spread of the weights, printed with the estimate, says how far to trust it.

use std::path::PathBuf;

use anyhow::{bail, Context};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;

use continuo_model::rbm::{sigmoid, softplus};
use continuo_model::Rbm;

use super::exact_partition::exact_log_partition;
use super::{load_model, mean_and_deviation, output_path, write_text, NamedModel};
use crate::counter_rng;
use crate::cpu::{hidden_inputs_sparse, sample_binary, sample_visible};
use crate::metrics::mean_free_energy;
use crate::sparse_images::SparseImages;
use crate::train::{read_training_data, TrainingData};

/// Visible units per parallel task of the tempered reconstruction.
const VISIBLE_CHUNK_UNITS: usize = 1024;

#[derive(clap::Args)]
pub struct AisArgs {
    /// Weight files to compare (the default: the built-in model). Repeatable.
    #[arg(long = "model")]
    pub models: Vec<PathBuf>,
    /// The dataset the models were trained on (`continuo dataset`): its held-out pieces, as
    /// each model's card lists them, are scored, and its training images set the base rates.
    #[arg(long)]
    pub data: PathBuf,
    /// Independent AIS runs.
    #[arg(long, default_value_t = 100)]
    pub runs: usize,
    /// Temperatures between the base model and the trained one.
    #[arg(long, default_value_t = 1000)]
    pub temperatures: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The folder the CSV goes to.
    #[arg(long, default_value = "analysis")]
    pub out_dir: PathBuf,
}

/// What one AIS estimate found.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionEstimate {
    /// The estimate of `ln Z`.
    pub log_partition: f64,
    /// `ln Z` of the estimate plus and minus three standard errors of the mean weight (the
    /// lower end is `-inf` when three errors exceed the mean).
    pub three_sigma: (f64, f64),
    /// The effective number of runs, `(sum w)^2 / sum w^2`: near the number of runs when the
    /// weights agree, near 1 when one run dominates.
    pub effective_runs: f64,
    /// The standard deviation of the runs' log weights: well below 1 when the temperatures
    /// are close enough for the runs to agree.
    pub log_weight_sd: f64,
}

/// `beta_0 = 0 < ... < beta_K = 1`, with `K = temperatures`: a fifth of the steps up to 0.5, a
/// further three tenths up to 0.9 and the last half up to 1, where the model changes fastest
/// (after Salakhutdinov & Murray's schedule).
pub fn temperature_schedule(temperatures: usize) -> Vec<f64> {
    let temperatures = temperatures.max(3);
    let first = (temperatures / 5).max(1);
    let second = (temperatures * 3 / 10).max(1);
    let third = temperatures - first - second;
    let mut betas = vec![0.0];
    for (steps, from, to) in [(first, 0.0, 0.5), (second, 0.5, 0.9), (third, 0.9, 1.0)] {
        for step in 1..=steps {
            betas.push(from + (to - from) * step as f64 / steps as f64);
        }
    }
    betas
}

/// `ln p*_beta(v)` of every run given `x = c + v'W` (runs x hidden) and the two biases' dot
/// products with `v`.
fn log_tempered(beta: f64, inputs: &Array2<f32>, base_dot: &[f64], model_dot: &[f64]) -> Vec<f64> {
    inputs
        .axis_iter(Axis(0))
        .into_par_iter()
        .zip(base_dot.par_iter().zip(model_dot.par_iter()))
        .map(|(row, (&base, &model))| {
            let hidden: f64 = row
                .iter()
                .map(|&x| f64::from(softplus(beta as f32 * x)))
                .sum();
            (1.0 - beta) * base + beta * model + hidden
        })
        .collect()
}

/// `sum_i bias_i v_i` for each run's on-units.
fn bias_dots(bias: &Array1<f32>, runs: &[Vec<u32>]) -> Vec<f64> {
    runs.iter()
        .map(|on| on.iter().map(|&unit| f64::from(bias[unit as usize])).sum())
        .collect()
}

/// `sigmoid((1 - beta) b_A + beta (b + W h))` for each run's hidden sample.
fn tempered_visible(
    rbm: &Rbm,
    base_bias: &Array1<f32>,
    beta: f32,
    hidden: &Array2<f32>,
) -> Array2<f32> {
    let mut visible = Array2::zeros((hidden.nrows(), rbm.visible_units()));
    let bias = base_bias * (1.0 - beta) + &rbm.b * beta;
    visible
        .axis_chunks_iter_mut(Axis(1), VISIBLE_CHUNK_UNITS)
        .into_par_iter()
        .zip(rbm.w.axis_chunks_iter(Axis(0), VISIBLE_CHUNK_UNITS))
        .zip(bias.axis_chunks_iter(Axis(0), VISIBLE_CHUNK_UNITS))
        .for_each(|((mut out, weights), biases)| {
            general_mat_mul(beta, hidden, &weights.t(), 0.0, &mut out);
            out += &biases;
            out.mapv_inplace(sigmoid);
        });
    visible
}

/// Estimates `ln Z` of `rbm` by AIS from the base model of visible biases `base_bias`.
pub fn estimate_log_partition(
    rbm: &Rbm,
    base_bias: &Array1<f32>,
    runs: usize,
    temperatures: usize,
    seed: u64,
) -> PartitionEstimate {
    let seed = counter_rng::fold_seed(seed);
    let betas = temperature_schedule(temperatures);
    let log_base_partition = base_bias
        .iter()
        .map(|&b| f64::from(softplus(b)))
        .sum::<f64>()
        + rbm.hidden_units() as f64 * std::f64::consts::LN_2;

    // Exact samples of the base model: independent units.
    let base_probabilities = base_bias.mapv(sigmoid);
    let start = Array2::from_shape_fn((runs, rbm.visible_units()), |(_, unit)| {
        base_probabilities[unit]
    });
    let mut on_units = sample_visible(start, seed, 0).on_units;
    let mut log_weights = vec![0.0f64; runs];

    for (k, pair) in betas.windows(2).enumerate() {
        let (previous, beta) = (pair[0], pair[1]);
        let runs_on: Vec<&[u32]> = on_units.iter().map(Vec::as_slice).collect();
        let inputs = hidden_inputs_sparse(rbm, &runs_on);
        let base_dot = bias_dots(base_bias, &on_units);
        let model_dot = bias_dots(&rbm.b, &on_units);
        let now = log_tempered(beta, &inputs, &base_dot, &model_dot);
        let before = log_tempered(previous, &inputs, &base_dot, &model_dot);
        for (weight, (now, before)) in log_weights.iter_mut().zip(now.iter().zip(&before)) {
            *weight += now - before;
        }
        if k + 2 == betas.len() {
            break;
        }

        // One Gibbs step of the tempered model at `beta`.
        let mut hidden = inputs;
        hidden.par_mapv_inplace(|x| sigmoid(beta as f32 * x));
        let draw = 2 * k as u32 + 1;
        let hidden = sample_binary(&hidden, seed, draw);
        let visible = tempered_visible(rbm, base_bias, beta as f32, &hidden);
        on_units = sample_visible(visible, seed, draw + 1).on_units;
    }
    summarise(log_base_partition, &log_weights)
}

/// The estimate of `ln Z` and its spread from the runs' log weights.
fn summarise(log_base_partition: f64, log_weights: &[f64]) -> PartitionEstimate {
    let largest = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let scaled: Vec<f64> = log_weights.iter().map(|w| (w - largest).exp()).collect();
    let runs = scaled.len() as f64;
    let mean = scaled.iter().sum::<f64>() / runs;
    let variance = scaled.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / (runs - 1.0).max(1.0);
    let error = 3.0 * (variance / runs).sqrt();
    let log_of = |x: f64| {
        if x > 0.0 {
            x.ln() + largest + log_base_partition
        } else {
            f64::NEG_INFINITY
        }
    };
    let (_, log_weight_sd) = mean_and_deviation(log_weights);
    PartitionEstimate {
        log_partition: log_of(mean),
        three_sigma: (log_of(mean - error), log_of(mean + error)),
        effective_runs: scaled.iter().sum::<f64>().powi(2)
            / scaled.iter().map(|w| w * w).sum::<f64>(),
        log_weight_sd,
    }
}

/// The mean log-likelihood of `images` under the base model alone (independent visible units
/// of biases `bias`), the yardstick an RBM must beat: `b'v - sum_i softplus(b_i)`.
pub fn base_rate_log_likelihood(bias: &Array1<f32>, images: &SparseImages) -> f64 {
    let normaliser: f64 = bias.iter().map(|&b| f64::from(softplus(b))).sum();
    let on_total: f64 = (0..images.len())
        .flat_map(|index| images.image(index))
        .map(|&unit| f64::from(bias[unit as usize]))
        .sum();
    on_total / images.len().max(1) as f64 - normaliser
}

/// The images of the dataset from the pieces in `heldout`, and those from the others.
fn split(data: &TrainingData, heldout: &[String]) -> (SparseImages, SparseImages) {
    let (heldout_indices, training_indices): (Vec<usize>, Vec<usize>) =
        (0..data.images.len()).partition(|&index| heldout.contains(&data.piece_of_image[index]));
    (
        data.images.subset(&training_indices),
        data.images.subset(&heldout_indices),
    )
}

/// What `continuo ais` reports of one model.
struct ModelScore {
    estimate: PartitionEstimate,
    /// `ln Z` summed exactly, for models of few hidden units.
    exact: Option<f64>,
    heldout_log_likelihood: f64,
    /// On every tenth-or-so training image (about a thousand).
    training_log_likelihood: f64,
    base_rate_log_likelihood: f64,
    heldout_images: usize,
}

fn score(model: &NamedModel, data: &TrainingData, args: &AisArgs) -> anyhow::Result<ModelScore> {
    if model.rbm.geometry != data.geometry {
        bail!(
            "{} does not model the images of {}",
            model.name,
            args.data.display()
        );
    }
    let (training, heldout) = split(data, &model.heldout_pieces);
    if heldout.is_empty() {
        bail!(
            "{}: its card lists no held-out piece of {}",
            model.name,
            args.data.display()
        );
    }
    let base_bias = training.log_odds();
    let estimate = estimate_log_partition(
        &model.rbm,
        &base_bias,
        args.runs,
        args.temperatures,
        args.seed,
    );
    let sample: Vec<usize> = (0..training.len())
        .step_by((training.len() / 1000).max(1))
        .collect();
    let log_partition = estimate.log_partition;
    Ok(ModelScore {
        exact: exact_log_partition(&model.rbm),
        heldout_log_likelihood: -mean_free_energy(&model.rbm, &heldout) - log_partition,
        training_log_likelihood: -mean_free_energy(&model.rbm, &training.subset(&sample))
            - log_partition,
        base_rate_log_likelihood: base_rate_log_likelihood(&base_bias, &heldout),
        heldout_images: heldout.len(),
        estimate,
    })
}

pub fn run(args: AisArgs) -> anyhow::Result<()> {
    if args.runs < 2 || args.temperatures < 3 {
        bail!("--runs must be at least 2 and --temperatures at least 3");
    }
    let data = read_training_data(&args.data)?;
    let models: Vec<Option<PathBuf>> = if args.models.is_empty() {
        vec![None]
    } else {
        args.models.iter().cloned().map(Some).collect()
    };
    println!(
        "AIS, {} runs, {} temperatures; log-likelihood in nats per two-measure image",
        args.runs, args.temperatures
    );
    println!(
        "{:>6} {:>10} {:>23} {:>9} {:>8} {:>10} {:>12} {:>12} {:>12}  model",
        "P",
        "ln Z",
        "ln Z +/- 3 sd",
        "eff. runs",
        "sd ln w",
        "exact ln Z",
        "held-out LL",
        "training LL",
        "base-rate LL"
    );
    let mut csv = String::from(
        "model,hidden_units,log_partition,log_partition_low,log_partition_high,effective_runs,\
         log_weight_sd,exact_log_partition,heldout_log_likelihood,training_log_likelihood,\
         base_rate_log_likelihood,heldout_images\n",
    );
    for path in &models {
        let model = load_model(path.as_deref())?;
        let s = score(&model, &data, &args)?;
        let e = &s.estimate;
        println!(
            "{:>6} {:>10.1} {:>10.1} .. {:>9.1} {:>9.1} {:>8.1} {:>10} {:>12.1} {:>12.1} {:>12.1}  {}",
            model.rbm.hidden_units(),
            e.log_partition,
            e.three_sigma.0,
            e.three_sigma.1,
            e.effective_runs,
            e.log_weight_sd,
            s.exact.map_or("-".to_string(), |z| format!("{z:.1}")),
            s.heldout_log_likelihood,
            s.training_log_likelihood,
            s.base_rate_log_likelihood,
            model.name
        );
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            path.as_ref()
                .map_or("built-in".to_string(), |p| p.display().to_string()),
            model.rbm.hidden_units(),
            e.log_partition,
            e.three_sigma.0,
            e.three_sigma.1,
            e.effective_runs,
            e.log_weight_sd,
            s.exact.map_or(String::new(), |z| z.to_string()),
            s.heldout_log_likelihood,
            s.training_log_likelihood,
            s.base_rate_log_likelihood,
            s.heldout_images
        ));
    }
    write_text(&output_path(&args.out_dir, "ais.csv")?, &csv).context("writing the AIS table")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::exact_partition::{exact_log_partition, small_rbm};

    #[test]
    fn ais_agrees_with_the_enumerated_partition_function() {
        for seed in [1, 2] {
            let rbm = small_rbm(4, seed);
            // Exact by summing over the 16 hidden states (checked there against the 1024 visible
            // ones).
            let exact = exact_log_partition(&rbm).expect("few enough hidden units");
            // A base far from the model: every visible unit a fair coin.
            let estimate = estimate_log_partition(&rbm, &Array1::zeros(10), 400, 300, seed);
            assert!(
                (estimate.log_partition - exact).abs() < 0.05,
                "seed {seed}: AIS {} against exact {exact}",
                estimate.log_partition
            );
            assert!(estimate.three_sigma.0 <= estimate.log_partition);
            assert!(
                estimate.effective_runs > 100.0,
                "{}",
                estimate.effective_runs
            );
        }
    }

    #[test]
    fn the_base_rate_likelihood_of_fair_and_biased_coins() {
        let mut images = SparseImages::new(4);
        images.push(&[0, 1]);
        images.push(&[]);
        // Fair coins: every image has probability 1/16 (to f32's precision, softplus's).
        let fair = base_rate_log_likelihood(&Array1::zeros(4), &images);
        assert!((fair + 4.0 * std::f64::consts::LN_2).abs() < 1e-6, "{fair}");
        // p = 0.2 per unit: image 1 has 0.2^2 0.8^2, image 2 0.8^4.
        let biased = base_rate_log_likelihood(&Array1::from_elem(4, 0.25f32.ln()), &images);
        let expected = 0.5 * ((0.04f64 * 0.64).ln() + 0.8f64.powi(4).ln());
        assert!(
            (biased - expected).abs() < 1e-6,
            "{biased} against {expected}"
        );
    }

    #[test]
    fn the_schedule_rises_from_zero_to_one() {
        let betas = temperature_schedule(100);
        assert_eq!(betas.len(), 101);
        assert_eq!((betas[0], betas[100]), (0.0, 1.0));
        assert!((betas[20] - 0.5).abs() < 1e-12 && (betas[50] - 0.9).abs() < 1e-12);
        assert!(betas.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn equal_weights_give_their_own_value_and_full_effect() {
        let estimate = summarise(2.0, &[0.5; 8]);
        assert!((estimate.log_partition - 2.5).abs() < 1e-12);
        assert!((estimate.effective_runs - 8.0).abs() < 1e-9);
        assert!((estimate.three_sigma.1 - 2.5).abs() < 1e-12);
    }
}

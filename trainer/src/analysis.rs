//! The analyses behind `docs/reproduction.md`: each checks one claim of Kobayashi & Watanabe,
//! "Learning and composing of classical music using restricted Boltzmann machines", against a
//! trained model, prints its numbers as a table and writes its figures to an output folder.
//!
//! - [`reconstruct`]: images in, reconstructions out, with the share of on- and off-cells kept
//!   (the paper's Fig. 4 and 5);
//! - [`energy`]: the energy and free energy of music, digits and noise (Table I);
//! - [`dynamics`]: Algorithm 1's image and energy along its steps (Fig. 6 and 7);
//! - [`transposition`]: how far transposing moves the hidden activations (Fig. 9);
//! - [`mnist_timing`]: training time per epoch against the hidden units (Fig. A.1);
//! - [`ais`]: the held-out log-likelihood by annealed importance sampling, which the paper
//!   does not have, checked on small models by [`exact_partition`].
//!
//! The inputs come from [`cases`] (MIDI windows, MNIST digits, noise), the figures from
//! [`plot`].

pub mod ais;
pub mod cases;
pub mod dynamics;
pub mod energy;
pub mod exact_partition;
pub mod mnist;
pub mod mnist_timing;
pub mod plot;
pub mod reconstruct;
pub mod transposition;

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The options every analysis of one model shares.
#[derive(clap::Args, Clone, Debug)]
pub struct ModelArgs {
    /// A weight file written by `continuo train`; the default is the built-in Bach model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The folder the figures and CSV files go to (created when missing).
    #[arg(long, default_value = "analysis")]
    pub out_dir: PathBuf,
}

pub use crate::models::{load_model, NamedModel};

/// Creates `dir` when missing and returns the path of `file` in it.
pub fn output_path(dir: &Path, file: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.join(file))
}

pub use crate::outputs::save_png;

/// Writes a text file, saying so in the log.
pub fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    crate::outputs::write_file(path, text.as_bytes())
}

/// Mean and sample standard deviation (zero for fewer than two values).
pub fn mean_and_deviation(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let variance =
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64;
    (mean, variance.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_deviation() {
        let (mean, deviation) = mean_and_deviation(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert!((mean - 5.0).abs() < 1e-12);
        // Sum of squared deviations 32 over 7.
        assert!((deviation - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_and_deviation(&[3.0]), (3.0, 0.0));
    }
}

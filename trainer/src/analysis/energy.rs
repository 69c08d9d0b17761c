//! `continuo energy`: the paper's Table I. The energy `E(v, h)` of an image `v` with hidden
//! vectors drawn from `p(h | v)`, as mean and standard deviation over the draws, for music the
//! model was trained on, music it has not seen, digits and white noise; and the free energy
//! `F(v)`, which averages over every `h` exactly and so needs no draws. The claim tested is
//! the order: music lowest.

use std::path::Path;

use anyhow::bail;
use ndarray::Array1;
use rand::SeedableRng;

use continuo_model::Rbm;

use super::cases::{midi_windows, noise_case, Case, CaseArgs};
use super::{load_model, mean_and_deviation, output_path, write_text, ModelArgs};

#[derive(clap::Args)]
pub struct EnergyArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub cases: CaseArgs,
    /// White-noise images with this share of cells on. Repeatable.
    #[arg(long, default_value = "0.5")]
    pub noise_density: Vec<f64>,
    /// Hidden draws per image (the paper: 10).
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// A row of Table I.
#[derive(Clone, Debug, PartialEq)]
pub struct EnergyRow {
    pub label: String,
    pub ones: usize,
    /// Mean and sample standard deviation of `E(v, h)` over the draws of `h`.
    pub energy: (f64, f64),
    pub free_energy: f64,
    /// The mean of `F` over all the two-measure windows (cut every two measures) of the piece
    /// the window comes from, so that one window's luck does not decide the comparison.
    pub piece_free_energy: Option<(f64, usize)>,
}

/// The mean free energy of a MIDI file's windows, and their count.
fn piece_free_energy(rbm: &Rbm, path: &Path) -> anyhow::Result<(f64, usize)> {
    let windows = midi_windows(path, rbm.geometry, 2, 0)?;
    let total: f64 = windows
        .iter()
        .map(|(_, roll)| f64::from(rbm.free_energy(Array1::from(roll.to_visible()).view())))
        .sum();
    Ok((total / windows.len().max(1) as f64, windows.len()))
}

/// The energy of `v` with `samples` draws of `h ~ p(h | v)`, and its free energy.
pub fn energy_row(rbm: &Rbm, case: &Case, samples: usize, seed: u64) -> anyhow::Result<EnergyRow> {
    let visible = Array1::from(case.roll.to_visible());
    let hidden_probabilities = rbm.hidden_probabilities(visible.view());
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let energies: Vec<f64> = (0..samples)
        .map(|_| {
            let hidden = Rbm::sample_bernoulli(hidden_probabilities.view(), &mut rng);
            f64::from(rbm.energy(visible.view(), hidden.view()))
        })
        .collect();
    let piece_free_energy = case
        .source
        .as_deref()
        .map(|path| piece_free_energy(rbm, path))
        .transpose()?;
    Ok(EnergyRow {
        label: case.label.clone(),
        ones: case.roll.ones(),
        energy: mean_and_deviation(&energies),
        free_energy: f64::from(rbm.free_energy(visible.view())),
        piece_free_energy,
    })
}

pub fn run(args: EnergyArgs) -> anyhow::Result<()> {
    if args.samples == 0 {
        bail!("--samples must be at least 1");
    }
    if let Some(bad) = args
        .noise_density
        .iter()
        .find(|d| !(0.0..=1.0).contains(*d))
    {
        bail!("--noise-density {bad}: give a share of cells between 0 and 1");
    }
    let model = load_model(args.model.model.as_deref())?;
    let geometry = model.rbm.geometry;
    let mut cases = args.cases.cases(geometry)?;
    for (index, &density) in args.noise_density.iter().enumerate() {
        cases.push(noise_case(
            geometry,
            density,
            args.seed + 1000 + index as u64,
        ));
    }

    println!(
        "Energy with {}: E(v, h) over {} draws h ~ p(h | v), and F(v)",
        model.name, args.samples
    );
    println!(
        "{:<44} {:>6} {:>22} {:>10} {:>22}",
        "input", "ones", "E(v, h) mean +/- sd", "F(v)", "F, all windows (count)"
    );
    let mut csv = String::from(
        "input,ones,energy_mean,energy_sd,free_energy,piece_free_energy,piece_windows\n",
    );
    for (index, case) in cases.iter().enumerate() {
        let row = energy_row(&model.rbm, case, args.samples, args.seed + index as u64)?;
        let (piece, piece_csv) = match row.piece_free_energy {
            Some((mean, windows)) => (
                format!("{mean:.1} ({windows})"),
                format!("{mean},{windows}"),
            ),
            None => ("-".to_string(), ",".to_string()),
        };
        println!(
            "{:<44} {:>6} {:>13.1} +/- {:<5.1} {:>10.1} {:>22}",
            row.label, row.ones, row.energy.0, row.energy.1, row.free_energy, piece
        );
        csv.push_str(&format!(
            "{},{},{},{},{},{piece_csv}\n",
            row.label, row.ones, row.energy.0, row.energy.1, row.free_energy
        ));
    }
    write_text(&output_path(&args.model.out_dir, "energy.csv")?, &csv)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuo_model::PianoRoll;
    use ndarray::{Array1, Array2};

    #[test]
    fn with_certain_hidden_units_the_energy_has_no_spread() {
        // W = 0, b = -1, c = (+30, -30): h = (1, 0) always, E(v, h) = ones - 30, and
        // F(v) = ones - softplus(30) - softplus(-30).
        let geometry = crate::cpu::tests::tiny_geometry();
        let rbm = Rbm::from_parts(
            geometry,
            Array2::zeros((8, 2)),
            Array1::from_elem(8, -1.0),
            Array1::from(vec![30.0, -30.0]),
        )
        .expect("model");
        let mut roll = PianoRoll::new(geometry.grid, geometry.steps());
        roll.set(1, 0, true);
        roll.set(2, 1, true);
        roll.set(3, 1, true);
        let case = Case {
            label: "three ones".to_string(),
            roll,
            source: None,
        };
        let row = energy_row(&rbm, &case, 10, 1).expect("no file to read");
        assert_eq!(row.ones, 3);
        assert!(
            (row.energy.0 - (3.0 - 30.0)).abs() < 1e-4,
            "{:?}",
            row.energy
        );
        assert!(row.energy.1.abs() < 1e-6);
        let expected_free = 3.0 - 30.0 - (-30.0f64).exp().ln_1p();
        assert!((row.free_energy - expected_free).abs() < 1e-4);
    }
}

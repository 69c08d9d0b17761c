//! `continuo energy`: the paper's Table I. The energy `E(v, h)` of an image `v` with hidden
//! vectors drawn from `p(h | v)`, as mean and standard deviation over the draws, for music the
//! model was trained on, music it has not seen, digits and white noise; and the free energy
//! `F(v)`, which averages over every `h` exactly and so needs no draws. The claim tested is
//! the order: music lowest.

use anyhow::bail;
use ndarray::Array1;
use rand::SeedableRng;

use continuo_model::Rbm;

use super::cases::{noise_case, Case, CaseArgs};
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
}

/// The energy of `v` with `samples` draws of `h ~ p(h | v)`, and its free energy.
pub fn energy_row(rbm: &Rbm, case: &Case, samples: usize, seed: u64) -> EnergyRow {
    let visible = Array1::from(case.roll.to_visible());
    let hidden_probabilities = rbm.hidden_probabilities(visible.view());
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let energies: Vec<f64> = (0..samples)
        .map(|_| {
            let hidden = Rbm::sample_bernoulli(hidden_probabilities.view(), &mut rng);
            f64::from(rbm.energy(visible.view(), hidden.view()))
        })
        .collect();
    EnergyRow {
        label: case.label.clone(),
        ones: case.roll.ones(),
        energy: mean_and_deviation(&energies),
        free_energy: f64::from(rbm.free_energy(visible.view())),
    }
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
        "{:<44} {:>6} {:>22} {:>12}",
        "input", "ones", "E(v, h) mean +/- sd", "F(v)"
    );
    let mut csv = String::from("input,ones,energy_mean,energy_sd,free_energy\n");
    for (index, case) in cases.iter().enumerate() {
        let row = energy_row(&model.rbm, case, args.samples, args.seed + index as u64);
        println!(
            "{:<44} {:>6} {:>13.1} +/- {:<5.1} {:>12.1}",
            row.label, row.ones, row.energy.0, row.energy.1, row.free_energy
        );
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
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
        };
        let row = energy_row(&rbm, &case, 10, 1);
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

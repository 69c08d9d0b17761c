//! `continuo dynamics`: the paper's Fig. 6 and 7. Algorithm 1 composes from silence, one more
//! cell on per step; the figure shows its image at several steps and the energy `E(v_t, h_t)`
//! along the run. The paper finds the energy lowest near `t = 500` of 1000. This reports where
//! the lowest energy falls for each model and seed, so that models of different sizes can be
//! compared.
//!
//! A run stopped after `t` steps is the first `t` steps of a longer run with the same seed
//! (the composer draws the same numbers in the same order), so the image at step `t` is the
//! result of composing `t` ones.

use std::path::PathBuf;

use anyhow::bail;

use continuo_model::compose::{Composer, Density};

use super::plot::{line_chart, LineChart, Series};
use super::{
    load_model, mean_and_deviation, output_path, save_png, write_text, ModelArgs, NamedModel,
};
use crate::render::sheet;

#[derive(clap::Args)]
pub struct DynamicsArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Further weight files whose energy curves and minima are compared with the model's.
    /// Repeatable.
    #[arg(long = "compare", value_name = "MODEL")]
    pub compare: Vec<PathBuf>,
    /// Steps of each run (the paper: 1000 for two measures).
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Steps at which the model's image is drawn.
    #[arg(long, value_delimiter = ',', default_value = "50,100,250,500,750,1000")]
    pub snapshots: Vec<usize>,
    /// Runs per model (seeds 1, 2, ...): where the minimum falls varies from run to run.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Pixels per cell side of the snapshot sheet.
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

/// The step of lowest energy along a run, never the silent start (step 0, energy `-c'h`).
pub fn lowest_energy_step(energy: &[f32]) -> Option<usize> {
    energy
        .iter()
        .enumerate()
        .skip(1)
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(step, _)| step)
}

/// A model's runs: the energy curve of each seed and where each bottoms out.
struct Runs {
    name: String,
    hidden_units: usize,
    epochs: usize,
    curves: Vec<Vec<f32>>,
    lowest_steps: Vec<usize>,
}

fn run_model(model: &NamedModel, args: &DynamicsArgs) -> Runs {
    let mut composer = Composer::new(&model.rbm);
    let curves: Vec<Vec<f32>> = (1..=args.seeds)
        .map(|seed| composer.compose(Density::Ones(args.steps), seed).energy)
        .collect();
    let lowest_steps = curves
        .iter()
        .filter_map(|curve| lowest_energy_step(curve))
        .collect();
    Runs {
        name: model.name.clone(),
        hidden_units: model.rbm.hidden_units(),
        epochs: model.epochs,
        curves,
        lowest_steps,
    }
}

pub fn run(args: DynamicsArgs) -> anyhow::Result<()> {
    if args.seeds == 0 || args.steps < 2 {
        bail!("--seeds must be at least 1 and --steps at least 2");
    }
    let main = load_model(args.model.model.as_deref())?;
    let mut composer = Composer::new(&main.rbm);
    let dir = &args.model.out_dir;

    // Fig. 6: the image of seed 1 at each snapshot step.
    let rolls: Vec<_> = args
        .snapshots
        .iter()
        .map(|&t| composer.compose(Density::Ones(t), 1).image)
        .collect();
    save_png(
        &output_path(dir, "dynamics-snapshots.png")?,
        &sheet(&rolls, 3, args.scale, true),
    )?;

    let mut all = vec![run_model(&main, &args)];
    for path in &args.compare {
        all.push(run_model(&load_model(Some(path))?, &args));
    }
    report(&all, &args)?;
    Ok(())
}

/// The table of minima, the CSV of every curve and Fig. 7 (seed 1 of each model).
fn report(all: &[Runs], args: &DynamicsArgs) -> anyhow::Result<()> {
    println!(
        "Algorithm 1, {} steps, seeds 1..={}: the step of lowest E(v_t, h_t)",
        args.steps, args.seeds
    );
    println!(
        "{:>6} {:>16} {:>16} {:>14}  model",
        "P", "lowest at (mean", "+/- sd)", "E there (mean)"
    );
    let mut csv = String::from("hidden_units,seed,step,energy\n");
    let mut series = Vec::new();
    for runs in all {
        let steps: Vec<f64> = runs.lowest_steps.iter().map(|&s| s as f64).collect();
        let (mean_step, sd_step) = mean_and_deviation(&steps);
        let lowest: Vec<f64> = runs
            .curves
            .iter()
            .zip(&runs.lowest_steps)
            .map(|(curve, &step)| f64::from(curve[step]))
            .collect();
        let each: Vec<String> = runs.lowest_steps.iter().map(usize::to_string).collect();
        println!(
            "{:>6} {:>16.0} {:>16.0} {:>14.1}  {} (runs: {})",
            runs.hidden_units,
            mean_step,
            sd_step,
            mean_and_deviation(&lowest).0,
            runs.name,
            each.join(", ")
        );
        for (seed, curve) in runs.curves.iter().enumerate() {
            for (step, energy) in curve.iter().enumerate() {
                csv.push_str(&format!(
                    "{},{},{step},{energy}\n",
                    runs.hidden_units,
                    seed + 1
                ));
            }
        }
        series.push(Series {
            name: format!("P = {}, {} epochs", runs.hidden_units, runs.epochs),
            points: (0..)
                .zip(&runs.curves[0])
                .map(|(step, &energy)| (f64::from(step), f64::from(energy)))
                .collect(),
            marked: false,
        });
    }
    let dir = &args.model.out_dir;
    write_text(&output_path(dir, "dynamics-energy.csv")?, &csv)?;
    line_chart(
        &output_path(dir, "dynamics-energy.png")?,
        &LineChart {
            title: "Algorithm 1: energy E(v_t, h_t) against the step t (seed 1)",
            x_label: "step t (ones in the image)",
            y_label: "energy",
            log2_x: false,
            series: &series,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuo_model::{Geometry, Rbm};

    #[test]
    fn the_lowest_step_skips_the_silent_start() {
        assert_eq!(lowest_energy_step(&[-9.0, -1.0, -3.0, -2.0]), Some(2));
        assert_eq!(lowest_energy_step(&[0.0]), None);
    }

    #[test]
    fn a_shorter_run_is_the_start_of_a_longer_one() {
        // What the snapshots rely on: the image after t steps is composing t ones.
        let rbm = Rbm::xavier(Geometry::PAPER, 16, 4);
        let mut composer = Composer::new(&rbm);
        let long = composer.compose(Density::Ones(60), 9);
        let short = composer.compose(Density::Ones(20), 9);
        assert_eq!(&long.energy[..20], &short.energy[..]);
        assert_eq!(short.image.ones(), 20);
    }
}

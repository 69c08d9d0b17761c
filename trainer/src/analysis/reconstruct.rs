//! `continuo reconstruct`: the paper's Fig. 4 and 5. An image is fed to the visible units, a
//! hidden vector is drawn from `p(h | v)`, and the reconstruction is the visible vector
//! `p(v | h)` cut at one half. Music the model knows should come back; a digit should not.
//!
//! The figure has no number, so this adds two: the share of the input's on-cells that the
//! reconstruction has on (recovered), and the share of its off-cells that stay off (kept).
//! Both are averaged over several hidden draws.

use anyhow::bail;
use ndarray::Array1;
use rand::SeedableRng;

use continuo_model::{PianoRoll, Rbm};

use super::cases::{Case, CaseArgs};
use super::{load_model, mean_and_deviation, output_path, save_png, write_text, ModelArgs};
use crate::render::sheet;

#[derive(clap::Args)]
pub struct ReconstructArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub cases: CaseArgs,
    /// Hidden draws averaged per image; the figure shows the first.
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pixels per cell side of the figure.
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

/// How much of an input a reconstruction keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recovery {
    /// Of the input's on-cells, the share on in the reconstruction (1 when it has none).
    pub on_recovered: f64,
    /// Of the input's off-cells, the share off in the reconstruction (1 when it has none).
    pub off_kept: f64,
}

/// Compares a reconstruction with its input, cell by cell.
pub fn recovery(input: &[bool], reconstruction: &[bool]) -> Recovery {
    let (mut on, mut on_recovered, mut off, mut off_kept) = (0usize, 0usize, 0usize, 0usize);
    for (&was, &is) in input.iter().zip(reconstruction) {
        if was {
            on += 1;
            on_recovered += usize::from(is);
        } else {
            off += 1;
            off_kept += usize::from(!is);
        }
    }
    let share = |part: usize, whole: usize| {
        if whole == 0 {
            1.0
        } else {
            part as f64 / whole as f64
        }
    };
    Recovery {
        on_recovered: share(on_recovered, on),
        off_kept: share(off_kept, off),
    }
}

/// One reconstruction: `h ~ p(h | v)`, then `p(v | h) > 1/2`.
pub fn reconstruct(rbm: &Rbm, roll: &PianoRoll, rng: &mut impl rand::Rng) -> PianoRoll {
    let visible = Array1::from(roll.to_visible());
    let hidden = Rbm::sample_bernoulli(rbm.hidden_probabilities(visible.view()).view(), rng);
    let expected = rbm.visible_probabilities(hidden.view());
    let cells = expected.iter().map(|&p| p > 0.5).collect();
    PianoRoll::from_cells(roll.grid(), cells).unwrap_or_else(|_| roll.clone())
}

/// A row of the table: the recovery averaged over the draws, and the first reconstruction.
struct Measured {
    on_recovered: (f64, f64),
    off_kept: (f64, f64),
    ones_out: f64,
    first: PianoRoll,
}

fn measure(rbm: &Rbm, case: &Case, samples: usize, seed: u64) -> Measured {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let (mut recovered, mut kept, mut ones) = (Vec::new(), Vec::new(), 0.0);
    let mut first = None;
    for _ in 0..samples {
        let out = reconstruct(rbm, &case.roll, &mut rng);
        let r = recovery(case.roll.cells(), out.cells());
        recovered.push(r.on_recovered);
        kept.push(r.off_kept);
        ones += out.ones() as f64 / samples as f64;
        first.get_or_insert(out);
    }
    Measured {
        on_recovered: mean_and_deviation(&recovered),
        off_kept: mean_and_deviation(&kept),
        ones_out: ones,
        first: first.unwrap_or_else(|| case.roll.clone()),
    }
}

pub fn run(args: ReconstructArgs) -> anyhow::Result<()> {
    if args.samples == 0 {
        bail!("--samples must be at least 1");
    }
    let model = load_model(args.model.model.as_deref())?;
    let cases = args.cases.cases(model.rbm.geometry)?;
    println!(
        "Reconstruction with {}: h ~ p(h | v), then p(v | h) > 1/2; mean +/- sd over {} draws",
        model.name, args.samples
    );
    println!(
        "{:<44} {:>6} {:>6} {:>16} {:>16}",
        "input", "ones", "out", "on recovered", "off kept"
    );
    let mut csv =
        String::from("input,ones_in,ones_out,on_recovered,on_recovered_sd,off_kept,off_kept_sd\n");
    let mut tiles = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let m = measure(&model.rbm, case, args.samples, args.seed + index as u64);
        println!(
            "{:<44} {:>6} {:>6.0} {:>9.3} +/- {:.3} {:>9.4} +/- {:.4}",
            case.label,
            case.roll.ones(),
            m.ones_out,
            m.on_recovered.0,
            m.on_recovered.1,
            m.off_kept.0,
            m.off_kept.1
        );
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            case.label,
            case.roll.ones(),
            m.ones_out,
            m.on_recovered.0,
            m.on_recovered.1,
            m.off_kept.0,
            m.off_kept.1
        ));
        tiles.push(case.roll.clone());
        tiles.push(m.first);
    }
    let dir = &args.model.out_dir;
    write_text(&output_path(dir, "reconstruct.csv")?, &csv)?;
    // Input on the left, its reconstruction on the right, one case per row.
    save_png(
        &output_path(dir, "reconstruct.png")?,
        &sheet(&tiles, 2, args.scale, true),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn recovery_counts_on_and_off_cells_apart() {
        // Input: 4 on, 6 off. The reconstruction has 3 of the 4 and turns 2 of the 6 on.
        let input = [
            true, true, true, true, false, false, false, false, false, false,
        ];
        let output = [
            true, false, true, true, true, true, false, false, false, false,
        ];
        let r = recovery(&input, &output);
        assert!((r.on_recovered - 0.75).abs() < 1e-12);
        assert!((r.off_kept - 4.0 / 6.0).abs() < 1e-12);
        let silent = recovery(&[false; 3], &[false; 3]);
        assert_eq!((silent.on_recovered, silent.off_kept), (1.0, 1.0));
    }

    #[test]
    fn a_model_that_copies_its_input_reconstructs_it() {
        // One hidden unit per visible unit, strongly tied: h_i = v_i and back, whatever is drawn
        // (sigmoid(+-20) is 1 or 0 in f32).
        let geometry = crate::cpu::tests::tiny_geometry();
        let units = geometry.visible_units();
        let mut roll = PianoRoll::new(geometry.grid, geometry.steps());
        roll.set(0, 1, true);
        roll.set(3, 0, true);
        let rbm = Rbm::from_parts(
            geometry,
            Array2::from_diag_elem(units, 40.0),
            Array1::from_elem(units, -20.0),
            Array1::from_elem(units, -20.0),
        )
        .expect("model");
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        assert_eq!(reconstruct(&rbm, &roll, &mut rng), roll);
    }
}

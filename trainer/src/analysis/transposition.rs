//! `continuo transposition`: the paper's Fig. 9. The hidden activations `p(h | v)` of the
//! two-measure windows of two pieces, as written and transposed, projected to the plane by
//! t-SNE (the `bhtsne` crate, exact gradient). The paper sees a window moved by a semitone land
//! further from itself than one moved by a whole tone.
//!
//! The number behind the picture: for a shift of `k` semitones, the mean Euclidean distance
//! between a window's hidden vector and its transposed twin's, divided by the mean distance
//! between the hidden vectors of windows of the two different pieces. Below 1, transposing
//! moves a window less than changing the piece does.

use std::path::{Path, PathBuf};

use anyhow::bail;
use ndarray::Array1;
use rand::{Rng, SeedableRng};

use continuo_model::{Geometry, Rbm};

use super::cases::{file_name, midi_windows};
use super::plot::{scatter_chart, Group};
use super::{load_model, output_path, write_text, ModelArgs};

#[derive(clap::Args)]
pub struct TranspositionArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The two pieces compared (the paper: BWV 857 and BWV 868).
    #[arg(num_args = 2, value_names = ["FIRST", "SECOND"])]
    pub pieces: Vec<PathBuf>,
    /// Shifts in semitones, one plot each.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,2",
        allow_hyphen_values = true
    )]
    pub semitones: Vec<i8>,
    /// Measures between window starts: 2 cuts each piece into windows that do not overlap, as
    /// the dataset does.
    #[arg(long, default_value_t = 2)]
    pub hop: usize,
    /// t-SNE's perplexity (lowered when there are too few windows for it).
    #[arg(long, default_value_t = 15.0)]
    pub perplexity: f32,
    /// t-SNE iterations.
    #[arg(long, default_value_t = 1000)]
    pub iterations: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The hidden vectors of one piece's windows, as written and moved, paired by window.
pub struct Twins {
    pub originals: Vec<Vec<f32>>,
    pub moved: Vec<Vec<f32>>,
}

pub fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Mean distance from each window to its transposed twin, over both pieces.
pub fn mean_twin_distance(pieces: &[&Twins]) -> f64 {
    let distances: Vec<f64> = pieces
        .iter()
        .flat_map(|twins| twins.originals.iter().zip(&twins.moved))
        .map(|(a, b)| distance(a, b))
        .collect();
    distances.iter().sum::<f64>() / distances.len().max(1) as f64
}

/// Mean distance between a window of the first piece and a window of the second, as written.
pub fn mean_cross_distance(first: &[Vec<f32>], second: &[Vec<f32>]) -> f64 {
    let mut total = 0.0;
    for a in first {
        for b in second {
            total += distance(a, b);
        }
    }
    total / (first.len() * second.len()).max(1) as f64
}

/// Mean distance between two different windows of the same piece, over the pairs of both.
pub fn mean_within_distance(pieces: &[&[Vec<f32>]]) -> f64 {
    let (mut total, mut pairs) = (0.0, 0usize);
    for windows in pieces {
        for (i, a) in windows.iter().enumerate() {
            for b in &windows[i + 1..] {
                total += distance(a, b);
                pairs += 1;
            }
        }
    }
    total / pairs.max(1) as f64
}

/// `p(h | v)` of the windows of `path`, as written and moved by `semitones`, for the windows
/// that stay on the grid when moved.
fn piece_twins(rbm: &Rbm, path: &Path, hop: usize, semitones: i8) -> anyhow::Result<Twins> {
    let geometry: Geometry = rbm.geometry;
    let originals = midi_windows(path, geometry, hop, 0)?;
    let moved = midi_windows(path, geometry, hop, semitones)?;
    let hidden = |roll: &continuo_model::PianoRoll| {
        rbm.hidden_probabilities(Array1::from(roll.to_visible()).view())
            .to_vec()
    };
    let mut twins = Twins {
        originals: Vec::new(),
        moved: Vec::new(),
    };
    for (bar, roll) in &originals {
        if let Some((_, moved_roll)) = moved.iter().find(|(moved_bar, _)| moved_bar == bar) {
            twins.originals.push(hidden(roll));
            twins.moved.push(hidden(moved_roll));
        }
    }
    if twins.originals.is_empty() {
        bail!(
            "{}: no window stays on the grid moved by {semitones:+}",
            path.display()
        );
    }
    Ok(twins)
}

/// The plane coordinates of `vectors` by exact t-SNE from a seeded random start.
fn embed(vectors: &[Vec<f32>], perplexity: f32, iterations: usize, seed: u64) -> Vec<(f64, f64)> {
    // bhtsne refuses a perplexity above a third of the other points.
    let perplexity = perplexity
        .min((vectors.len() as f32 - 1.0) / 3.0 - 0.01)
        .max(1.0);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let start: Vec<f32> = (0..2 * vectors.len())
        .map(|_| rng.random_range(-1e-4..1e-4))
        .collect();
    let samples: Vec<&[f32]> = vectors.iter().map(Vec::as_slice).collect();
    let embedding = bhtsne::tSNE::<f32, &[f32], 2>::new(&samples)
        .perplexity(perplexity)
        .epochs(iterations)
        .initial_embedding(start)
        .exact(|a, b| distance(a, b) as f32)
        .embedding();
    embedding
        .chunks_exact(2)
        .map(|p| (f64::from(p[0]), f64::from(p[1])))
        .collect()
}

pub fn run(args: TranspositionArgs) -> anyhow::Result<()> {
    let model = load_model(args.model.model.as_deref())?;
    let rbm = &model.rbm;
    let names: Vec<String> = args
        .pieces
        .iter()
        .map(|path| file_name(path).trim_end_matches(".mid").to_string())
        .collect();
    println!(
        "Transposition with {}: hidden vectors p(h | v) of {} and {}, windows every {} measures",
        model.name, names[0], names[1], args.hop
    );
    println!(
        "{:>10} {:>8} {:>14} {:>14} {:>14} {:>8}",
        "semitones", "windows", "to twin", "within piece", "across pieces", "ratio"
    );
    let mut csv =
        String::from("semitones,windows,twin_distance,within_distance,cross_distance,ratio\n");
    for &semitones in &args.semitones {
        let first = piece_twins(rbm, &args.pieces[0], args.hop, semitones)?;
        let second = piece_twins(rbm, &args.pieces[1], args.hop, semitones)?;
        let twin = mean_twin_distance(&[&first, &second]);
        let within = mean_within_distance(&[&first.originals, &second.originals]);
        let cross = mean_cross_distance(&first.originals, &second.originals);
        let windows = first.originals.len() + second.originals.len();
        println!(
            "{semitones:>+10} {windows:>8} {twin:>14.3} {within:>14.3} {cross:>14.3} {:>8.3}",
            twin / cross
        );
        csv.push_str(&format!(
            "{semitones},{windows},{twin},{within},{cross},{}\n",
            twin / cross
        ));
        plot_shift(&args, &names, semitones, [&first, &second])?;
    }
    write_text(
        &output_path(&args.model.out_dir, "transposition.csv")?,
        &csv,
    )?;
    Ok(())
}

/// One t-SNE plot: both pieces as written (filled) and moved (hollow), a colour per piece.
fn plot_shift(
    args: &TranspositionArgs,
    names: &[String],
    semitones: i8,
    pieces: [&Twins; 2],
) -> anyhow::Result<()> {
    let vectors: Vec<Vec<f32>> = pieces
        .iter()
        .flat_map(|twins| twins.originals.iter().chain(&twins.moved).cloned())
        .collect();
    let mut points = embed(&vectors, args.perplexity, args.iterations, args.seed).into_iter();
    let mut groups = Vec::new();
    for (colour, (twins, name)) in pieces.iter().zip(names).enumerate() {
        let count = twins.originals.len();
        groups.push(Group {
            name: format!("{name}, as written"),
            points: points.by_ref().take(count).collect(),
            colour,
            filled: true,
        });
        groups.push(Group {
            name: format!("{name}, {semitones:+} semitones"),
            points: points.by_ref().take(count).collect(),
            colour,
            filled: false,
        });
    }
    let file = format!(
        "transposition-{}{}.png",
        if semitones < 0 { "minus" } else { "plus" },
        semitones.unsigned_abs()
    );
    scatter_chart(
        &output_path(&args.model.out_dir, &file)?,
        &format!("t-SNE of p(h | v): windows and their twins moved by {semitones:+}"),
        &groups,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distance_ratio_of_a_hand_built_case() {
        // Piece A at (0, 0) and (0, 2), piece B at (4, 0) and (4, 2). Twins are 1 (A) and
        // 3 (B) away: mean 2. Across pieces: 4, 4, sqrt(20), sqrt(20): mean 2 + sqrt(5).
        let a = Twins {
            originals: vec![vec![0.0, 0.0], vec![0.0, 2.0]],
            moved: vec![vec![1.0, 0.0], vec![0.0, 3.0]],
        };
        let b = Twins {
            originals: vec![vec![4.0, 0.0], vec![4.0, 2.0]],
            moved: vec![vec![4.0, 3.0], vec![1.0, 2.0]],
        };
        let twin = mean_twin_distance(&[&a, &b]);
        let cross = mean_cross_distance(&a.originals, &b.originals);
        assert!((twin - 2.0).abs() < 1e-12);
        assert!((cross - (2.0 + 5f64.sqrt())).abs() < 1e-9);
        assert!((twin / cross - 2.0 / (2.0 + 5f64.sqrt())).abs() < 1e-9);
        // Within each piece the two windows are 2 apart.
        let within = mean_within_distance(&[&a.originals, &b.originals]);
        assert!((within - 2.0).abs() < 1e-12);
    }

    #[test]
    fn t_sne_keeps_two_far_clusters_apart() {
        // Ten points near each of two corners of a 5-dimensional cube.
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(2);
        let vectors: Vec<Vec<f32>> = (0..20)
            .map(|i| {
                let corner = if i < 10 { 0.0 } else { 10.0 };
                (0..5)
                    .map(|_| corner + rng.random_range(-0.5..0.5))
                    .collect()
            })
            .collect();
        let points = embed(&vectors, 5.0, 500, 3);
        let centre = |range: std::ops::Range<usize>| {
            let n = range.len() as f64;
            let (x, y) = points[range]
                .iter()
                .fold((0.0, 0.0), |s, p| (s.0 + p.0, s.1 + p.1));
            (x / n, y / n)
        };
        let (a, b) = (centre(0..10), centre(10..20));
        let between = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        let spread = points[..10]
            .iter()
            .map(|p| ((p.0 - a.0).powi(2) + (p.1 - a.1).powi(2)).sqrt())
            .fold(0.0, f64::max);
        assert!(between > 2.0 * spread, "between {between}, spread {spread}");
    }
}

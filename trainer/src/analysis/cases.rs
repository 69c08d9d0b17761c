//! The images the analyses feed to a model: two-measure windows of MIDI files (as the dataset
//! cuts them), MNIST digits on the piano-roll grid, and white noise.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context};
use rand::{Rng, SeedableRng};

use continuo_model::dataset::windows;
use continuo_model::midi_in::read_midi_file;
use continuo_model::pickup::detect_pickup_on;
use continuo_model::{Geometry, Note, PianoRoll};

use super::mnist;

/// A labelled image shown to the model.
pub struct Case {
    /// What the image is, for tables and figure captions.
    pub label: String,
    pub roll: PianoRoll,
    /// The MIDI file the window was cut from, for figures over the whole piece.
    pub source: Option<PathBuf>,
}

/// `FILE` or `FILE:BAR`: the two-measure window of a MIDI file starting at bar `BAR` (as
/// printed; the first whole window when no bar is given).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowSpec {
    pub file: PathBuf,
    pub first_bar: Option<u32>,
}

impl FromStr for WindowSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some((file, bar)) = text.rsplit_once(':') {
            if let Ok(bar) = bar.parse() {
                return Ok(WindowSpec {
                    file: PathBuf::from(file),
                    first_bar: Some(bar),
                });
            }
        }
        if text.is_empty() {
            return Err("give a MIDI file, optionally followed by :BAR".to_string());
        }
        Ok(WindowSpec {
            file: PathBuf::from(text),
            first_bar: None,
        })
    }
}

/// The file name without its folder, as the model card lists held-out pieces.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A MIDI file's two-measure windows cut every `hop_measures` measures, moved by `semitones`
/// (a window whose notes would leave the grid is dropped, as the dataset drops it), with the
/// bar each starts at. The pickup is detected.
pub fn midi_windows(
    path: &Path,
    geometry: Geometry,
    hop_measures: usize,
    semitones: i8,
) -> anyhow::Result<Vec<(u32, PianoRoll)>> {
    let grid = geometry.grid;
    let score = read_midi_file(path, grid)?;
    let pickup_steps = detect_pickup_on(&score, grid);
    let moved: Vec<Note> = score
        .notes
        .iter()
        .filter_map(|note| {
            let pitch = i16::from(note.pitch) + i16::from(semitones);
            let pitch = u8::try_from(pitch).ok()?;
            Some(Note { pitch, ..*note })
        })
        .collect();
    let mut out = Vec::new();
    for window in windows(&score, geometry, pickup_steps, hop_measures) {
        let inside = window.notes_inside(&moved, geometry.steps());
        let (roll, out_of_range) = PianoRoll::from_notes(grid, geometry.steps(), &inside);
        if out_of_range == 0 && roll.ones() > 0 {
            out.push((window.first_bar, roll));
        }
    }
    Ok(out)
}

/// The window of `spec`, labelled with its file, bars and `role` (e.g. "trained").
pub fn midi_case(spec: &WindowSpec, geometry: Geometry, role: &str) -> anyhow::Result<Case> {
    let all = midi_windows(&spec.file, geometry, 1, 0)?;
    let found = match spec.first_bar {
        Some(bar) => all.into_iter().find(|(first, _)| *first == bar),
        None => all.into_iter().next(),
    };
    let Some((first_bar, roll)) = found else {
        bail!(
            "{}: no whole two-measure 4/4 window with notes{}",
            spec.file.display(),
            spec.first_bar
                .map(|bar| format!(" starts at bar {bar}"))
                .unwrap_or_default()
        );
    };
    Ok(Case {
        label: format!(
            "{} bars {}-{} ({role})",
            file_name(&spec.file).trim_end_matches(".mid"),
            first_bar,
            first_bar + geometry.measures as u32 - 1
        ),
        roll,
        source: Some(spec.file.clone()),
    })
}

/// The first test image of each digit, drawn over the whole image.
pub fn digit_cases(
    mnist_dir: &Path,
    digits: &[u8],
    geometry: Geometry,
) -> anyhow::Result<Vec<Case>> {
    let set = mnist::read_test_set(mnist_dir)?;
    digits
        .iter()
        .map(|&digit| {
            let index = set
                .first_of(digit)
                .with_context(|| format!("the MNIST test set has no digit {digit}"))?;
            Ok(Case {
                label: format!("MNIST digit {digit} (test image {index})"),
                roll: mnist::digit_roll(
                    set.image(index),
                    set.width,
                    set.height,
                    geometry.grid,
                    geometry.steps(),
                ),
                source: None,
            })
        })
        .collect()
}

/// Every cell on with probability `density`, independently.
pub fn noise_case(geometry: Geometry, density: f64, seed: u64) -> Case {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let cells = (0..geometry.visible_units())
        .map(|_| rng.random::<f64>() < density)
        .collect();
    let roll = PianoRoll::from_cells(geometry.grid, cells)
        .unwrap_or_else(|_| PianoRoll::new(geometry.grid, geometry.steps()));
    Case {
        label: format!("white noise ({:.0}% of cells on)", 100.0 * density),
        roll,
        source: None,
    }
}

/// The options naming the images of `continuo reconstruct` and `continuo energy`.
#[derive(clap::Args, Clone, Debug)]
pub struct CaseArgs {
    /// A window of a piece the model was trained on, FILE or FILE:BAR. Repeatable.
    #[arg(long, value_name = "FILE[:BAR]")]
    pub trained: Vec<WindowSpec>,
    /// A window of a piece the model has not seen, FILE or FILE:BAR. Repeatable.
    #[arg(long, value_name = "FILE[:BAR]")]
    pub unseen: Vec<WindowSpec>,
    /// The folder of the gzipped MNIST test files (t10k-images-idx3-ubyte.gz and labels).
    #[arg(long)]
    pub mnist: Option<PathBuf>,
    /// The digits shown, the first test image of each.
    #[arg(long, value_delimiter = ',', default_value = "0,5,8")]
    pub digits: Vec<u8>,
}

impl CaseArgs {
    /// The windows and digits named, in the order of the paper's figures: music, then digits.
    pub fn cases(&self, geometry: Geometry) -> anyhow::Result<Vec<Case>> {
        let mut cases = Vec::new();
        for spec in &self.trained {
            cases.push(midi_case(spec, geometry, "trained")?);
        }
        for spec in &self.unseen {
            cases.push(midi_case(spec, geometry, "unseen")?);
        }
        if let Some(dir) = &self.mnist {
            cases.extend(digit_cases(dir, &self.digits, geometry)?);
        }
        if cases.is_empty() {
            bail!("nothing to show: give --trained, --unseen or --mnist");
        }
        Ok(cases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_specs_parse_with_and_without_a_bar() {
        assert_eq!(
            "a/b.mid:12".parse::<WindowSpec>(),
            Ok(WindowSpec {
                file: PathBuf::from("a/b.mid"),
                first_bar: Some(12)
            })
        );
        assert_eq!(
            "c:/x.mid".parse::<WindowSpec>().map(|s| s.first_bar),
            Ok(None)
        );
        assert!("".parse::<WindowSpec>().is_err());
    }

    #[test]
    fn noise_has_about_its_density() {
        let case = noise_case(Geometry::PAPER, 0.5, 3);
        let share = case.roll.ones() as f64 / 13_824.0;
        // 13,824 fair coins: the standard deviation of the share is 0.0043.
        assert!((share - 0.5).abs() < 0.02, "{share}");
    }
}

//! `continuo dataset`: cut a MIDI corpus into two-measure training images and write them as a
//! dataset file, with a table of what was kept and what was skipped.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

use continuo_model::dataset::{build_dataset, DatasetOptions, DatasetReport, PickupSource};
use continuo_model::Geometry;

#[derive(clap::Args)]
pub struct DatasetArgs {
    /// Folder searched recursively for .mid and .midi files (in sorted order).
    #[arg(long)]
    pub corpus: PathBuf,
    /// The dataset file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Measures between the starts of consecutive images: 2 cuts the pieces into images that
    /// do not overlap, 1 takes every pair of neighbouring measures.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub hop: u16,
    /// Semitone shifts applied to every image, LOW..HIGH inclusive.
    #[arg(long, default_value = "-5..6", allow_hyphen_values = true)]
    pub transpose: String,
    /// A file's pickup (upbeat) in quarter-note beats, as FILE=BEATS; FILE is the path
    /// relative to the corpus or just the file name. Repeatable. Files without one get the
    /// detected pickup.
    #[arg(long = "pickup", value_name = "FILE=BEATS")]
    pub pickups: Vec<String>,
    /// A table of pickups: lines FILE=BEATS, or a Markdown table with a "File" and a
    /// "Pickup (beats)" column (like the corpus's SOURCES.md).
    #[arg(long = "pickups", value_name = "TABLE")]
    pub pickup_table: Option<PathBuf>,
}

pub fn run(args: DatasetArgs) -> anyhow::Result<()> {
    let geometry = Geometry::PAPER;
    let mut pickups = BTreeMap::new();
    if let Some(table) = &args.pickup_table {
        let text = std::fs::read_to_string(table)
            .with_context(|| format!("reading the pickups table {}", table.display()))?;
        for (file, beats) in parse_pickup_table(&text)
            .with_context(|| format!("in the pickups table {}", table.display()))?
        {
            pickups.insert(file, beats_to_steps(beats, geometry)?);
        }
    }
    for entry in &args.pickups {
        let (file, beats) = parse_pickup(entry)?;
        pickups.insert(file, beats_to_steps(beats, geometry)?);
    }
    let options = DatasetOptions {
        hop_measures: args.hop as usize,
        transpositions: parse_transpositions(&args.transpose)?,
        geometry,
        pickups,
    };

    let started = Instant::now();
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (dataset, report) = build_dataset(&args.corpus, &options, &mut |done, all| {
        bar.set_length(all as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("reading the corpus {}", args.corpus.display()))?;
    bar.finish_and_clear();

    if report.files_found == 0 {
        bail!("no .mid or .midi files under {}", args.corpus.display());
    }
    if dataset.is_empty() {
        bail!("no images: no file had two whole 4/4 measures with notes");
    }
    dataset
        .write(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let bytes = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);

    print_report(&report, &options, geometry);
    println!(
        "wrote {} images to {} ({:.1} MB) in {:.1} s",
        report.images,
        args.out.display(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The table shown at the end of a run.
fn print_report(report: &DatasetReport, options: &DatasetOptions, geometry: Geometry) {
    let quarter = geometry.grid.steps_per_quarter as f64;
    println!("files found                  {:>7}", report.files_found);
    println!("files read                   {:>7}", report.files_read);
    println!(
        "files skipped                {:>7}",
        report.files_skipped.len()
    );
    for (file, reason) in &report.files_skipped {
        println!("  {file}: {reason}");
    }
    println!("files with a pickup          {:>7}", report.pickups.len());
    for (file, steps, source) in &report.pickups {
        let source = match source {
            PickupSource::Stated => "stated",
            PickupSource::Detected => "detected",
        };
        println!("  {file}: {} beats ({source})", *steps as f64 / quarter);
    }
    if !report.unused_pickups.is_empty() {
        println!(
            "  stated pickups that matched no file: {}",
            report.unused_pickups.join(", ")
        );
    }
    println!(
        "whole 4/4 measures           {:>7}",
        report.four_four_measures
    );
    println!(
        "other-meter measures skipped {:>7}",
        report.other_meter_measures
    );
    println!(
        "windows ({} measures, hop {})  {:>7}",
        geometry.measures, options.hop_measures, report.windows
    );
    println!("empty windows dropped        {:>7}", report.empty_windows);
    println!(
        "notes out of range (C1-B6)   {:>7}",
        report.notes_out_of_range
    );
    println!("transposition   images   dropped (a note off C1-B6)");
    for (shift, kept, dropped) in &report.per_transposition {
        println!("  {shift:>+4}        {kept:>7}   {dropped:>7}");
    }
    println!("images written               {:>7}", report.images);
}

/// `LOW..HIGH` or `LOW..=HIGH` semitones, both inclusive.
fn parse_transpositions(text: &str) -> anyhow::Result<RangeInclusive<i8>> {
    let parsed = text
        .split_once("..")
        .and_then(|(low, high)| {
            let high = high.strip_prefix('=').unwrap_or(high);
            Some((
                low.trim().parse::<i8>().ok()?,
                high.trim().parse::<i8>().ok()?,
            ))
        })
        .filter(|(low, high)| low <= high && *low >= -24 && *high <= 24);
    match parsed {
        Some((low, high)) => Ok(low..=high),
        None => {
            bail!("--transpose {text}: expected LOW..HIGH semitones between -24 and 24, e.g. -5..6")
        }
    }
}

/// One `FILE=BEATS` entry.
fn parse_pickup(entry: &str) -> anyhow::Result<(String, f64)> {
    let Some((file, beats)) = entry.rsplit_once('=') else {
        bail!("--pickup {entry}: expected FILE=BEATS, e.g. bach/bwv814-allemande.mid=0.75");
    };
    let beats: f64 = beats
        .trim()
        .parse()
        .with_context(|| format!("--pickup {entry}: {beats} is not a number of beats"))?;
    Ok((file.trim().to_string(), beats))
}

/// A pickup in beats as steps; it must be shorter than a measure.
fn beats_to_steps(beats: f64, geometry: Geometry) -> anyhow::Result<usize> {
    let quarters = geometry.grid.quarters_per_measure as f64;
    if !(0.0..quarters).contains(&beats) {
        bail!("a pickup of {beats} beats: it must be at least 0 and shorter than a measure");
    }
    Ok((beats * geometry.grid.steps_per_quarter as f64).round() as usize)
}

/// Pickups from a table file: `FILE=BEATS` lines (blank lines and `#` comments skipped), or a
/// Markdown table whose header has a `File` column and a column starting with `Pickup`.
fn parse_pickup_table(text: &str) -> anyhow::Result<Vec<(String, f64)>> {
    let header = text
        .lines()
        .find(|l| l.trim_start().starts_with('|') && cells(l).iter().any(|c| c == "File"));
    let Some(header) = header else {
        return text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(parse_pickup)
            .collect();
    };

    let columns = cells(header);
    let file_column = columns.iter().position(|c| c == "File");
    let pickup_column = columns.iter().position(|c| c.starts_with("Pickup"));
    let (Some(file_column), Some(pickup_column)) = (file_column, pickup_column) else {
        bail!("the Markdown table has no \"Pickup\" column");
    };
    let mut pickups = Vec::new();
    let rows = text
        .lines()
        .skip_while(|l| *l != header)
        .skip(2) // the header and its |---| separator
        .take_while(|l| l.trim_start().starts_with('|'));
    for row in rows {
        let row_cells = cells(row);
        let (Some(file), Some(beats)) = (row_cells.get(file_column), row_cells.get(pickup_column))
        else {
            continue;
        };
        let beats: f64 = beats
            .parse()
            .with_context(|| format!("the pickup of {file}, {beats:?}, is not a number"))?;
        pickups.push((file.clone(), beats));
    }
    Ok(pickups)
}

/// The cells of a Markdown table row, trimmed, without the empty ones outside the outer bars.
fn cells(row: &str) -> Vec<String> {
    let row = row.trim();
    let inner = row.strip_prefix('|').unwrap_or(row);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpositions_parse_both_range_forms() {
        assert_eq!(parse_transpositions("-5..6").unwrap(), -5..=6);
        assert_eq!(parse_transpositions("-5..=6").unwrap(), -5..=6);
        assert_eq!(parse_transpositions("0..0").unwrap(), 0..=0);
        assert!(parse_transpositions("6..-5").is_err());
        assert!(parse_transpositions("-5").is_err());
        assert!(parse_transpositions("-50..6").is_err());
    }

    #[test]
    fn pickups_parse_from_arguments_and_tables() {
        assert_eq!(
            parse_pickup("bach/a.mid=0.75").unwrap(),
            ("bach/a.mid".to_string(), 0.75)
        );
        assert!(parse_pickup("a.mid").is_err());
        assert!(parse_pickup("a.mid=x").is_err());
        assert_eq!(beats_to_steps(0.75, Geometry::PAPER).unwrap(), 18);
        assert!(beats_to_steps(4.0, Geometry::PAPER).is_err());
        assert!(beats_to_steps(-1.0, Geometry::PAPER).is_err());

        let lines = "# upbeats\n\na.mid=1\n b/c.mid = 0.5 \n";
        assert_eq!(
            parse_pickup_table(lines).unwrap(),
            vec![("a.mid".to_string(), 1.0), ("b/c.mid".to_string(), 0.5)]
        );

        let markdown = "Intro\n\n| File | Title | Pickup (beats) |\n|---|---|---|\n\
                        | bach/x.mid | X | 0 |\n| bach/y.mid | Y | 2 |\n\nAfter.\n";
        assert_eq!(
            parse_pickup_table(markdown).unwrap(),
            vec![
                ("bach/x.mid".to_string(), 0.0),
                ("bach/y.mid".to_string(), 2.0)
            ]
        );
    }
}

//! `continuo render`: piano rolls as PNG images, drawn like the paper's figures.
//!
//! Time runs left to right, one pixel column per step; pitch runs from C1 at the bottom to B6
//! at the top, one pixel row per pitch; sounding notes are white on black. `scale` enlarges
//! every cell to a square of `scale` x `scale` pixels. Bar lines, when asked for, are dim grey
//! columns drawn only under silence, so they never hide a note.

use std::path::{Path, PathBuf};

use anyhow::bail;
use image::{GrayImage, Luma};

use continuo_model::dataset::Dataset;
use continuo_model::midi_in::read_midi_file;
use continuo_model::pickup::detect_pickup_on;
use continuo_model::{Grid, PianoRoll};

use crate::outputs::{check_distinct_files, check_image_size, check_png_path, save_png, NamedPath};

/// A sounding cell.
pub const NOTE: Luma<u8> = Luma([255]);
/// Silence.
pub const BACKGROUND: Luma<u8> = Luma([0]);
/// Bar lines: visible against the background, far darker than a note.
pub const BAR_LINE: Luma<u8> = Luma([72]);
/// The border between the tiles of a sheet, lighter than a bar line so tiles read apart.
pub const TILE_BORDER: Luma<u8> = Luma([128]);
/// Pixels of border between and around the tiles of a sheet.
pub const TILE_GAP_PX: u32 = 2;

/// A roll as an image, with a bar line at every measure boundary of its grid when
/// `bar_lines` is set (the roll is taken to start on a bar line).
pub fn roll_image(roll: &PianoRoll, scale: u32, bar_lines: bool) -> GrayImage {
    let measure_steps = roll.grid().steps_per_measure().max(1);
    let bars: Vec<usize> = if bar_lines {
        (measure_steps..roll.steps())
            .step_by(measure_steps)
            .collect()
    } else {
        Vec::new()
    };
    roll_image_with_bars(roll, scale, &bars)
}

/// A roll as an image with bar lines at the given steps (for rolls that do not start on a bar
/// line, such as a MIDI file with a pickup).
pub fn roll_image_with_bars(roll: &PianoRoll, scale: u32, bar_steps: &[usize]) -> GrayImage {
    let scale = scale.max(1);
    let rows = roll.grid().pitch_rows;
    let width = roll.steps() as u32 * scale;
    let height = rows as u32 * scale;
    let mut image = GrayImage::from_pixel(width, height, BACKGROUND);

    // A bar line is one pixel wide at the left edge of the bar's first step (wider when the
    // image is scaled up a lot, so that it stays visible).
    let line_px = (scale / 4).max(1);
    for &step in bar_steps.iter().filter(|&&s| s > 0 && s < roll.steps()) {
        let x0 = step as u32 * scale;
        for x in x0..(x0 + line_px).min(width) {
            for y in 0..height {
                image.put_pixel(x, y, BAR_LINE);
            }
        }
    }

    for step in 0..roll.steps() {
        for row in (0..rows).filter(|&row| roll.get(step, row)) {
            // Row 0 (the lowest pitch) is the bottom pixel row.
            let top = (rows - 1 - row) as u32 * scale;
            let left = step as u32 * scale;
            for y in top..top + scale {
                for x in left..left + scale {
                    image.put_pixel(x, y, NOTE);
                }
            }
        }
    }
    image
}

/// Several rolls tiled left to right, top to bottom, `columns` to a row, separated by a grey
/// border. Tiles of different lengths are aligned left.
pub fn sheet(rolls: &[PianoRoll], columns: usize, scale: u32, bar_lines: bool) -> GrayImage {
    let tiles: Vec<GrayImage> = rolls
        .iter()
        .map(|roll| roll_image(roll, scale, bar_lines))
        .collect();
    tile(&tiles, columns)
}

/// Images arranged in a grid with [`TILE_GAP_PX`] of [`TILE_BORDER`] around each.
fn tile(tiles: &[GrayImage], columns: usize) -> GrayImage {
    let columns = columns.clamp(1, tiles.len().max(1));
    let tile_width = tiles.iter().map(|t| t.width()).max().unwrap_or(0);
    let tile_height = tiles.iter().map(|t| t.height()).max().unwrap_or(0);
    let (width, height) = sheet_size(tile_width, tile_height, tiles.len(), columns);
    let mut sheet = GrayImage::from_pixel(width as u32, height as u32, TILE_BORDER);
    for (index, tile) in tiles.iter().enumerate() {
        let left = TILE_GAP_PX + (index % columns) as u32 * (tile_width + TILE_GAP_PX);
        let top = TILE_GAP_PX + (index / columns) as u32 * (tile_height + TILE_GAP_PX);
        image::imageops::replace(&mut sheet, tile, left as i64, top as i64);
    }
    sheet
}

/// Width and height in pixels of a sheet of `count` tiles of at most `tile_width` x
/// `tile_height`, `columns` to a row.
fn sheet_size(tile_width: u32, tile_height: u32, count: usize, columns: usize) -> (u64, u64) {
    let columns = columns.clamp(1, count.max(1)) as u64;
    let rows = (count as u64).div_ceil(columns).max(1);
    let gap = u64::from(TILE_GAP_PX);
    (
        columns * (u64::from(tile_width) + gap) + gap,
        rows * (u64::from(tile_height) + gap) + gap,
    )
}

/// Refuses a roll image (or a sheet of `count` of them) too large to draw, before drawing.
pub fn check_rolls_size(
    steps: usize,
    rows: usize,
    scale: u32,
    count: usize,
    columns: usize,
) -> anyhow::Result<()> {
    let side = |cells: usize| u32::try_from(cells as u64 * u64::from(scale)).unwrap_or(u32::MAX);
    let (width, height) = if count == 1 {
        (u64::from(side(steps)), u64::from(side(rows)))
    } else {
        sheet_size(side(steps), side(rows), count, columns)
    };
    check_image_size(width, height)
}

#[derive(clap::Args)]
pub struct RenderArgs {
    /// A dataset file written by `continuo dataset`.
    #[arg(long, required_unless_present = "midi", conflicts_with = "midi")]
    pub dataset: Option<PathBuf>,
    /// Dataset images to draw, by index: --images 0,5,17.
    #[arg(
        long,
        value_delimiter = ',',
        conflicts_with = "first",
        requires = "dataset"
    )]
    pub images: Vec<usize>,
    /// Draw the dataset's first K images (the default is the first one).
    #[arg(long, requires = "dataset")]
    pub first: Option<usize>,
    /// A MIDI file to draw.
    #[arg(long)]
    pub midi: Option<PathBuf>,
    /// The bars of the MIDI file to draw, FIRST..LAST inclusive, as printed (a pickup is bar
    /// 0); the default is the whole file.
    #[arg(long, requires = "midi")]
    pub bars_range: Option<String>,
    /// The MIDI file's pickup in beats; detected when not given.
    #[arg(long, requires = "midi")]
    pub pickup: Option<f64>,
    /// Cut the MIDI bars into tiles of this many measures, drawn as a sheet.
    #[arg(long, requires = "midi")]
    pub tile_bars: Option<usize>,
    /// The PNG file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Pixels per cell side.
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
    /// Draw bar lines (dim grey).
    #[arg(long)]
    pub bars: bool,
    /// Tiles per row of a sheet (default: up to 4).
    #[arg(long)]
    pub columns: Option<usize>,
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    if args.scale == 0 || args.scale > 64 {
        bail!("--scale {}: use 1 to 64 pixels per cell", args.scale);
    }
    check_png_path(&args.out)?;
    let inputs: Vec<NamedPath> = [("--dataset", &args.dataset), ("--midi", &args.midi)]
        .into_iter()
        .filter_map(|(flag, path)| Some((flag, path.as_deref()?)))
        .collect();
    check_distinct_files(&inputs, &[("--out", &args.out)])?;
    let image = match (&args.dataset, &args.midi) {
        (Some(dataset), _) => render_dataset(dataset, &args)?,
        (None, Some(midi)) => render_midi(midi, &args)?,
        (None, None) => bail!("give --dataset FILE or --midi FILE"),
    };
    save_png(&args.out, &image)?;
    log::info!("{} x {} pixels", image.width(), image.height());
    Ok(())
}

/// One dataset image alone, or a sheet of several.
fn render_dataset(path: &Path, args: &RenderArgs) -> anyhow::Result<GrayImage> {
    let dataset = Dataset::read(path)?;
    let indices: Vec<usize> = if !args.images.is_empty() {
        args.images.clone()
    } else {
        (0..args.first.unwrap_or(1).min(dataset.len())).collect()
    };
    if args.first == Some(0) {
        bail!("--first 0 draws nothing: give 1 or more");
    }
    if indices.is_empty() {
        bail!("{} holds no images", path.display());
    }
    if let Some(&bad) = indices.iter().find(|&&i| i >= dataset.len()) {
        bail!(
            "image {bad} does not exist: {} holds {} images",
            path.display(),
            dataset.len()
        );
    }
    for &index in &indices {
        let p = dataset.provenance(index);
        log::info!(
            "image {index}: {} from bar {}, transposed {:+}",
            p.file,
            p.first_bar,
            p.transposition
        );
    }

    let columns = args.columns.unwrap_or(4);
    let geometry = dataset.geometry();
    check_rolls_size(
        geometry.steps(),
        geometry.grid.pitch_rows,
        args.scale,
        indices.len(),
        columns,
    )?;
    let rolls: Vec<PianoRoll> = indices.iter().map(|&i| dataset.image(i)).collect();
    if rolls.len() == 1 {
        return Ok(roll_image(&rolls[0], args.scale, args.bars));
    }
    Ok(sheet(&rolls, columns, args.scale, args.bars))
}

/// A MIDI file's bars as one roll, or as a sheet of tiles.
fn render_midi(path: &Path, args: &RenderArgs) -> anyhow::Result<GrayImage> {
    let grid = Grid::PAPER;
    let score = read_midi_file(path, grid)?;
    let pickup_steps = match args.pickup {
        Some(beats) if (0.0..grid.quarters_per_measure as f64).contains(&beats) => {
            (beats * grid.steps_per_quarter as f64).round() as usize
        }
        Some(beats) => bail!("--pickup {beats}: give 0 up to (not including) a measure"),
        None => detect_pickup_on(&score, grid),
    };
    let bars = score.bars(grid, pickup_steps);
    let (first_bar, last_bar) = match &args.bars_range {
        Some(range) => parse_bar_range(range)?,
        None => (0, u32::MAX),
    };
    let chosen: Vec<_> = bars
        .iter()
        .filter(|b| (first_bar..=last_bar).contains(&b.number))
        .collect();
    let (Some(first), Some(last)) = (chosen.first(), chosen.last()) else {
        bail!(
            "{} has no bars in {first_bar}..{last_bar} (it has bars 0 to {})",
            path.display(),
            bars.last().map_or(0, |b| b.number)
        );
    };
    let start = first.start_step;
    let end = last.start_step + last.len_steps;
    // A sheet of tiles is no larger than the whole roll in one row, plus its borders.
    let tiles = args
        .tile_bars
        .filter(|&m| m > 0)
        .map_or(1, |m| chosen.len().div_ceil(m));
    check_rolls_size(end - start, grid.pitch_rows, args.scale, 1, 1)?;
    if tiles > 1 {
        let widest_tile =
            chosen.iter().map(|b| b.len_steps).max().unwrap_or(0) * args.tile_bars.unwrap_or(1);
        let columns = args.columns.unwrap_or(4);
        check_rolls_size(widest_tile, grid.pitch_rows, args.scale, tiles, columns)?;
    }
    let (full_roll, _) = score.roll(grid);
    let roll = full_roll.window(start, end - start);

    match args.tile_bars {
        Some(measures) if measures > 0 => {
            let tiles: Vec<GrayImage> = chosen
                .chunks(measures)
                .map(|group| {
                    let tile_start = group[0].start_step;
                    let tile_steps: usize = group.iter().map(|b| b.len_steps).sum();
                    let bar_steps = if args.bars {
                        group.iter().map(|b| b.start_step - tile_start).collect()
                    } else {
                        Vec::new()
                    };
                    let tile_roll = full_roll.window(tile_start, tile_steps);
                    roll_image_with_bars(&tile_roll, args.scale, &bar_steps)
                })
                .collect();
            Ok(tile(&tiles, args.columns.unwrap_or(4)))
        }
        _ => {
            let bar_steps: Vec<usize> = if args.bars {
                chosen.iter().map(|b| b.start_step - start).collect()
            } else {
                Vec::new()
            };
            Ok(roll_image_with_bars(&roll, args.scale, &bar_steps))
        }
    }
}

/// `FIRST..LAST` (or `FIRST..=LAST`, or a single bar number), inclusive.
fn parse_bar_range(text: &str) -> anyhow::Result<(u32, u32)> {
    let parsed = match text.split_once("..") {
        Some((first, last)) => {
            let last = last.strip_prefix('=').unwrap_or(last);
            first.trim().parse().ok().zip(last.trim().parse().ok())
        }
        None => text.trim().parse().ok().map(|bar| (bar, bar)),
    };
    match parsed {
        Some((first, last)) if first <= last => Ok((first, last)),
        _ => bail!("--bars-range {text}: expected FIRST..LAST bar numbers, e.g. 1..8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuo_model::Note;

    #[test]
    fn a_note_is_a_white_block_counted_from_the_bottom_row() {
        // C1 (row 0) on step 0, B6 (row 71) on steps 2..4; 4 steps, scale 2.
        let notes = [
            Note {
                start_step: 0,
                end_step: 1,
                pitch: 24,
                velocity: 90,
            },
            Note {
                start_step: 2,
                end_step: 4,
                pitch: 95,
                velocity: 90,
            },
        ];
        let (roll, _) = PianoRoll::from_notes(Grid::PAPER, 4, &notes);
        let image = roll_image(&roll, 2, false);
        assert_eq!((image.width(), image.height()), (8, 144));
        let white: Vec<(u32, u32)> = image
            .enumerate_pixels()
            .filter(|(_, _, p)| **p == NOTE)
            .map(|(x, y, _)| (x, y))
            .collect();
        // C1: x 0..2, the bottom two pixel rows 142..144. B6: x 4..8, the top rows 0..2.
        let mut expected = Vec::new();
        for y in 0..2 {
            for x in 4..8 {
                expected.push((x, y));
            }
        }
        for y in 142..144 {
            for x in 0..2 {
                expected.push((x, y));
            }
        }
        assert_eq!(white, expected);
    }

    #[test]
    fn bar_lines_are_grey_under_silence_only() {
        // Two measures; a note held across the bar line at step 96, on row 10.
        let note = Note {
            start_step: 90,
            end_step: 100,
            pitch: 34,
            velocity: 90,
        };
        let (roll, _) = PianoRoll::from_notes(Grid::PAPER, 192, &[note]);
        let image = roll_image(&roll, 1, true);
        // Column 96: the note's pixel (row 10 from the bottom = y 61) stays white, the rest is
        // bar-line grey; no other column is grey.
        assert_eq!(*image.get_pixel(96, 61), NOTE);
        assert_eq!(*image.get_pixel(96, 0), BAR_LINE);
        assert_eq!(*image.get_pixel(96, 71), BAR_LINE);
        let grey_columns: Vec<u32> = (0..192)
            .filter(|&x| *image.get_pixel(x, 0) == BAR_LINE)
            .collect();
        assert_eq!(grey_columns, vec![96]);
    }

    #[test]
    fn a_sheet_tiles_with_borders() {
        let rolls = vec![PianoRoll::new(Grid::PAPER, 192); 5];
        let image = sheet(&rolls, 2, 1, false);
        // 2 columns x 3 rows of 192 x 72 tiles, 2-pixel borders around each.
        assert_eq!(image.width(), 2 * (192 + 2) + 2);
        assert_eq!(image.height(), 3 * (72 + 2) + 2);
        assert_eq!(*image.get_pixel(0, 0), TILE_BORDER);
        assert_eq!(*image.get_pixel(2, 2), BACKGROUND);
        // The empty sixth slot stays border grey.
        assert_eq!(*image.get_pixel(196 + 10, 2 * 74 + 10), TILE_BORDER);
    }

    #[test]
    fn bar_ranges_parse() {
        assert_eq!(parse_bar_range("1..8").unwrap(), (1, 8));
        assert_eq!(parse_bar_range("3..=4").unwrap(), (3, 4));
        assert_eq!(parse_bar_range("5").unwrap(), (5, 5));
        assert!(parse_bar_range("8..1").is_err());
        assert!(parse_bar_range("a..b").is_err());
    }
}

//! `continuo compose`, `continuo continue` and `continuo bench compose`: the composing algorithms
//! of the model crate ([`continuo_model::compose`]) on the command line.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{s, Array1};
use rand::{Rng, SeedableRng};

use continuo_model::compose::{Composer, Density, PAPER_ONES_PER_MEASURE};
use continuo_model::direct::DirectComposer;
use continuo_model::midi_in::{read_midi_file, Bar, Score};
use continuo_model::midi_out::{notes_to_midi, MidiExport};
use continuo_model::pickup::detect_pickup_on;
use continuo_model::{Geometry, Grid, Note, PianoRoll, Rbm};

use crate::models::load_model;
use crate::outputs::{check_distinct_files, check_png_path, save_png, write_file, NamedPath};
use crate::render::{check_rolls_size, roll_image_with_bars};

/// The most measures `compose` and `continue` write: about 40 minutes of music at 100 BPM,
/// composed in tens of seconds. A larger count is more likely a typo than a wish.
const MAX_MEASURES: usize = 1000;

/// Beats per minute of the fastest music the plugin is meant to follow: one measure of 4/4 at
/// this tempo is the time a continuation has between two bar lines.
const FAST_TEMPO_BPM: f64 = 200.0;

#[derive(clap::Args)]
pub struct ComposeArgs {
    /// Measures in the piece: two from Algorithm 1, then one continuation (Algorithm 2) per
    /// further measure. The paper's pieces have 8.
    #[arg(long, default_value_t = 8)]
    pub measures: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The MIDI file to write.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Also draw the piece as a PNG piano roll.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Also write the energy of every step of every run as CSV (run, step, ones, energy).
    #[arg(long)]
    pub energy: Option<PathBuf>,
    /// Ones (sounding cells) per measure: the paper's 500, i.e. 1000 for the opening
    /// two-measure image and 500 for each continuation.
    #[arg(long, conflicts_with = "density")]
    pub ones: Option<usize>,
    /// `auto` (stop each run at its lowest energy), `match` (each continuation as dense as the
    /// measure before it; the opening gets the paper's 1000) or ones per measure.
    #[arg(long)]
    pub density: Option<Density>,
    /// Tempo of the MIDI file, quarter notes per minute.
    #[arg(long, default_value_t = 100.0)]
    pub tempo: f64,
    /// A weight file written by `continuo train`; the default is the bundled model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Pixels per cell side of the PNG.
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

#[derive(clap::Args)]
pub struct ContinueArgs {
    /// The MIDI phrase to continue.
    pub input: PathBuf,
    /// Measures to add.
    #[arg(long, default_value_t = 4)]
    pub measures: usize,
    /// The MIDI file to write: the phrase followed by its continuation.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Continue after this bar (numbered as printed, a pickup being bar 0) instead of after
    /// the last whole 4/4 measure; the phrase is cut after it.
    #[arg(long)]
    pub from_bar: Option<u32>,
    /// The phrase's pickup in beats; detected when not given.
    #[arg(long)]
    pub pickup: Option<f64>,
    /// Also draw the result as a PNG piano roll, with bar lines.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Ones (sounding cells) per new measure; the paper's 500.
    #[arg(long, conflicts_with = "density")]
    pub ones: Option<usize>,
    /// `auto`, `match` (as dense as the measure continued) or ones per measure.
    #[arg(long)]
    pub density: Option<Density>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A weight file written by `continuo train`; the default is the bundled model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Pixels per cell side of the PNG.
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

#[derive(clap::Args)]
pub struct BenchComposeArgs {
    /// A weight file to measure; the default is the built-in model.
    #[arg(long, conflicts_with = "hidden")]
    pub model: Option<PathBuf>,
    /// Measure an untrained (Xavier) model of this many hidden units instead: the slowest case
    /// for the engine.
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Continuations timed with the fast engine.
    #[arg(long, default_value_t = 21)]
    pub repeats: usize,
    /// Continuations timed with the direct dense implementations (seconds each).
    #[arg(long, default_value_t = 3)]
    pub direct_repeats: usize,
    /// Ones per continued measure: the paper's 500.
    #[arg(long, default_value_t = PAPER_ONES_PER_MEASURE)]
    pub ones: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also time the paper's steps in plain f32 with ndarray (tens of seconds per run).
    #[arg(long)]
    pub float: bool,
}

pub fn run_compose(args: ComposeArgs) -> anyhow::Result<()> {
    check_tempo(args.tempo)?;
    check_scale(args.scale)?;
    check_measures(args.measures)?;
    let inputs: Vec<NamedPath> = args
        .model
        .iter()
        .map(|m| ("--model", m.as_path()))
        .collect();
    let outputs = [
        Some(("-o", args.out.as_path())),
        args.png.as_deref().map(|png| ("--png", png)),
        args.energy.as_deref().map(|csv| ("--energy", csv)),
    ];
    check_outputs(&inputs, &outputs, args.png.as_deref())?;
    let model = load_model(args.model.as_deref())?;
    let grid = model.rbm.geometry.grid;
    if args.png.is_some() {
        let steps = args.measures * grid.steps_per_measure();
        check_rolls_size(steps, grid.pitch_rows, args.scale, 1, 1)?;
    }
    let per_measure = density_per_measure(args.ones, args.density);
    let image_measures = model.rbm.geometry.measures;
    let first = match per_measure {
        Density::Ones(ones) => Density::Ones(ones * image_measures),
        other => other,
    };

    let started = Instant::now();
    let mut composer = Composer::new(&model.rbm);
    let piece = composer.compose_piece(args.measures, first, per_measure, args.seed);
    log::info!(
        "composed {} measures with {} (seed {}, opening density {first}, then {per_measure} \
         per measure) in {:.0} ms",
        piece.roll.measures(),
        model.name,
        args.seed,
        started.elapsed().as_secs_f64() * 1e3
    );
    log_ones_per_measure(&piece.roll);

    let export = MidiExport {
        tempo_bpm: args.tempo,
        ..MidiExport::default()
    };
    let notes = piece.roll.to_notes(export.velocity);
    write_file(
        &args.out,
        &notes_to_midi(&notes, piece.roll.grid(), &export),
    )?;
    if let Some(png) = &args.png {
        let bars = bar_lines(piece.roll.grid(), 0, piece.roll.steps());
        save_png(png, &roll_image_with_bars(&piece.roll, args.scale, &bars))?;
    }
    if let Some(csv) = &args.energy {
        write_file(csv, energy_csv(&piece.energies).as_bytes())?;
    }
    Ok(())
}

pub fn run_continue(args: ContinueArgs) -> anyhow::Result<()> {
    check_scale(args.scale)?;
    check_measures(args.measures)?;
    let inputs: Vec<NamedPath> = std::iter::once(("phrase", args.input.as_path()))
        .chain(args.model.iter().map(|m| ("--model", m.as_path())))
        .collect();
    let outputs = [
        Some(("-o", args.out.as_path())),
        args.png.as_deref().map(|png| ("--png", png)),
    ];
    check_outputs(&inputs, &outputs, args.png.as_deref())?;
    let model = load_model(args.model.as_deref())?;
    if model.rbm.geometry.measures < 2 {
        bail!(
            "{}: the model's images are {} measure long; continuing needs a model of two \
             measures or more",
            model.name,
            model.rbm.geometry.measures
        );
    }
    let grid = model.rbm.geometry.grid;
    let phrase = read_phrase(&args, grid)?;
    let density = density_per_measure(args.ones, args.density);
    let join_step = phrase.last_bar.start_step + phrase.last_bar.len_steps;
    if args.png.is_some() {
        let steps = join_step + args.measures * grid.steps_per_measure();
        check_rolls_size(steps, grid.pitch_rows, args.scale, 1, 1)?;
    }

    let started = Instant::now();
    let mut composer = Composer::new(&model.rbm);
    let answer = composer.continue_piece(&phrase.context, args.measures, density, args.seed);
    log::info!(
        "continued bar {} of {} by {} measures with {} (seed {}, density {density}) in {:.0} ms",
        phrase.last_bar.number,
        args.input.display(),
        answer.roll.measures(),
        model.name,
        args.seed,
        started.elapsed().as_secs_f64() * 1e3
    );
    log_ones_per_measure(&answer.roll);

    // The phrase as played, then the answer from the bar line on.
    let mut notes = phrase.notes;
    notes.extend(
        answer
            .roll
            .to_notes(MidiExport::default().velocity)
            .iter()
            .map(|note| Note {
                start_step: note.start_step + join_step,
                end_step: note.end_step + join_step,
                ..*note
            }),
    );
    let export = MidiExport {
        tempo_bpm: phrase.tempo_bpm,
        ..MidiExport::default()
    };
    write_file(&args.out, &notes_to_midi(&notes, grid, &export))?;

    if let Some(png) = &args.png {
        let end_step = join_step + answer.roll.steps();
        let (roll, _) = PianoRoll::from_notes(grid, end_step, &notes);
        let mut bars = phrase.bar_steps;
        bars.extend(bar_lines(grid, join_step, end_step));
        save_png(png, &roll_image_with_bars(&roll, args.scale, &bars))?;
    }
    Ok(())
}

/// The density per measure from `--ones` or `--density`; the paper's 500 by default.
fn density_per_measure(ones: Option<usize>, density: Option<Density>) -> Density {
    match (ones, density) {
        (Some(ones), _) => Density::Ones(ones),
        (None, Some(density)) => density,
        (None, None) => Density::PAPER_MEASURE,
    }
}

/// The phrase of `continuo continue`, read and cut at the bar it is continued from.
struct Phrase {
    /// Notes up to the end of `last_bar`, as written (pitches out of range kept).
    notes: Vec<Note>,
    /// The phrase on the model's grid up to the end of `last_bar`, out-of-range pitches folded
    /// in: what the model continues.
    context: PianoRoll,
    /// The bar continued.
    last_bar: Bar,
    /// Bar lines of the phrase, for the PNG.
    bar_steps: Vec<usize>,
    tempo_bpm: f64,
}

fn read_phrase(args: &ContinueArgs, grid: Grid) -> anyhow::Result<Phrase> {
    let path = &args.input;
    let score = read_midi_file(path, grid)?;
    let pickup_steps = match args.pickup {
        Some(beats) if (0.0..grid.quarters_per_measure as f64).contains(&beats) => {
            (beats * grid.steps_per_quarter as f64).round() as usize
        }
        Some(beats) => bail!(
            "--pickup {beats}: give the upbeat in beats, 0 up to (not including) a measure of {}",
            grid.quarters_per_measure
        ),
        None => detect_pickup_on(&score, grid),
    };
    let last_bar = bar_to_continue(&score, grid, pickup_steps, args.from_bar, path)?;
    let end_step = last_bar.start_step + last_bar.len_steps;

    let (notes, left_out) = notes_before(&score.notes, end_step);
    if left_out > 0 {
        log::info!(
            "notes after bar {} of {} left out: {left_out}",
            last_bar.number,
            path.display()
        );
    }
    let folded: Vec<Note> = notes
        .iter()
        .map(|note| Note {
            pitch: grid.fold_into_range(note.pitch),
            ..*note
        })
        .collect();
    let moved = notes
        .iter()
        .zip(&folded)
        .filter(|(a, b)| a.pitch != b.pitch)
        .count();
    if moved > 0 {
        log::warn!(
            "notes of {} outside MIDI {}-{}: {moved}; the model hears them moved by octaves into \
             range",
            path.display(),
            grid.lowest_pitch,
            grid.highest_pitch()
        );
    }
    let (context, _) = PianoRoll::from_notes(grid, end_step, &folded);
    let bar_steps = score
        .bars(grid, pickup_steps)
        .iter()
        .map(|bar| bar.start_step)
        .filter(|&step| step <= end_step)
        .collect();
    Ok(Phrase {
        notes,
        context,
        last_bar,
        bar_steps,
        tempo_bpm: score.tempo_bpm,
    })
}

/// Bar `from_bar`, or the last whole 4/4 measure of the score.
fn bar_to_continue(
    score: &Score,
    grid: Grid,
    pickup_steps: usize,
    from_bar: Option<u32>,
    path: &Path,
) -> anyhow::Result<Bar> {
    let whole_bars = score.four_four_bars(grid, pickup_steps);
    let (Some(first), Some(last)) = (whole_bars.first(), whole_bars.last()) else {
        bail!(
            "{}: no whole 4/4 measure to continue (the model knows only 4/4)",
            path.display()
        );
    };
    match from_bar {
        None => Ok(*last),
        Some(number) => whole_bars
            .iter()
            .find(|bar| bar.number == number)
            .copied()
            .with_context(|| {
                format!(
                    "{}: bar {number} is not a whole 4/4 measure; whole 4/4 bars run from {} to {}",
                    path.display(),
                    first.number,
                    last.number
                )
            }),
    }
}

/// The notes that start before `end_step`, cut off there, and the count of those left out.
fn notes_before(notes: &[Note], end_step: usize) -> (Vec<Note>, usize) {
    let kept: Vec<Note> = notes
        .iter()
        .filter(|note| note.start_step < end_step)
        .map(|note| Note {
            end_step: note.end_step.min(end_step),
            ..*note
        })
        .collect();
    let left_out = notes.len() - kept.len();
    (kept, left_out)
}

/// Bar line steps every measure from `start_step` (included) to `end_step` (excluded).
fn bar_lines(grid: Grid, start_step: usize, end_step: usize) -> Vec<usize> {
    (start_step..end_step)
        .step_by(grid.steps_per_measure().max(1))
        .collect()
}

fn log_ones_per_measure(roll: &PianoRoll) {
    let ones: Vec<String> = (0..roll.measures())
        .map(|measure| roll.measure(measure).ones().to_string())
        .collect();
    log::info!("ones per measure: {}", ones.join(" "));
}

/// `run,step,ones,energy`, one line per step of every run; run 0 is the opening.
fn energy_csv(energies: &[Vec<f32>]) -> String {
    let mut csv = String::from("run,step,ones,energy\n");
    for (run, curve) in energies.iter().enumerate() {
        for (step, energy) in curve.iter().enumerate() {
            // The image entering step t holds t ones.
            csv.push_str(&format!("{run},{step},{step},{energy}\n"));
        }
    }
    csv
}

fn check_tempo(tempo_bpm: f64) -> anyhow::Result<()> {
    if !(tempo_bpm.is_finite() && tempo_bpm > 0.0 && tempo_bpm <= 1000.0) {
        bail!("--tempo {tempo_bpm}: give quarter notes per minute, above 0 and up to 1000");
    }
    Ok(())
}

fn check_scale(scale: u32) -> anyhow::Result<()> {
    if scale == 0 || scale > 64 {
        bail!("--scale {scale}: use 1 to 64 pixels per cell");
    }
    Ok(())
}

fn check_measures(measures: usize) -> anyhow::Result<()> {
    if !(1..=MAX_MEASURES).contains(&measures) {
        bail!("--measures {measures}: give 1 to {MAX_MEASURES}");
    }
    Ok(())
}

/// Refuses, before any work, outputs that would overwrite an input or each other, and a PNG
/// path of another format.
fn check_outputs(
    inputs: &[NamedPath],
    outputs: &[Option<NamedPath>],
    png: Option<&Path>,
) -> anyhow::Result<()> {
    let outputs: Vec<NamedPath> = outputs.iter().flatten().copied().collect();
    check_distinct_files(inputs, &outputs)?;
    png.map_or(Ok(()), check_png_path)
}

// ---------------------------------------------------------------------------------------------
// `continuo bench compose`

/// Times one continuation (Algorithm 2) three ways in the same run: the fast engine, the direct
/// dense implementation on the same quantised model (checked to agree note for note), and the
/// paper's steps in plain `f32` with ndarray.
pub fn bench(args: BenchComposeArgs) -> anyhow::Result<()> {
    if args.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    let (rbm, name) = bench_model(&args)?;
    if rbm.geometry.measures < 2 {
        bail!("{name}: continuing needs a model of two measures or more");
    }
    let mut composer = Composer::new(&rbm);
    let direct = DirectComposer::new(&rbm);

    // The measure continued: the second measure of an opening composed by this model.
    let opening = composer.compose(Density::PAPER_IMAGE, args.seed);
    let previous = opening.image.measure(rbm.geometry.measures - 1);
    print_bench_header(&name, &rbm, &composer, &previous, args.ones);

    let float_repeats = if args.float { args.direct_repeats } else { 0 };
    let progress = bench_progress((args.repeats + args.direct_repeats + float_repeats) as u64);
    let fast = time_fast(&mut composer, &previous, &args, &progress);
    let (exact, agreed) = time_direct(&mut composer, &direct, &previous, &args, &progress);
    let float = time_float(&rbm, &previous, float_repeats, args.ones, &progress);
    progress.finish_and_clear();

    let opening_ms = time_opening(&mut composer, args.repeats.min(5));
    let measure_ms = 4.0 * 60_000.0 / FAST_TEMPO_BPM;
    println!("{:<44} {:>10}", "one continuation, median", "ms");
    println!("{:<44} {:>10.2}", "fast engine", fast.median_ms);
    if let Some(exact) = exact {
        println!(
            "{:<44} {:>10.1}",
            "direct dense, same quantised model", exact
        );
        println!(
            "{:<44} {:>9.1}x",
            "speed-up over direct dense",
            exact / fast.median_ms
        );
    }
    if let Some(float) = float {
        println!(
            "{:<44} {:>10.1}",
            "direct dense, f32 (the paper's steps)", float
        );
        println!(
            "{:<44} {:>9.1}x",
            "speed-up over f32 direct",
            float / fast.median_ms
        );
    }
    println!(
        "{:<44} {:>10.0}",
        format!("one 4/4 measure at {FAST_TEMPO_BPM} BPM"),
        measure_ms
    );
    println!(
        "{:<44} {:>10.2}",
        "fast engine, Algorithm 1 (1000 ones), median", opening_ms
    );
    println!(
        "fast engine: {:.2} to {:.2} ms over {} runs; per step {:.1} hidden flips, {:.1} \
         measure cells in or out",
        fast.min_ms,
        fast.max_ms,
        args.repeats,
        fast.hidden_flips_per_step,
        fast.free_flips_per_step
    );
    if args.direct_repeats > 0 {
        println!(
            "fast and direct engines agree on {agreed} of {} seeds",
            args.direct_repeats
        );
        if agreed != args.direct_repeats {
            bail!("the fast engine and the direct implementation disagree");
        }
    }
    Ok(())
}

/// The model of `--model`, an untrained Xavier model of `--hidden` units, or the built-in one.
fn bench_model(args: &BenchComposeArgs) -> anyhow::Result<(Rbm, String)> {
    let Some(hidden) = args.hidden else {
        let model = load_model(args.model.as_deref())?;
        return Ok((model.rbm, model.name));
    };
    if hidden == 0 {
        bail!("--hidden must be at least 1");
    }
    let rbm = Rbm::xavier(Geometry::PAPER, hidden, args.seed);
    Ok((rbm, format!("an untrained Xavier model, P = {hidden}")))
}

fn print_bench_header(
    name: &str,
    rbm: &Rbm,
    composer: &Composer,
    previous: &PianoRoll,
    ones: usize,
) {
    let quantised = composer.quantised();
    println!(
        "Algorithm 2, {ones} ones, {} visible x {} hidden units, {name}",
        rbm.visible_units(),
        rbm.hidden_units()
    );
    println!(
        "continuing a measure of {} ones; one core; kernels: {}",
        previous.ones(),
        composer.kernels()
    );
    println!(
        "quantum {:.3e}: a visible input is within {:.2e} of the f32 model's (typically {:.1e})",
        quantised.quantum(),
        quantised.input_error_bound(rbm.hidden_units()),
        quantised.quantum() * (rbm.hidden_units() as f64 / 12.0).sqrt()
    );
}

fn bench_progress(total: u64) -> ProgressBar {
    let progress = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len}") {
        progress.set_style(style);
    }
    progress
}

/// The fast engine's times and work counts.
struct FastTimes {
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
    hidden_flips_per_step: f64,
    free_flips_per_step: f64,
}

fn time_fast(
    composer: &mut Composer,
    previous: &PianoRoll,
    args: &BenchComposeArgs,
    progress: &ProgressBar,
) -> FastTimes {
    progress.set_message("fast engine");
    let mut times_ms = Vec::with_capacity(args.repeats);
    let (mut steps, mut hidden_flips, mut free_flips) = (0, 0, 0);
    for repeat in 0..args.repeats as u64 {
        let started = Instant::now();
        let answer = composer.continue_measure(previous, Density::Ones(args.ones), repeat);
        times_ms.push(started.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(answer);
        let stats = composer.last_run_stats();
        steps += stats.steps;
        hidden_flips += stats.hidden_flips;
        free_flips += stats.free_flips;
        progress.inc(1);
    }
    let steps = steps.max(1) as f64;
    FastTimes {
        median_ms: median(&mut times_ms),
        min_ms: times_ms.iter().copied().fold(f64::INFINITY, f64::min),
        max_ms: times_ms.iter().copied().fold(0.0, f64::max),
        hidden_flips_per_step: hidden_flips as f64 / steps,
        free_flips_per_step: free_flips as f64 / steps,
    }
}

/// The fast engine's median time for the paper's opening: two measures, 1000 ones.
fn time_opening(composer: &mut Composer, repeats: usize) -> f64 {
    let mut times_ms: Vec<f64> = (0..repeats.max(1) as u64)
        .map(|repeat| {
            let started = Instant::now();
            std::hint::black_box(composer.compose(Density::PAPER_IMAGE, repeat));
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(&mut times_ms)
}

/// The direct dense implementation's median time, and on how many seeds it chose the same
/// measure as the fast engine.
fn time_direct(
    composer: &mut Composer,
    direct: &DirectComposer,
    previous: &PianoRoll,
    args: &BenchComposeArgs,
    progress: &ProgressBar,
) -> (Option<f64>, usize) {
    progress.set_message("direct dense");
    let free = composer
        .geometry()
        .measure_units(composer.geometry().measures - 1);
    let context = context_cells(composer.geometry(), previous);
    let mut times_ms = Vec::with_capacity(args.direct_repeats);
    let mut agreed = 0;
    for repeat in 0..args.direct_repeats as u64 {
        let started = Instant::now();
        let reference = direct.continue_image(&context, args.ones, repeat);
        times_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let fast = composer.continue_measure(previous, Density::Ones(args.ones), repeat);
        if fast.measure.cells() == &reference.visible[free.clone()] {
            agreed += 1;
        }
        progress.inc(1);
    }
    (
        (!times_ms.is_empty()).then(|| median(&mut times_ms)),
        agreed,
    )
}

/// The cells of the fixed measures: the last measures of `previous`.
fn context_cells(geometry: Geometry, previous: &PianoRoll) -> Vec<bool> {
    let context_steps = (geometry.measures - 1) * geometry.grid.steps_per_measure();
    let start = previous.steps().saturating_sub(context_steps);
    let mut context = PianoRoll::new(geometry.grid, context_steps - (previous.steps() - start));
    context.append(&previous.window(start, previous.steps() - start));
    context.cells().to_vec()
}

/// The paper's steps in `f32`, written plainly with ndarray: dense products with all of `W`,
/// the sigmoid of every visible unit and a full sort of the free measure.
fn time_float(
    rbm: &Rbm,
    previous: &PianoRoll,
    repeats: usize,
    ones: usize,
    progress: &ProgressBar,
) -> Option<f64> {
    progress.set_message("f32 direct");
    let geometry = rbm.geometry;
    let free = geometry.measure_units(geometry.measures - 1);
    let context = context_cells(geometry, previous);
    let mut times_ms = Vec::with_capacity(repeats);
    for repeat in 0..repeats as u64 {
        let started = Instant::now();
        let mut rng = rand::rngs::StdRng::seed_from_u64(repeat);
        let mut visible = Array1::<f32>::zeros(geometry.visible_units());
        for (unit, &on) in context.iter().enumerate() {
            visible[unit] = on as u8 as f32;
        }
        for t in 0..ones.min(free.len()) {
            let hidden = rbm
                .hidden_probabilities(visible.view())
                .mapv(|p| (rng.random::<f32>() < p) as u8 as f32);
            let expected = rbm.visible_probabilities(hidden.view());
            let mut ranked: Vec<usize> = free.clone().collect();
            ranked.sort_by(|&a, &b| expected[b].total_cmp(&expected[a]).then(a.cmp(&b)));
            visible.slice_mut(s![free.clone()]).fill(0.0);
            for &unit in &ranked[..=t] {
                visible[unit] = 1.0;
            }
        }
        times_ms.push(started.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(&visible);
        progress.inc(1);
    }
    (!times_ms.is_empty()).then(|| median(&mut times_ms))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuo_model::midi_out::roll_to_midi;
    use continuo_model::weights::{self, ModelCard, Precision};

    fn note(pitch: u8, start_step: usize, end_step: usize) -> Note {
        Note {
            start_step,
            end_step,
            pitch,
            velocity: 70,
        }
    }

    #[test]
    fn notes_past_the_join_are_cut_or_left_out() {
        let notes = [note(60, 0, 50), note(62, 90, 120), note(64, 96, 100)];
        let (kept, left_out) = notes_before(&notes, 96);
        assert_eq!(kept, vec![note(60, 0, 50), note(62, 90, 96)]);
        assert_eq!(left_out, 1);
    }

    #[test]
    fn the_energy_csv_has_a_line_per_step_of_every_run() {
        let csv = energy_csv(&[vec![0.0, -1.5], vec![2.25]]);
        assert_eq!(
            csv,
            "run,step,ones,energy\n0,0,0,0\n0,1,1,-1.5\n1,0,0,2.25\n"
        );
    }

    #[test]
    fn the_fixed_measure_is_right_aligned_and_padded_with_silence() {
        let geometry = Geometry::PAPER;
        let (short, _) = PianoRoll::from_notes(geometry.grid, 10, &[note(24, 0, 1)]);
        let cells = context_cells(geometry, &short);
        assert_eq!(cells.len(), 6_912);
        // Step 0 of the short roll lands on step 86 of the measure, row 0.
        assert_eq!(cells.iter().position(|&on| on), Some(86 * 72));
        assert_eq!(bar_lines(geometry.grid, 10, 300), vec![10, 106, 202, 298]);
    }

    #[test]
    fn continue_writes_the_phrase_then_the_answer_at_the_phrases_tempo() {
        let dir = std::env::temp_dir().join(format!("continuo-continue-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let model_path = dir.join("model.safetensors");
        let rbm = Rbm::xavier(Geometry::PAPER, 8, 3);
        let card = ModelCard::untrained("test", Geometry::PAPER, 8);
        weights::save(&model_path, &rbm, &card, Precision::F32).expect("model written");

        // Two whole measures and a bit of a third at 90 BPM: the answer follows bar 2.
        let (phrase, _) = PianoRoll::from_notes(
            Grid::PAPER,
            220,
            &[note(60, 0, 96), note(67, 96, 192), note(72, 200, 210)],
        );
        let phrase_path = dir.join("phrase.mid");
        let export = MidiExport {
            tempo_bpm: 90.0,
            ..MidiExport::default()
        };
        std::fs::write(&phrase_path, roll_to_midi(&phrase, &export)).expect("phrase written");

        let out = dir.join("out.mid");
        run_continue(ContinueArgs {
            input: phrase_path,
            measures: 2,
            out: out.clone(),
            from_bar: None,
            pickup: Some(0.0),
            png: None,
            ones: Some(40),
            density: None,
            seed: 7,
            model: Some(model_path),
            scale: 2,
        })
        .expect("continue runs");

        let score = read_midi_file(&out, Grid::PAPER).expect("the output reads back");
        // MIDI stores whole microseconds per quarter note.
        assert!((score.tempo_bpm - 90.0).abs() < 1e-3);
        let (roll, _) = score.roll(Grid::PAPER);
        assert_eq!(roll.window(0, 192), phrase.window(0, 192));
        // The note after the last whole bar is left out; each answer measure has 40 cells.
        assert_eq!(roll.measure(2).ones(), 40);
        assert_eq!(roll.measure(3).ones(), 40);
        assert!(score.end_step <= 4 * 96);
        std::fs::remove_dir_all(&dir).ok();
    }
}

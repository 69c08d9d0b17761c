//! Composing with a trained RBM: Algorithm 1 (two measures from silence), Algorithm 2 (the next
//! measure after a given one) and whole pieces, after Kobayashi & Watanabe, "Learning and
//! composing of classical music using restricted Boltzmann machines".
//!
//! Both algorithms build an image by repeated steps: sample the hidden units from the current
//! image, compute the expected visible vector, and keep its `t + 1` largest entries of the part
//! being composed (so step `t` leaves `t + 1` ones, and a unit chosen earlier may be dropped).
//! Algorithm 1 composes the whole two-measure image from silence; Algorithm 2 fixes the left
//! measure to the measure to be continued and composes the right one. The number of steps is the
//! number of ones the result holds: the density of the music. A piece is Algorithm 1 followed by
//! Algorithm 2 again and again, each time continuing the last measure.
//!
//! The steps run in the fast engine of [`crate::engine`] on a fixed-point copy of the model
//! ([`crate::quantised`]). Everything is reproducible: the same model, density and seed give the
//! same notes.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use rand::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::engine::{Engine, RunStats, Stopping};
use crate::geometry::{Geometry, Grid};
use crate::piano_roll::PianoRoll;
use crate::quantised::QuantisedRbm;
use crate::rbm::Rbm;
use crate::ModelError;

/// The paper's number of steps per measure: Algorithm 2 runs 500, Algorithm 1 runs 1000 for a
/// two-measure image.
pub const PAPER_ONES_PER_MEASURE: usize = 500;

/// How many ones (on-cells) the composed part holds: the density of the music.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Density {
    /// Exactly this many ones, capped at the number of cells. For [`Composer::compose`] it
    /// counts the whole image, for a continuation the new measure.
    Ones(usize),
    /// As many ones as the measure being continued holds. With nothing to continue
    /// ([`Composer::compose`]) it means the paper's 500 per measure.
    Match,
    /// The image of lowest energy `E(v_t, h_t)` along a run of the paper's length (500 steps
    /// per composed measure), never the silent start. The paper's energy curve for two measures
    /// bottoms out near 500 ones; Bach's measures hold 170 to 340.
    Auto,
}

impl Density {
    /// The paper's density for Algorithm 1: 1000 ones in a two-measure image.
    pub const PAPER_IMAGE: Density = Density::Ones(2 * PAPER_ONES_PER_MEASURE);
    /// The paper's density for Algorithm 2: 500 ones in the new measure.
    pub const PAPER_MEASURE: Density = Density::Ones(PAPER_ONES_PER_MEASURE);
}

impl FromStr for Density {
    type Err = ModelError;

    /// `auto`, `match` or a number of ones.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Density::Auto),
            "match" => Ok(Density::Match),
            number => number
                .parse()
                .map(Density::Ones)
                .map_err(|_| ModelError::InvalidDensity(text.to_string())),
        }
    }
}

impl fmt::Display for Density {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Density::Ones(ones) => write!(f, "{ones}"),
            Density::Match => write!(f, "match"),
            Density::Auto => write!(f, "auto"),
        }
    }
}

/// Algorithm 1's result: a whole image composed from silence.
#[derive(Clone, Debug, PartialEq)]
pub struct Composition {
    /// The composed image, [`Geometry::measures`] measures long.
    pub image: PianoRoll,
    /// `E(v_t, h_t)` at every step `t` run, where `v_t` is the image entering step `t` (it has
    /// `t` ones) and `h_t` the hidden sample drawn from it: the curve of the paper's Fig. 7.
    pub energy: Vec<f32>,
}

/// Algorithm 2's result: the measure that follows the given one.
#[derive(Clone, Debug, PartialEq)]
pub struct Continuation {
    /// The new measure, one measure long.
    pub measure: PianoRoll,
    /// `E(v_t, h_t)` at every step, as in [`Composition::energy`]; `v_t` includes the fixed
    /// measure.
    pub energy: Vec<f32>,
}

/// A piece made of several runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// The music, whole measures.
    pub roll: PianoRoll,
    /// The energy curve of each run, in order.
    pub energies: Vec<Vec<f32>>,
}

/// The composer of one model: its fast engine and all the scratch space composing needs. Build
/// it once per model (that quantises and re-lays out the weights, tens of milliseconds at the
/// paper's size) and reuse it; composing a measure then allocates only its result.
pub struct Composer {
    /// The model's image shape, which every input roll is brought onto.
    geometry: Geometry,
    engine: Engine,
    /// The on-units of the fixed measures of the current continuation; reused between calls.
    context_on: Vec<usize>,
}

impl fmt::Debug for Composer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Composer")
            .field("geometry", &self.geometry)
            .field("model", self.engine.params())
            .finish_non_exhaustive()
    }
}

impl Composer {
    pub fn new(rbm: &Rbm) -> Self {
        Composer {
            geometry: rbm.geometry,
            engine: Engine::new(QuantisedRbm::new(rbm)),
            context_on: Vec::with_capacity(rbm.visible_units()),
        }
    }

    /// The image shape of the model, which sets the grid of every roll composed.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The fixed-point model the engine computes with, for its scale and error bounds.
    pub fn quantised(&self) -> &QuantisedRbm {
        self.engine.params()
    }

    /// The instruction set the engine runs with on this CPU: `"AVX2"` or `"portable"`.
    pub fn kernels(&self) -> &'static str {
        self.engine.kernels()
    }

    /// The work counts of the last run, which explain its time (see [`RunStats`]).
    pub fn last_run_stats(&self) -> RunStats {
        self.engine.last_run_stats()
    }

    /// Algorithm 1: a whole image from silence. `density` counts the ones of the whole image
    /// (the paper: [`Density::PAPER_IMAGE`]).
    pub fn compose(&mut self, density: Density, seed: u64) -> Composition {
        let image_units = self.geometry.visible_units();
        let paper_ones = PAPER_ONES_PER_MEASURE * self.geometry.measures;
        let stopping = match density {
            Density::Ones(ones) => Stopping::AfterSteps(ones),
            Density::Match => Stopping::AfterSteps(paper_ones),
            Density::Auto => Stopping::LowestEnergy {
                horizon: paper_ones,
            },
        };
        let result = self.engine.run(&[], 0..image_units, stopping, seed);
        Composition {
            image: roll_of_units(self.geometry.grid, self.geometry.steps(), result.chosen),
            energy: result.energy,
        }
    }

    /// Algorithm 2: the measure after the last measure of `previous` (its last 96 steps on the
    /// paper's grid; a shorter roll counts as preceded by silence).
    ///
    /// A model of `m` measures fixes its first `m - 1` measures to the last `m - 1` measures of
    /// `previous` and composes the last one; with `m = 1` there is nothing to fix and this
    /// composes a measure from silence. A roll on another grid is first redrawn on the model's
    /// grid from its notes (pitches folded into range by octaves, times rescaled).
    pub fn continue_measure(
        &mut self,
        previous: &PianoRoll,
        density: Density,
        seed: u64,
    ) -> Continuation {
        let previous = onto_grid(previous, self.geometry.grid);
        let grid = self.geometry.grid;
        let context_measures = self.geometry.measures.saturating_sub(1);
        collect_context(&previous, context_measures, &mut self.context_on);

        let stopping = match density {
            Density::Ones(ones) => Stopping::AfterSteps(ones),
            Density::Match => Stopping::AfterSteps(ones_in_last_measure(&previous)),
            Density::Auto => Stopping::LowestEnergy {
                horizon: PAPER_ONES_PER_MEASURE,
            },
        };
        // A model of zero measures has no free region; the clamp keeps the range empty.
        let image_units = self.geometry.visible_units();
        let free = self.geometry.measure_units(context_measures);
        let free = free.start.min(image_units)..free.end.min(image_units);
        let result = self.engine.run(&self.context_on, free, stopping, seed);
        Continuation {
            measure: roll_of_units(grid, grid.steps_per_measure(), result.chosen),
            energy: result.energy,
        }
    }

    /// Algorithm 1, then Algorithm 2 on the last measure until the piece is `measures` long
    /// (the paper's 8-measure pieces: one composition and six continuations). `first` is the
    /// density of the opening image, `next` that of each continuation. Each run gets its own
    /// seed, drawn from a generator seeded with `seed`.
    pub fn compose_piece(
        &mut self,
        measures: usize,
        first: Density,
        next: Density,
        seed: u64,
    ) -> Piece {
        let steps_per_measure = self.geometry.grid.steps_per_measure();
        let mut run_seeds = Pcg64Mcg::seed_from_u64(seed);
        let opening = self.compose(first, run_seeds.next_u64());
        let mut roll = opening.image;
        let mut energies = vec![opening.energy];
        if measures <= roll.measures() {
            roll = roll.window(0, measures * steps_per_measure);
        }
        while roll.measures() < measures {
            let continuation = self.continue_measure(&roll, next, run_seeds.next_u64());
            roll.append(&continuation.measure);
            energies.push(continuation.energy);
        }
        Piece { roll, energies }
    }

    /// Continues `previous` (from its last measure, as [`Composer::continue_measure`]) by
    /// `measures` measures. The returned roll holds only the new measures, so that the caller
    /// decides where they join the old ones. Each run gets its own seed, drawn from a generator
    /// seeded with `seed`.
    pub fn continue_piece(
        &mut self,
        previous: &PianoRoll,
        measures: usize,
        density: Density,
        seed: u64,
    ) -> Piece {
        let grid = self.geometry.grid;
        let steps_per_measure = grid.steps_per_measure();
        let context_steps = self.geometry.measures.saturating_sub(1).max(1) * steps_per_measure;
        let mut recent = right_aligned_tail(&onto_grid(previous, grid), context_steps);

        let mut run_seeds = Pcg64Mcg::seed_from_u64(seed);
        let mut roll = PianoRoll::new(grid, 0);
        let mut energies = Vec::with_capacity(measures);
        for _ in 0..measures {
            let continuation = self.continue_measure(&recent, density, run_seeds.next_u64());
            recent.append(&continuation.measure);
            roll.append(&continuation.measure);
            energies.push(continuation.energy);
        }
        Piece { roll, energies }
    }
}

/// The roll with `chosen` units (offsets into a block of `steps` steps) on.
fn roll_of_units(grid: Grid, steps: usize, chosen: &[u32]) -> PianoRoll {
    let mut roll = PianoRoll::new(grid, steps);
    for &unit in chosen {
        let unit = unit as usize;
        roll.set(unit / grid.pitch_rows, unit % grid.pitch_rows, true);
    }
    roll
}

/// Fills `context_on` with the image units of the first `measures` measures, taken from the
/// last `measures` measures of `previous` (missing steps at the front are silent).
fn collect_context(previous: &PianoRoll, measures: usize, context_on: &mut Vec<usize>) {
    let grid = previous.grid();
    let context_steps = measures * grid.steps_per_measure();
    let first_source_step = previous.steps() as isize - context_steps as isize;
    context_on.clear();
    for step in 0..context_steps {
        let source_step = first_source_step + step as isize;
        if source_step < 0 {
            continue;
        }
        for row in 0..grid.pitch_rows {
            if previous.get(source_step as usize, row) {
                context_on.push(step * grid.pitch_rows + row);
            }
        }
    }
}

/// On-cells in the last measure's worth of steps of `roll`.
fn ones_in_last_measure(roll: &PianoRoll) -> usize {
    let grid = roll.grid();
    let steps = grid.steps_per_measure().min(roll.steps());
    let start = (roll.steps() - steps) * grid.pitch_rows;
    roll.cells()[start..].iter().filter(|&&on| on).count()
}

/// The last `steps` steps of `roll`, preceded by silence when the roll is shorter.
fn right_aligned_tail(roll: &PianoRoll, steps: usize) -> PianoRoll {
    let available = roll.steps().min(steps);
    let mut tail = PianoRoll::new(roll.grid(), steps - available);
    tail.append(&roll.window(roll.steps() - available, available));
    tail
}

/// `roll` itself when it is on `grid`, otherwise its notes redrawn on `grid`: times rescaled to
/// the grid's steps per quarter, pitches folded into its range by octaves.
fn onto_grid(roll: &PianoRoll, grid: Grid) -> Cow<'_, PianoRoll> {
    if roll.grid() == grid {
        return Cow::Borrowed(roll);
    }
    let from = roll.grid().steps_per_quarter.max(1);
    let to = grid.steps_per_quarter;
    let rescale = |step: usize| step * to / from;
    let notes: Vec<_> = roll
        .to_notes(64)
        .into_iter()
        .map(|note| crate::piano_roll::Note {
            start_step: rescale(note.start_step),
            end_step: rescale(note.end_step).max(rescale(note.start_step) + 1),
            pitch: grid.fold_into_range(note.pitch),
            velocity: note.velocity,
        })
        .collect();
    let (redrawn, _) = PianoRoll::from_notes(grid, rescale(roll.steps()), &notes);
    Cow::Owned(redrawn)
}

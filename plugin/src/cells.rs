//! One measure of the piano roll as a plain fixed-size value, so that the audio thread can copy
//! it through a channel without allocating.
//!
//! The model crate's [`PianoRoll`] keeps its cells in a `Vec`; the audio thread may not make
//! one, so it holds a measure here as 96 words of 128 bits: word `step`, bit `row` is the cell
//! of pitch row `row` (MIDI `24 + row`) at that step. Only the low 72 bits of a word are used.

use continuo_model::{Grid, PianoRoll};

/// The grid every measure here lives on: C1-B6, 24 steps per quarter, four quarters.
pub const GRID: Grid = Grid::PAPER;
/// Steps in one measure of [`GRID`].
pub const STEPS_PER_MEASURE: usize = 96;
/// Steps per quarter note (one beat) of [`GRID`].
pub const STEPS_PER_BEAT: usize = 24;
/// Pitch rows of [`GRID`].
pub const PITCH_ROWS: usize = 72;

/// The cells of one 4/4 measure on [`GRID`]. `Copy`, 1.5 KiB, no heap.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MeasureCells {
    /// `steps[step]` has bit `row` set while that pitch row sounds at that step.
    steps: [u128; STEPS_PER_MEASURE],
}

impl Default for MeasureCells {
    fn default() -> Self {
        MeasureCells::EMPTY
    }
}

impl std::fmt::Debug for MeasureCells {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MeasureCells({} ones)", self.ones())
    }
}

impl MeasureCells {
    /// A silent measure.
    pub const EMPTY: MeasureCells = MeasureCells {
        steps: [0; STEPS_PER_MEASURE],
    };

    /// Turns a cell on. Steps and rows off the grid are ignored.
    pub fn set(&mut self, step: usize, row: usize) {
        if step < STEPS_PER_MEASURE && row < PITCH_ROWS {
            self.steps[step] |= 1 << row;
        }
    }

    pub fn get(&self, step: usize, row: usize) -> bool {
        step < STEPS_PER_MEASURE && row < PITCH_ROWS && self.steps[step] & (1 << row) != 0
    }

    /// The rows on at one step, as a bit set (bit `row`).
    pub fn column(&self, step: usize) -> u128 {
        self.steps[step]
    }

    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(|&word| word == 0)
    }

    /// Number of on-cells: the measure's density in the paper's sense.
    pub fn ones(&self) -> usize {
        self.steps
            .iter()
            .map(|word| word.count_ones() as usize)
            .sum()
    }

    /// The runs of one row: each maximal run of on-steps is one note, as
    /// [`PianoRoll::to_notes`] reads a roll. Calls `run(start_step, end_step)` with the end
    /// exclusive, in time order. Allocates nothing, so the audio thread can schedule from it.
    pub fn for_each_run(&self, row: usize, mut run: impl FnMut(usize, usize)) {
        let mut start = None;
        for step in 0..=STEPS_PER_MEASURE {
            let on = step < STEPS_PER_MEASURE && self.get(step, row);
            match (on, start) {
                (true, None) => start = Some(step),
                (false, Some(first)) => {
                    run(first, step);
                    start = None;
                }
                _ => {}
            }
        }
    }

    /// The measure as a one-measure roll of the model crate (allocates; not for the audio
    /// thread).
    pub fn to_roll(&self) -> PianoRoll {
        let mut roll = PianoRoll::new(GRID, STEPS_PER_MEASURE);
        for step in 0..STEPS_PER_MEASURE {
            for row in 0..PITCH_ROWS {
                if self.get(step, row) {
                    roll.set(step, row, true);
                }
            }
        }
        roll
    }

    /// Measure `measure` (0-based) of a roll on [`GRID`]; steps past the roll's end are silent.
    pub fn from_roll(roll: &PianoRoll, measure: usize) -> MeasureCells {
        let mut cells = MeasureCells::EMPTY;
        let first_step = measure * STEPS_PER_MEASURE;
        let rows = roll.grid().pitch_rows.min(PITCH_ROWS);
        for step in 0..STEPS_PER_MEASURE {
            if first_step + step >= roll.steps() {
                break;
            }
            for row in 0..rows {
                if roll.get(first_step + step, row) {
                    cells.set(step, row);
                }
            }
        }
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuo_model::Note;

    #[test]
    fn runs_are_the_notes_of_the_roll_rule() {
        let mut cells = MeasureCells::EMPTY;
        // Row 36 (C4): steps 0-5 and 6-11 touch, so they are one run; 20 stands alone.
        for step in (0..12).chain(20..21) {
            cells.set(step, 36);
        }
        // Row 71 (B6) held to the end of the measure.
        for step in 90..96 {
            cells.set(step, 71);
        }
        let mut runs = Vec::new();
        cells.for_each_run(36, |a, b| runs.push((a, b)));
        cells.for_each_run(71, |a, b| runs.push((a, b)));
        assert_eq!(runs, vec![(0, 12), (20, 21), (90, 96)]);
        assert_eq!(cells.ones(), 12 + 1 + 6);
    }

    #[test]
    fn rolls_round_trip_through_cells() {
        let notes = [
            Note {
                start_step: 100,
                end_step: 130,
                pitch: 60,
                velocity: 1,
            },
            Note {
                start_step: 190,
                end_step: 192,
                pitch: 24,
                velocity: 1,
            },
        ];
        let (roll, _) = PianoRoll::from_notes(GRID, 192, &notes);
        let second = MeasureCells::from_roll(&roll, 1);
        // 100..130 is steps 4..34 of the second measure, row 36; 190..192 is 94..96, row 0.
        assert!(second.get(4, 36) && second.get(33, 36) && !second.get(34, 36));
        assert!(second.get(94, 0) && second.get(95, 0));
        assert_eq!(second.ones(), 30 + 2);
        assert_eq!(second.to_roll(), roll.measure(1));
        assert!(MeasureCells::from_roll(&roll, 2).is_empty());
    }
}

//! The piano roll: music as a binary time-pitch image, the form the RBM learns from.

use crate::geometry::{Geometry, Grid};
use crate::ModelError;

/// One note on the grid: a pitch held from `start_step` up to, not including, `end_step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Note {
    pub start_step: usize,
    pub end_step: usize,
    /// MIDI note number.
    pub pitch: u8,
    /// MIDI velocity, 1-127. A roll has no velocities; notes made from one get a chosen value.
    pub velocity: u8,
}

impl Note {
    pub fn len_steps(&self) -> usize {
        self.end_step - self.start_step
    }
}

/// A binary time-pitch image of any length: a cell is on while its pitch sounds at its step.
///
/// Cells are stored in the flattening order of [`Geometry`] (time-major), so a roll of exactly
/// one image's length *is* the RBM's visible vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PianoRoll {
    grid: Grid,
    steps: usize,
    cells: Vec<bool>,
}

impl PianoRoll {
    /// An empty (silent) roll of `steps` time steps.
    pub fn new(grid: Grid, steps: usize) -> Self {
        PianoRoll {
            grid,
            steps,
            cells: vec![false; steps * grid.pitch_rows],
        }
    }

    /// A roll from cells in the documented time-major order.
    pub fn from_cells(grid: Grid, cells: Vec<bool>) -> Result<Self, ModelError> {
        if cells.len() % grid.pitch_rows != 0 {
            return Err(ModelError::ShapeMismatch {
                expected: format!("a multiple of {} cells", grid.pitch_rows),
                actual: format!("{} cells", cells.len()),
            });
        }
        Ok(PianoRoll {
            grid,
            steps: cells.len() / grid.pitch_rows,
            cells,
        })
    }

    /// Rasterises notes onto a roll of `steps` steps. Parts of notes past the end are cut off;
    /// notes whose pitch has no row are skipped and counted in the second return value.
    pub fn from_notes(grid: Grid, steps: usize, notes: &[Note]) -> (Self, usize) {
        let mut roll = PianoRoll::new(grid, steps);
        let mut out_of_range = 0;
        for note in notes {
            let Some(row) = grid.row_of(note.pitch) else {
                out_of_range += 1;
                continue;
            };
            for step in note.start_step..note.end_step.min(steps) {
                roll.set(step, row, true);
            }
        }
        (roll, out_of_range)
    }

    pub fn grid(&self) -> Grid {
        self.grid
    }

    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Whole measures this roll spans (a partial last measure is not counted).
    pub fn measures(&self) -> usize {
        self.steps / self.grid.steps_per_measure()
    }

    pub fn cells(&self) -> &[bool] {
        &self.cells
    }

    pub fn get(&self, step: usize, row: usize) -> bool {
        self.cells[step * self.grid.pitch_rows + row]
    }

    pub fn set(&mut self, step: usize, row: usize, on: bool) {
        self.cells[step * self.grid.pitch_rows + row] = on;
    }

    /// Number of on-cells.
    pub fn ones(&self) -> usize {
        self.cells.iter().filter(|&&on| on).count()
    }

    /// A copy of `steps` steps starting at `start_step`; steps past the end are silent.
    pub fn window(&self, start_step: usize, steps: usize) -> PianoRoll {
        let rows = self.grid.pitch_rows;
        let mut out = PianoRoll::new(self.grid, steps);
        let available = self.steps.saturating_sub(start_step).min(steps);
        out.cells[..available * rows]
            .copy_from_slice(&self.cells[start_step * rows..(start_step + available) * rows]);
        out
    }

    /// Measure `measure` (0-based) as a one-measure roll.
    pub fn measure(&self, measure: usize) -> PianoRoll {
        let len = self.grid.steps_per_measure();
        self.window(measure * len, len)
    }

    /// This roll followed by `other` (same grid).
    pub fn append(&mut self, other: &PianoRoll) {
        debug_assert_eq!(self.grid, other.grid);
        self.cells.extend_from_slice(&other.cells);
        self.steps += other.steps;
    }

    /// Notes by the paper's rule: each run of consecutive on-steps in a row is one note.
    ///
    /// A roll cannot tell a held note from repeated strikes of the same pitch, so repeated
    /// strikes that touch merge into one long note. Notes come sorted by start, then pitch.
    pub fn to_notes(&self, velocity: u8) -> Vec<Note> {
        let mut notes = Vec::new();
        for row in 0..self.grid.pitch_rows {
            let mut start = None;
            for step in 0..=self.steps {
                let on = step < self.steps && self.get(step, row);
                match (on, start) {
                    (true, None) => start = Some(step),
                    (false, Some(s)) => {
                        notes.push(Note {
                            start_step: s,
                            end_step: step,
                            pitch: self.grid.lowest_pitch + row as u8,
                            velocity,
                        });
                        start = None;
                    }
                    _ => {}
                }
            }
        }
        notes.sort();
        notes
    }

    /// The visible vector of the RBM: 1.0 for on, 0.0 for off, in the flattening order.
    pub fn to_visible(&self) -> Vec<f32> {
        self.cells
            .iter()
            .map(|&on| if on { 1.0 } else { 0.0 })
            .collect()
    }

    /// A roll from a visible vector: a unit is on when its value is above one half.
    pub fn from_visible(geometry: Geometry, visible: &[f32]) -> Result<Self, ModelError> {
        if visible.len() != geometry.visible_units() {
            return Err(ModelError::ShapeMismatch {
                expected: format!("{} visible units", geometry.visible_units()),
                actual: format!("{}", visible.len()),
            });
        }
        let cells = visible.iter().map(|&x| x > 0.5).collect();
        PianoRoll::from_cells(geometry.grid, cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(pitch: u8, start_step: usize, end_step: usize) -> Note {
        Note {
            start_step,
            end_step,
            pitch,
            velocity: 90,
        }
    }

    #[test]
    fn notes_rasterise_to_the_documented_cells() {
        let (roll, skipped) =
            PianoRoll::from_notes(Grid::PAPER, 192, &[note(60, 24, 48), note(20, 0, 5)]);
        assert_eq!(skipped, 1);
        assert_eq!(roll.ones(), 24);
        // C4 is row 36; time-major: unit = step * 72 + row.
        let visible = roll.to_visible();
        assert_eq!(visible[24 * 72 + 36], 1.0);
        assert_eq!(visible[47 * 72 + 36], 1.0);
        assert_eq!(visible[48 * 72 + 36], 0.0);
        assert_eq!(visible[23 * 72 + 36], 0.0);
    }

    #[test]
    fn runs_become_notes_and_touching_strikes_merge() {
        let notes = [
            note(60, 0, 6),
            note(60, 6, 12),
            note(64, 3, 4),
            note(60, 20, 21),
        ];
        let (roll, _) = PianoRoll::from_notes(Grid::PAPER, 96, &notes);
        assert_eq!(
            roll.to_notes(90),
            vec![note(60, 0, 12), note(64, 3, 4), note(60, 20, 21)]
        );
    }

    #[test]
    fn a_note_held_to_the_end_closes_there() {
        let (roll, _) = PianoRoll::from_notes(Grid::PAPER, 96, &[note(95, 90, 200)]);
        assert_eq!(
            roll.to_notes(1),
            vec![note(95, 90, 96)]
                .into_iter()
                .map(|n| Note { velocity: 1, ..n })
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn windows_and_measures_copy_the_right_steps() {
        let (roll, _) = PianoRoll::from_notes(Grid::PAPER, 288, &[note(30, 100, 101)]);
        assert_eq!(roll.measures(), 3);
        assert!(roll.measure(1).get(4, 6));
        assert_eq!(roll.measure(1).ones(), 1);
        assert_eq!(roll.measure(0).ones(), 0);
        let tail = roll.window(250, 96);
        assert_eq!(tail.steps(), 96);
        assert_eq!(tail.ones(), 0);
    }
}

//! The shape of the time-pitch grid and of the images the RBM sees.

use serde::{Deserialize, Serialize};

/// The time-pitch grid music is quantised to: which pitches have a row, and how finely a
/// quarter note is divided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    /// MIDI note number of row 0, the bottom row of a rendered roll.
    pub lowest_pitch: u8,
    /// Number of pitch rows; row `r` holds MIDI pitch `lowest_pitch + r`.
    pub pitch_rows: usize,
    /// Time steps per quarter note. 24 resolves both sixteenths (6) and eighth triplets (8).
    pub steps_per_quarter: usize,
    /// Quarter notes per measure. The model only knows 4/4.
    pub quarters_per_measure: usize,
}

impl Grid {
    /// The paper's grid: C1 (MIDI 24) to B6 (MIDI 95), 24 steps per quarter, 4/4 measures.
    pub const PAPER: Grid = Grid {
        lowest_pitch: 24,
        pitch_rows: 72,
        steps_per_quarter: 24,
        quarters_per_measure: 4,
    };

    /// MIDI note number of the top row.
    pub fn highest_pitch(&self) -> u8 {
        self.lowest_pitch + (self.pitch_rows - 1) as u8
    }

    /// The row of a MIDI pitch, or `None` when the pitch lies outside the grid.
    pub fn row_of(&self, pitch: u8) -> Option<usize> {
        let row = (pitch as usize).checked_sub(self.lowest_pitch as usize)?;
        (row < self.pitch_rows).then_some(row)
    }

    /// Moves a pitch by whole octaves until it lies on the grid (the nearest octave).
    pub fn fold_into_range(&self, pitch: u8) -> u8 {
        let mut folded = pitch;
        while folded < self.lowest_pitch {
            folded += 12;
        }
        while folded > self.highest_pitch() {
            folded -= 12;
        }
        folded
    }

    pub fn steps_per_measure(&self) -> usize {
        self.steps_per_quarter * self.quarters_per_measure
    }

    /// Visible units one measure occupies: 72 x 96 = 6,912 on the paper's grid.
    pub fn units_per_measure(&self) -> usize {
        self.pitch_rows * self.steps_per_measure()
    }
}

/// The shape of one image the RBM sees: a number of whole measures on a [`Grid`].
///
/// Flattening order, used everywhere a roll becomes a vector of visible units: time-major,
/// `unit = step * pitch_rows + row`. Each time step is a contiguous column of pitches, so each
/// measure is a contiguous block of [`Grid::units_per_measure`] units; Algorithm 2 addresses the
/// right measure of a two-measure image as the second block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    pub grid: Grid,
    /// Measures per image: the paper uses two, a measure to continue and its continuation.
    pub measures: usize,
}

impl Geometry {
    /// The paper's image: two 4/4 measures, 72 x 192 = 13,824 visible units.
    pub const PAPER: Geometry = Geometry {
        grid: Grid::PAPER,
        measures: 2,
    };

    pub fn steps(&self) -> usize {
        self.grid.steps_per_measure() * self.measures
    }

    pub fn visible_units(&self) -> usize {
        self.grid.units_per_measure() * self.measures
    }

    /// The flattened index of a cell, in the order documented on [`Geometry`].
    pub fn unit(&self, step: usize, row: usize) -> usize {
        step * self.grid.pitch_rows + row
    }

    /// Whether the geometry describes images a file may sensibly hold: every pitch row a MIDI
    /// pitch (0-127), and bounded sizes, so that derived sizes cannot overflow. Files (datasets,
    /// weight files) are checked with this before anything is sized from their geometry.
    pub fn check_plausible(&self) -> Result<(), String> {
        let Grid {
            lowest_pitch,
            pitch_rows,
            steps_per_quarter,
            quarters_per_measure,
        } = self.grid;
        let plausible = (1..=128).contains(&pitch_rows)
            && lowest_pitch as usize + pitch_rows <= 128
            && (1..=960).contains(&steps_per_quarter)
            && (1..=64).contains(&quarters_per_measure)
            && (1..=64).contains(&self.measures);
        if plausible {
            return Ok(());
        }
        Err(format!(
            "implausible geometry: {pitch_rows} rows from pitch {lowest_pitch}, \
             {steps_per_quarter} steps per quarter, {quarters_per_measure} quarters per measure, \
             {} measures (rows must be MIDI pitches 0-127; at most 960 steps per quarter, 64 \
             quarters per measure and 64 measures)",
            self.measures
        ))
    }

    /// The contiguous range of visible units that measure `measure` (0-based) occupies.
    pub fn measure_units(&self, measure: usize) -> std::ops::Range<usize> {
        let len = self.grid.units_per_measure();
        measure * len..(measure + 1) * len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_geometry_has_the_papers_sizes() {
        let g = Geometry::PAPER;
        assert_eq!(g.grid.highest_pitch(), 95);
        assert_eq!(g.grid.steps_per_measure(), 96);
        assert_eq!(g.steps(), 192);
        assert_eq!(g.visible_units(), 13_824);
        assert_eq!(g.measure_units(0), 0..6_912);
        assert_eq!(g.measure_units(1), 6_912..13_824);
        // The first cell of the second measure is step 96, row 0.
        assert_eq!(g.unit(96, 0), 6_912);
        assert_eq!(g.unit(1, 71), 143);
    }

    #[test]
    fn rows_and_folding() {
        let g = Grid::PAPER;
        assert_eq!(g.row_of(24), Some(0));
        assert_eq!(g.row_of(95), Some(71));
        assert_eq!(g.row_of(23), None);
        assert_eq!(g.row_of(96), None);
        assert_eq!(g.fold_into_range(96), 84);
        assert_eq!(g.fold_into_range(12), 24);
        assert_eq!(g.fold_into_range(0), 24);
        assert_eq!(g.fold_into_range(127), 91);
        assert_eq!(g.fold_into_range(60), 60);
    }
}

//! Quantising what the player plays onto the step grid, one measure at a time.
//!
//! A note struck at fractional step position `p` starts on step `round(p)` and covers every step
//! up to the rounded position of its release, at least one step. Pitches outside C1-B6 fold by
//! octaves into range ([`continuo_model::Grid::fold_into_range`]). Cells of a held key are
//! written step by step as time passes, so a measure's cells are complete up to "now" whenever
//! the mode logic takes them.

use crate::cells::{MeasureCells, GRID, STEPS_PER_MEASURE};

/// Measures kept: the one being played and the three before it (the call logic looks back at
/// most two).
const RING_MEASURES: usize = 4;

/// One measure of the ring.
#[derive(Clone, Copy, Debug)]
struct CapturedMeasure {
    /// Which measure this slot holds (`i64::MIN` for none).
    measure: i64,
    cells: MeasureCells,
}

/// The player's recent measures and held keys.
#[derive(Clone, Debug)]
pub struct Capture {
    /// Recent measures, measure `m` in slot `m mod RING_MEASURES`.
    ring: [CapturedMeasure; RING_MEASURES],
    /// For each MIDI key that is down, the first step whose cell is not written yet.
    held_from_step: [Option<i64>; 128],
    /// Number of keys down, so that the per-step fill can skip the scan when none is.
    held_keys: usize,
    /// Fractional step position of the latest strike; read by the call-end rule.
    last_strike_steps: Option<f64>,
    /// Sum and count of strike velocities since [`Capture::reset_velocity`], for the
    /// "player's mean" velocity.
    velocity_sum: u32,
    velocity_count: u32,
    /// Strikes per ring slot and their velocity sum, for the recorder's per-measure velocity.
    measure_strikes: [(u32, u32); RING_MEASURES],
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            ring: [CapturedMeasure {
                measure: i64::MIN,
                cells: MeasureCells::EMPTY,
            }; RING_MEASURES],
            held_from_step: [None; 128],
            held_keys: 0,
            last_strike_steps: None,
            velocity_sum: 0,
            velocity_count: 0,
            measure_strikes: [(0, 0); RING_MEASURES],
        }
    }
}

/// The measure a step belongs to.
pub fn measure_of(step: i64) -> i64 {
    step.div_euclid(STEPS_PER_MEASURE as i64)
}

/// The first step of a measure.
pub fn bar_line(measure: i64) -> i64 {
    measure * STEPS_PER_MEASURE as i64
}

impl Capture {
    /// Forgets everything, including keys still down: their releases will be ignored.
    pub fn reset(&mut self) {
        *self = Capture::default();
    }

    /// A key went down at fractional step position `pos_steps`.
    pub fn note_on(&mut self, pos_steps: f64, key: u8, velocity: u8) {
        let step = pos_steps.round() as i64;
        let key = key.min(127);
        if self.held_from_step[key as usize].is_some() {
            // A second strike of a key that is down (some controllers send these): the first
            // note ends where the second begins.
            self.note_off(pos_steps, key);
        }
        self.mark(step, key);
        self.held_from_step[key as usize] = Some(step + 1);
        self.held_keys += 1;
        self.last_strike_steps = Some(pos_steps);
        self.velocity_sum += velocity as u32;
        self.velocity_count += 1;
        let slot = self.slot_of(measure_of(step));
        self.measure_strikes[slot].0 += 1;
        self.measure_strikes[slot].1 += velocity as u32;
    }

    /// A key went up at fractional step position `pos_steps`. Releases of keys we never saw go
    /// down (pressed before a reset) are ignored.
    pub fn note_off(&mut self, pos_steps: f64, key: u8) {
        let key = key.min(127);
        if let Some(from) = self.held_from_step[key as usize].take() {
            let end = pos_steps.round() as i64;
            self.fill(key, from, end);
            self.held_keys -= 1;
        }
    }

    /// Writes the cells of every held key up to (not including) `step`.
    pub fn fill_held_until(&mut self, step: i64) {
        if self.held_keys == 0 {
            return;
        }
        for key in 0..128u8 {
            if let Some(from) = self.held_from_step[key as usize] {
                if step > from {
                    self.fill(key, from, step);
                    self.held_from_step[key as usize] = Some(step);
                }
            }
        }
    }

    pub fn any_held(&self) -> bool {
        self.held_keys > 0
    }

    pub fn last_strike_steps(&self) -> Option<f64> {
        self.last_strike_steps
    }

    /// The cells of measure `measure` so far, if it is still in the ring.
    pub fn cells(&self, measure: i64) -> Option<&MeasureCells> {
        let slot = &self.ring[measure.rem_euclid(RING_MEASURES as i64) as usize];
        (slot.measure == measure).then_some(&slot.cells)
    }

    /// Whether measure `measure` holds any played cell.
    pub fn has_music(&self, measure: i64) -> bool {
        self.cells(measure).is_some_and(|cells| !cells.is_empty())
    }

    /// Mean velocity of the strikes in measure `measure` (0 when there were none).
    pub fn measure_velocity(&self, measure: i64) -> u8 {
        let slot = measure.rem_euclid(RING_MEASURES as i64) as usize;
        if self.ring[slot].measure != measure {
            return 0;
        }
        let (strikes, sum) = self.measure_strikes[slot];
        sum.checked_div(strikes).unwrap_or(0).min(127) as u8
    }

    /// Mean velocity of the strikes since the last [`Capture::reset_velocity`].
    pub fn mean_velocity(&self) -> Option<u8> {
        self.velocity_sum
            .checked_div(self.velocity_count)
            .map(|mean| mean.clamp(1, 127) as u8)
    }

    /// Starts a new mean (a new call begins).
    pub fn reset_velocity(&mut self) {
        self.velocity_sum = 0;
        self.velocity_count = 0;
    }

    /// Writes the cells of `key` for steps `from .. end`; at most the ring's length, since
    /// older cells would be overwritten anyway.
    fn fill(&mut self, key: u8, from: i64, end: i64) {
        let span = (STEPS_PER_MEASURE * RING_MEASURES) as i64;
        for step in from.max(end - span)..end {
            self.mark(step, key);
        }
    }

    fn mark(&mut self, step: i64, key: u8) {
        let pitch = GRID.fold_into_range(key);
        let Some(row) = GRID.row_of(pitch) else {
            return;
        };
        let measure = measure_of(step);
        let slot = self.slot_of(measure);
        let step_in_measure = (step - bar_line(measure)) as usize;
        self.ring[slot].cells.set(step_in_measure, row);
    }

    /// The ring slot of `measure`, emptied first if it held an older measure.
    fn slot_of(&mut self, measure: i64) -> usize {
        let slot = measure.rem_euclid(RING_MEASURES as i64) as usize;
        if self.ring[slot].measure != measure {
            self.ring[slot] = CapturedMeasure {
                measure,
                cells: MeasureCells::EMPTY,
            };
            self.measure_strikes[slot] = (0, 0);
        }
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps of row `row` that are on in `cells`.
    fn on_steps(cells: &MeasureCells, row: usize) -> Vec<usize> {
        (0..STEPS_PER_MEASURE)
            .filter(|&step| cells.get(step, row))
            .collect()
    }

    #[test]
    fn strikes_and_releases_round_to_the_nearest_step() {
        let mut capture = Capture::default();
        // C4 (MIDI 60, row 36) from 10.4 to 14.6 steps: steps 10..15.
        capture.note_on(10.4, 60, 100);
        capture.note_off(14.6, 60);
        // E4 (row 40) struck at 23.5 rounds up to 24 and is released at once: one step.
        capture.note_on(23.5, 64, 50);
        capture.note_off(23.6, 64);
        let cells = capture.cells(0).unwrap();
        assert_eq!(on_steps(cells, 36), vec![10, 11, 12, 13, 14]);
        assert_eq!(on_steps(cells, 40), vec![24]);
        assert_eq!(cells.ones(), 6);
        assert_eq!(capture.measure_velocity(0), 75);
        assert_eq!(capture.mean_velocity(), Some(75));
    }

    #[test]
    fn pitches_off_the_grid_fold_by_octaves() {
        let mut capture = Capture::default();
        // MIDI 12 (C0) folds up to 24 (row 0); MIDI 100 (E7) folds down to 88 (row 64).
        capture.note_on(0.0, 12, 90);
        capture.note_off(1.0, 12);
        capture.note_on(2.0, 100, 90);
        capture.note_off(3.0, 100);
        let cells = capture.cells(0).unwrap();
        assert_eq!(on_steps(cells, 0), vec![0]);
        assert_eq!(on_steps(cells, 64), vec![2]);
    }

    #[test]
    fn held_notes_fill_step_by_step_and_cross_bar_lines() {
        let mut capture = Capture::default();
        // G4 (MIDI 67, row 43) from step 90 of measure 0 into measure 1.
        capture.note_on(90.0, 67, 80);
        capture.fill_held_until(94);
        assert_eq!(
            on_steps(capture.cells(0).unwrap(), 43),
            vec![90, 91, 92, 93]
        );
        assert!(capture.any_held());
        capture.fill_held_until(98);
        capture.note_off(99.7, 67);
        assert!(!capture.any_held());
        assert_eq!(
            on_steps(capture.cells(0).unwrap(), 43),
            vec![90, 91, 92, 93, 94, 95]
        );
        // Steps 96..100 are steps 0..4 of measure 1.
        assert_eq!(on_steps(capture.cells(1).unwrap(), 43), vec![0, 1, 2, 3]);
    }

    #[test]
    fn old_measures_leave_the_ring_and_negative_steps_work() {
        let mut capture = Capture::default();
        // Step -3 is step 93 of measure -1.
        capture.note_on(-3.0, 60, 64);
        capture.note_off(-2.0, 60);
        assert_eq!(on_steps(capture.cells(-1).unwrap(), 36), vec![93]);
        capture.note_on(bar_line(2) as f64, 61, 64);
        assert!(capture.has_music(2));
        assert!(
            capture.cells(-1).is_some(),
            "measure -1 (slot 3) shares no slot with 2"
        );
        capture.note_on(bar_line(6) as f64, 62, 64);
        assert!(
            capture.cells(2).is_none(),
            "measure 6 took slot 2 from measure 2"
        );
        assert!(capture.cells(-1).is_some());
    }

    #[test]
    fn a_release_without_a_strike_is_ignored() {
        let mut capture = Capture::default();
        capture.note_off(5.0, 60);
        assert!(!capture.any_held());
        assert!(capture.cells(0).is_none());
    }
}

//! The music of a test: the player's call, read from the corpus, and the clock that says at which
//! sample each grid step falls.
//!
//! Continuo's grid has 24 steps per quarter note and 96 per 4/4 measure. At `bpm` quarter notes
//! a minute and `rate` samples a second a step lasts `rate * 60 / (bpm * 24)` samples: 1,000 at
//! 48 kHz and 120 BPM, 1,225 at 44.1 kHz and 90 BPM. These figures are the tests' own, worked
//! out here from the tempo and the sample rate and never read from the plugin.

use std::path::Path;

use continuo_model::midi_in::read_midi_file;
use continuo_model::Grid;

/// Grid steps in a quarter note.
pub const STEPS_PER_BEAT: u32 = 24;
/// Grid steps in a 4/4 measure.
pub const STEPS_PER_MEASURE: u32 = 96;
/// The lowest pitch Continuo plays: C1.
pub const LOWEST_PITCH: u8 = 24;
/// The highest pitch Continuo plays: B6.
pub const HIGHEST_PITCH: u8 = 95;

/// A note of the player's call, on the grid, in steps from the call's first bar line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallNote {
    pub start_step: u32,
    /// Exclusive.
    pub end_step: u32,
    pub pitch: u8,
    pub velocity: u8,
}

/// The notes struck in the first 4/4 measure of a MIDI file (which must have no pickup), cut
/// at the next bar line so that the call is exactly one measure long.
pub fn first_measure(path: &Path) -> Vec<CallNote> {
    let score = read_midi_file(path, Grid::PAPER)
        .unwrap_or_else(|error| panic!("reading the call from {}: {error}", path.display()));
    let mut notes: Vec<CallNote> = score
        .notes
        .iter()
        .filter(|note| note.start_step < STEPS_PER_MEASURE as usize)
        .map(|note| CallNote {
            start_step: note.start_step as u32,
            end_step: (note.end_step as u32).min(STEPS_PER_MEASURE),
            pitch: note.pitch,
            velocity: note.velocity,
        })
        .collect();
    notes.sort_by_key(|note| (note.start_step, note.pitch));
    assert!(
        !notes.is_empty(),
        "{} has no note in its first measure",
        path.display()
    );
    notes
}

/// The bar line (in steps from the call's first bar line) at which a call ends by the Answer
/// rule: the first bar line after the call's first note where no key is held and none was
/// struck in the beat before it.
pub fn call_end_step(call: &[CallNote]) -> u32 {
    let first_strike = call.iter().map(|note| note.start_step).min().unwrap_or(0);
    let mut bar_line = (first_strike / STEPS_PER_MEASURE + 1) * STEPS_PER_MEASURE;
    loop {
        let held = call
            .iter()
            .any(|note| note.end_step > bar_line && note.start_step < bar_line);
        let struck_in_last_beat = call
            .iter()
            .any(|note| (bar_line - STEPS_PER_BEAT..bar_line).contains(&note.start_step));
        if !held && !struck_in_last_beat {
            return bar_line;
        }
        bar_line += STEPS_PER_MEASURE;
    }
}

/// Samples one grid step lasts at a tempo and a sample rate.
pub fn samples_per_step(sample_rate_hz: f64, tempo_bpm: f64) -> f64 {
    sample_rate_hz * 60.0 / (tempo_bpm * STEPS_PER_BEAT as f64)
}

/// A stretch of constant tempo: from `from_sample` on, step `from_step + k` falls `k` steps'
/// worth of samples later.
#[derive(Clone, Copy, Debug, PartialEq)]
struct TempoSpan {
    from_sample: f64,
    from_step: f64,
    samples_per_step: f64,
}

/// Where grid steps fall in samples, through tempo changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Clock {
    sample_rate_hz: f64,
    /// In time order; the first starts at step 0.
    spans: Vec<TempoSpan>,
}

impl Clock {
    /// A clock whose step 0 (the bar line of measure 0) falls at `origin_sample`.
    pub fn new(sample_rate_hz: f64, tempo_bpm: f64, origin_sample: f64) -> Clock {
        Clock {
            sample_rate_hz,
            spans: vec![TempoSpan {
                from_sample: origin_sample,
                from_step: 0.0,
                samples_per_step: samples_per_step(sample_rate_hz, tempo_bpm),
            }],
        }
    }

    /// The tempo changes to `tempo_bpm` at sample `sample` (later than any earlier change).
    pub fn change_tempo(&mut self, sample: u64, tempo_bpm: f64) {
        let from_step = self.step_at(sample as f64);
        self.spans.push(TempoSpan {
            from_sample: sample as f64,
            from_step,
            samples_per_step: samples_per_step(self.sample_rate_hz, tempo_bpm),
        });
    }

    /// The exact (fractional) sample at which step `step` falls.
    pub fn sample_of(&self, step: f64) -> f64 {
        let span = self
            .spans
            .iter()
            .rev()
            .find(|span| span.from_step <= step)
            .unwrap_or(&self.spans[0]);
        span.from_sample + (step - span.from_step) * span.samples_per_step
    }

    /// The step (fractional) at sample `sample`.
    pub fn step_at(&self, sample: f64) -> f64 {
        let span = self
            .spans
            .iter()
            .rev()
            .find(|span| span.from_sample <= sample)
            .unwrap_or(&self.spans[0]);
        span.from_step + (sample - span.from_sample) / span.samples_per_step
    }

    /// The sample at which step `step` starts, to the nearest sample.
    pub fn nearest_sample(&self, step: u32) -> u64 {
        self.sample_of(step as f64).round().max(0.0) as u64
    }

    /// The last whole sample at or before the bar line of `measure`: a host that has the
    /// measure ready by then has it ready for the bar line however the plugin rounds.
    pub fn bar_line_floor(&self, measure: u32) -> u64 {
        self.sample_of((measure * STEPS_PER_MEASURE) as f64)
            .floor()
            .max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_last_the_hand_worked_number_of_samples() {
        assert_eq!(samples_per_step(48_000.0, 120.0), 1000.0);
        assert_eq!(samples_per_step(44_100.0, 90.0), 1225.0);
        assert_eq!(samples_per_step(96_000.0, 180.0), 4000.0 / 3.0);
        // 44.1 kHz at 120 BPM: 44100 * 60 / 2880 = 918.75.
        assert_eq!(samples_per_step(44_100.0, 120.0), 918.75);
    }

    #[test]
    fn a_tempo_change_moves_only_the_later_steps() {
        // 48 kHz, 120 BPM from sample 500: step 96 at 96,500. At sample 48,500 (step 48) the
        // tempo halves to 60 BPM, a step becomes 2,000 samples: step 96 at 48,500 + 96,000.
        let mut clock = Clock::new(48_000.0, 120.0, 500.0);
        assert_eq!(clock.sample_of(96.0), 96_500.0);
        clock.change_tempo(48_500, 60.0);
        assert_eq!(clock.sample_of(24.0), 24_500.0);
        assert_eq!(clock.step_at(48_500.0), 48.0);
        assert_eq!(clock.sample_of(96.0), 144_500.0);
        assert_eq!(clock.nearest_sample(96), 144_500);
        assert_eq!(clock.bar_line_floor(1), 144_500);
    }

    #[test]
    fn a_call_ends_where_the_answer_rule_says() {
        let note = |start_step, end_step| CallNote {
            start_step,
            end_step,
            pitch: 60,
            velocity: 90,
        };
        // Last strike in beat 3, released by the bar line: ends at the first bar line.
        assert_eq!(call_end_step(&[note(0, 24), note(48, 96)]), 96);
        // A strike in the last beat (step 72) pushes the end to the second bar line.
        assert_eq!(call_end_step(&[note(0, 24), note(72, 84)]), 192);
        // A note held over the first bar line does too, even one struck early.
        assert_eq!(call_end_step(&[note(0, 100)]), 192);
        // A call that begins in measure 1 cannot end before measure 1 does: at step 192 it is
        // still in its last beat (step 170), so it ends at 288.
        assert_eq!(call_end_step(&[note(102, 108), note(170, 180)]), 288);
    }
}

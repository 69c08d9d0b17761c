//! Finding the pickup (upbeat) of a MIDI file, which MIDI does not mark.
//!
//! A score that begins with an upbeat starts its MIDI file with the upbeat at tick 0, so bar
//! lines counted from tick 0 are shifted by the upbeat's length. Cutting training images from
//! those false bar lines would teach the model measures that start mid-beat. The detector
//! guesses the shift from the notes in two stages:
//!
//! 1. The beat phase (where beats fall, modulo one beat). Onsets are weighted by their length,
//!    and notes of half a measure or longer count two measures extra: long notes almost never
//!    start off the beat, while runs of short notes fill every position. The phase with the
//!    largest total wins; phase 0 wins ties and near-ties ([`PHASE_MARGIN`]).
//! 2. Which beat of the measure is the downbeat. Onset statistics cannot tell beat 1 from beat
//!    3 in Bach's 4/4 (suspensions and half-bar cadences load beat 3 as much as beat 1), so
//!    the detector asks the end of the piece: music normally ends on a bar line, so the end of
//!    the last note and the end of the file are candidates for a bar line. A candidate on the
//!    beat phase replaces "no beat-level pickup" only when more note length starts on it than
//!    on the beat-phase position of beat 1.
//!
//! NOTE: A beat-level upbeat whose piece ends with a complementary incomplete bar (the usual
//!   notation, e.g. a gavotte's two-beat upbeat balanced by a two-beat last bar) leaves the end
//!   on the bar grid from tick 0, and is missed: the detector returns the beat phase alone
//!   (0 for a whole-beat upbeat). On the corpus this misses 3 of the 11 upbeats; state them
//!   with a pickups table (`--pickup FILE=BEATS`) when it matters.

use crate::geometry::Grid;
use crate::midi_in::Score;

/// How much a nonzero beat phase must outweigh phase 0 to be chosen: a file with no upbeat
/// is the common case, and a false upbeat shifts every window.
pub const PHASE_MARGIN: f64 = 1.02;

/// The pickup of `score` in steps on the paper's grid (0 when none).
pub fn detect_pickup(score: &Score) -> usize {
    detect_pickup_on(score, Grid::PAPER)
}

/// The pickup of `score` in steps on `grid` (0 when none, or when the score does not start in
/// 4/4: the model uses only 4/4 measures).
pub fn detect_pickup_on(score: &Score, grid: Grid) -> usize {
    let Some(first_span) = score.meter_spans.first() else {
        return 0;
    };
    let measure_steps = grid.steps_per_measure();
    let beat_steps = grid.steps_per_quarter;
    if !first_span.is_four_four() || measure_steps == 0 || beat_steps == 0 {
        return 0;
    }
    let notes: Vec<_> = score
        .notes
        .iter()
        .filter(|n| n.start_step < first_span.end_step)
        .collect();
    if notes.is_empty() {
        return 0;
    }

    // Length-weighted onsets per position in the measure (positions counted from tick 0).
    let mut length_profile = vec![0.0f64; measure_steps];
    let mut phase_profile = vec![0.0f64; measure_steps];
    for note in &notes {
        let position = note.start_step % measure_steps;
        let len = note.len_steps() as f64;
        length_profile[position] += len;
        let long_bonus = if note.len_steps() * 2 >= measure_steps {
            2.0 * measure_steps as f64
        } else {
            0.0
        };
        phase_profile[position] += len + long_bonus;
    }

    let beat_phase = beat_phase(&phase_profile, beat_steps);

    // Stage 2: bar-line candidates from the end of the music.
    let last_note_end = notes.iter().map(|n| n.end_step).max().unwrap_or(0);
    let mut ends = vec![last_note_end];
    if first_span.end_step == score.end_step {
        ends.push(score.end_step);
    }
    let mut pickup = beat_phase;
    for end in ends {
        let candidate = end % measure_steps;
        if candidate % beat_steps == beat_phase
            && length_profile[candidate] > length_profile[pickup]
        {
            pickup = candidate;
        }
    }
    pickup
}

/// Stage 1: the position within a beat where beats fall, with ties and near-ties going to 0.
fn beat_phase(profile: &[f64], beat_steps: usize) -> usize {
    let phase_weight =
        |phase: usize| -> f64 { profile.iter().skip(phase).step_by(beat_steps).sum() };
    let mut best = 0;
    let mut best_weight = phase_weight(0) * PHASE_MARGIN;
    for phase in 1..beat_steps {
        let weight = phase_weight(phase);
        if weight > best_weight {
            best = phase;
            best_weight = weight;
        }
    }
    best
}

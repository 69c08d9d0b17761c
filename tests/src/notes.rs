//! What came out of the plugin, as notes: each note-on paired with its note-off, and the checks
//! that hold for any note the plugin plays.

use crate::music::{Clock, HIGHEST_PITCH, LOWEST_PITCH, STEPS_PER_MEASURE};

/// A note event the plugin sent, at an absolute sample position of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteEvent {
    pub sample: u64,
    pub on: bool,
    /// MIDI channel index 0-15.
    pub channel: u8,
    pub pitch: u8,
    /// MIDI velocity 0-127 (CLAP's 0-1 scaled and rounded).
    pub velocity: u8,
}

/// A note-on and the note-off that ended it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlayedNote {
    pub start_sample: u64,
    /// The note-off's sample.
    pub end_sample: u64,
    pub channel: u8,
    pub pitch: u8,
    pub velocity: u8,
}

/// Pairs every note-on with the next note-off of its channel and pitch, in event order.
/// Errors name the first event that breaks the pairing: a note-off for a silent key, a note-on
/// for a sounding one, or a note-on never released.
pub fn pair(events: &[NoteEvent]) -> Result<Vec<PlayedNote>, String> {
    let mut sounding: [[Option<NoteEvent>; 128]; 16] = [[None; 128]; 16];
    let mut notes = Vec::new();
    for event in events {
        let slot = &mut sounding[event.channel as usize & 15][event.pitch as usize & 127];
        match (event.on, slot.take()) {
            (true, None) => *slot = Some(*event),
            (true, Some(earlier)) => {
                return Err(format!(
                    "{event:?} struck a key still sounding from {earlier:?}"
                ))
            }
            (false, Some(on)) => notes.push(PlayedNote {
                start_sample: on.sample,
                end_sample: event.sample,
                channel: on.channel,
                pitch: on.pitch,
                velocity: on.velocity,
            }),
            (false, None) => return Err(format!("{event:?} released a key that was not sounding")),
        }
    }
    let hanging: Vec<NoteEvent> = sounding.iter().flatten().flatten().copied().collect();
    if let Some(first) = hanging.first() {
        return Err(format!(
            "{} notes never released, first {first:?}",
            hanging.len()
        ));
    }
    notes.sort_by_key(|note| (note.start_sample, note.pitch));
    Ok(notes)
}

/// The events on one channel.
pub fn on_channel(events: &[NoteEvent], channel: u8) -> Vec<NoteEvent> {
    events
        .iter()
        .filter(|event| event.channel == channel)
        .copied()
        .collect()
}

/// Where a note played by the plugin lies on the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridNote {
    /// Steps from measure 0's bar line.
    pub start_step: u32,
    /// Exclusive.
    pub end_step: u32,
    pub pitch: u8,
}

impl GridNote {
    /// The measure the note starts in.
    pub fn measure(&self) -> u32 {
        self.start_step / STEPS_PER_MEASURE
    }
}

/// The grid step a sample falls on, if it is within `tolerance_samples` of one.
fn step_of_sample(clock: &Clock, sample: u64, tolerance_samples: f64) -> Option<u32> {
    let step = clock.step_at(sample as f64).round();
    if step < 0.0 {
        return None;
    }
    let off_by = (clock.sample_of(step) - sample as f64).abs();
    (off_by <= tolerance_samples).then_some(step as u32)
}

/// Checks that every note starts and ends on a grid step (to within one sample), within one
/// measure, at a pitch in C1-B6, and returns the notes on the grid.
pub fn on_grid(notes: &[PlayedNote], clock: &Clock) -> Result<Vec<GridNote>, String> {
    notes
        .iter()
        .map(|note| {
            let start_step = step_of_sample(clock, note.start_sample, 1.0)
                .ok_or_else(|| format!("{note:?} starts off the grid"))?;
            let end_step = step_of_sample(clock, note.end_sample, 1.0)
                .ok_or_else(|| format!("{note:?} ends off the grid"))?;
            if end_step <= start_step {
                return Err(format!("{note:?} lasts no step ({start_step}..{end_step})"));
            }
            if start_step / STEPS_PER_MEASURE != (end_step - 1) / STEPS_PER_MEASURE {
                return Err(format!(
                    "{note:?} crosses a bar line (steps {start_step}..{end_step})"
                ));
            }
            if !(LOWEST_PITCH..=HIGHEST_PITCH).contains(&note.pitch) {
                return Err(format!("{note:?} lies outside C1-B6"));
            }
            Ok(GridNote {
                start_step,
                end_step,
                pitch: note.pitch,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(sample: u64, on: bool, pitch: u8) -> NoteEvent {
        NoteEvent {
            sample,
            on,
            channel: 0,
            pitch,
            velocity: if on { 90 } else { 0 },
        }
    }

    #[test]
    fn notes_pair_per_key_and_broken_streams_are_named() {
        let events = [
            event(0, true, 60),
            event(10, true, 64),
            event(20, false, 60),
            event(20, true, 60),
            event(30, false, 64),
            event(40, false, 60),
        ];
        let notes = pair(&events).expect("a well-formed stream");
        let spans: Vec<(u64, u64, u8)> = notes
            .iter()
            .map(|n| (n.start_sample, n.end_sample, n.pitch))
            .collect();
        assert_eq!(spans, vec![(0, 20, 60), (10, 30, 64), (20, 40, 60)]);

        assert!(pair(&[event(0, true, 60), event(5, true, 60)]).is_err());
        assert!(pair(&[event(5, false, 60)]).is_err());
        assert!(pair(&[event(5, true, 60)]).is_err());
    }

    #[test]
    fn grid_positions_allow_one_sample_and_no_more() {
        // 44.1 kHz at 120 BPM: a step is 918.75 samples; step 3 at 2756.25, step 5 at 4593.75.
        let clock = Clock::new(44_100.0, 120.0, 0.0);
        let note = |start_sample, end_sample, pitch| PlayedNote {
            start_sample,
            end_sample,
            channel: 0,
            pitch,
            velocity: 90,
        };
        let on = on_grid(&[note(2756, 4594, 60)], &clock).expect("within a sample");
        assert_eq!(
            on,
            vec![GridNote {
                start_step: 3,
                end_step: 5,
                pitch: 60
            }]
        );
        assert!(
            on_grid(&[note(2758, 4594, 60)], &clock).is_err(),
            "1.75 samples late"
        );
        assert!(
            on_grid(&[note(2756, 4594, 23)], &clock).is_err(),
            "below C1"
        );
        // Steps 95..97 cross the bar line at step 96.
        let crossing = note(clock.nearest_sample(95), clock.nearest_sample(97), 60);
        assert!(on_grid(&[crossing], &clock).is_err());
    }
}

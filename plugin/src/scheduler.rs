//! The plugin's own notes, kept in musical time (grid steps) and turned into sample offsets one
//! block at a time.
//!
//! A composed measure becomes note-on and note-off events at absolute steps. Each block converts
//! the steps due in it to samples with that block's tempo, so a tempo change mid-answer moves all
//! later notes, and every note lands on its step to the nearest sample. Events leave in time
//! order: at equal steps note-offs go first, so that a pitch repeated across a bar line is
//! released before it is struck again. [`Scheduler::flush`] ends every sounding note at once:
//! the answer to a stop, jump, bypass, mode change or a player cutting in. All storage is
//! reserved when the scheduler is made; nothing here allocates afterwards.

use crate::cells::{MeasureCells, GRID, PITCH_ROWS};
use crate::clock::BlockTime;

/// Events the schedule holds at most: two dense measures. A Bach measure makes a few dozen
/// notes; even a measure with every cell on is 72 notes.
pub const SCHEDULE_CAPACITY: usize = 4096;
/// Output events one block can carry: the flush of every pitch on every channel, plus plenty.
pub const OUTPUT_CAPACITY: usize = 4096;

/// Note-on or note-off. Off sorts first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NoteKind {
    Off,
    On,
}

/// A note event of the plugin's own, at an absolute grid step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduledEvent {
    pub step: i64,
    pub kind: NoteKind,
    pub pitch: u8,
    pub velocity: u8,
}

/// A note event for the host, at a sample offset into the current block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputEvent {
    pub offset_samples: u32,
    pub kind: NoteKind,
    /// MIDI channel index 0-15.
    pub channel: u8,
    pub pitch: u8,
    /// MIDI velocity 0-127 (note-offs carry 0).
    pub velocity: u8,
}

/// The events of one block, in time order, in storage reserved up front.
#[derive(Debug)]
pub struct EventBuffer {
    events: Vec<OutputEvent>,
    /// Events that did not fit; they should never exist.
    pub dropped: u32,
}

impl Default for EventBuffer {
    fn default() -> Self {
        EventBuffer {
            events: Vec::with_capacity(OUTPUT_CAPACITY),
            dropped: 0,
        }
    }
}

impl EventBuffer {
    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// Appends an event. An event earlier than the last one is moved to the last one's offset,
    /// so the block stays in time order whatever rounding did.
    pub fn push(&mut self, mut event: OutputEvent) {
        if let Some(last) = self.events.last() {
            event.offset_samples = event.offset_samples.max(last.offset_samples);
        }
        if self.events.len() < self.events.capacity() {
            self.events.push(event);
        } else {
            self.dropped += 1;
        }
    }

    pub fn as_slice(&self) -> &[OutputEvent] {
        &self.events
    }
}

/// The plugin's own notes: those to come and those sounding.
#[derive(Debug)]
pub struct Scheduler {
    /// Sorted by (step, kind); `events[..head]` have been sent.
    events: Vec<ScheduledEvent>,
    head: usize,
    /// The channel each pitch is sounding on, if it is. A note-off goes to the channel of its
    /// note-on even if the output channel changed in between.
    sounding_channel: [Option<u8>; 128],
    /// Events refused because the schedule was full.
    pub dropped: u32,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler {
            events: Vec::with_capacity(SCHEDULE_CAPACITY),
            head: 0,
            sounding_channel: [None; 128],
            dropped: 0,
        }
    }
}

impl Scheduler {
    /// Adds a composed measure whose bar line is at step `bar_step`: each run of on-cells in a
    /// row becomes one note.
    pub fn add_measure(&mut self, bar_step: i64, cells: &MeasureCells, velocity: u8) {
        // Sent events are dropped first so the free room is at the end.
        self.events.drain(..self.head);
        self.head = 0;
        for row in 0..PITCH_ROWS {
            let pitch = GRID.lowest_pitch + row as u8;
            cells.for_each_run(row, |start, end| {
                if self.events.len() + 2 > self.events.capacity() {
                    self.dropped += 2;
                    return;
                }
                for (step, kind) in [(start, NoteKind::On), (end, NoteKind::Off)] {
                    self.events.push(ScheduledEvent {
                        step: bar_step + step as i64,
                        kind,
                        pitch,
                        velocity,
                    });
                }
            });
        }
        self.events
            .sort_unstable_by_key(|event| (event.step, event.kind, event.pitch));
    }

    /// Sends every event due before sample `until_samples` of the block timed by `time`.
    /// Note-ons go out on `channel`.
    pub fn emit_until(
        &mut self,
        time: &BlockTime,
        until_samples: u32,
        channel: u8,
        out: &mut EventBuffer,
    ) {
        while let Some(&event) = self.events.get(self.head) {
            let Some(sample) = time.sample_of(event.step) else {
                return;
            };
            if sample >= until_samples as i64 {
                return;
            }
            // A step that rounding or a tempo change put before the block start is sent at its
            // start: late by a fraction of a sample, never lost or reordered.
            let offset_samples = sample.max(0) as u32;
            self.head += 1;
            match event.kind {
                NoteKind::On => {
                    self.note_off(event.pitch, offset_samples, out);
                    self.sounding_channel[event.pitch as usize] = Some(channel);
                    out.push(OutputEvent {
                        offset_samples,
                        kind: NoteKind::On,
                        channel,
                        pitch: event.pitch,
                        velocity: event.velocity.clamp(1, 127),
                    });
                }
                NoteKind::Off => self.note_off(event.pitch, offset_samples, out),
            }
        }
    }

    /// Ends every sounding note at `offset_samples` and forgets everything scheduled.
    pub fn flush(&mut self, offset_samples: u32, out: &mut EventBuffer) {
        for pitch in 0..128u8 {
            self.note_off(pitch, offset_samples, out);
        }
        self.events.clear();
        self.head = 0;
    }

    /// Nothing sounds and nothing is to come.
    pub fn is_idle(&self) -> bool {
        self.head == self.events.len() && self.sounding_channel.iter().all(Option::is_none)
    }

    /// The step of the last event scheduled, if any is still to come.
    pub fn last_step(&self) -> Option<i64> {
        (self.head < self.events.len()).then(|| self.events[self.events.len() - 1].step)
    }

    fn note_off(&mut self, pitch: u8, offset_samples: u32, out: &mut EventBuffer) {
        if let Some(channel) = self.sounding_channel[pitch as usize].take() {
            out.push(OutputEvent {
                offset_samples,
                kind: NoteKind::Off,
                channel,
                pitch,
                velocity: 0,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockSource;

    /// 120 bpm at 48 kHz: one step is 48000 * 0.5 / 24 = 1000 samples.
    fn block_at(start_steps: f64) -> BlockTime {
        BlockTime {
            start_steps: Some(start_steps),
            steps_per_sample: 0.001,
            tempo_bpm: 120.0,
            source: ClockSource::Host,
            discontinuity: false,
            four_four: true,
        }
    }

    fn on(offset_samples: u32, pitch: u8, velocity: u8) -> OutputEvent {
        OutputEvent {
            offset_samples,
            kind: NoteKind::On,
            channel: 0,
            pitch,
            velocity,
        }
    }

    fn off(offset_samples: u32, pitch: u8) -> OutputEvent {
        OutputEvent {
            offset_samples,
            kind: NoteKind::Off,
            channel: 0,
            pitch,
            velocity: 0,
        }
    }

    #[test]
    fn a_measure_plays_on_its_steps_across_blocks() {
        let mut cells = MeasureCells::EMPTY;
        // C4 (row 36) on steps 2..4 of measure 1, i.e. absolute steps 98..100.
        cells.set(2, 36);
        cells.set(3, 36);
        let mut scheduler = Scheduler::default();
        scheduler.add_measure(96, &cells, 90);
        let mut out = EventBuffer::default();

        // Block of 1,500 samples starting at step 97.5: step 98 is sample 500.
        scheduler.emit_until(&block_at(97.5), 1500, 0, &mut out);
        assert_eq!(out.as_slice(), &[on(500, 60, 90)]);
        // Next block starts at step 99; step 100 is sample 1000, inside a block of 1024.
        out.clear();
        scheduler.emit_until(&block_at(99.0), 1024, 0, &mut out);
        assert_eq!(out.as_slice(), &[off(1000, 60)]);
        assert!(scheduler.is_idle());
    }

    #[test]
    fn a_tempo_change_moves_the_notes_still_to_come() {
        let mut cells = MeasureCells::EMPTY;
        cells.set(48, 40);
        let mut scheduler = Scheduler::default();
        scheduler.add_measure(0, &cells, 64);
        let mut out = EventBuffer::default();
        // At 60 bpm and 48 kHz a step is 2,000 samples: step 48 from step 47 is sample 2000,
        // and its end, step 49, falls at sample 4000, past this 3,000-sample block.
        let slow = BlockTime {
            steps_per_sample: 0.0005,
            ..block_at(47.0)
        };
        scheduler.emit_until(&slow, 3000, 3, &mut out);
        assert_eq!(
            out.as_slice(),
            &[OutputEvent {
                channel: 3,
                ..on(2000, 64, 64)
            }]
        );
    }

    #[test]
    fn repeated_pitches_across_a_bar_line_release_before_striking() {
        let mut first = MeasureCells::EMPTY;
        let mut second = MeasureCells::EMPTY;
        first.set(95, 36);
        second.set(0, 36);
        let mut scheduler = Scheduler::default();
        scheduler.add_measure(0, &first, 80);
        scheduler.add_measure(96, &second, 80);
        let mut out = EventBuffer::default();
        scheduler.emit_until(&block_at(94.0), 4000, 0, &mut out);
        // Step 95 is sample 1000, step 96 is 2000 (off, then on), step 97 is 3000.
        assert_eq!(
            out.as_slice(),
            &[
                on(1000, 60, 80),
                off(2000, 60),
                on(2000, 60, 80),
                off(3000, 60)
            ]
        );
    }

    #[test]
    fn flush_ends_sounding_notes_on_their_own_channel() {
        let mut cells = MeasureCells::EMPTY;
        for step in 0..10 {
            cells.set(step, 0);
            cells.set(step, 71);
        }
        let mut scheduler = Scheduler::default();
        scheduler.add_measure(0, &cells, 100);
        let mut out = EventBuffer::default();
        scheduler.emit_until(&block_at(0.0), 100, 5, &mut out);
        assert_eq!(out.as_slice().len(), 2);
        out.clear();
        // The output channel changed to 7 since; the note-offs still go to channel 5.
        scheduler.emit_until(&block_at(0.1), 0, 7, &mut out);
        scheduler.flush(17, &mut out);
        let expected = [24u8, 95].map(|pitch| OutputEvent {
            channel: 5,
            ..off(17, pitch)
        });
        assert_eq!(out.as_slice(), &expected);
        assert!(scheduler.is_idle());
    }

    #[test]
    fn late_steps_go_out_at_the_block_start_in_order() {
        let mut cells = MeasureCells::EMPTY;
        cells.set(10, 1);
        let mut scheduler = Scheduler::default();
        scheduler.add_measure(0, &cells, 70);
        let mut out = EventBuffer::default();
        // The host jumped ahead past step 10 without a discontinuity being flagged.
        scheduler.emit_until(&block_at(10.6), 1000, 0, &mut out);
        assert_eq!(out.as_slice(), &[on(0, 25, 70), off(400, 25)]);
    }
}

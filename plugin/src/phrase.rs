//! The last phrase: what the player played and what the plugin answered, measure by measure.
//!
//! The recorder thread keeps it up to date from the audio thread's [`RecordEvent`]s; the editor
//! draws it; the plugin state saves it, so it is still there, and exportable, when a project is
//! reopened. It is plain serde data: state from another version or from nowhere deserialises to
//! what it can, and every value is checked again where it is used.
//!
//! [`RecordEvent`]: crate::messages::RecordEvent

use continuo_model::{Note, PianoRoll};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use serde::{Deserialize, Serialize};

use crate::cells::{MeasureCells, GRID, STEPS_PER_BEAT, STEPS_PER_MEASURE};

/// Measures a phrase keeps; older ones are dropped (Follow and Compose phrases can run long).
pub const MAX_PHRASE_MEASURES: usize = 64;

/// A note within one measure, on the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhraseNote {
    pub start_step: u8,
    /// Exclusive; at most 96.
    pub end_step: u8,
    pub pitch: u8,
}

/// Who played a measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Voice {
    Player,
    Plugin,
}

/// One measure of the phrase.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhraseMeasure {
    pub input: Vec<PhraseNote>,
    pub input_velocity: u8,
    pub output: Vec<PhraseNote>,
    pub output_velocity: u8,
    /// The plugin composed this measure but it came too late and was not played.
    pub output_skipped: bool,
    /// Free energy of the player's measure after the one before it (low: Bach-like).
    pub input_free_energy: Option<f32>,
    /// Free energy of the plugin's measure after what sounded before it.
    pub output_free_energy: Option<f32>,
}

/// The last phrase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Phrase {
    /// The clock's number of the first measure, to place the playhead.
    pub first_measure: i64,
    /// Tempo when the phrase began, written into exported MIDI.
    pub tempo_bpm: f64,
    pub measures: Vec<PhraseMeasure>,
}

impl Default for Phrase {
    fn default() -> Self {
        Phrase {
            first_measure: 0,
            tempo_bpm: 120.0,
            measures: Vec::new(),
        }
    }
}

impl Phrase {
    /// Forgets the previous phrase; the next one begins at measure `first_measure`.
    pub fn start(&mut self, first_measure: i64, tempo_bpm: f64) {
        self.first_measure = first_measure;
        self.tempo_bpm = tempo_bpm;
        self.measures.clear();
    }

    /// The entry of clock measure `measure`, made (with the ones before it) if missing.
    /// `None` for measures before the phrase began.
    pub fn measure_mut(&mut self, measure: i64) -> Option<&mut PhraseMeasure> {
        let mut index = measure.checked_sub(self.first_measure)?;
        if index < 0 {
            return None;
        }
        if index >= MAX_PHRASE_MEASURES as i64 {
            // Keep the newest measures: drop from the front.
            let drop = (index + 1 - MAX_PHRASE_MEASURES as i64) as usize;
            self.measures.drain(..drop.min(self.measures.len()));
            self.first_measure += drop as i64;
            index -= drop as i64;
        }
        let index = index as usize;
        if self.measures.len() <= index {
            self.measures.resize_with(index + 1, PhraseMeasure::default);
        }
        self.measures.get_mut(index)
    }

    /// The cells a voice played in measure `index` of the phrase.
    pub fn cells(&self, index: usize, voice: Voice) -> MeasureCells {
        let mut cells = MeasureCells::EMPTY;
        if let Some(measure) = self.measures.get(index) {
            let notes = match voice {
                Voice::Player => &measure.input,
                Voice::Plugin if !measure.output_skipped => &measure.output,
                Voice::Plugin => return cells,
            };
            for note in notes {
                let Some(row) = GRID.row_of(note.pitch) else {
                    continue;
                };
                for step in
                    note.start_step as usize..(note.end_step as usize).min(STEPS_PER_MEASURE)
                {
                    cells.set(step, row);
                }
            }
        }
        cells
    }

    /// The notes of one voice over the whole phrase, runs merged across bar lines (the roll
    /// rule), each with the velocity of the measure it starts in.
    pub fn notes(&self, voice: Voice) -> Vec<Note> {
        let mut roll = PianoRoll::new(GRID, 0);
        for index in 0..self.measures.len() {
            roll.append(&self.cells(index, voice).to_roll());
        }
        let mut notes = roll.to_notes(90);
        for note in &mut notes {
            let measure = &self.measures[note.start_step / STEPS_PER_MEASURE];
            let velocity = match voice {
                Voice::Player => measure.input_velocity,
                Voice::Plugin => measure.output_velocity,
            };
            note.velocity = if velocity == 0 { 90 } else { velocity.min(127) };
        }
        notes
    }

    /// Brings state from elsewhere (an old version, a hand-edited project) into range: at most
    /// [`MAX_PHRASE_MEASURES`] measures, notes on the grid and inside their measure.
    pub fn sanitize(&mut self) {
        self.measures.truncate(MAX_PHRASE_MEASURES);
        if !(self.tempo_bpm.is_finite() && (1.0..=1000.0).contains(&self.tempo_bpm)) {
            self.tempo_bpm = 120.0;
        }
        let in_range = |note: &PhraseNote| {
            GRID.row_of(note.pitch).is_some()
                && note.start_step < note.end_step
                && note.end_step as usize <= STEPS_PER_MEASURE
        };
        for measure in &mut self.measures {
            measure.input.retain(in_range);
            measure.output.retain(in_range);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.measures
            .iter()
            .all(|measure| measure.input.is_empty() && measure.output.is_empty())
    }

    /// The phrase as a format-1 Standard MIDI File: a tempo track, the player's notes on
    /// channel 1 and the plugin's on channel 2, 480 ticks per quarter.
    pub fn to_midi(&self) -> Vec<u8> {
        const TICKS_PER_QUARTER: u16 = 480;
        let ticks_per_step = (TICKS_PER_QUARTER as usize / STEPS_PER_BEAT) as u32;
        let tempo_bpm = if self.tempo_bpm.is_finite() && self.tempo_bpm > 1.0 {
            self.tempo_bpm
        } else {
            120.0
        };
        let micros_per_quarter = (60_000_000.0 / tempo_bpm).round() as u32;

        let tempo_track = vec![
            meta(0, MetaMessage::TrackName(b"Continuo phrase")),
            meta(
                0,
                MetaMessage::Tempo(u24::new(micros_per_quarter.min(0xFF_FFFF))),
            ),
            meta(0, MetaMessage::TimeSignature(4, 2, 24, 8)),
            meta(0, MetaMessage::EndOfTrack),
        ];
        let player = note_track(b"Player", 0, &self.notes(Voice::Player), ticks_per_step);
        let plugin = note_track(b"Continuo", 1, &self.notes(Voice::Plugin), ticks_per_step);
        let smf = Smf {
            header: Header::new(
                Format::Parallel,
                Timing::Metrical(u15::new(TICKS_PER_QUARTER)),
            ),
            tracks: vec![tempo_track, player, plugin],
        };
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = smf.write_std(&mut bytes);
        bytes
    }
}

/// Converts a measure's cells into the notes stored in a [`PhraseMeasure`].
pub fn notes_of(cells: &MeasureCells) -> Vec<PhraseNote> {
    let mut notes = Vec::new();
    for row in 0..GRID.pitch_rows {
        cells.for_each_run(row, |start, end| {
            notes.push(PhraseNote {
                start_step: start as u8,
                end_step: end as u8,
                pitch: GRID.lowest_pitch + row as u8,
            })
        });
    }
    notes.sort_by_key(|note| (note.start_step, note.pitch));
    notes
}

fn meta(delta: u32, message: MetaMessage<'static>) -> TrackEvent<'static> {
    TrackEvent {
        delta: u28::new(delta),
        kind: TrackEventKind::Meta(message),
    }
}

/// One track of notes on `channel`, note-offs before note-ons at equal times.
fn note_track(
    name: &'static [u8],
    channel: u8,
    notes: &[Note],
    ticks_per_step: u32,
) -> Vec<TrackEvent<'static>> {
    let mut timed: Vec<(u32, bool, u8, u8)> = Vec::with_capacity(notes.len() * 2);
    for note in notes {
        let start = note.start_step as u32 * ticks_per_step;
        let end = note.end_step as u32 * ticks_per_step;
        timed.push((
            start,
            true,
            note.pitch.min(127),
            note.velocity.clamp(1, 127),
        ));
        timed.push((end, false, note.pitch.min(127), 0));
    }
    timed.sort_by_key(|&(tick, is_on, pitch, _)| (tick, is_on, pitch));

    let mut track = vec![meta(0, MetaMessage::TrackName(name))];
    let mut last_tick = 0;
    for (tick, is_on, pitch, velocity) in timed {
        let key = u7::new(pitch);
        let message = if is_on {
            MidiMessage::NoteOn {
                key,
                vel: u7::new(velocity),
            }
        } else {
            MidiMessage::NoteOff {
                key,
                vel: u7::new(0),
            }
        };
        track.push(TrackEvent {
            delta: u28::new(tick - last_tick),
            kind: TrackEventKind::Midi {
                channel: u4::new(channel),
                message,
            },
        });
        last_tick = tick;
    }
    track.push(meta(0, MetaMessage::EndOfTrack));
    track
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(pitch: u8, start_step: u8, end_step: u8) -> PhraseNote {
        PhraseNote {
            start_step,
            end_step,
            pitch,
        }
    }

    #[test]
    fn notes_merge_across_bar_lines_and_keep_their_measure_velocity() {
        let mut phrase = Phrase::default();
        phrase.start(10, 100.0);
        let first = phrase.measure_mut(10).unwrap();
        first.input = vec![note(60, 90, 96)];
        first.input_velocity = 70;
        let second = phrase.measure_mut(11).unwrap();
        second.input = vec![note(60, 0, 6), note(64, 12, 24)];
        second.input_velocity = 110;
        assert!(phrase.measure_mut(9).is_none());

        let notes = phrase.notes(Voice::Player);
        let expected = [(60, 90, 102, 70), (64, 108, 120, 110)];
        let got: Vec<_> = notes
            .iter()
            .map(|n| (n.pitch, n.start_step, n.end_step, n.velocity))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn long_phrases_keep_their_newest_measures() {
        let mut phrase = Phrase::default();
        phrase.start(0, 120.0);
        phrase.measure_mut(0).unwrap().input = vec![note(60, 0, 1)];
        phrase.measure_mut(70).unwrap().input = vec![note(61, 0, 1)];
        assert_eq!(phrase.measures.len(), MAX_PHRASE_MEASURES);
        assert_eq!(phrase.first_measure, 70 - 63);
        assert_eq!(phrase.measures[63].input, vec![note(61, 0, 1)]);
    }

    #[test]
    fn the_midi_file_has_both_voices_at_the_right_ticks() {
        let mut phrase = Phrase::default();
        phrase.start(0, 120.0);
        let measure = phrase.measure_mut(0).unwrap();
        measure.input = vec![note(60, 0, 24)];
        let measure = phrase.measure_mut(1).unwrap();
        measure.output = vec![note(67, 12, 18)];
        measure.output_velocity = 80;

        let bytes = phrase.to_midi();
        let smf = Smf::parse(&bytes).expect("our own file parses");
        assert_eq!(smf.tracks.len(), 3);
        // 480 ticks a quarter, 20 a step: the player's C4 lasts 480 ticks from 0; the plugin's
        // G4 starts at 96 + 12 = 108 steps (2,160 ticks) and lasts 6 steps (120 ticks).
        let onsets = |track: &Vec<TrackEvent>| {
            let mut tick = 0u32;
            let mut found = Vec::new();
            for event in track {
                tick += event.delta.as_int();
                if let TrackEventKind::Midi { channel, message } = event.kind {
                    found.push((tick, channel.as_int(), message));
                }
            }
            found
        };
        let player = onsets(&smf.tracks[1]);
        assert_eq!(player.len(), 2);
        assert_eq!((player[0].0, player[1].0, player[0].1), (0, 480, 0));
        let plugin = onsets(&smf.tracks[2]);
        assert_eq!((plugin[0].0, plugin[1].0, plugin[0].1), (2160, 2280, 1));
        assert_eq!(
            plugin[0].2,
            MidiMessage::NoteOn {
                key: u7::new(67),
                vel: u7::new(80)
            }
        );
    }

    #[test]
    fn notes_of_cells_are_the_runs() {
        let mut cells = MeasureCells::EMPTY;
        for step in 4..8 {
            cells.set(step, 0);
        }
        cells.set(95, 71);
        assert_eq!(notes_of(&cells), vec![note(24, 4, 8), note(95, 95, 96)]);
    }
}

//! Writing notes and piano rolls as Standard MIDI Files.
//!
//! A roll has no note boundaries, only on-cells, so it becomes notes by the paper's rule: each
//! run of consecutive on-steps in a row is one note ([`PianoRoll::to_notes`]). Repeated strikes
//! of a held pitch that touch therefore merge into one long note. Reading the written file back
//! gives the same roll again.
//!
//! The writer is a few lines of our own rather than `midly`'s, because it cannot fail: every
//! value is clamped into its MIDI range, so the functions return bytes, not a `Result`.

use crate::geometry::Grid;
use crate::piano_roll::{Note, PianoRoll};

/// How exported notes sound and how finely the file counts time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MidiExport {
    /// Quarter notes per minute, written as the file's only tempo event.
    pub tempo_bpm: f64,
    /// Velocity (1-127) of notes that have none: those made from a roll, or notes whose
    /// velocity is 0.
    pub velocity: u8,
    /// MIDI channel index, 0-15 (9 is percussion in General MIDI, so avoid it).
    pub channel: u8,
    /// The file's resolution. A multiple of the grid's steps per quarter (384 for 24) keeps
    /// every step on an exact tick, which makes reading the file back exact.
    pub ticks_per_quarter: u16,
}

impl Default for MidiExport {
    /// 120 bpm, velocity 90, channel 0 (MIDI channel 1), 384 ticks per quarter.
    fn default() -> Self {
        MidiExport {
            tempo_bpm: 120.0,
            velocity: 90,
            channel: 0,
            ticks_per_quarter: 384,
        }
    }
}

/// Notes (on `grid`) as a format-1 MIDI file: a tempo track and one note track.
///
/// Each note keeps its own velocity (clamped to 1-127; 0 takes [`MidiExport::velocity`]).
/// Overlapping notes of one pitch merge into one (the earlier velocity wins): one channel can
/// sound a pitch only once, and the first note-off would otherwise cut the later note short.
pub fn notes_to_midi(notes: &[Note], grid: Grid, export: &MidiExport) -> Vec<u8> {
    let end_step = notes.iter().map(|n| n.end_step).max().unwrap_or(0);
    write_file(notes, grid, export, end_step)
}

/// A roll as a format-1 MIDI file: runs of on-steps become notes (the paper's rule), all at
/// [`MidiExport::velocity`]. The file lasts as long as the roll, trailing silence included, so
/// reading it back gives the same roll.
pub fn roll_to_midi(roll: &PianoRoll, export: &MidiExport) -> Vec<u8> {
    let velocity = export.velocity.clamp(1, 127);
    write_file(&roll.to_notes(velocity), roll.grid(), export, roll.steps())
}

/// The file of `notes`, its note track ending at `end_step`.
fn write_file(notes: &[Note], grid: Grid, export: &MidiExport, end_step: usize) -> Vec<u8> {
    let notes = merge_overlaps(notes);
    let ticks_per_quarter = export.ticks_per_quarter.clamp(1, 0x7FFF);
    let to_tick = |step: usize| -> u64 {
        let scaled = step as u128 * ticks_per_quarter as u128;
        let spq = grid.steps_per_quarter.max(1) as u128;
        ((scaled + spq / 2) / spq).min(u64::MAX as u128) as u64
    };

    let mut file = Vec::new();
    write_chunk(&mut file, b"MThd", &header(ticks_per_quarter));
    write_chunk(
        &mut file,
        b"MTrk",
        &tempo_track(export.tempo_bpm, grid.quarters_per_measure),
    );
    let end_tick = to_tick(end_step);
    write_chunk(
        &mut file,
        b"MTrk",
        &note_track(&notes, export, to_tick, end_tick),
    );
    file
}

/// Notes with overlapping notes of one pitch merged; notes that only touch stay apart.
fn merge_overlaps(notes: &[Note]) -> Vec<Note> {
    let mut by_pitch = notes.to_vec();
    by_pitch.sort_by_key(|n| (n.pitch, n.start_step, n.end_step));
    let mut merged: Vec<Note> = Vec::with_capacity(by_pitch.len());
    for note in by_pitch {
        match merged.last_mut() {
            Some(last) if last.pitch == note.pitch && note.start_step < last.end_step => {
                last.end_step = last.end_step.max(note.end_step);
            }
            _ => merged.push(note),
        }
    }
    merged
}

/// The MThd body: format 1, two tracks, metrical timing.
fn header(ticks_per_quarter: u16) -> Vec<u8> {
    let mut body = Vec::with_capacity(6);
    body.extend_from_slice(&1u16.to_be_bytes());
    body.extend_from_slice(&2u16.to_be_bytes());
    body.extend_from_slice(&ticks_per_quarter.to_be_bytes());
    body
}

/// Track 0: the tempo and the grid's meter, quarters per measure over 4 (4/4 for the paper's
/// grid).
fn tempo_track(tempo_bpm: f64, quarters_per_measure: usize) -> Vec<u8> {
    let bpm = if tempo_bpm.is_finite() && tempo_bpm > 0.0 {
        tempo_bpm
    } else {
        120.0
    };
    let micros_per_quarter = (60_000_000.0 / bpm).round().clamp(1.0, 0xFF_FFFF as f64) as u32;

    let mut track = Vec::new();
    write_delta(&mut track, 0);
    track.extend_from_slice(&[0xFF, 0x51, 0x03]);
    track.extend_from_slice(&micros_per_quarter.to_be_bytes()[1..]);
    // Numerator: quarters per measure; denominator 2^2 (a quarter); a metronome click every 24
    // MIDI clocks; eight 32nd notes per quarter.
    let numerator = quarters_per_measure.clamp(1, 255) as u8;
    write_delta(&mut track, 0);
    track.extend_from_slice(&[0xFF, 0x58, 0x04, numerator, 2, 24, 8]);
    end_of_track(&mut track);
    track
}

/// Track 1: the notes, note-offs before note-ons at the same tick so that a pitch struck again
/// right after it ends is heard twice.
fn note_track(
    notes: &[Note],
    export: &MidiExport,
    to_tick: impl Fn(usize) -> u64,
    end_tick: u64,
) -> Vec<u8> {
    const NOTE_OFF: u8 = 0x80;
    const NOTE_ON: u8 = 0x90;
    let channel = export.channel.min(15);

    // (tick, 0 for off / 1 for on, pitch, velocity): sorting puts offs first at a tick.
    let mut events: Vec<(u64, u8, u8, u8)> = Vec::with_capacity(notes.len() * 2);
    for note in notes {
        let pitch = note.pitch.min(127);
        let velocity = match note.velocity {
            0 => export.velocity,
            v => v,
        }
        .clamp(1, 127);
        let start = to_tick(note.start_step);
        let end = to_tick(note.end_step).max(start);
        events.push((start, 1, pitch, velocity));
        events.push((end, 0, pitch, 0));
    }
    events.sort_unstable();

    let mut track = Vec::new();
    let mut last_tick = 0u64;
    for (tick, is_on, pitch, velocity) in events {
        write_delta(&mut track, tick - last_tick);
        last_tick = tick;
        let status = if is_on == 1 { NOTE_ON } else { NOTE_OFF };
        track.extend_from_slice(&[status | channel, pitch, velocity]);
    }
    write_delta(&mut track, end_tick.saturating_sub(last_tick));
    track.extend_from_slice(&[0xFF, 0x2F, 0x00]);
    track
}

fn end_of_track(track: &mut Vec<u8>) {
    write_delta(track, 0);
    track.extend_from_slice(&[0xFF, 0x2F, 0x00]);
}

/// The largest delta time a variable-length quantity holds (28 bits).
const MAX_DELTA: u64 = 0x0FFF_FFFF;

/// Writes a delta time. A gap longer than 28 bits is bridged with empty text events, which
/// players ignore.
fn write_delta(track: &mut Vec<u8>, mut delta: u64) {
    while delta > MAX_DELTA {
        write_varlen(track, MAX_DELTA as u32);
        track.extend_from_slice(&[0xFF, 0x01, 0x00]);
        delta -= MAX_DELTA;
    }
    write_varlen(track, delta as u32);
}

/// A MIDI variable-length quantity: seven bits per byte, most significant first, the high bit
/// set on every byte but the last.
fn write_varlen(out: &mut Vec<u8>, value: u32) {
    let mut groups = [0u8; 4];
    let mut count = 0;
    let mut rest = value;
    loop {
        groups[count] = (rest & 0x7F) as u8;
        count += 1;
        rest >>= 7;
        if rest == 0 {
            break;
        }
    }
    for i in (0..count).rev() {
        let more = if i > 0 { 0x80 } else { 0 };
        out.push(groups[i] | more);
    }
}

fn write_chunk(file: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
    file.extend_from_slice(id);
    // A chunk over 4 GiB would take hundreds of millions of notes; saturate rather than wrap.
    file.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
    file.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_length_quantities_match_the_standards_examples() {
        // Examples from the Standard MIDI File specification.
        let cases: [(u32, &[u8]); 6] = [
            (0x00, &[0x00]),
            (0x40, &[0x40]),
            (0x7F, &[0x7F]),
            (0x80, &[0x81, 0x00]),
            (0x2000, &[0xC0, 0x00]),
            (0x0FFF_FFFF, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            write_varlen(&mut out, value);
            assert_eq!(out, bytes, "{value:#x}");
        }
    }

    #[test]
    fn the_time_signature_is_the_grids_meter() {
        // FF 58 04 nn dd cc bb: numerator, log2 of the denominator, clocks per click, 32nds per
        // quarter.
        let time_signature = |quarters_per_measure| {
            let grid = Grid {
                quarters_per_measure,
                ..Grid::PAPER
            };
            let file = notes_to_midi(&[], grid, &MidiExport::default());
            let at = file
                .windows(3)
                .position(|w| w == [0xFF, 0x58, 0x04])
                .expect("a time signature event");
            file[at + 3..at + 7].to_vec()
        };
        assert_eq!(time_signature(4), [4, 2, 24, 8]);
        assert_eq!(time_signature(3), [3, 2, 24, 8]);
    }
}

//! Reading Standard MIDI Files onto the time-pitch grid.
//!
//! A file becomes a [`Score`]: every note of every track and channel (except the percussion
//! channel) on the grid of [`Grid::steps_per_quarter`] steps per quarter note, plus the time
//! signatures that say where the 4/4 measures are. The grid is counted in ticks per quarter
//! note, so tempo changes speed the music up or down without moving any note on the grid.
//!
//! How the events of a file become notes:
//! - Note-on with velocity 0 is a note-off (running status is handled by `midly`).
//! - Notes pair per track, channel and pitch. A second note-on of a pitch that is still
//!   sounding on the same track and channel ends the first note and starts a new one (at the
//!   same tick as the first, it is a duplicate and changes nothing). A
//!   note-off at the very tick of such a restart is taken as the end of the earlier note (some
//!   writers put the off after the new on), so a repeated note keeps its full length.
//! - A note never released ends at the end of the file (the last event of any track).
//! - Onsets and ends are rounded to the nearest step (halfway rounds later); a note that rounds
//!   to zero length keeps one step, so short grace notes are not lost.

use std::path::Path;

use midly::{MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

use crate::geometry::Grid;
use crate::piano_roll::{Note, PianoRoll};
use crate::ModelError;

/// MIDI channel index 9, "channel 10" to musicians: General MIDI percussion, which has no
/// pitches to learn from.
const PERCUSSION_CHANNEL: u8 = 9;

/// The longest file accepted, in quarter notes (12,500 measures of 4/4, hours of music). A
/// corrupted delta time can otherwise claim a length whose piano roll would not fit in memory.
pub const MAX_QUARTER_NOTES: u64 = 50_000;

/// A MIDI file on the time-pitch grid: its notes, meters and first tempo.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// All notes of all tracks and channels except channel 10, in steps from tick 0, sorted by
    /// start step (then end, then pitch). Pitches outside the grid are kept here; the roll
    /// counts and skips them.
    pub notes: Vec<Note>,
    /// Time signature spans, in order, covering steps `0..end_step` without gaps. The dataset
    /// cuts measures only from 4/4 spans.
    pub meter_spans: Vec<MeterSpan>,
    /// The tempo in force at tick 0 (or the first tempo event), in quarter notes per minute;
    /// 120 when the file has none, as the MIDI standard says. Exports reuse it.
    pub tempo_bpm: f64,
    /// The length of the music in steps: the end of the last note or the end of the longest
    /// track, whichever is later.
    pub end_step: usize,
    /// The file's resolution, kept so that tools can report how fine the source grid was.
    pub ticks_per_quarter: u16,
}

/// A stretch of the score under one time signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeterSpan {
    pub start_step: usize,
    /// Exclusive end.
    pub end_step: usize,
    /// Beats per measure, as written in the time signature.
    pub numerator: u8,
    /// The beat's note value (4 = quarter); 0 when the file gives a value that is not a power
    /// of two below 256.
    pub denominator: u8,
}

impl MeterSpan {
    /// Whether this span is in a meter whose measure is four quarter notes: 4/4, or 2/2 (alla
    /// breve, common in Bach), which has the same bar lines.
    pub fn is_four_four(&self) -> bool {
        matches!((self.numerator, self.denominator), (4, 4) | (2, 2))
    }

    /// Steps in one measure of this meter on `grid`, or `None` when the meter is degenerate
    /// (a zero numerator or an unreadable denominator).
    pub fn measure_steps(&self, grid: Grid) -> Option<usize> {
        if self.numerator == 0 || self.denominator == 0 {
            return None;
        }
        let whole_note_steps = 4 * grid.steps_per_quarter;
        let steps = self.numerator as usize * whole_note_steps / self.denominator as usize;
        (steps > 0).then_some(steps)
    }
}

/// One measure of the score, as the bar lines divide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    pub start_step: usize,
    /// Steps from this bar line to the next; shorter than a full measure for a pickup or for an
    /// incomplete last measure.
    pub len_steps: usize,
    /// The bar number as a score prints it: a pickup is bar 0, the first whole measure bar 1.
    pub number: u32,
    /// Whether the bar is a whole measure of a 4/4 span, the only kind the model learns.
    pub whole_four_four: bool,
}

/// Reads a Standard MIDI File (format 0 or 1, ticks per quarter note) from its bytes.
///
/// Format 2, SMPTE timing, truncated files and files longer than [`MAX_QUARTER_NOTES`] are
/// refused with an error; no input makes this panic.
pub fn read_midi(bytes: &[u8], grid: Grid) -> Result<Score, ModelError> {
    let header = check_chunks(bytes)?;
    if header.format == 2 {
        return Err(ModelError::MidiFormat2);
    }
    if header.division & 0x8000 != 0 {
        return Err(ModelError::MidiSmpte);
    }

    let smf = Smf::parse(bytes).map_err(|e| ModelError::MidiParse(e.to_string()))?;
    let ticks_per_quarter = match smf.header.timing {
        Timing::Metrical(tpq) if tpq.as_int() > 0 => tpq.as_int(),
        Timing::Metrical(_) => {
            return Err(ModelError::MidiParse(
                "the header declares 0 ticks per quarter note".into(),
            ))
        }
        Timing::Timecode(..) => return Err(ModelError::MidiSmpte),
    };

    let events = collect_events(&smf);
    let quantiser = Quantiser {
        ticks_per_quarter: ticks_per_quarter as u64,
        steps_per_quarter: grid.steps_per_quarter as u64,
    };
    check_length(events.end_tick, ticks_per_quarter)?;

    let mut notes: Vec<Note> = events.notes.iter().map(|n| quantiser.note(n)).collect();
    notes.sort();
    let end_step = notes
        .iter()
        .map(|n| n.end_step)
        .max()
        .unwrap_or(0)
        .max(quantiser.step(events.end_tick));
    let meter_spans = meter_spans(&events.time_signatures, &quantiser, end_step);

    Ok(Score {
        notes,
        meter_spans,
        tempo_bpm: events.first_tempo_bpm.unwrap_or(120.0),
        end_step,
        ticks_per_quarter,
    })
}

/// The largest MIDI file read: a keyboard piece takes tens of kilobytes, the longest scores a
/// few megabytes.
pub const MAX_MIDI_FILE_BYTES: u64 = 64 << 20;

/// Reads a MIDI file from disk; errors name the file.
pub fn read_midi_file(path: &Path, grid: Grid) -> Result<Score, ModelError> {
    let bytes = crate::files::read_regular_file(path, MAX_MIDI_FILE_BYTES)?;
    read_midi(&bytes, grid).map_err(|e| e.in_file(path))
}

impl Score {
    /// The bar lines of the score given a pickup (upbeat) of `pickup_steps` in its first span.
    ///
    /// MIDI files do not mark an upbeat, so the caller says how long it is (see
    /// [`crate::pickup::detect_pickup`]). Later spans start their measures at their own first
    /// step, where a well-formed file changes meter. A pickup longer than a measure is taken
    /// modulo the measure.
    pub fn bars(&self, grid: Grid, pickup_steps: usize) -> Vec<Bar> {
        let mut bars = Vec::new();
        let mut number = 1u32;
        for (i, span) in self.meter_spans.iter().enumerate() {
            let Some(measure_steps) = span.measure_steps(grid) else {
                continue;
            };
            let mut start = span.start_step;
            let pickup = if i == 0 {
                pickup_steps % measure_steps
            } else {
                0
            };
            if pickup > 0 {
                let len_steps = pickup.min(span.end_step - start);
                bars.push(Bar {
                    start_step: start,
                    len_steps,
                    number: 0,
                    whole_four_four: false,
                });
                start += len_steps;
            }
            while start < span.end_step {
                let len_steps = measure_steps.min(span.end_step - start);
                bars.push(Bar {
                    start_step: start,
                    len_steps,
                    number,
                    whole_four_four: span.is_four_four()
                        && len_steps == measure_steps
                        && measure_steps == grid.steps_per_measure(),
                });
                number = number.saturating_add(1);
                start += len_steps;
            }
        }
        bars
    }

    /// Bar lines (start steps) of the whole 4/4 measures, given a pickup in steps, on the
    /// paper's grid (see [`Score::four_four_bars`] for another grid).
    pub fn four_four_measures(&self, pickup_steps: usize) -> Vec<usize> {
        self.four_four_bars(Grid::PAPER, pickup_steps)
            .iter()
            .map(|bar| bar.start_step)
            .collect()
    }

    /// The whole 4/4 measures on `grid`, with their bar numbers.
    pub fn four_four_bars(&self, grid: Grid, pickup_steps: usize) -> Vec<Bar> {
        self.bars(grid, pickup_steps)
            .into_iter()
            .filter(|bar| bar.whole_four_four)
            .collect()
    }

    /// Measures in meters other than 4/4 (counted by their own measure length, a partial one
    /// included): what the dataset skips and reports.
    pub fn other_meter_measures(&self, grid: Grid) -> usize {
        self.meter_spans
            .iter()
            .filter(|span| !span.is_four_four())
            .map(|span| {
                let len = span.end_step - span.start_step;
                match span.measure_steps(grid) {
                    Some(measure) => len.div_ceil(measure),
                    None => usize::from(len > 0),
                }
            })
            .sum()
    }

    /// The notes as a roll of `end_step` steps; the second value counts notes whose pitch has
    /// no row on `grid` (they are left out).
    pub fn roll(&self, grid: Grid) -> (PianoRoll, usize) {
        PianoRoll::from_notes(grid, self.end_step, &self.notes)
    }
}

/// What the chunk walk learns from the file header.
struct ChunkHeader {
    format: u16,
    division: u16,
}

/// Walks the chunk structure before `midly` sees the file: `midly` quietly keeps whatever it
/// can of a truncated file, and a training set should not learn from half a piece unknowingly.
fn check_chunks(bytes: &[u8]) -> Result<ChunkHeader, ModelError> {
    let parse_error = |message: String| Err(ModelError::MidiParse(message));
    if bytes.len() < 14 || &bytes[0..4] != b"MThd" {
        return parse_error("the file does not start with a MIDI header (MThd)".into());
    }
    let header_len = be_u32(&bytes[4..8]) as usize;
    if header_len < 6 || header_len > bytes.len() - 8 {
        return parse_error(format!("the MIDI header declares {header_len} bytes"));
    }
    let format = be_u16(&bytes[8..10]);
    let declared_tracks = be_u16(&bytes[10..12]) as usize;
    let division = be_u16(&bytes[12..14]);
    if format > 2 {
        return parse_error(format!("unknown MIDI file format {format}"));
    }

    let mut offset = 8 + header_len;
    let mut tracks = 0usize;
    while tracks < declared_tracks {
        let remaining = bytes.len() - offset;
        if remaining < 8 {
            return parse_error(format!(
                "the file is truncated: the header declares {declared_tracks} tracks but it \
                 ends after {tracks}"
            ));
        }
        let id = &bytes[offset..offset + 4];
        let len = be_u32(&bytes[offset + 4..offset + 8]) as usize;
        if len > remaining - 8 {
            return parse_error(format!(
                "the file is truncated: a chunk declares {len} bytes but only {} remain",
                remaining - 8
            ));
        }
        if id == b"MTrk" {
            tracks += 1;
        }
        offset += 8 + len;
    }
    Ok(ChunkHeader { format, division })
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn be_u16(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[0], bytes[1]])
}

fn check_length(end_tick: u64, ticks_per_quarter: u16) -> Result<(), ModelError> {
    let quarter_notes = end_tick / ticks_per_quarter as u64;
    if quarter_notes > MAX_QUARTER_NOTES {
        return Err(ModelError::MidiTooLong {
            quarter_notes,
            limit: MAX_QUARTER_NOTES,
        });
    }
    Ok(())
}

/// A note in ticks, before quantisation.
struct TickNote {
    start_tick: u64,
    end_tick: u64,
    pitch: u8,
    velocity: u8,
}

/// A time signature event: the tick it takes effect, numerator, denominator.
type TimeSignatureAt = (u64, u8, u8);

/// The events of all tracks that matter to the grid, in absolute ticks.
struct MergedEvents {
    notes: Vec<TickNote>,
    /// In file order of (tick, track), so that the last of several at one tick wins.
    time_signatures: Vec<TimeSignatureAt>,
    first_tempo_bpm: Option<f64>,
    /// The tick of the last event of the longest track.
    end_tick: u64,
}

/// A note that has started and not ended yet.
#[derive(Clone, Copy)]
struct Sounding {
    start_tick: u64,
    velocity: u8,
    /// Whether this note's note-on ended an earlier note of the same pitch at `start_tick`.
    restarted: bool,
}

fn collect_events(smf: &Smf) -> MergedEvents {
    let mut merged = MergedEvents {
        notes: Vec::new(),
        time_signatures: Vec::new(),
        first_tempo_bpm: None,
        end_tick: 0,
    };
    let mut tempos: Vec<(u64, f64)> = Vec::new();

    for track in &smf.tracks {
        // Indexed by channel * 128 + pitch.
        let mut sounding: Vec<Option<Sounding>> = vec![None; 16 * 128];
        let mut tick = 0u64;
        for event in track {
            tick = tick.saturating_add(event.delta.as_int() as u64);
            match event.kind {
                TrackEventKind::Midi { channel, message } => {
                    let channel = channel.as_int();
                    if channel == PERCUSSION_CHANNEL {
                        continue;
                    }
                    let base = channel as usize * 128;
                    match message {
                        MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                            let slot = &mut sounding[base + key.as_int() as usize];
                            let restarted = slot.is_some();
                            // A duplicate note-on at the very same tick is the same note.
                            if let Some(earlier) = slot.take().filter(|n| n.start_tick < tick) {
                                merged.notes.push(end_note(earlier, key.as_int(), tick));
                            }
                            *slot = Some(Sounding {
                                start_tick: tick,
                                velocity: vel.as_int(),
                                restarted,
                            });
                        }
                        MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                            let slot = &mut sounding[base + key.as_int() as usize];
                            match *slot {
                                // The off that belongs to the note this one restarted.
                                Some(note) if note.restarted && note.start_tick == tick => {
                                    slot.replace(Sounding {
                                        restarted: false,
                                        ..note
                                    });
                                }
                                Some(note) => {
                                    merged.notes.push(end_note(note, key.as_int(), tick));
                                    *slot = None;
                                }
                                None => {}
                            }
                        }
                        _ => {}
                    }
                }
                TrackEventKind::Meta(MetaMessage::Tempo(micros_per_quarter)) => {
                    let micros = micros_per_quarter.as_int();
                    if micros > 0 {
                        tempos.push((tick, 60_000_000.0 / micros as f64));
                    }
                }
                TrackEventKind::Meta(MetaMessage::TimeSignature(numerator, power, _, _)) => {
                    let denominator = 1u32
                        .checked_shl(power as u32)
                        .and_then(|d| u8::try_from(d).ok())
                        .unwrap_or(0);
                    merged.time_signatures.push((tick, numerator, denominator));
                }
                _ => {}
            }
        }

        // Notes never released end with the file; the end is known only after all tracks.
        merged.end_tick = merged.end_tick.max(tick);
        for (index, slot) in sounding.iter().enumerate() {
            if let Some(note) = slot {
                merged.notes.push(TickNote {
                    start_tick: note.start_tick,
                    end_tick: u64::MAX,
                    pitch: (index % 128) as u8,
                    velocity: note.velocity,
                });
            }
        }
    }

    for note in &mut merged.notes {
        note.end_tick = note.end_tick.min(merged.end_tick);
    }
    // Stable sorts: the track order breaks ties at one tick.
    merged.time_signatures.sort_by_key(|&(tick, _, _)| tick);
    tempos.sort_by_key(|&(tick, _)| tick);
    merged.first_tempo_bpm = tempos.first().map(|&(_, bpm)| bpm);
    merged
}

fn end_note(note: Sounding, pitch: u8, end_tick: u64) -> TickNote {
    TickNote {
        start_tick: note.start_tick,
        end_tick,
        pitch,
        velocity: note.velocity,
    }
}

/// Rounds ticks to grid steps.
struct Quantiser {
    ticks_per_quarter: u64,
    steps_per_quarter: u64,
}

impl Quantiser {
    /// The nearest step to `tick`, halfway rounding up. Callers have capped `tick` through
    /// [`check_length`], except note ends clamped to the file end, which is capped too.
    fn step(&self, tick: u64) -> usize {
        let scaled = tick as u128 * self.steps_per_quarter as u128;
        let tpq = self.ticks_per_quarter as u128;
        ((scaled + tpq / 2) / tpq) as usize
    }

    fn note(&self, note: &TickNote) -> Note {
        let start_step = self.step(note.start_tick);
        let end_step = self.step(note.end_tick).max(start_step + 1);
        Note {
            start_step,
            end_step,
            pitch: note.pitch,
            velocity: note.velocity,
        }
    }
}

/// Turns time signature events into spans covering `0..end_step`. Before the first event the
/// meter is 4/4, the MIDI default.
fn meter_spans(
    time_signatures: &[TimeSignatureAt],
    quantiser: &Quantiser,
    end_step: usize,
) -> Vec<MeterSpan> {
    let mut spans: Vec<MeterSpan> = Vec::new();
    let mut current = MeterSpan {
        start_step: 0,
        end_step,
        numerator: 4,
        denominator: 4,
    };
    for &(tick, numerator, denominator) in time_signatures {
        let step = quantiser.step(tick).min(end_step);
        if step > current.start_step {
            spans.push(MeterSpan {
                end_step: step,
                ..current
            });
            current.start_step = step;
        }
        current.numerator = numerator;
        current.denominator = denominator;
    }
    if current.start_step < end_step {
        spans.push(current);
    }

    // Repeated events of the same meter make one span.
    let mut merged: Vec<MeterSpan> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last)
                if last.numerator == span.numerator && last.denominator == span.denominator =>
            {
                last.end_step = span.end_step;
            }
            _ => merged.push(span),
        }
    }
    merged
}

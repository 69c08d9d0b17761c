//! MIDI in and out, checked on files written with `midly` from known notes, and on the corpus.
//!
//! Expected cells are worked out by hand from the grid: 24 steps per quarter note, row =
//! pitch - 24 (C1), so C4 (MIDI 60) is row 36.

use std::path::Path;

use continuo_model::midi_in::{read_midi, read_midi_file, MeterSpan};
use continuo_model::midi_out::{notes_to_midi, roll_to_midi, MidiExport};
use continuo_model::{Grid, ModelError, Note, PianoRoll};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

/// An event at an absolute tick; [`smf`] turns the ticks into deltas.
#[derive(Clone, Copy)]
enum Ev {
    On(u32, u8, u8),
    Off(u32, u8),
    OnChannel(u32, u8, u8, u8),
    Tempo(u32, u32),
    Meter(u32, u8, u8),
    End(u32),
}

fn kind(ev: Ev) -> (u32, TrackEventKind<'static>) {
    let midi = |tick, channel: u8, message| {
        (
            tick,
            TrackEventKind::Midi {
                channel: u4::new(channel),
                message,
            },
        )
    };
    match ev {
        Ev::On(tick, key, vel) => midi(
            tick,
            0,
            MidiMessage::NoteOn {
                key: u7::new(key),
                vel: u7::new(vel),
            },
        ),
        Ev::OnChannel(tick, channel, key, vel) => midi(
            tick,
            channel,
            MidiMessage::NoteOn {
                key: u7::new(key),
                vel: u7::new(vel),
            },
        ),
        Ev::Off(tick, key) => midi(
            tick,
            0,
            MidiMessage::NoteOff {
                key: u7::new(key),
                vel: u7::new(0),
            },
        ),
        Ev::Tempo(tick, micros) => (
            tick,
            TrackEventKind::Meta(MetaMessage::Tempo(u24::new(micros))),
        ),
        Ev::Meter(tick, numerator, power) => (
            tick,
            TrackEventKind::Meta(MetaMessage::TimeSignature(numerator, power, 24, 8)),
        ),
        Ev::End(tick) => (tick, TrackEventKind::Meta(MetaMessage::EndOfTrack)),
    }
}

/// A Standard MIDI File written by `midly` (not by the code under test). Events of a track are
/// given in order with absolute ticks; an end of track is added after the last one.
fn smf(format: Format, ticks_per_quarter: u16, tracks: &[&[Ev]]) -> Vec<u8> {
    let mut file = Smf::new(Header::new(
        format,
        Timing::Metrical(u15::new(ticks_per_quarter)),
    ));
    for events in tracks {
        let mut track = Vec::new();
        let mut last = 0;
        let mut has_end = false;
        for &ev in events.iter() {
            let (tick, kind) = kind(ev);
            has_end |= matches!(ev, Ev::End(_));
            track.push(TrackEvent {
                delta: u28::new(tick - last),
                kind,
            });
            last = tick;
        }
        if !has_end {
            let (_, end) = kind(Ev::End(last));
            track.push(TrackEvent {
                delta: u28::new(0),
                kind: end,
            });
        }
        file.tracks.push(track);
    }
    let mut bytes = Vec::new();
    file.write_std(&mut bytes).expect("midly writes to a Vec");
    bytes
}

fn note(start_step: usize, end_step: usize, pitch: u8, velocity: u8) -> Note {
    Note {
        start_step,
        end_step,
        pitch,
        velocity,
    }
}

/// The on-steps of one row of a roll.
fn row_steps(roll: &PianoRoll, row: usize) -> Vec<usize> {
    (0..roll.steps()).filter(|&s| roll.get(s, row)).collect()
}

#[test]
fn a_quarter_note_c4_on_beat_two_fills_steps_24_to_48_of_row_36() {
    for ticks_per_quarter in [384, 96, 480] {
        let tpq = ticks_per_quarter as u32;
        let bytes = smf(
            Format::Parallel,
            ticks_per_quarter,
            &[&[Ev::On(tpq, 60, 90), Ev::Off(2 * tpq, 60), Ev::End(4 * tpq)]],
        );
        let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
        assert_eq!(score.notes, vec![note(24, 48, 60, 90)]);
        assert_eq!(score.end_step, 96);
        assert_eq!(score.ticks_per_quarter, ticks_per_quarter);
        assert_eq!(score.tempo_bpm, 120.0);

        let (roll, out_of_range) = score.roll(Grid::PAPER);
        assert_eq!(out_of_range, 0);
        assert_eq!(roll.steps(), 96);
        assert_eq!(roll.ones(), 24);
        assert_eq!(row_steps(&roll, 36), (24..48).collect::<Vec<_>>());
    }
}

#[test]
fn an_eighth_note_triplet_takes_eight_steps_per_note() {
    // 384 ticks per quarter: an eighth triplet is 128 ticks, 8 steps.
    let bytes = smf(
        Format::SingleTrack,
        384,
        &[&[
            Ev::On(0, 72, 80),
            Ev::Off(128, 72),
            Ev::On(128, 74, 80),
            Ev::Off(256, 74),
            Ev::On(256, 76, 80),
            Ev::Off(384, 76),
        ]],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(
        score.notes,
        vec![
            note(0, 8, 72, 80),
            note(8, 16, 74, 80),
            note(16, 24, 76, 80)
        ]
    );
    let (roll, _) = score.roll(Grid::PAPER);
    assert_eq!(row_steps(&roll, 48), (0..8).collect::<Vec<_>>());
    assert_eq!(row_steps(&roll, 50), (8..16).collect::<Vec<_>>());
    assert_eq!(row_steps(&roll, 52), (16..24).collect::<Vec<_>>());
}

#[test]
fn ticks_round_to_the_nearest_step_and_short_notes_keep_one_step() {
    // 384 ticks per quarter: 16 ticks per step. Tick 7 rounds down, tick 8 (halfway) up,
    // tick 40 to step 3 (2.5 rounds up); a note of 3 ticks rounds to zero length.
    let bytes = smf(
        Format::SingleTrack,
        384,
        &[&[
            Ev::On(7, 60, 64),
            Ev::On(8, 62, 64),
            Ev::Off(11, 62),
            Ev::Off(40, 60),
            Ev::On(100, 64, 64),
            Ev::Off(100, 64),
        ]],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(
        score.notes,
        vec![
            note(0, 3, 60, 64),
            note(1, 2, 62, 64),
            // Tick 100 = step 6.25 -> 6; zero ticks long, kept as one step.
            note(6, 7, 64, 64),
        ]
    );
}

#[test]
fn velocity_zero_note_on_ends_a_note_and_running_status_is_read() {
    // Written with midly: note-on velocity 0 as the note-off.
    let bytes = smf(
        Format::SingleTrack,
        96,
        &[&[Ev::On(0, 67, 100), Ev::On(96, 67, 0), Ev::End(192)]],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(score.notes, vec![note(0, 24, 67, 100)]);

    // The same by hand with running status: one 0x90 status byte for all four note messages.
    #[rustfmt::skip]
    let track: &[u8] = &[
        0x00, 0x90, 60, 100, // on C4
        0x00, 62, 100,       // on D4 (running status)
        0x60, 60, 0,         // 96 ticks later: C4 off (velocity 0)
        0x00, 62, 0,         // D4 off
        0x00, 0xFF, 0x2F, 0x00,
    ];
    let mut bytes = b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk".to_vec();
    bytes.extend_from_slice(&(track.len() as u32).to_be_bytes());
    bytes.extend_from_slice(track);
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(
        score.notes,
        vec![note(0, 24, 60, 100), note(0, 24, 62, 100)]
    );
}

#[test]
fn a_second_note_on_of_a_sounding_pitch_ends_the_first_and_starts_a_new_one() {
    // On at beat 1, on again at beat 2, offs at beats 3 and 4: two notes, the second off
    // finds nothing sounding and is ignored.
    let bytes = smf(
        Format::SingleTrack,
        384,
        &[&[
            Ev::On(0, 60, 90),
            Ev::On(384, 60, 70),
            Ev::Off(768, 60),
            Ev::Off(1152, 60),
        ]],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(score.notes, vec![note(0, 24, 60, 90), note(24, 48, 60, 70)]);
    let (roll, _) = score.roll(Grid::PAPER);
    assert_eq!(row_steps(&roll, 36), (0..48).collect::<Vec<_>>());
    assert_eq!(score.end_step, 72);

    // A writer that puts the new note-on before the old note-off at the same tick: the off
    // belongs to the earlier note, and the repeated note keeps its full length.
    let bytes = smf(
        Format::SingleTrack,
        384,
        &[&[
            Ev::On(0, 60, 90),
            Ev::On(384, 60, 90),
            Ev::Off(384, 60),
            Ev::Off(768, 60),
        ]],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(score.notes, vec![note(0, 24, 60, 90), note(24, 48, 60, 90)]);

    // A doubled note-on at one tick (a unison written twice) is one note.
    let bytes = smf(
        Format::SingleTrack,
        384,
        &[&[
            Ev::On(0, 60, 90),
            Ev::On(0, 60, 90),
            Ev::Off(384, 60),
            Ev::Off(384, 60),
        ]],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(score.notes, vec![note(0, 24, 60, 90)]);
}

#[test]
fn a_note_never_released_ends_with_the_file() {
    let bytes = smf(
        Format::Parallel,
        384,
        &[
            &[Ev::Tempo(0, 500_000), Ev::End(384 * 8)],
            &[Ev::On(384, 48, 90)],
        ],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    // The file ends at the end of the longest track, tick 3072 = step 192.
    assert_eq!(score.notes, vec![note(24, 192, 48, 90)]);
    assert_eq!(score.end_step, 192);
}

#[test]
fn tracks_merge_and_the_percussion_channel_is_left_out() {
    let bytes = smf(
        Format::Parallel,
        384,
        &[
            &[Ev::Meter(0, 4, 2), Ev::Tempo(0, 600_000)],
            &[Ev::On(0, 72, 90), Ev::Off(384, 72)],
            &[
                Ev::OnChannel(0, 1, 48, 90),
                Ev::OnChannel(0, 9, 36, 90), // a bass drum on channel 10
                Ev::Off(384, 36),
                Ev::OnChannel(768, 1, 48, 0),
            ],
        ],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(score.notes, vec![note(0, 24, 72, 90), note(0, 48, 48, 90)]);
    assert_eq!(score.tempo_bpm, 100.0);
}

#[test]
fn a_tempo_change_does_not_move_the_grid() {
    // Tempo doubles at beat 3; notes stay where their ticks put them.
    let bytes = smf(
        Format::Parallel,
        384,
        &[
            &[Ev::Tempo(0, 500_000), Ev::Tempo(768, 250_000)],
            &[
                Ev::On(0, 60, 90),
                Ev::Off(384, 60),
                Ev::On(768, 64, 90),
                Ev::Off(1152, 64),
                Ev::On(1536, 67, 90),
                Ev::Off(1920, 67),
            ],
        ],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(
        score.notes,
        vec![
            note(0, 24, 60, 90),
            note(48, 72, 64, 90),
            note(96, 120, 67, 90)
        ]
    );
    assert_eq!(score.tempo_bpm, 120.0);
}

#[test]
fn a_three_four_section_is_skipped_and_counted() {
    // Two bars of 4/4 (steps 0..192), two bars of 3/4 (192..336), two bars of 4/4 (336..528).
    let q = 384;
    let bytes = smf(
        Format::Parallel,
        q as u16,
        &[
            &[
                Ev::Meter(0, 4, 2),
                Ev::Meter(8 * q, 3, 2),
                Ev::Meter(14 * q, 4, 2),
            ],
            &[Ev::On(0, 60, 90), Ev::Off(22 * q, 60)],
        ],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(
        score.meter_spans,
        vec![
            MeterSpan {
                start_step: 0,
                end_step: 192,
                numerator: 4,
                denominator: 4
            },
            MeterSpan {
                start_step: 192,
                end_step: 336,
                numerator: 3,
                denominator: 4
            },
            MeterSpan {
                start_step: 336,
                end_step: 528,
                numerator: 4,
                denominator: 4
            },
        ]
    );
    assert_eq!(score.four_four_measures(0), vec![0, 96, 336, 432]);
    assert_eq!(score.other_meter_measures(Grid::PAPER), 2);
    // Printed bar numbers run through the 3/4 bars: 1, 2, (3, 4), 5, 6.
    let numbers: Vec<u32> = score
        .four_four_bars(Grid::PAPER, 0)
        .iter()
        .map(|b| b.number)
        .collect();
    assert_eq!(numbers, vec![1, 2, 5, 6]);
}

#[test]
fn a_pickup_moves_the_bar_lines_and_makes_a_bar_zero() {
    // A quarter-note pickup, then three bars: bar lines at 24, 120, 216; the file ends at
    // 24 + 3 * 96 = 312, so all three are whole.
    let bytes = smf(
        Format::SingleTrack,
        384,
        &[&[Ev::On(0, 60, 90), Ev::Off(13 * 384, 60)]],
    );
    let score = read_midi(&bytes, Grid::PAPER).expect("a valid file");
    assert_eq!(score.end_step, 312);
    assert_eq!(score.four_four_measures(24), vec![24, 120, 216]);
    let bars = score.bars(Grid::PAPER, 24);
    assert_eq!((bars[0].number, bars[0].len_steps), (0, 24));
    assert_eq!(score.four_four_measures(0), vec![0, 96, 192]);
}

#[test]
fn format_2_smpte_and_truncated_files_are_refused_without_panic() {
    let notes: &[Ev] = &[Ev::On(0, 60, 90), Ev::Off(384, 60)];
    let format_2 = smf(Format::Sequential, 384, &[notes, notes]);
    assert!(matches!(
        read_midi(&format_2, Grid::PAPER),
        Err(ModelError::MidiFormat2)
    ));

    let mut smpte = smf(Format::SingleTrack, 384, &[notes]);
    // Division field: -25 frames per second, 40 ticks per frame.
    smpte[12] = 0xE7;
    smpte[13] = 40;
    assert!(matches!(
        read_midi(&smpte, Grid::PAPER),
        Err(ModelError::MidiSmpte)
    ));

    // Every proper prefix of a valid file is refused.
    let valid = smf(
        Format::Parallel,
        384,
        &[&[Ev::Tempo(0, 500_000)], notes, notes],
    );
    assert!(read_midi(&valid, Grid::PAPER).is_ok());
    for len in 0..valid.len() {
        let result = read_midi(&valid[..len], Grid::PAPER);
        assert!(result.is_err(), "a file cut to {len} bytes was accepted");
    }
    let message = read_midi(&valid[..valid.len() - 3], Grid::PAPER)
        .expect_err("truncated")
        .to_string();
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn random_and_mangled_bytes_never_panic() {
    // A small xorshift generator keeps the test reproducible without a dependency.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2_000 {
        let len = (next() % 200) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = read_midi(&bytes, Grid::PAPER);
    }

    // Valid headers with garbage track bodies, and absurd delta times.
    let valid = smf(
        Format::Parallel,
        384,
        &[&[Ev::On(0, 60, 90), Ev::Off(384, 60)]],
    );
    for _ in 0..2_000 {
        let mut bytes = valid.clone();
        for _ in 0..4 {
            let at = 22 + (next() as usize) % (bytes.len() - 22);
            bytes[at] = next() as u8;
        }
        let _ = read_midi(&bytes, Grid::PAPER);
    }
    let huge_delta = smf(
        Format::SingleTrack,
        1,
        &[&[Ev::On(0, 60, 90), Ev::Off(0x0FFF_FFFF, 60)]],
    );
    assert!(matches!(
        read_midi(&huge_delta, Grid::PAPER),
        Err(ModelError::MidiTooLong { .. })
    ));
}

#[test]
fn a_missing_file_error_names_the_file() {
    let path = Path::new("/nonexistent/continuo/piece.mid");
    let message = read_midi_file(path, Grid::PAPER)
        .expect_err("no such file")
        .to_string();
    assert!(
        message.contains("/nonexistent/continuo/piece.mid"),
        "{message}"
    );
}

#[test]
fn written_notes_read_back_with_their_steps_and_velocities() {
    let notes = vec![
        note(0, 24, 60, 90),
        note(8, 16, 95, 1),
        note(24, 25, 24, 127),
        note(96, 192, 67, 64),
    ];
    let export = MidiExport {
        tempo_bpm: 90.0,
        velocity: 80,
        channel: 3,
        ticks_per_quarter: 480,
    };
    let bytes = notes_to_midi(&notes, Grid::PAPER, &export);
    let score = read_midi(&bytes, Grid::PAPER).expect("our own file reads back");
    assert_eq!(score.notes, notes);
    assert_eq!(score.end_step, 192);
    assert!((score.tempo_bpm - 90.0).abs() < 1e-3);
    assert_eq!(score.ticks_per_quarter, 480);

    // Checked by midly: format 1, two tracks, notes on channel index 3.
    let smf = Smf::parse(&bytes).expect("midly reads our file");
    assert_eq!(smf.header.format, Format::Parallel);
    assert_eq!(smf.tracks.len(), 2);
    assert!(smf.tracks[1].iter().all(|e| match e.kind {
        TrackEventKind::Midi { channel, .. } => channel.as_int() == 3,
        _ => true,
    }));
}

#[test]
fn touching_strikes_of_a_held_pitch_merge_when_a_roll_is_written() {
    // Two eighths of C4 that touch form one run of 24 on-steps: one quarter note.
    let (roll, _) = PianoRoll::from_notes(
        Grid::PAPER,
        96,
        &[
            note(0, 12, 60, 90),
            note(12, 24, 60, 90),
            note(48, 60, 60, 90),
        ],
    );
    let bytes = roll_to_midi(&roll, &MidiExport::default());
    let score = read_midi(&bytes, Grid::PAPER).expect("our own file reads back");
    assert_eq!(score.notes, vec![note(0, 24, 60, 90), note(48, 60, 60, 90)]);
    assert_eq!(score.end_step, 96, "trailing silence is kept");
}

#[test]
fn every_corpus_file_survives_midi_roll_midi_roll() {
    let files = continuo_model::dataset::midi_files(Path::new(CORPUS)).expect("the corpus");
    assert_eq!(files.len(), 75);
    for path in files {
        let score = read_midi_file(&path, Grid::PAPER).expect("corpus files are readable");
        let (roll, _) = score.roll(Grid::PAPER);
        let bytes = roll_to_midi(&roll, &MidiExport::default());
        let again = read_midi(&bytes, Grid::PAPER).expect("our own file reads back");
        let (roll_again, out_of_range) = again.roll(Grid::PAPER);
        assert_eq!(out_of_range, 0);
        assert!(
            roll_again == roll,
            "{} changed in the round trip",
            path.display()
        );
        assert!(roll.ones() > 0);
    }
}

//! The bit-packed dataset and the cutting of a corpus into two-measure images.
//!
//! Visible unit numbers are worked out by hand: unit = step * 72 + row, row = pitch - 24.

use std::path::{Path, PathBuf};

use continuo_model::dataset::{
    build_dataset, Dataset, DatasetOptions, PickupSource, Provenance, FORMAT_VERSION,
};
use continuo_model::{Geometry, Grid, ModelError, Note, PianoRoll};
use midly::num::{u15, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

fn note(start_step: usize, end_step: usize, pitch: u8) -> Note {
    Note {
        start_step,
        end_step,
        pitch,
        velocity: 90,
    }
}

fn provenance(file: &str, first_bar: u32, transposition: i8) -> Provenance {
    Provenance {
        file: file.to_string(),
        first_bar,
        transposition,
    }
}

/// A format-1 file written by `midly`: a 4/4 tempo track and one track of `notes`, given in
/// steps of 16 ticks (384 per quarter). The file ends at `end_step`.
fn midi_file(notes: &[Note], end_step: usize) -> Vec<u8> {
    let mut events: Vec<(usize, TrackEventKind<'static>)> = Vec::new();
    for n in notes {
        let message = |on: bool| TrackEventKind::Midi {
            channel: u4::new(0),
            message: if on {
                MidiMessage::NoteOn {
                    key: u7::new(n.pitch),
                    vel: u7::new(n.velocity),
                }
            } else {
                MidiMessage::NoteOff {
                    key: u7::new(n.pitch),
                    vel: u7::new(0),
                }
            },
        };
        events.push((n.start_step * 16 + 1, message(true)));
        events.push((n.end_step * 16, message(false)));
    }
    // Offs (at whole steps) sort before ons (one tick later, which rounds back to the step).
    events.sort_by_key(|(tick, _)| *tick);
    events.push((end_step * 16, TrackEventKind::Meta(MetaMessage::EndOfTrack)));

    let mut track = Vec::new();
    let mut last = 0;
    for (tick, kind) in events {
        track.push(TrackEvent {
            delta: u28::new((tick - last) as u32),
            kind,
        });
        last = tick;
    }
    let tempo_track = vec![
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::TimeSignature(4, 2, 24, 8)),
        },
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        },
    ];
    let mut smf = Smf::new(Header::new(
        Format::Parallel,
        Timing::Metrical(u15::new(384)),
    ));
    smf.tracks = vec![tempo_track, track];
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes).expect("midly writes to a Vec");
    bytes
}

/// A fresh folder under the system's temporary folder.
fn scratch_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("continuo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

#[test]
fn images_pack_to_the_documented_units() {
    let (roll, _) =
        PianoRoll::from_notes(Grid::PAPER, 192, &[note(24, 48, 60), note(191, 300, 95)]);
    let mut dataset = Dataset::new(Geometry::PAPER);
    dataset.push(&roll, provenance("a.mid", 1, 0));
    dataset.push(
        &PianoRoll::new(Grid::PAPER, 192),
        provenance("b.mid", 3, -5),
    );
    assert_eq!(dataset.len(), 2);

    // C4 = row 36 on steps 24..48, then B6 = row 71 on the last step, 191.
    let mut expected: Vec<u32> = (24..48).map(|step| step * 72 + 36).collect();
    expected.push(191 * 72 + 71);
    assert_eq!(*expected.last().unwrap(), 13_823);
    let mut units = vec![7, 7, 7];
    dataset.on_units(0, &mut units);
    assert_eq!(units, expected);
    dataset.on_units(1, &mut units);
    assert!(units.is_empty());

    assert_eq!(dataset.image(0), roll);
    assert_eq!(dataset.provenance(1), &provenance("b.mid", 3, -5));
    // 13,824 bits are 216 words.
    assert_eq!(dataset.packed(0).len(), 216);
}

#[test]
fn the_file_format_round_trips_and_refuses_damage() {
    let mut dataset = Dataset::new(Geometry::PAPER);
    for i in 0..5u8 {
        let (roll, _) =
            PianoRoll::from_notes(Grid::PAPER, 192, &[note(i as usize * 10, 150, 30 + i)]);
        dataset.push(
            &roll,
            provenance(&format!("dir/f{}.mid", i % 2), i as u32, i as i8 - 2),
        );
    }
    let bytes = dataset.to_bytes();
    assert_eq!(Dataset::from_bytes(&bytes).expect("reads back"), dataset);

    // Size: 12-byte header, 9-byte geometry, 4-byte count, file table (4 + 2 * (4 + 10)),
    // 9 bytes of provenance per image, 1,728 bytes per image, 32-byte checksum.
    assert_eq!(bytes.len(), 12 + 9 + 4 + 32 + 5 * 9 + 5 * 1_728 + 32);

    for len in [0, 5, 12, 40, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            Dataset::from_bytes(&bytes[..len]).is_err(),
            "cut to {len} bytes"
        );
    }
    let mut flipped = bytes.clone();
    flipped[100] ^= 0x10;
    let message = Dataset::from_bytes(&flipped)
        .expect_err("altered")
        .to_string();
    assert!(message.contains("checksum"), "{message}");

    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let message = Dataset::from_bytes(&newer).expect_err("newer").to_string();
    assert!(message.contains("version 2"), "{message}");

    assert!(Dataset::from_bytes(b"MThd garbage that is not a dataset at all......").is_err());

    let dir = scratch_folder("dataset-file");
    let path = dir.join("small.dataset");
    dataset.write(&path).expect("written");
    assert_eq!(Dataset::read(&path).expect("read"), dataset);
    let missing = Dataset::read(&dir.join("missing.dataset")).expect_err("missing");
    assert!(missing.to_string().contains("missing.dataset"));
}

#[test]
fn a_corpus_is_cut_at_bar_lines_with_transpositions() {
    let dir = scratch_folder("corpus");
    std::fs::create_dir_all(dir.join("sub")).expect("a subfolder");

    // Four bars. A note crosses from bar 2 into bar 3 (steps 180..200), over the edge between
    // the two hop-2 windows; bar 4 is empty, so window 2 holds only the crossing note's tail.
    let crossing = midi_file(&[note(0, 24, 60), note(180, 200, 62)], 384);
    std::fs::write(dir.join("sub/crossing.mid"), crossing).expect("written");
    // High notes: B6 (95) fits only transpositions -5..=0.
    let high = midi_file(&[note(0, 96, 95), note(96, 192, 84)], 192);
    std::fs::write(dir.join("high.MID"), high).expect("written");
    std::fs::write(dir.join("broken.mid"), b"MThd\0\0").expect("written");
    std::fs::write(dir.join("notes.txt"), b"not MIDI").expect("written");

    let options = DatasetOptions {
        transpositions: -1..=1,
        ..DatasetOptions::default()
    };
    let mut calls = Vec::new();
    let (dataset, report) =
        build_dataset(&dir, &options, &mut |done, all| calls.push((done, all))).expect("built");

    assert_eq!(calls, vec![(1, 3), (2, 3), (3, 3)]);
    assert_eq!(report.files_found, 3);
    assert_eq!(report.files_read, 2);
    assert_eq!(report.files_skipped.len(), 1);
    assert_eq!(report.files_skipped[0].0, "broken.mid");
    assert_eq!(report.four_four_measures, 6);
    assert_eq!(report.windows, 3);
    assert_eq!(report.empty_windows, 0);
    // high.MID: +1 would put 95 at 96, off the grid.
    assert_eq!(
        report.per_transposition,
        vec![(-1, 3, 0), (0, 3, 0), (1, 2, 1)]
    );
    assert_eq!(report.images, 8);
    assert_eq!(dataset.len(), 8);

    // Sorted order: high.MID, then sub/crossing.mid; within a window, transpositions in order.
    let order: Vec<(String, u32, i8)> = (0..dataset.len())
        .map(|i| {
            let p = dataset.provenance(i);
            (p.file.clone(), p.first_bar, p.transposition)
        })
        .collect();
    let expected: Vec<(String, u32, i8)> = [
        ("high.MID", 1, -1),
        ("high.MID", 1, 0),
        ("sub/crossing.mid", 1, -1),
        ("sub/crossing.mid", 1, 0),
        ("sub/crossing.mid", 1, 1),
        ("sub/crossing.mid", 3, -1),
        ("sub/crossing.mid", 3, 0),
        ("sub/crossing.mid", 3, 1),
    ]
    .iter()
    .map(|&(f, b, t)| (f.to_string(), b, t))
    .collect();
    assert_eq!(order, expected);

    // Window 1 of crossing.mid, untransposed: C4 (row 36) on steps 0..24, D4 (row 38) on
    // 180..192. Window 2 (from step 192): D4 on 0..8 only.
    let mut units = Vec::new();
    dataset.on_units(3, &mut units);
    let mut expected: Vec<u32> = (0..24).map(|s| s * 72 + 36).collect();
    expected.extend((180..192).map(|s| s * 72 + 38));
    expected.sort();
    assert_eq!(units, expected);
    dataset.on_units(6, &mut units);
    assert_eq!(units, (0..8).map(|s| s * 72 + 38).collect::<Vec<u32>>());
    // Transposed up a semitone: D#4 is row 39.
    dataset.on_units(7, &mut units);
    assert_eq!(units, (0..8).map(|s| s * 72 + 39).collect::<Vec<u32>>());
}

#[test]
fn hop_one_stated_pickups_and_empty_windows() {
    let dir = scratch_folder("pickups");
    // A half-bar pickup (48 steps), then three bars: bar lines at 48, 144, 240; the file ends
    // at 336. Bar 2 (144..240) is silent.
    let piece = midi_file(
        &[note(0, 48, 60), note(48, 144, 64), note(240, 336, 67)],
        336,
    );
    std::fs::write(dir.join("piece.mid"), &piece).expect("written");

    let mut options = DatasetOptions {
        hop_measures: 1,
        transpositions: 0..=0,
        ..DatasetOptions::default()
    };
    options.pickups.insert("piece.mid".to_string(), 48);
    options.pickups.insert("typo.mid".to_string(), 24);
    let (dataset, report) = build_dataset(&dir, &options, &mut |_, _| {}).expect("built");

    assert_eq!(
        report.pickups,
        vec![("piece.mid".to_string(), 48, PickupSource::Stated)]
    );
    assert_eq!(report.unused_pickups, vec!["typo.mid".to_string()]);
    // Windows at bars 1-2 (48..240) and 2-3 (144..336); none is empty.
    assert_eq!(report.windows, 2);
    assert_eq!(dataset.len(), 2);
    let mut units = Vec::new();
    dataset.on_units(0, &mut units);
    // E4 (row 40) fills the first measure of window 1.
    assert_eq!(units, (0..96).map(|s| s * 72 + 40).collect::<Vec<u32>>());
    dataset.on_units(1, &mut units);
    // G4 (row 43) fills the second measure of window 2.
    assert_eq!(units, (96..192).map(|s| s * 72 + 43).collect::<Vec<u32>>());
    assert_eq!(dataset.provenance(1).first_bar, 2);

    // Six bars holding a single step of sound: of the three hop-2 windows, two are empty.
    let silent = midi_file(&[note(0, 1, 60)], 576);
    std::fs::write(dir.join("silent.mid"), &silent).expect("written");
    std::fs::remove_file(dir.join("piece.mid")).expect("removed");
    let options = DatasetOptions {
        transpositions: 0..=0,
        ..DatasetOptions::default()
    };
    let (dataset, report) = build_dataset(&dir, &options, &mut |_, _| {}).expect("built");
    assert_eq!(report.windows, 3);
    assert_eq!(report.empty_windows, 2);
    assert_eq!(dataset.len(), 1);
}

#[test]
fn a_missing_corpus_folder_is_an_error() {
    let result = build_dataset(
        Path::new("/nonexistent/continuo-corpus"),
        &DatasetOptions::default(),
        &mut |_, _| {},
    );
    assert!(matches!(result, Err(ModelError::Io { .. })));
}

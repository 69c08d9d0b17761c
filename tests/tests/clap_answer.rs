//! Answer mode through a real CLAP host: the first measure of Bach's Invention No. 1 played into
//! `Continuo.clap` at the sample rates, block sizes and tempi DAWs use, and every note that
//! comes back checked against positions worked out from the tempo and the sample rate.
//!
//! The matrix is not a full product (that would take too long): every sample rate, block size,
//! tempo and kind of clock appears in at least one session.

use std::collections::{BTreeMap, BTreeSet};

use continuo_tests::bundle;
use continuo_tests::clap_host::ContinuoClap;
use continuo_tests::music::{self, STEPS_PER_MEASURE};
use continuo_tests::notes::{on_channel, on_grid, pair, GridNote, NoteEvent};
use continuo_tests::record::{last_phrase, MeasureNote, PhraseRecord};
use continuo_tests::scenario::{CallAndAnswer, HostClock, Setup, PLAYER_CHANNEL, PLUGIN_CHANNEL};
use continuo_tests::session::{BlockSizes, Recording};

/// The call: a piece whose first measure is a whole 4/4 bar (no upbeat).
const CALL_PIECE: &str = "bwv772-invention01.mid";
/// Measures in each answer: enough to see one measure continue another.
const ANSWER_MEASURES: u32 = 2;

/// What a session showed about the answer.
struct AnswerReport {
    /// Answer measures that held at least one note.
    played_measures: BTreeSet<u32>,
    /// Answer measures with no note: skipped (not ready at their bar line).
    skipped_measures: u32,
    /// Whether the host ever gave up waiting for the composer.
    gave_up_waiting: bool,
}

/// Plays the call under `setup` and checks everything that must hold whether or not the
/// composer was ready; returns what the answer looked like.
fn play_call(setup: Setup) -> AnswerReport {
    let bundle = bundle::ensure_built();
    let call = music::first_measure(&bundle::bach_corpus().join(CALL_PIECE));
    let session = CallAndAnswer::new(setup, &call);

    let mut plugin = ContinuoClap::load(&bundle);
    let tempo = format!("{}", setup.tempo_bpm);
    let length = ANSWER_MEASURES.to_string();
    plugin.set(&[
        ("Mode", "Answer"),
        ("Length", &length),
        ("Seed", "1234"),
        ("Pass-through", "On"),
        ("Tempo without host", &tempo),
    ]);
    let recording = plugin.play(&session.script);
    assert_eq!(recording.failed_blocks, 0, "process() failed in {setup:?}");

    check_pass_through(&session, &recording);
    let (report, answer) = check_answer_notes(&session, &recording, setup);
    let record = last_phrase(&plugin.save_state());
    check_record(&session, &record, &answer, setup);
    eprintln!(
        "{setup:?}: answer measures {:?} played, {} skipped, waits {:?}",
        report.played_measures,
        report.skipped_measures,
        recording
            .waits
            .iter()
            .map(|(_, wait)| wait.as_millis())
            .max()
    );
    report
}

/// The player's notes come out unchanged: same samples, keys, channel and velocities.
fn check_pass_through(session: &CallAndAnswer, recording: &Recording) {
    let expected: Vec<NoteEvent> = session
        .script
        .notes
        .iter()
        .map(|note| NoteEvent {
            sample: note.sample,
            on: note.on,
            channel: note.channel,
            pitch: note.pitch,
            velocity: note.velocity,
        })
        .collect();
    assert_eq!(on_channel(&recording.events, PLAYER_CHANNEL), expected);
}

/// The plugin's own notes: paired, on the grid, inside the answer's measures, in range.
/// Returns the report and the notes.
fn check_answer_notes(
    session: &CallAndAnswer,
    recording: &Recording,
    setup: Setup,
) -> (AnswerReport, Vec<GridNote>) {
    let events = on_channel(&recording.events, PLUGIN_CHANNEL);
    let others: Vec<&NoteEvent> = recording
        .events
        .iter()
        .filter(|event| event.channel != PLAYER_CHANNEL && event.channel != PLUGIN_CHANNEL)
        .collect();
    assert!(
        others.is_empty(),
        "notes on unexpected channels: {others:?}"
    );

    let notes = pair(&events).unwrap_or_else(|error| panic!("{setup:?}: {error}"));
    let grid = on_grid(&notes, &session.clock).unwrap_or_else(|error| panic!("{setup:?}: {error}"));
    let answer = session.answer_first_measure..session.answer_end_measure;
    for note in &grid {
        assert!(
            answer.contains(&note.measure()),
            "{setup:?}: {note:?} lies outside the answer's measures {answer:?} (the call \
             ends at step {})",
            session.answer_first_measure * STEPS_PER_MEASURE
        );
    }

    let played_measures: BTreeSet<u32> = grid.iter().map(|note| note.measure()).collect();
    let skipped_measures = answer.len() as u32 - played_measures.len() as u32;
    let gave_up_waiting = recording
        .waits
        .iter()
        .any(|(_, waited)| *waited >= session.script.ready_wait_limit);
    let report = AnswerReport {
        played_measures,
        skipped_measures,
        gave_up_waiting,
    };
    (report, grid)
}

/// Notes by measure, each in steps from its measure's bar line, with touching notes of one
/// pitch merged (a measure of the piano roll holds cells, not notes).
fn by_measure(notes: impl Iterator<Item = (u32, u32, u8)>) -> BTreeMap<u32, Vec<MeasureNote>> {
    let mut cells: BTreeMap<(u32, u8), BTreeSet<u32>> = BTreeMap::new();
    for (start_step, end_step, pitch) in notes {
        for step in start_step..end_step {
            let measure = step / STEPS_PER_MEASURE;
            cells
                .entry((measure, pitch))
                .or_default()
                .insert(step % STEPS_PER_MEASURE);
        }
    }
    let mut measures: BTreeMap<u32, Vec<MeasureNote>> = BTreeMap::new();
    for ((measure, pitch), steps) in cells {
        let mut run: Option<MeasureNote> = None;
        for step in steps {
            match run.as_mut() {
                Some(note) if note.end_step == step => note.end_step = step + 1,
                _ => {
                    measures.entry(measure).or_default().extend(run.take());
                    run = Some(MeasureNote {
                        start_step: step,
                        end_step: step + 1,
                        pitch,
                    });
                }
            }
        }
        measures.entry(measure).or_default().extend(run);
    }
    for notes in measures.values_mut() {
        notes.sort();
    }
    measures
}

/// The plugin's record of the phrase agrees with the host: it heard the call as played, the
/// measures it says it played are exactly the notes that came out, and the ones it says it
/// skipped are the silent ones.
fn check_record(session: &CallAndAnswer, record: &PhraseRecord, answer: &[GridNote], setup: Setup) {
    let call = by_measure(
        session
            .call
            .iter()
            .map(|n| (n.start_step, n.end_step, n.pitch)),
    );
    for (measure, notes) in &call {
        let heard = record.get(&(*measure as i64)).map(|m| m.input.clone());
        assert_eq!(
            heard.as_ref(),
            Some(notes),
            "{setup:?}: the call as recorded in measure {measure}"
        );
    }

    let played = by_measure(answer.iter().map(|n| (n.start_step, n.end_step, n.pitch)));
    for measure in session.answer_first_measure..session.answer_end_measure {
        let came_out = played.get(&measure).cloned().unwrap_or_default();
        match record.get(&(measure as i64)) {
            Some(recorded) if !recorded.output_skipped => assert_eq!(
                came_out, recorded.output,
                "{setup:?}: measure {measure} as played and as composed"
            ),
            // Skipped, or never composed because the chain had already been given up.
            _ => assert!(
                came_out.is_empty(),
                "{setup:?}: measure {measure} played but recorded as skipped or missing"
            ),
        }
    }
    let first = session.answer_first_measure as i64;
    assert!(
        record.get(&first).is_some_and(|m| !m.output.is_empty()),
        "{setup:?}: the plugin kept no composed measure for the answer's first bar line"
    );
}

/// A session with the composer waited for: the whole answer must play.
fn answers_in_full(setup: Setup) {
    let report = play_call(setup);
    assert!(
        !report.gave_up_waiting,
        "{setup:?}: the composer was still busy after the wait limit"
    );
    assert_eq!(
        report.skipped_measures, 0,
        "{setup:?}: only measures {:?} of the answer played",
        report.played_measures
    );
}

fn setup(sample_rate_hz: f64, blocks: BlockSizes, tempo_bpm: f64, host_clock: HostClock) -> Setup {
    Setup {
        sample_rate_hz,
        blocks,
        tempo_bpm,
        host_clock,
        answer_measures: ANSWER_MEASURES,
        wait_for_composer: true,
    }
}

#[test]
fn answers_at_44k1_in_blocks_of_one_sample_at_90_bpm() {
    answers_in_full(setup(
        44_100.0,
        BlockSizes::Fixed(1),
        90.0,
        HostClock::Rolling,
    ));
}

#[test]
fn answers_at_48k_in_blocks_of_64_at_120_bpm() {
    answers_in_full(setup(
        48_000.0,
        BlockSizes::Fixed(64),
        120.0,
        HostClock::Rolling,
    ));
}

#[test]
fn answers_at_96k_in_blocks_of_512_at_180_bpm() {
    answers_in_full(setup(
        96_000.0,
        BlockSizes::Fixed(512),
        180.0,
        HostClock::Rolling,
    ));
}

#[test]
fn answers_at_44k1_in_blocks_of_4096_at_120_bpm() {
    answers_in_full(setup(
        44_100.0,
        BlockSizes::Fixed(4096),
        120.0,
        HostClock::Rolling,
    ));
}

#[test]
fn answers_at_48k_in_random_blocks_at_180_bpm() {
    let blocks = BlockSizes::Random { seed: 1, max: 4096 };
    answers_in_full(setup(48_000.0, blocks, 180.0, HostClock::Rolling));
}

#[test]
fn answers_at_96k_in_random_blocks_at_90_bpm() {
    let blocks = BlockSizes::Random { seed: 2, max: 1024 };
    answers_in_full(setup(96_000.0, blocks, 90.0, HostClock::Rolling));
}

#[test]
fn answers_on_its_own_clock_without_a_transport() {
    answers_in_full(setup(
        48_000.0,
        BlockSizes::Fixed(512),
        120.0,
        HostClock::Absent,
    ));
}

#[test]
fn answers_on_its_own_clock_with_a_stopped_transport() {
    let blocks = BlockSizes::Random { seed: 3, max: 2048 };
    answers_in_full(setup(44_100.0, blocks, 90.0, HostClock::Stopped));
}

/// Rendering far faster than real time, the composer cannot keep up: measures may be skipped,
/// but whatever plays is on its own steps (`play_call` checks that), never late, and the plugin
/// records the late measure as skipped (`check_record`).
#[test]
fn a_composer_that_is_not_ready_skips_measures_and_never_plays_late() {
    let setup = Setup {
        wait_for_composer: false,
        ..setup(48_000.0, BlockSizes::Fixed(4096), 120.0, HostClock::Rolling)
    };
    let report = play_call(setup);
    assert_eq!(
        report.played_measures.len() as u32 + report.skipped_measures,
        ANSWER_MEASURES
    );
}

/// Blocks of 240 samples at 48 kHz and 120 BPM (0.24 of a grid step) divide the lead-in of
/// 12,000 samples and the measure of 96,000, so every bar line of the plugin's own clock falls
/// on a block start: the answer's at 12,000 + 192,000 = 204,000, block 850. A measure composed
/// before its bar line must play even when its block starts exactly there, as with a host that
/// renders a beat at a time (pedalboard). Adding up 0.24 per block does not give 192 exactly in
/// floating point (it gives 192.0000000000012), so a clock that sums block lengths finds itself
/// just past the bar line.
#[test]
fn answers_on_its_own_clock_when_blocks_start_on_the_bar_lines() {
    answers_in_full(setup(
        48_000.0,
        BlockSizes::Fixed(240),
        120.0,
        HostClock::Absent,
    ));
}

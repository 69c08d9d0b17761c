//! The host's transport breaking in on an answer: a stop, a jump back (a loop wrapping), a tempo
//! change. At 48 kHz and 120 BPM a grid step is 1,000 samples, so the positions below are
//! worked out by hand: the call is played in measure 1 (steps 96-191), ends at the bar line of
//! measure 3 (step 288, sample 288,000), and the host acts 40 steps into the answer's first
//! measure (step 328, sample 328,000), which with blocks of 512 samples takes effect at the
//! start of block 641: sample 328,192.

use continuo_tests::bundle;
use continuo_tests::clap_host::ContinuoClap;
use continuo_tests::music::{self, Clock, STEPS_PER_MEASURE};
use continuo_tests::notes::{on_channel, on_grid, pair, GridNote, NoteEvent, PlayedNote};
use continuo_tests::scenario::{player_notes, CallAndAnswer, HostClock, Setup, PLUGIN_CHANNEL};
use continuo_tests::session::{Action, BlockSizes, Recording};

const CALL_PIECE: &str = "bwv772-invention01.mid";
const SAMPLE_RATE_HZ: f64 = 48_000.0;
const BLOCK: u32 = 512;
/// Where the host acts: 40 steps into measure 3.
const ACTION_SAMPLE: u64 = 328_000;
/// The first block start at or after it: 641 x 512.
const ACTION_TAKES_EFFECT: u64 = 328_192;

/// The call and a four-measure answer at 48 kHz, 120 BPM, blocks of 512, transport rolling.
fn call_and_answer() -> (ContinuoClap, CallAndAnswer) {
    let bundle = bundle::ensure_built();
    let call = music::first_measure(&bundle::bach_corpus().join(CALL_PIECE));
    let setup = Setup {
        sample_rate_hz: SAMPLE_RATE_HZ,
        blocks: BlockSizes::Fixed(BLOCK),
        tempo_bpm: 120.0,
        host_clock: HostClock::Rolling,
        answer_measures: 4,
        wait_for_composer: true,
    };
    let session = CallAndAnswer::new(setup, &call);
    assert_eq!(
        session.answer_start_sample(),
        288_000,
        "the call ends at measure 3"
    );
    assert_eq!(
        setup
            .blocks
            .effect_sample(ACTION_SAMPLE, session.script.length_samples),
        ACTION_TAKES_EFFECT
    );

    let mut plugin = ContinuoClap::load(&bundle);
    plugin.set(&[("Mode", "Answer"), ("Length", "4"), ("Seed", "99")]);
    (plugin, session)
}

/// The plugin's notes, paired.
fn plugin_notes(recording: &Recording) -> Vec<PlayedNote> {
    assert_eq!(recording.failed_blocks, 0);
    let events = on_channel(&recording.events, PLUGIN_CHANNEL);
    pair(&events).unwrap_or_else(|error| panic!("{error}"))
}

/// Every note sounding when the block at `break_sample` began ends in that block, and the
/// plugin sends nothing else from there until `until_sample`. Returns how many notes were cut.
fn everything_ends_in_the_break_block(
    recording: &Recording,
    break_sample: u64,
    until_sample: u64,
) -> usize {
    let block = recording
        .block_starting_at(break_sample)
        .expect("a block starts where the action took effect");
    let block_end = break_sample + block.len_samples as u64;
    let after: Vec<&NoteEvent> = recording
        .events
        .iter()
        .filter(|event| event.channel == PLUGIN_CHANNEL)
        .filter(|event| (break_sample..until_sample).contains(&event.sample))
        .collect();
    for event in &after {
        assert!(
            !event.on && event.sample < block_end,
            "{event:?} after the break at {break_sample}: only note-offs in its block may come"
        );
    }
    let notes = plugin_notes(recording);
    let cut = notes
        .iter()
        .filter(|note| note.start_sample < break_sample && note.end_sample >= break_sample)
        .count();
    assert_eq!(cut, after.len(), "each sounding note ends once");
    cut
}

#[test]
fn a_stop_mid_answer_ends_every_note_in_the_same_block() {
    let (mut plugin, mut session) = call_and_answer();
    session.script.actions = vec![(ACTION_SAMPLE, Action::Stop)];
    let recording = plugin.play(&session.script);
    assert_eq!(recording.actions_at, vec![ACTION_TAKES_EFFECT]);

    let cut = everything_ends_in_the_break_block(&recording, ACTION_TAKES_EFFECT, u64::MAX);
    assert!(
        cut > 0,
        "no note sounded 40 steps into the answer: the test proves nothing"
    );
    // Before the stop, the answer was on the grid.
    let before: Vec<PlayedNote> = plugin_notes(&recording)
        .into_iter()
        .filter(|note| note.end_sample < ACTION_TAKES_EFFECT)
        .collect();
    on_grid(&before, &session.clock).unwrap_or_else(|error| panic!("{error}"));
}

#[test]
fn a_jump_back_ends_every_note_and_the_replayed_call_is_answered_again() {
    let (mut plugin, mut session) = call_and_answer();
    // The loop wraps to measure 1 (beat 4), and the host plays the call again from there: on
    // the new timeline step 96 falls at 328,192, so step 0 at 232,192.
    session.script.actions = vec![(ACTION_SAMPLE, Action::JumpToBeats(4.0))];
    let replay_clock = Clock::new(SAMPLE_RATE_HZ, 120.0, 232_192.0);
    let call: Vec<_> = session.call.clone();
    session
        .script
        .notes
        .extend(player_notes(&call, &replay_clock));
    // The second answer: measures 3-6 of the new timeline, then one quiet measure.
    session.script.length_samples = replay_clock.nearest_sample(8 * STEPS_PER_MEASURE);
    session
        .script
        .ready_by
        .retain(|&sample| sample < ACTION_TAKES_EFFECT);
    session
        .script
        .ready_by
        .extend((2..=8).map(|measure| replay_clock.bar_line_floor(measure)));
    let recording = plugin.play(&session.script);
    assert_eq!(recording.actions_at, vec![ACTION_TAKES_EFFECT]);

    // Nothing from the plugin between the jump and the second answer but the cut notes.
    let second_answer = replay_clock.nearest_sample(3 * STEPS_PER_MEASURE);
    assert_eq!(second_answer, 520_192);
    let cut = everything_ends_in_the_break_block(&recording, ACTION_TAKES_EFFECT, second_answer);
    assert!(
        cut > 0,
        "no note sounded 40 steps into the answer: the test proves nothing"
    );

    // The first answer up to the jump (notes cut by it end off the grid, checked above), and
    // the second answer on the new timeline.
    let notes = plugin_notes(&recording);
    let first: Vec<PlayedNote> = notes
        .iter()
        .filter(|note| note.end_sample < ACTION_TAKES_EFFECT)
        .copied()
        .collect();
    let second: Vec<PlayedNote> = notes
        .iter()
        .filter(|note| note.start_sample >= ACTION_TAKES_EFFECT)
        .copied()
        .collect();
    on_grid(&first, &session.clock).unwrap_or_else(|error| panic!("first answer: {error}"));
    let second =
        on_grid(&second, &replay_clock).unwrap_or_else(|error| panic!("second answer: {error}"));
    let measures: Vec<u32> = second.iter().map(GridNote::measure).collect();
    assert!(
        measures.iter().all(|measure| (3..7).contains(measure)),
        "the second answer lies in measures 3-6 of the new timeline, not {measures:?}"
    );
    assert!(!second.is_empty(), "the replayed call got no answer");
}

#[test]
fn a_tempo_change_mid_answer_moves_the_rest_of_the_answer() {
    let (mut plugin, mut session) = call_and_answer();
    // From sample 328,192 (step 328.192) on, 90 BPM: a step is 48000 * 60 / 2160 = 1333.33
    // samples, so the answer's second bar line (step 384) falls at 328,192 + 55.808 steps.
    session.script.actions = vec![(ACTION_SAMPLE, Action::Tempo(90.0))];
    let mut clock = session.clock.clone();
    clock.change_tempo(ACTION_TAKES_EFFECT, 90.0);
    assert_eq!(clock.nearest_sample(384), 328_192 + 74_411);
    let end_measure = session.answer_end_measure + 1;
    session.script.length_samples = clock.nearest_sample(end_measure * STEPS_PER_MEASURE);
    session.script.ready_by = (1..=end_measure)
        .map(|measure| clock.bar_line_floor(measure))
        .collect();
    let recording = plugin.play(&session.script);
    assert_eq!(recording.actions_at, vec![ACTION_TAKES_EFFECT]);

    let notes = plugin_notes(&recording);
    let grid = on_grid(&notes, &clock).unwrap_or_else(|error| panic!("{error}"));
    let measures: Vec<u32> = grid.iter().map(GridNote::measure).collect();
    assert!(
        measures.iter().all(|measure| (3..7).contains(measure)),
        "the answer lies in measures 3-6, not {measures:?}"
    );
    assert!(
        measures.iter().any(|&measure| measure >= 4),
        "no answer measure played after the tempo change"
    );
}

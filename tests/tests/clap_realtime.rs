//! The audio-thread contract: nothing in `process()` allocates or frees memory.
//!
//! Every session of these tests runs a bundle built with nice-plug's `assert_process_allocs` and
//! debug assertions (see `continuo_tests::bundle`), whose allocator aborts the process with a
//! backtrace on any allocation inside `process()`: an allocation anywhere in any session fails
//! the test binary it ran in. This file checks that the bundle really carries that allocator,
//! so that the other tests cannot pass for want of it, and runs one long session of the block
//! sizes most likely to reach rare paths.

use continuo_tests::bundle;
use continuo_tests::clap_host::ContinuoClap;
use continuo_tests::music;
use continuo_tests::scenario::{CallAndAnswer, HostClock, Setup};
use continuo_tests::session::{Action, BlockSizes};

#[test]
fn the_bundle_carries_the_allocation_checker() {
    let clap = bundle::ensure_built();
    let binary = std::fs::read(&clap).expect("reading the CLAP bundle");
    // The checking allocator's type name survives in the symbol table of a build that has it.
    let needle = b"AllocDisabler";
    assert!(
        binary.windows(needle.len()).any(|window| window == needle),
        "{} was built without nice-plug's assert_process_allocs and debug assertions",
        clap.display()
    );
}

#[test]
fn a_session_with_every_kind_of_event_allocates_nothing_on_the_audio_thread() {
    let bundle = bundle::ensure_built();
    let call = music::first_measure(&bundle::bach_corpus().join("bwv846-prelude.mid"));
    let setup = Setup {
        sample_rate_hz: 44_100.0,
        blocks: BlockSizes::Random { seed: 11, max: 700 },
        tempo_bpm: 150.0,
        host_clock: HostClock::Rolling,
        answer_measures: 3,
        wait_for_composer: true,
    };
    let mut session = CallAndAnswer::new(setup, &call);
    let mut plugin = ContinuoClap::load(&bundle);
    plugin.set(&[("Length", "3"), ("Preview voice", "On")]);

    // Parameter changes and transport changes while the answer plays, then Follow and Compose
    // modes for what is left of the session.
    let answer = session.answer_start_sample();
    let beat = (44_100.0 * 60.0 / 150.0) as u64;
    let (velocity_id, velocity) = plugin.value_of("Velocity", "100");
    let (mode_id, follow) = plugin.value_of("Mode", "Follow");
    let (_, compose) = plugin.value_of("Mode", "Compose");
    let (bypass_id, bypassed) = plugin.value_of("Bypass", "On");
    session.script.actions = vec![
        (
            answer + beat,
            Action::Param {
                id: velocity_id,
                value: velocity,
            },
        ),
        (answer + 2 * beat, Action::Tempo(140.0)),
        (
            answer + 6 * beat,
            Action::Param {
                id: bypass_id,
                value: bypassed,
            },
        ),
        (
            answer + 7 * beat,
            Action::Param {
                id: bypass_id,
                value: 0.0,
            },
        ),
        (
            answer + 8 * beat,
            Action::Param {
                id: mode_id,
                value: follow,
            },
        ),
        (answer + 10 * beat, Action::JumpToBeats(0.0)),
        (
            answer + 12 * beat,
            Action::Param {
                id: mode_id,
                value: compose,
            },
        ),
        (answer + 16 * beat, Action::Stop),
        (answer + 17 * beat, Action::Play),
    ];
    session.script.length_samples = answer + 24 * beat;
    let recording = plugin.play(&session.script);
    assert_eq!(recording.failed_blocks, 0);
    assert!(
        recording.block_peaks.iter().any(|&peak| peak > 0.0),
        "the preview voice never sounded"
    );
}

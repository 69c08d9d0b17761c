//! A call and its answer as a script: where the player's notes go, which bar lines the host
//! waits for, and where the answer must fall.
//!
//! With the host's transport rolling, the song starts at sample 0 on the bar line of measure 0
//! and the player plays the call in measure 1. Without a transport, or with a stopped one, the
//! plugin runs its own clock, which starts on the first note: that note is the bar line of
//! measure 0, so the call is moved to begin there (an upbeat rest is dropped), after a lead-in
//! of silence.

use crate::music::{call_end_step, CallNote, Clock, STEPS_PER_MEASURE};
use crate::session::{BlockSizes, PlayerNote, Script, Transport};

/// The player's MIDI channel index (MIDI channel 2): the plugin's own notes go out on channel
/// index 0 by default, so the two streams can be told apart.
pub const PLAYER_CHANNEL: u8 = 1;
/// The plugin's output channel index with the default "Output channel" of 1.
pub const PLUGIN_CHANNEL: u8 = 0;
/// Silence before the call on the plugin's own clock, in seconds.
const LEAD_IN_SECONDS: f64 = 0.25;
/// Measures rendered after the answer, to see that nothing else comes.
const TAIL_MEASURES: u32 = 1;

/// The clock a host gives the plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostClock {
    /// A rolling transport, reported in every block.
    Rolling,
    /// A transport that is reported in every block but never plays.
    Stopped,
    /// No transport at all.
    Absent,
}

/// How a call-and-answer session is set up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setup {
    pub sample_rate_hz: f64,
    pub blocks: BlockSizes,
    pub tempo_bpm: f64,
    pub host_clock: HostClock,
    /// The "Length" parameter: measures in the answer.
    pub answer_measures: u32,
    /// Wait for the composer before every bar line (false: render the call and the answer as
    /// fast as possible, and wait only after the answer).
    pub wait_for_composer: bool,
}

/// A call-and-answer session and what the test knows about it in advance.
#[derive(Clone, Debug)]
pub struct CallAndAnswer {
    pub script: Script,
    /// Where the plugin's grid steps fall (step 0: the plugin's measure 0).
    pub clock: Clock,
    /// The call as played, in the plugin's steps.
    pub call: Vec<CallNote>,
    /// The measure whose bar line ends the call and starts the answer.
    pub answer_first_measure: u32,
    /// The measure after the answer.
    pub answer_end_measure: u32,
}

impl CallAndAnswer {
    /// Lays out the call `call` (steps from its first bar line) under `setup`.
    pub fn new(setup: Setup, call: &[CallNote]) -> CallAndAnswer {
        let (clock, call) = match setup.host_clock {
            HostClock::Rolling => {
                let clock = Clock::new(setup.sample_rate_hz, setup.tempo_bpm, 0.0);
                (clock, shifted(call, STEPS_PER_MEASURE as i64))
            }
            HostClock::Stopped | HostClock::Absent => {
                let origin = (LEAD_IN_SECONDS * setup.sample_rate_hz).round();
                let clock = Clock::new(setup.sample_rate_hz, setup.tempo_bpm, origin);
                let first = call.iter().map(|note| note.start_step).min().unwrap_or(0);
                (clock, shifted(call, -(first as i64)))
            }
        };
        let answer_first_measure = call_end_step(&call) / STEPS_PER_MEASURE;
        let answer_end_measure = answer_first_measure + setup.answer_measures;
        let length_measures = answer_end_measure + TAIL_MEASURES;
        let length_samples = clock.sample_of((length_measures * STEPS_PER_MEASURE) as f64) as u64;

        let mut script = Script::new(setup.sample_rate_hz, setup.blocks, length_samples);
        script.transport = match setup.host_clock {
            HostClock::Absent => None,
            HostClock::Rolling | HostClock::Stopped => Some(Transport {
                playing: setup.host_clock == HostClock::Rolling,
                tempo_bpm: setup.tempo_bpm,
                pos_beats: 0.0,
            }),
        };
        script.notes = player_notes(&call, &clock);
        script.ready_by = if setup.wait_for_composer {
            (1..=length_measures)
                .map(|measure| clock.bar_line_floor(measure))
                .collect()
        } else {
            // The host catches up with real time only after the answer, so that results that
            // came too late reach the plugin while it still runs, and are counted as skipped.
            vec![clock.bar_line_floor(answer_end_measure)]
        };
        CallAndAnswer {
            script,
            clock,
            call,
            answer_first_measure,
            answer_end_measure,
        }
    }

    /// The sample of the bar line that ends the call.
    pub fn answer_start_sample(&self) -> u64 {
        self.clock
            .nearest_sample(self.answer_first_measure * STEPS_PER_MEASURE)
    }
}

/// The call moved by `by_steps`.
fn shifted(call: &[CallNote], by_steps: i64) -> Vec<CallNote> {
    call.iter()
        .map(|note| CallNote {
            start_step: (note.start_step as i64 + by_steps) as u32,
            end_step: (note.end_step as i64 + by_steps) as u32,
            ..*note
        })
        .collect()
}

/// The call's notes as key presses and releases on the player's channel, at the nearest sample
/// of their steps; at one sample, releases before presses.
pub fn player_notes(call: &[CallNote], clock: &Clock) -> Vec<PlayerNote> {
    let mut notes: Vec<PlayerNote> = call
        .iter()
        .flat_map(|note| {
            [
                PlayerNote {
                    sample: clock.nearest_sample(note.start_step),
                    on: true,
                    channel: PLAYER_CHANNEL,
                    pitch: note.pitch,
                    velocity: note.velocity,
                },
                PlayerNote {
                    sample: clock.nearest_sample(note.end_step),
                    on: false,
                    channel: PLAYER_CHANNEL,
                    pitch: note.pitch,
                    velocity: 0,
                },
            ]
        })
        .collect();
    notes.sort_by_key(|note| (note.sample, note.on, note.pitch));
    notes
}

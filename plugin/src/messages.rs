//! What the audio thread and the plugin's background threads say to each other.
//!
//! Every message is a plain `Copy` value of fixed size, so that `try_send` on a bounded
//! crossbeam channel (whose slots are allocated when the channel is made) never allocates, and
//! dropping a message never frees anything on the audio thread.

use crossbeam_channel::{Receiver, Sender};

use crate::cells::MeasureCells;

/// How many ones a composed measure gets; mirrors the composer's `Density` without its
/// `usize` payload growing the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DensityChoice {
    /// The composer's own choice (the corpus median).
    Auto,
    /// As many ones as the measure being continued.
    Match,
    /// This many ones per measure.
    Ones(u16),
}

/// What the composer is asked to do.
// Boxing the measure would allocate on the audio thread; the message is meant to be this big.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Job {
    /// Algorithm 2: a new measure that continues `previous`.
    Continue { previous: MeasureCells },
    /// Algorithm 1: two new measures from nothing.
    Compose,
}

/// A request from the audio thread to the composer thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ComposeRequest {
    /// Increases with every request; the composer skips requests below
    /// [`crate::worker::WorkerShared::cancel_below`] and echoes the id in its result.
    pub id: u32,
    pub job: Job,
    pub density: DensityChoice,
    pub seed: u64,
}

/// The composer's answer to one request: one measure (Algorithm 2) or two (Algorithm 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ComposeResult {
    /// The id of the request this answers.
    pub id: u32,
    /// 1 or 2: how many entries of `measures` hold music.
    pub measure_count: u8,
    pub measures: [MeasureCells; 2],
}

impl ComposeResult {
    /// The last measure returned: what the next continuation starts from.
    pub fn last_measure(&self) -> &MeasureCells {
        &self.measures[(self.measure_count.clamp(1, 2) - 1) as usize]
    }
}

/// Something for the phrase record (the editor's piano roll, the saved last phrase, MIDI
/// export), sent by the audio thread to the recorder thread.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecordEvent {
    /// A new phrase begins at this measure: the record forgets the previous one.
    PhraseStarted { measure: i64 },
    /// What the player has played in a measure so far (`finished` once its bar line passed).
    Input {
        measure: i64,
        cells: MeasureCells,
        /// Mean velocity of the notes struck in the measure (0 when none was struck).
        velocity: u8,
        finished: bool,
    },
    /// A measure the plugin composed: played, or skipped because it came too late.
    Output {
        measure: i64,
        cells: MeasureCells,
        velocity: u8,
        played: bool,
    },
}

/// The audio thread's ends of the three channels.
pub struct AudioLink {
    pub requests: Sender<ComposeRequest>,
    pub results: Receiver<ComposeResult>,
    pub records: Sender<RecordEvent>,
}

/// The background threads' ends of the same channels.
pub struct WorkerLink {
    pub requests: Receiver<ComposeRequest>,
    pub results: Sender<ComposeResult>,
    pub records: Receiver<RecordEvent>,
}

/// Requests waiting for the composer. A request is made at most once a measure, so a few slots
/// are plenty; when they are full the audio thread counts the measure as skipped.
pub const REQUEST_SLOTS: usize = 8;
/// Results waiting for the audio thread.
pub const RESULT_SLOTS: usize = 8;
/// Record events waiting for the recorder: live input updates come at most ~30 times a second.
pub const RECORD_SLOTS: usize = 256;

/// Makes the three bounded channels (their slots are allocated here, not when sending).
pub fn link() -> (AudioLink, WorkerLink) {
    let (request_tx, request_rx) = crossbeam_channel::bounded(REQUEST_SLOTS);
    let (result_tx, result_rx) = crossbeam_channel::bounded(RESULT_SLOTS);
    let (record_tx, record_rx) = crossbeam_channel::bounded(RECORD_SLOTS);
    (
        AudioLink {
            requests: request_tx,
            results: result_rx,
            records: record_tx,
        },
        WorkerLink {
            requests: request_rx,
            results: result_tx,
            records: record_rx,
        },
    )
}

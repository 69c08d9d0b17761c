//! The audio-thread side of Continuo without any host in sight: a block of input notes and a
//! transport go in, a block of output notes comes out.
//!
//! [`Engine::process`] walks through the block in time order. Before each input event it
//! handles every grid step the music has reached (bar lines, the start of a measure's last beat,
//! the Follow margin; see `modes.rs`) and sends the plugin's own notes due before the event;
//! then it handles the event itself. So everything that happens at one sample is decided in the
//! order it happened, and the output is in time order by construction.
//!
//! Nothing here allocates, locks or waits: buffers are reserved in [`Engine::new`], the
//! composer is reached through bounded channels with `try_send`/`try_recv`, and what the editor
//! shows is published through atomics ([`EngineStatus`]).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use crate::capture::Capture;
use crate::cells::MeasureCells;
use crate::clock::{BlockTime, Clock, ClockSource, HostTime};
use crate::messages::{AudioLink, ComposeRequest, DensityChoice, Job, RecordEvent};
use crate::scheduler::{EventBuffer, NoteKind, OutputEvent, Scheduler};

/// How the plugin plays along.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Call and response: the player's phrase, then the plugin's answer.
    Answer,
    /// Each measure the player plays is continued in the next one.
    Follow,
    /// Free composition while the host transport runs.
    Compose,
}

/// The velocity of the plugin's notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VelocityChoice {
    Fixed(u8),
    /// The mean velocity of the player's call, or the given value when there was none.
    PlayersMean {
        fallback: u8,
    },
}

/// The parameter values one block runs with, read from the host's parameters by the plugin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    pub density: DensityChoice,
    /// Measures in an answer (Answer), or measures the plugin goes on alone (Follow).
    pub length_measures: u32,
    /// 0: a new seed for every phrase; otherwise phrase measure `k` uses `seed + k`.
    pub seed: u64,
    pub velocity: VelocityChoice,
    /// MIDI channel index (0-15) of the plugin's own notes.
    pub channel: u8,
    pub pass_through: bool,
    /// Follow mode takes a measure this many steps before its end, so that the next one can be
    /// composed in time.
    pub follow_margin_steps: u32,
    /// Tempo of the free clock when the host gives none.
    pub fallback_tempo_bpm: f64,
    pub bypass: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::Answer,
            density: DensityChoice::Auto,
            length_measures: 4,
            seed: 0,
            velocity: VelocityChoice::Fixed(90),
            channel: 0,
            pass_through: true,
            follow_margin_steps: 6,
            fallback_tempo_bpm: 120.0,
            bypass: false,
        }
    }
}

/// A note from the player, at a sample offset into the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputEvent {
    pub offset_samples: u32,
    pub kind: NoteKind,
    pub channel: u8,
    pub pitch: u8,
    pub velocity: u8,
}

/// What the plugin is doing, for the editor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Activity {
    /// Waiting for the player (or, on the free clock, for the first note).
    Listening = 0,
    /// The player is playing a call.
    HearingCall = 1,
    /// The call ended; its answer is being composed.
    Thinking = 2,
    Answering = 3,
    Following = 4,
    Composing = 5,
    /// Compose mode waits for the host transport to run.
    WaitingForTransport = 6,
    Bypassed = 7,
}

impl Activity {
    fn from_u8(value: u8) -> Activity {
        match value {
            1 => Activity::HearingCall,
            2 => Activity::Thinking,
            3 => Activity::Answering,
            4 => Activity::Following,
            5 => Activity::Composing,
            6 => Activity::WaitingForTransport,
            7 => Activity::Bypassed,
            _ => Activity::Listening,
        }
    }
}

/// What the audio thread publishes for the editor and the composer thread, as atomics.
#[derive(Debug)]
pub struct EngineStatus {
    activity: AtomicU8,
    /// Musical position in steps (an `f64` as bits); NaN while the free clock waits.
    position_steps: AtomicU64,
    /// Tempo in use (an `f64` as bits).
    tempo_bpm: AtomicU64,
    /// Measures that were not ready at their bar line, since the plugin was made.
    pub skipped_measures: AtomicU32,
    /// Requests the composer has not answered yet.
    pub requests_in_flight: AtomicU32,
    /// 0 host, 1 free, 2 waiting (see [`ClockSource`]).
    clock_source: AtomicU8,
    /// False when the host's bars are not 4 quarters long.
    pub four_four: AtomicBool,
    /// The composer skips requests with a lower id: they were cancelled.
    pub cancel_below: AtomicU32,
    /// Output events lost to full buffers (should stay 0).
    pub dropped_events: AtomicU32,
}

impl Default for EngineStatus {
    fn default() -> Self {
        EngineStatus {
            activity: AtomicU8::new(Activity::Listening as u8),
            position_steps: AtomicU64::new(f64::NAN.to_bits()),
            tempo_bpm: AtomicU64::new(120f64.to_bits()),
            skipped_measures: AtomicU32::new(0),
            requests_in_flight: AtomicU32::new(0),
            clock_source: AtomicU8::new(2),
            four_four: AtomicBool::new(true),
            cancel_below: AtomicU32::new(0),
            dropped_events: AtomicU32::new(0),
        }
    }
}

impl EngineStatus {
    pub fn activity(&self) -> Activity {
        Activity::from_u8(self.activity.load(Ordering::Relaxed))
    }

    /// The playhead in steps from measure 0, if the clock runs.
    pub fn position_steps(&self) -> Option<f64> {
        let steps = f64::from_bits(self.position_steps.load(Ordering::Relaxed));
        steps.is_finite().then_some(steps)
    }

    pub fn tempo_bpm(&self) -> f64 {
        f64::from_bits(self.tempo_bpm.load(Ordering::Relaxed))
    }

    pub fn clock_source(&self) -> ClockSource {
        match self.clock_source.load(Ordering::Relaxed) {
            0 => ClockSource::Host,
            1 => ClockSource::Free,
            _ => ClockSource::Waiting,
        }
    }
}

/// Where a requested result goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// At this measure (late results are skipped).
    Measure(i64),
    /// At the first bar line after it arrives (free composition has no deadline to meet).
    OnArrival,
}

/// A request the composer has not answered yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InFlight {
    pub id: u32,
    pub target: Target,
    /// The measure in which it was asked for, to give up on it eventually.
    pub asked_in: i64,
}

/// Requests in flight at most: one a measure is the most any mode makes.
pub(crate) const IN_FLIGHT_SLOTS: usize = 8;

/// Where the mode logic stands; see `modes.rs` for the transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Nothing going on: waiting for the player (Answer, Follow) or the transport (Compose).
    Idle,
    /// Answer: the player's call is being captured; it began in `first_measure`.
    Calling { first_measure: i64 },
    /// Answer: the call seems to end at the bar line of `start`; the answer (measures
    /// `start .. end`) is being composed. A strike before that bar line takes it back.
    Pending {
        first_measure: i64,
        start: i64,
        end: i64,
    },
    /// Answer: measures `start .. end` are the answer.
    Answering { start: i64, end: i64 },
    /// Follow: continuing the player; `own_left` more measures may continue the plugin's own.
    Following { own_left: u32 },
    /// Compose: composing while the transport runs.
    Composing,
}

/// The audio thread's state. See the module docs.
pub struct Engine {
    pub(crate) clock: Clock,
    pub(crate) capture: Capture,
    pub(crate) scheduler: Scheduler,
    pub(crate) link: AudioLink,
    pub(crate) status: Arc<EngineStatus>,

    /// The next grid step whose logic has not run; `None` while the free clock waits.
    pub(crate) next_step: Option<i64>,
    pub(crate) phase: Phase,
    pub(crate) in_flight: [Option<InFlight>; IN_FLIGHT_SLOTS],
    pub(crate) next_request_id: u32,
    /// Seed of the current phrase; its measure `k` uses `phrase_seed + k`.
    pub(crate) phrase_seed: u64,
    /// The measure the current phrase began in (seed indices count from it).
    pub(crate) phrase_first_measure: i64,
    /// Generator of new seeds when the seed parameter is 0 (splitmix64 state).
    pub(crate) seed_state: u64,
    /// The last measure given to the scheduler: a measure is never scheduled twice.
    pub(crate) last_scheduled_measure: Option<i64>,
    /// The plugin's most recent composed measure, which Follow continues when the player stops.
    pub(crate) own_measure: Option<MeasureCells>,
    /// The last step at which anything happened; the free clock stops after a quiet while.
    pub(crate) last_activity_step: i64,
    /// The current measure's input changed since the recorder last heard of it.
    pub(crate) input_dirty: bool,

    /// Mode of the previous block, to notice a change.
    last_mode: Option<Mode>,
    was_bypassed: bool,
    /// Set by [`Engine::request_flush`]: the next block ends every note we may have left on.
    flush_pending: bool,
    /// Per pitch, a bit per channel: the player's notes we forwarded and have not released.
    forwarded: [u16; 128],
}

impl Engine {
    /// Makes an engine; all its storage is reserved here.
    pub fn new(sample_rate_hz: f64, link: AudioLink, status: Arc<EngineStatus>, seed: u64) -> Self {
        Engine {
            clock: Clock::new(sample_rate_hz),
            capture: Capture::default(),
            scheduler: Scheduler::default(),
            link,
            status,
            next_step: None,
            phase: Phase::Idle,
            in_flight: [None; IN_FLIGHT_SLOTS],
            next_request_id: 1,
            phrase_seed: 0,
            phrase_first_measure: 0,
            seed_state: seed,
            last_scheduled_measure: None,
            own_measure: None,
            last_activity_step: 0,
            input_dirty: false,
            last_mode: None,
            was_bypassed: false,
            flush_pending: false,
            forwarded: [0; 128],
        }
    }

    /// Runs a new sample rate from the next block on (call from `activate`, not `process`).
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.clock = Clock::new(sample_rate_hz);
        self.next_step = None;
    }

    /// Asks the next block to end every note the plugin may have left on: the host deactivated
    /// or reset the plugin, and no events can be sent until it processes again.
    pub fn request_flush(&mut self) {
        self.flush_pending = true;
    }

    /// Processes one block of `len_samples` samples. `input` must be in time order (hosts
    /// deliver it so). `out` is cleared and receives the block's note events in time order.
    pub fn process(
        &mut self,
        host: &HostTime,
        settings: &Settings,
        input: &[InputEvent],
        len_samples: usize,
        out: &mut EventBuffer,
    ) {
        out.clear();
        let time = self
            .clock
            .begin_block(host, settings.fallback_tempo_bpm, len_samples);
        self.end_everything_on_a_break(&time, settings, out);

        if settings.bypass {
            for event in input {
                self.pass_through(event, true, out);
            }
        } else {
            self.run_block(settings, input, len_samples, out);
        }

        self.publish_status(settings, out);
        self.clock.end_block(len_samples);
    }

    /// A stop, start, jump or loop of the transport, a mode change, bypass or a reset: every
    /// note the plugin sounds ends at the block start and the mode logic starts afresh.
    fn end_everything_on_a_break(
        &mut self,
        time: &BlockTime,
        settings: &Settings,
        out: &mut EventBuffer,
    ) {
        let mode_changed = self.last_mode.is_some_and(|mode| mode != settings.mode);
        let bypass_began = settings.bypass && !self.was_bypassed;
        self.last_mode = Some(settings.mode);
        self.was_bypassed = settings.bypass;
        if !(time.discontinuity || mode_changed || bypass_began || self.flush_pending) {
            return;
        }

        self.scheduler.flush(0, out);
        if self.flush_pending {
            // After a deactivation the player's releases may have been lost with it too.
            for pitch in 0..128u8 {
                for channel in 0..16u8 {
                    if self.forwarded[pitch as usize] & (1 << channel) != 0 {
                        out.push(note(0, NoteKind::Off, channel, pitch, 0));
                    }
                }
            }
            self.forwarded = [0; 128];
            self.flush_pending = false;
        }
        self.cancel_requests();
        self.capture.reset();
        self.phase = Phase::Idle;
        self.own_measure = None;
        self.last_scheduled_measure = None;
        self.next_step = None;
        if time.source != ClockSource::Host {
            // Leaving the transport: the free clock waits for the next first note.
            self.clock.release_free();
        }
    }

    /// The block's music: results, then input events and grid steps in time order.
    fn run_block(
        &mut self,
        settings: &Settings,
        input: &[InputEvent],
        len_samples: usize,
        out: &mut EventBuffer,
    ) {
        if self.next_step.is_none() {
            if let Some(start) = self.clock.current().start_steps {
                // The first step whose sample is in this block.
                let time = *self.clock.current();
                let mut first = start.floor() as i64;
                while !time.is_ahead(first) {
                    first += 1;
                }
                self.next_step = Some(first);
            }
        }
        self.take_results(settings, out);

        for event in input {
            let offset = event.offset_samples.min(len_samples as u32);
            if event.kind == NoteKind::On && self.clock.current().start_steps.is_none() {
                // The free clock starts here: this note is on the bar line of measure 0.
                self.clock.anchor_free(offset);
                self.next_step = Some(0);
            }
            // Grid steps at the event's sample come first: a strike on a bar line belongs to
            // the measure that line begins.
            self.run_steps_before(offset as i64 + 1, settings, out);
            let time = *self.clock.current();
            self.scheduler
                .emit_until(&time, offset, settings.channel, out);
            self.handle_input(event, offset, settings, out);
        }

        self.run_steps_before(len_samples as i64, settings, out);
        let time = *self.clock.current();
        self.scheduler
            .emit_until(&time, len_samples as u32, settings.channel, out);
    }

    /// Runs the logic of every grid step that falls before sample `until_samples` of the block
    /// (a step falls on the sample nearest to it, as the scheduler places notes).
    fn run_steps_before(&mut self, until_samples: i64, settings: &Settings, out: &mut EventBuffer) {
        while let Some(step) = self.next_step {
            let time = self.clock.current();
            if time
                .sample_of(step)
                .is_none_or(|sample| sample >= until_samples)
            {
                break;
            }
            self.next_step = Some(step + 1);
            self.on_step(step, settings, out);
        }
    }

    /// One input note: the mode logic, then pass-through.
    fn handle_input(
        &mut self,
        event: &InputEvent,
        offset: u32,
        settings: &Settings,
        out: &mut EventBuffer,
    ) {
        if let Some(pos_steps) = self.clock.current().steps_at(offset) {
            let at = OutputOffset(offset);
            match event.kind {
                NoteKind::On => self.on_strike(pos_steps, event, at, settings, out),
                NoteKind::Off => self.on_release(pos_steps, event, settings),
            }
        }
        let event = InputEvent {
            offset_samples: offset,
            ..*event
        };
        self.pass_through(&event, settings.pass_through, out);
    }

    /// Forwards a player's note unchanged. A release is forwarded whenever its note was, even
    /// if pass-through was switched off in between, so that nothing is left hanging.
    fn pass_through(&mut self, event: &InputEvent, enabled: bool, out: &mut EventBuffer) {
        let channel_bit = 1u16 << (event.channel & 0x0F);
        let held = &mut self.forwarded[event.pitch as usize & 0x7F];
        let forward = match event.kind {
            NoteKind::On => enabled,
            NoteKind::Off => enabled || *held & channel_bit != 0,
        };
        if !forward {
            return;
        }
        match event.kind {
            NoteKind::On => *held |= channel_bit,
            NoteKind::Off => *held &= !channel_bit,
        }
        out.push(note(
            event.offset_samples,
            event.kind,
            event.channel,
            event.pitch,
            event.velocity,
        ));
    }

    /// Sends a request to the composer; `false` (and the measure counted as skipped) when the
    /// queue is full.
    pub(crate) fn request(
        &mut self,
        job: Job,
        target: Target,
        seed_index: u64,
        density: DensityChoice,
    ) -> bool {
        let Some(slot) = self.in_flight.iter().position(Option::is_none) else {
            self.count_skipped(1);
            return false;
        };
        let id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1).max(1);
        let request = ComposeRequest {
            id,
            job,
            density,
            seed: self.phrase_seed.wrapping_add(seed_index),
        };
        if self.link.requests.try_send(request).is_err() {
            self.count_skipped(1);
            return false;
        }
        let asked_in = self
            .next_step
            .map_or(0, |step| crate::capture::measure_of(step - 1));
        self.in_flight[slot] = Some(InFlight {
            id,
            target,
            asked_in,
        });
        true
    }

    /// Forgets every request in flight and tells the composer not to start them.
    pub(crate) fn cancel_requests(&mut self) {
        self.in_flight = [None; IN_FLIGHT_SLOTS];
        self.status
            .cancel_below
            .store(self.next_request_id, Ordering::Relaxed);
    }

    pub(crate) fn count_skipped(&self, measures: u32) {
        self.status
            .skipped_measures
            .fetch_add(measures, Ordering::Relaxed);
    }

    /// Picks the seed of a new phrase: the parameter, or a fresh one when it is 0.
    pub(crate) fn start_phrase_seed(&mut self, settings: &Settings) {
        self.phrase_seed = if settings.seed != 0 {
            settings.seed
        } else {
            // splitmix64: a different seed for every phrase without any allocation.
            self.seed_state = self.seed_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.seed_state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
    }

    /// Sends a record event if the recorder has room (the record is for display and export;
    /// losing an update under load is harmless).
    pub(crate) fn record(&self, event: RecordEvent) {
        let _ = self.link.records.try_send(event);
    }

    fn publish_status(&self, settings: &Settings, out: &EventBuffer) {
        let time = self.clock.current();
        let status = &self.status;
        let activity = self.activity(settings);
        status.activity.store(activity as u8, Ordering::Relaxed);
        let position = time.start_steps.map_or(f64::NAN, |start| start);
        status
            .position_steps
            .store(position.to_bits(), Ordering::Relaxed);
        status
            .tempo_bpm
            .store(time.tempo_bpm.to_bits(), Ordering::Relaxed);
        let source = match time.source {
            ClockSource::Host => 0,
            ClockSource::Free => 1,
            ClockSource::Waiting => 2,
        };
        status.clock_source.store(source, Ordering::Relaxed);
        status.four_four.store(time.four_four, Ordering::Relaxed);
        let in_flight = self.in_flight.iter().flatten().count() as u32;
        status
            .requests_in_flight
            .store(in_flight, Ordering::Relaxed);
        let dropped = out.dropped + self.scheduler.dropped;
        status.dropped_events.store(dropped, Ordering::Relaxed);
    }

    fn activity(&self, settings: &Settings) -> Activity {
        if settings.bypass {
            return Activity::Bypassed;
        }
        match (settings.mode, self.phase) {
            (Mode::Compose, Phase::Composing) => Activity::Composing,
            (Mode::Compose, _) if self.clock.current().source != ClockSource::Host => {
                Activity::WaitingForTransport
            }
            (_, Phase::Calling { .. }) => Activity::HearingCall,
            (_, Phase::Pending { .. }) => Activity::Thinking,
            (_, Phase::Answering { .. }) => Activity::Answering,
            (_, Phase::Following { .. }) => Activity::Following,
            _ => Activity::Listening,
        }
    }
}

/// A sample offset at which something the player did takes effect.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutputOffset(pub u32);

pub(crate) fn note(
    offset_samples: u32,
    kind: NoteKind,
    channel: u8,
    pitch: u8,
    velocity: u8,
) -> OutputEvent {
    OutputEvent {
        offset_samples,
        kind,
        channel: channel & 0x0F,
        pitch: pitch & 0x7F,
        velocity: velocity & 0x7F,
    }
}

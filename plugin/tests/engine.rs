//! The audio engine driven block by block by a host and a composer made of plain code: the
//! exact output events and their sample times for sequences of transports and input notes.
//!
//! Timing figures are worked out by hand: at 120 bpm and 48 kHz a quarter note is 24,000
//! samples, a grid step (1/24 quarter) 1,000 samples and a measure 96,000 samples. Built with the
//! `assert_process_allocs` feature, every call of `Engine::process` runs under nice-plug's
//! allocation guard, which aborts the test on any allocation.

use std::sync::Arc;

use continuo_plugin::cells::MeasureCells;
use continuo_plugin::clock::HostTime;
use continuo_plugin::engine::{Engine, EngineStatus, InputEvent, Settings};
use continuo_plugin::messages::{self, ComposeRequest, ComposeResult, WorkerLink};
use continuo_plugin::scheduler::{EventBuffer, NoteKind, OutputEvent};

const SAMPLE_RATE_HZ: f64 = 48_000.0;
/// Samples per grid step at 120 bpm and 48 kHz.
const STEP: i64 = 1_000;
/// Samples per measure at 120 bpm and 48 kHz.
const MEASURE: i64 = 96 * STEP;

/// An event with its absolute sample time (block start + offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Timed {
    sample: i64,
    kind: NoteKind,
    channel: u8,
    pitch: u8,
}

fn on(sample: i64, pitch: u8) -> Timed {
    Timed {
        sample,
        kind: NoteKind::On,
        channel: 0,
        pitch,
    }
}

fn off(sample: i64, pitch: u8) -> Timed {
    Timed {
        sample,
        kind: NoteKind::Off,
        channel: 0,
        pitch,
    }
}

/// A player's note for [`Rig::run`]: absolute sample, on or off, pitch.
#[derive(Clone, Copy, Debug)]
struct Played {
    sample: i64,
    kind: NoteKind,
    pitch: u8,
    velocity: u8,
}

fn press(sample: i64, pitch: u8) -> Played {
    Played {
        sample,
        kind: NoteKind::On,
        pitch,
        velocity: 100,
    }
}

fn release(sample: i64, pitch: u8) -> Played {
    Played {
        sample,
        kind: NoteKind::Off,
        pitch,
        velocity: 0,
    }
}

/// How the fake host reports time.
#[derive(Clone, Copy, Debug)]
enum Transport {
    /// Playing from sample 0 at 120 bpm in 4/4.
    Playing,
    /// Not playing; the host gives this tempo, or none.
    Stopped { tempo_bpm: Option<f64> },
}

/// The engine with its channels and a record of everything it sent.
struct Rig {
    engine: Engine,
    worker: WorkerLink,
    status: Arc<EngineStatus>,
    settings: Settings,
    transport: Transport,
    /// Samples processed so far: the next block starts here.
    now: i64,
    output: Vec<Timed>,
    /// Requests the composer received, with the sample at which the block that sent them began.
    requests: Vec<(i64, ComposeRequest)>,
    out: EventBuffer,
}

impl Rig {
    fn new(settings: Settings, transport: Transport) -> Rig {
        let (audio, worker) = messages::link();
        let status = Arc::new(EngineStatus::default());
        Rig {
            engine: Engine::new(SAMPLE_RATE_HZ, audio, status.clone(), 7),
            worker,
            status,
            settings,
            transport,
            now: 0,
            output: Vec::new(),
            requests: Vec::new(),
            out: EventBuffer::default(),
        }
    }

    /// What the host reports at absolute sample `sample`.
    fn host_at(&self, sample: i64) -> HostTime {
        match self.transport {
            Transport::Playing => {
                let pos_beats = sample as f64 / 24_000.0;
                HostTime {
                    playing: true,
                    tempo_bpm: Some(120.0),
                    pos_beats: Some(pos_beats),
                    time_signature: Some((4, 4)),
                    bar_start_beats: Some((pos_beats / 4.0).floor() * 4.0),
                }
            }
            Transport::Stopped { tempo_bpm } => HostTime {
                playing: false,
                tempo_bpm,
                ..HostTime::default()
            },
        }
    }

    /// Processes one block of `len` samples with the given host time; the player's notes that
    /// fall in it go in. Returns the block's output.
    fn block_with(&mut self, host: HostTime, len: usize, played: &[Played]) -> Vec<Timed> {
        let input: Vec<InputEvent> = played
            .iter()
            .filter(|p| p.sample >= self.now && p.sample < self.now + len as i64)
            .map(|p| InputEvent {
                offset_samples: (p.sample - self.now) as u32,
                kind: p.kind,
                channel: 0,
                pitch: p.pitch,
                velocity: p.velocity,
            })
            .collect();
        self.process_guarded(&host, &input, len);
        let block: Vec<Timed> = self
            .out
            .as_slice()
            .iter()
            .map(|event| self.timed(event, len))
            .collect();
        self.output.extend_from_slice(&block);
        while let Ok(request) = self.worker.requests.try_recv() {
            self.requests.push((self.now, request));
        }
        self.now += len as i64;
        block
    }

    /// Runs `engine.process`, under the allocation guard when the feature is on.
    fn process_guarded(&mut self, host: &HostTime, input: &[InputEvent], len: usize) {
        let engine = &mut self.engine;
        let settings = &self.settings;
        let out = &mut self.out;
        #[cfg(feature = "assert_process_allocs")]
        nice_assert_no_alloc::assert_no_alloc(|| engine.process(host, settings, input, len, out));
        #[cfg(not(feature = "assert_process_allocs"))]
        engine.process(host, settings, input, len, out);
    }

    fn timed(&self, event: &OutputEvent, len: usize) -> Timed {
        assert!(
            (event.offset_samples as usize) < len.max(1),
            "offset {} outside a block of {len}",
            event.offset_samples
        );
        Timed {
            sample: self.now + event.offset_samples as i64,
            kind: event.kind,
            channel: event.channel,
            pitch: event.pitch,
        }
    }

    /// Processes one block on the rig's transport.
    fn block(&mut self, len: usize, played: &[Played]) -> Vec<Timed> {
        let host = self.host_at(self.now);
        self.block_with(host, len, played)
    }

    /// Runs blocks of the sizes `sizes` yields until sample `until`, answering each request
    /// with `compose` as soon as it arrives (before the next block).
    fn run(
        &mut self,
        until: i64,
        mut sizes: impl FnMut() -> usize,
        played: &[Played],
        mut compose: impl FnMut(&ComposeRequest) -> Option<ComposeResult>,
    ) {
        while self.now < until {
            let len = sizes().clamp(1, (until - self.now) as usize);
            let before = self.requests.len();
            self.block(len, played);
            for (_, request) in self.requests[before..].iter() {
                if let Some(result) = compose(request) {
                    self.worker
                        .results
                        .try_send(result)
                        .expect("result slot free");
                }
            }
        }
    }

    /// The output without the player's notes passed through (those carry `pass` pitches).
    fn own_output(&self, player_pitches: &[u8]) -> Vec<Timed> {
        self.output
            .iter()
            .filter(|event| !player_pitches.contains(&event.pitch))
            .copied()
            .collect()
    }
}

/// A one-measure result answering `request` with these notes: (row, first step, end step).
fn answer(request: &ComposeRequest, notes: &[(usize, usize, usize)]) -> ComposeResult {
    let mut cells = MeasureCells::EMPTY;
    for &(row, start, end) in notes {
        for step in start..end {
            cells.set(step, row);
        }
    }
    ComposeResult {
        id: request.id,
        measure_count: 1,
        measures: [cells, MeasureCells::EMPTY],
    }
}

/// A tiny deterministic generator (xorshift64*) for block sizes and random scenarios.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

// ------------------------------------------------------------------------------------------
// Answer mode
// ------------------------------------------------------------------------------------------

use continuo_plugin::engine::{Activity, Mode};
use continuo_plugin::messages::Job;

/// Answer settings with a two-measure answer.
fn answer_settings() -> Settings {
    Settings {
        length_measures: 2,
        ..Settings::default()
    }
}

/// The call of most tests: C4 (MIDI 60) for the first beat of measure 0.
fn one_beat_call() -> Vec<Played> {
    vec![press(0, 60), release(24 * STEP, 60)]
}

/// The composer of most tests: E4 (row 40) on steps 0..12 and G4 (row 43) on 48..60 for the
/// first request, B4 (row 47) for the whole measure for every later one.
fn two_answers(request: &ComposeRequest, count: &mut usize) -> Option<ComposeResult> {
    *count += 1;
    Some(if *count == 1 {
        answer(request, &[(40, 0, 12), (43, 48, 60)])
    } else {
        answer(request, &[(47, 0, 96)])
    })
}

/// What the composer of [`two_answers`] makes sound, answering a call that ends at measure 1.
fn expected_two_answers() -> Vec<Timed> {
    vec![
        on(MEASURE, 64),
        off(MEASURE + 12 * STEP, 64),
        on(MEASURE + 48 * STEP, 67),
        off(MEASURE + 60 * STEP, 67),
        on(2 * MEASURE, 71),
        off(3 * MEASURE, 71),
    ]
}

fn previous_of(request: &ComposeRequest) -> MeasureCells {
    match request.job {
        Job::Continue { previous } => previous,
        Job::Compose => panic!("expected a continuation, got {request:?}"),
    }
}

#[test]
fn the_answer_starts_on_the_bar_line_after_a_silent_last_beat() {
    let mut rig = Rig::new(answer_settings(), Transport::Playing);
    let call = one_beat_call();
    let mut count = 0;

    // Until the last beat of measure 0 begins (sample 72,000) nothing is sent.
    rig.run(71_680, || 512, &call, |r| two_answers(r, &mut count));
    assert!(rig.requests.is_empty());
    assert_eq!(rig.status.activity(), Activity::HearingCall);

    // The block 71,680..72,192 holds step 72: the call goes to the composer then.
    rig.run(4 * MEASURE, || 512, &call, |r| two_answers(r, &mut count));
    assert_eq!(rig.requests[0].0, 71_680);
    let previous = previous_of(&rig.requests[0].1);
    assert_eq!(previous.ones(), 24, "C4 on steps 0..24");
    assert!(previous.get(0, 36) && previous.get(23, 36) && !previous.get(24, 36));

    assert_eq!(rig.own_output(&[60]), expected_two_answers());
    assert_eq!(rig.output[..2], [on(0, 60), off(24 * STEP, 60)]);
    // Two measures asked for, the second computed while the first plays, from the first.
    assert_eq!(rig.requests.len(), 2);
    let second = &rig.requests[1].1;
    assert!(previous_of(second).get(0, 40) && previous_of(second).get(48, 43));
    assert_eq!(second.seed, rig.requests[0].1.seed + 1);
    assert_eq!(rig.status.activity(), Activity::Listening);
    assert_eq!(
        rig.status
            .skipped_measures
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn any_block_sizes_give_the_same_samples() {
    let call = one_beat_call();
    for seed in 1..=4 {
        let mut dice = Dice(seed * 0x9E37_79B9);
        let mut rig = Rig::new(answer_settings(), Transport::Playing);
        let mut count = 0;
        rig.run(
            3 * MEASURE + 10,
            || 1 + dice.below(4096) as usize,
            &call,
            |r| two_answers(r, &mut count),
        );
        assert_eq!(rig.own_output(&[60]), expected_two_answers(), "dice {seed}");
    }
    // Single-sample blocks through the first bar line of the answer.
    let mut rig = Rig::new(answer_settings(), Transport::Playing);
    let mut count = 0;
    rig.run(
        MEASURE + 13 * STEP,
        || 1,
        &call,
        |r| two_answers(r, &mut count),
    );
    assert_eq!(rig.own_output(&[60]), expected_two_answers()[..2]);
}

#[test]
fn a_strike_in_the_last_beat_takes_the_request_back() {
    let mut rig = Rig::new(answer_settings(), Transport::Playing);
    // C4 on steps 0..10, then D4 (MIDI 62) struck at step 80, inside the last beat.
    let call = [
        press(0, 60),
        release(10 * STEP, 60),
        press(80 * STEP, 62),
        release(81 * STEP, 62),
    ];
    // The composer answers everything at once, so the first answer is scheduled before the
    // strike withdraws it.
    rig.run(
        3 * MEASURE,
        || 512,
        &call,
        |r| Some(answer(r, &[(40, 0, 1)])),
    );
    let first = rig.requests[0].1.id;
    assert!(
        rig.status
            .cancel_below
            .load(std::sync::atomic::Ordering::Relaxed)
            > first
    );

    // The first answer measure arrived at once and chained a request for measure 2 before the
    // strike took both back. Measure 1 is silent, so the call ends at the bar line of measure 2,
    // continuing measure 0 (C4 on 10 steps and D4 on step 80), sent when measure 1's last beat
    // begins (step 168); its continuation (measure 3) follows.
    assert_eq!(rig.requests.len(), 4);
    let (sent_at, second_call) = rig.requests[2];
    assert!((167_500..=168_000).contains(&sent_at));
    assert_eq!(previous_of(&second_call).ones(), 11);
    assert!(previous_of(&second_call).get(80, 38));
    assert_eq!(
        rig.own_output(&[60, 62]),
        vec![on(2 * MEASURE, 64), off(2 * MEASURE + STEP, 64)]
    );
}

#[test]
fn the_player_cutting_in_ends_the_answer_at_that_sample() {
    let mut rig = Rig::new(answer_settings(), Transport::Playing);
    let mut call = one_beat_call();
    // D3 (MIDI 50) struck at sample 150,000 while G4 sounds (144,000..156,000).
    call.extend([press(150 * STEP, 50), release(151 * STEP, 50)]);
    let mut count = 0;
    rig.run(
        2 * MEASURE - 1,
        || 512,
        &call,
        |r| two_answers(r, &mut count),
    );
    assert_eq!(
        rig.own_output(&[60, 50]),
        vec![
            on(MEASURE, 64),
            off(MEASURE + 12 * STEP, 64),
            on(MEASURE + 48 * STEP, 67),
            off(150 * STEP, 67),
        ]
    );
    // The note-off comes before the player's note at the same sample.
    let cut = rig.output.iter().position(|e| *e == off(150 * STEP, 67));
    let strike = rig.output.iter().position(|e| *e == on(150 * STEP, 50));
    assert!(cut < strike);
    // The strike began a new call, which ends silent at measure 2 and is sent at step 168,
    // continuing D3 (row 26) on step 54 of measure 1.
    let new_call = rig
        .requests
        .iter()
        .map(|(_, request)| previous_of(request))
        .find(|previous| previous.get(54, 26));
    assert_eq!(new_call.map(|previous| previous.ones()), Some(1));
}

#[test]
fn a_tempo_change_mid_answer_moves_the_later_notes() {
    let mut rig = Rig::new(answer_settings(), Transport::Playing);
    let call = one_beat_call();
    let mut count = 0;
    // 120 bpm until beat 4 (sample 96,000), then 60 bpm: a step becomes 2,000 samples.
    let host_at = |sample: i64| {
        let (pos_beats, tempo_bpm) = if sample < MEASURE {
            (sample as f64 / 24_000.0, 120.0)
        } else {
            (4.0 + (sample - MEASURE) as f64 / 48_000.0, 60.0)
        };
        HostTime {
            playing: true,
            tempo_bpm: Some(tempo_bpm),
            pos_beats: Some(pos_beats),
            time_signature: Some((4, 4)),
            bar_start_beats: Some((pos_beats / 4.0).floor() * 4.0),
        }
    };
    while rig.now < MEASURE + 130 * 2 * STEP {
        let host = host_at(rig.now);
        let before = rig.requests.len();
        rig.block_with(host, 500, &call);
        for (_, request) in rig.requests[before..].iter() {
            let result = two_answers(request, &mut count).unwrap();
            rig.worker.results.try_send(result).unwrap();
        }
    }
    assert_eq!(
        rig.own_output(&[60]),
        vec![
            on(MEASURE, 64),
            off(MEASURE + 12 * 2 * STEP, 64),
            on(MEASURE + 48 * 2 * STEP, 67),
            off(MEASURE + 60 * 2 * STEP, 67),
            on(MEASURE + 96 * 2 * STEP, 71),
        ]
    );
}

/// Runs the answer scenario to sample 100,000 (E4 sounds from 96,000 to 108,000) in blocks of
/// 500, so that a block starts exactly at 100,000.
fn rig_with_e4_sounding(settings: Settings) -> Rig {
    let mut rig = Rig::new(settings, Transport::Playing);
    let mut count = 0;
    rig.run(
        100 * STEP,
        || 500,
        &one_beat_call(),
        |r| two_answers(r, &mut count),
    );
    let own: Vec<(i64, u8)> = rig
        .own_output(&[60])
        .iter()
        .map(|e| (e.sample, e.pitch))
        .collect();
    assert_eq!(own, vec![(MEASURE, 64)]);
    rig
}

#[test]
fn a_transport_stop_ends_every_note_in_that_block() {
    let mut rig = rig_with_e4_sounding(answer_settings());
    let stopped = HostTime {
        playing: false,
        ..rig.host_at(rig.now)
    };
    assert_eq!(rig.block_with(stopped, 500, &[]), vec![off(100 * STEP, 64)]);
    for _ in 0..400 {
        let stopped = HostTime {
            playing: false,
            ..rig.host_at(rig.now)
        };
        assert!(rig.block_with(stopped, 500, &[]).is_empty());
    }
}

#[test]
fn a_loop_jump_ends_every_note_in_that_block() {
    let mut rig = rig_with_e4_sounding(answer_settings());
    let looped = rig.host_at(0);
    assert_eq!(rig.block_with(looped, 500, &[]), vec![off(100 * STEP, 64)]);
    // Nothing of the old answer comes back after the jump.
    for _ in 0..600 {
        let host = rig.host_at(rig.now - 100 * STEP - 500);
        assert!(rig.block_with(host, 500, &[]).is_empty());
    }
}

#[test]
fn a_mode_change_bypass_or_reset_ends_every_note() {
    let mut rig = rig_with_e4_sounding(answer_settings());
    rig.settings.mode = Mode::Follow;
    assert_eq!(rig.block(500, &[]), vec![off(100 * STEP, 64)]);

    let mut rig = rig_with_e4_sounding(answer_settings());
    rig.settings.bypass = true;
    // Bypassed, the player's notes pass through untouched.
    let played = [press(101 * STEP, 50)];
    assert_eq!(
        rig.block(2000, &played),
        vec![off(100 * STEP, 64), on(101 * STEP, 50)]
    );

    // A deactivation also releases the player's forwarded notes: their releases may be lost.
    // (Follow mode, where the player's strike does not end the plugin's E4.)
    let follow = Settings {
        mode: Mode::Follow,
        ..answer_settings()
    };
    let mut rig = Rig::new(follow, Transport::Playing);
    let mut call = one_beat_call();
    call.push(press(100 * STEP + 10, 50));
    rig.run(
        100 * STEP + 500,
        || 500,
        &call,
        |r| Some(answer(r, &[(40, 0, 12)])),
    );
    assert_eq!(rig.own_output(&[60, 50]), vec![on(MEASURE, 64)]);
    rig.engine.request_flush();
    let after = rig.block(500, &[]);
    assert_eq!(
        after,
        vec![off(100 * STEP + 500, 64), off(100 * STEP + 500, 50)]
    );
}

#[test]
fn the_output_channel_applies_to_new_notes_and_releases_follow_their_note() {
    let mut settings = answer_settings();
    settings.channel = 4;
    let mut rig = rig_with_e4_sounding(settings);
    rig.settings.channel = 9;
    rig.run(MEASURE + 50 * STEP, || 500, &[], |_| None);
    let own = rig.own_output(&[60]);
    let channels: Vec<(i64, u8)> = own.iter().map(|e| (e.sample, e.channel)).collect();
    assert_eq!(
        channels,
        vec![
            (MEASURE, 4),
            (MEASURE + 12 * STEP, 4),
            (MEASURE + 48 * STEP, 9)
        ]
    );
}

// ------------------------------------------------------------------------------------------
// The free clock
// ------------------------------------------------------------------------------------------

#[test]
fn without_a_transport_bar_lines_count_from_the_first_note_at_the_host_tempo() {
    let mut rig = Rig::new(
        answer_settings(),
        Transport::Stopped {
            tempo_bpm: Some(120.0),
        },
    );
    let call = [press(1_000, 60), release(25_000, 60)];
    let mut count = 0;
    rig.run(4 * MEASURE, || 512, &call, |r| two_answers(r, &mut count));
    let shifted: Vec<Timed> = expected_two_answers()
        .into_iter()
        .map(|e| Timed {
            sample: e.sample + 1_000,
            ..e
        })
        .collect();
    assert_eq!(rig.own_output(&[60]), shifted);
}

#[test]
fn without_any_tempo_the_tempo_parameter_times_the_free_clock() {
    let settings = Settings {
        fallback_tempo_bpm: 60.0,
        ..answer_settings()
    };
    let mut rig = Rig::new(settings, Transport::Stopped { tempo_bpm: None });
    // At 60 bpm a step is 2,000 samples: C4 for 24 steps.
    let call = [press(0, 60), release(48_000, 60)];
    let mut count = 0;
    rig.run(
        2 * 2 * MEASURE + 100,
        || 1024,
        &call,
        |r| two_answers(r, &mut count),
    );
    let two_step = 2 * STEP;
    assert_eq!(
        rig.own_output(&[60])[..4],
        [
            on(96 * two_step, 64),
            off(108 * two_step, 64),
            on(144 * two_step, 67),
            off(156 * two_step, 67),
        ]
    );
}

// ------------------------------------------------------------------------------------------
// Late results, Follow, Compose
// ------------------------------------------------------------------------------------------

#[test]
fn a_measure_not_ready_at_its_bar_line_is_skipped_and_counted() {
    let mut rig = Rig::new(answer_settings(), Transport::Playing);
    let call = one_beat_call();
    rig.run(MEASURE + 1_000, || 500, &call, |_| None);
    // The composer delivers measure 1 a step after its bar line.
    let (_, request) = rig.requests[0];
    rig.worker
        .results
        .try_send(answer(&request, &[(40, 0, 12)]))
        .unwrap();
    rig.run(
        3 * MEASURE + 500,
        || 500,
        &call,
        |r| Some(answer(r, &[(43, 0, 6)])),
    );
    assert_eq!(
        rig.status
            .skipped_measures
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // Measure 2 continues the late measure and plays on time.
    assert!(previous_of(&rig.requests[1].1).get(0, 40));
    assert_eq!(
        rig.own_output(&[60]),
        vec![on(2 * MEASURE, 67), off(2 * MEASURE + 6 * STEP, 67)]
    );
}

#[test]
fn follow_continues_each_measure_then_its_own_when_the_player_stops() {
    let settings = Settings {
        mode: Mode::Follow,
        length_measures: 2,
        ..Settings::default()
    };
    let mut rig = Rig::new(settings, Transport::Playing);
    let call = one_beat_call();
    let mut count = 0;
    rig.run(
        5 * MEASURE,
        || 512,
        &call,
        |request| {
            count += 1;
            let row = if count == 1 { 40 } else { 43 };
            Some(answer(request, &[(row, 0, 12)]))
        },
    );
    // Measure 0 is taken a sixteenth (6 steps) before its end: in the block holding step 90.
    assert!((89_500..=90_000).contains(&rig.requests[0].0));
    assert_eq!(previous_of(&rig.requests[0].1).ones(), 24);
    // Then the plugin continues its own measure 1 once: two measures in all.
    assert_eq!(rig.requests.len(), 2);
    assert!(previous_of(&rig.requests[1].1).get(0, 40));
    assert_eq!(
        rig.own_output(&[60]),
        vec![
            on(MEASURE, 64),
            off(MEASURE + 12 * STEP, 64),
            on(2 * MEASURE, 67),
            off(2 * MEASURE + 12 * STEP, 67),
        ]
    );
}

#[test]
fn compose_starts_with_two_measures_at_the_next_bar_line_and_goes_on() {
    let settings = Settings {
        mode: Mode::Compose,
        ..Settings::default()
    };
    let mut rig = Rig::new(settings, Transport::Playing);
    rig.run(
        4 * MEASURE,
        || 512,
        &[],
        |request| {
            let mut result = answer(request, &[(40, 0, 3)]);
            if request.job == Job::Compose {
                let mut second = MeasureCells::EMPTY;
                second.set(0, 43);
                result.measures[1] = second;
                result.measure_count = 2;
            }
            Some(result)
        },
    );
    assert_eq!(rig.requests[0].1.job, Job::Compose);
    assert_eq!(
        rig.own_output(&[])[..6],
        [
            on(MEASURE, 64),
            off(MEASURE + 3 * STEP, 64),
            on(2 * MEASURE, 67),
            off(2 * MEASURE + STEP, 67),
            on(3 * MEASURE, 64),
            off(3 * MEASURE + 3 * STEP, 64),
        ]
    );
    assert_eq!(rig.status.activity(), Activity::Composing);
}

// ------------------------------------------------------------------------------------------
// No stuck notes, ever
// ------------------------------------------------------------------------------------------

/// Random blocks, notes, transport jumps and stops, mode changes and composer replies (some
/// late, some never): every note the plugin starts is ended, per channel and pitch, and events
/// stay in time order.
#[test]
fn no_note_is_ever_left_on() {
    for seed in 1..=12u64 {
        let mut dice = Dice(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
        let mut rig = Rig::new(answer_settings(), Transport::Playing);
        let mut song_pos = 0i64;
        let mut playing = true;
        let mut pending: Vec<(i64, ComposeResult)> = Vec::new();
        let mut held: Vec<u8> = Vec::new();
        for _ in 0..3000 {
            let len = 1 + dice.below(2048) as usize;
            match dice.below(400) {
                0 => song_pos = dice.below(20) as i64 * 24_000, // a jump
                1 => playing = !playing,
                2 => {
                    rig.settings.mode =
                        [Mode::Answer, Mode::Follow, Mode::Compose][dice.below(3) as usize]
                }
                3 => rig.settings.bypass = !rig.settings.bypass,
                4 => rig.engine.request_flush(),
                5 => rig.settings.channel = dice.below(16) as u8,
                _ => {}
            }
            let mut played = Vec::new();
            if dice.below(6) == 0 {
                let sample = rig.now + dice.below(len as u64) as i64;
                if let Some(pitch) = held.pop() {
                    played.push(release(sample, pitch));
                } else {
                    let pitch = 20 + dice.below(90) as u8;
                    held.push(pitch);
                    played.push(press(sample, pitch));
                }
            }
            let host = HostTime {
                playing,
                tempo_bpm: Some(90.0 + dice.below(3) as f64 * 30.0),
                pos_beats: Some(song_pos as f64 / 24_000.0),
                time_signature: Some((4, 4)),
                bar_start_beats: Some((song_pos as f64 / 96_000.0).floor() * 4.0),
            };
            let before = rig.requests.len();
            let block = rig.block_with(host, len, &played);
            assert!(block
                .windows(2)
                .all(|pair| pair[0].sample <= pair[1].sample));
            song_pos += len as i64;
            for (_, request) in rig.requests[before..].iter() {
                if dice.below(5) > 0 {
                    let delay = dice.below(200_000) as i64;
                    let row = dice.below(72) as usize;
                    let start = dice.below(90) as usize;
                    let result = answer(request, &[(row, start, start + 6), (row, 0, 2)]);
                    pending.push((rig.now + delay, result));
                }
            }
            let now = rig.now;
            pending.retain(|(due, result)| {
                if *due <= now {
                    let _ = rig.worker.results.try_send(*result);
                    false
                } else {
                    true
                }
            });
        }
        // Stop the transport and release the player's keys: nothing may be left on.
        for pitch in held.drain(..) {
            rig.block(1, &[release(rig.now, pitch)]);
        }
        rig.engine.request_flush();
        rig.block(64, &[]);
        let mut sounding = std::collections::HashMap::<(u8, u8), i32>::new();
        for event in &rig.output {
            let count = sounding.entry((event.channel, event.pitch)).or_default();
            match event.kind {
                NoteKind::On => *count += 1,
                NoteKind::Off => *count = (*count - 1).max(0),
            }
        }
        let stuck: Vec<_> = sounding.iter().filter(|(_, &n)| n > 0).collect();
        assert!(stuck.is_empty(), "seed {seed}: stuck notes {stuck:?}");
    }
}

/// The guard around `Engine::process` above is only worth something if it bites: a child run of
/// this test allocates under it and must die.
#[cfg(feature = "assert_process_allocs")]
#[test]
fn the_allocation_guard_is_armed() {
    if std::env::var_os("CONTINUO_ALLOCATE_UNDER_GUARD").is_some() {
        nice_assert_no_alloc::assert_no_alloc(|| std::hint::black_box(vec![1u8; 64]));
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "the_allocation_guard_is_armed",
            "--test-threads",
            "1",
        ])
        .env("CONTINUO_ALLOCATE_UNDER_GUARD", "1")
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run the test binary again");
    assert!(
        !status.success(),
        "an allocation under the guard went through"
    );
}

/// Blocks of 240 samples (0.24 of a step) put every bar line on a block start; summing 0.24 per
/// block drifts off the exact bar line in floating point. A measure that arrives in the very
/// block starting on its bar line is still on time and plays from that block's first sample.
#[test]
fn a_measure_arriving_on_its_bar_line_block_plays_whatever_the_rounding() {
    for transport in [
        Transport::Stopped {
            tempo_bpm: Some(120.0),
        },
        Transport::Playing,
    ] {
        let lead_in = match transport {
            Transport::Playing => 0,
            Transport::Stopped { .. } => 12_000,
        };
        let mut rig = Rig::new(answer_settings(), transport);
        let call = [press(lead_in, 60), release(lead_in + 24 * STEP, 60)];
        let mut count = 0;
        let mut held: Vec<ComposeResult> = Vec::new();
        while rig.now < lead_in + 3 * MEASURE + 240 {
            // Each result is delivered just before the block that starts on its bar line.
            let bar_line = lead_in + (count as i64 - held.len() as i64 + 1) * MEASURE;
            if rig.now == bar_line && !held.is_empty() {
                rig.worker.results.try_send(held.remove(0)).unwrap();
            }
            let before = rig.requests.len();
            rig.block(240, &call);
            for (_, request) in rig.requests[before..].iter() {
                held.push(two_answers(request, &mut count).unwrap());
            }
        }
        let expected: Vec<Timed> = expected_two_answers()
            .into_iter()
            .map(|e| Timed {
                sample: e.sample + lead_in,
                ..e
            })
            .collect();
        let skipped = rig
            .status
            .skipped_measures
            .load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(skipped, 0, "{transport:?}");
        assert_eq!(rig.own_output(&[60]), expected, "{transport:?}");
    }
}

#[test]
fn compose_starts_over_when_the_composer_loses_a_request() {
    let settings = Settings {
        mode: Mode::Compose,
        ..Settings::default()
    };
    let mut rig = Rig::new(settings, Transport::Playing);
    // The composer never answers: the request for measure 1 is given up after 8 measures.
    rig.run(10 * MEASURE + 1, || 512, &[], |_| None);
    let composes = rig
        .requests
        .iter()
        .filter(|(_, request)| request.job == Job::Compose)
        .count();
    assert_eq!(
        composes, 2,
        "asked at measure 0, again once the first was given up"
    );
}

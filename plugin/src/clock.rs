//! Musical time for each audio block: where on the step grid the block starts and how many
//! steps one sample lasts, from the host's transport when it runs, else from a clock of our own.
//!
//! Positions are counted in grid steps (24 per quarter) from an *origin*: the bar line of
//! measure 0. Measure `m` covers steps `96m .. 96(m + 1)`. Keeping the schedule in steps and
//! converting to samples per block is what lets a tempo change mid-phrase move every later note.
//!
//! - **Host clock**: the transport is playing and says where it is. The origin is the host's bar
//!   phase when its bars are four quarters long (so our measures are its bars); in any other
//!   meter measures are four quarters counted from the song's start, and [`BlockTime::four_four`]
//!   is false so the editor can say so.
//! - **Free clock**: no transport, or a stopped one (a player jamming before pressing play, or a
//!   host that never runs one). It waits until the first note, which becomes the bar line of
//!   measure 0, then counts at the host's tempo if it gives one, else at the tempo parameter.

use crate::cells::STEPS_PER_BEAT;

/// Quarter notes per measure: the model knows only 4/4.
pub const BEATS_PER_MEASURE: f64 = 4.0;

/// A host position further than this from where the previous block said the next one would
/// start is a jump (a loop wrap, a locate, a scrub). Half a step: smaller differences come from
/// tempo ramps inside a block and round away anyway.
pub const JUMP_TOLERANCE_BEATS: f64 = 0.5 / STEPS_PER_BEAT as f64;

/// The transport as the host reported it for one block, with nothing host-specific left.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HostTime {
    pub playing: bool,
    pub tempo_bpm: Option<f64>,
    /// Position of the block's first sample in quarter notes from the song start.
    pub pos_beats: Option<f64>,
    /// Numerator and denominator.
    pub time_signature: Option<(i32, i32)>,
    /// Where the bar containing `pos_beats` started, in quarter notes.
    pub bar_start_beats: Option<f64>,
}

/// Which clock a block is timed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockSource {
    /// The host's running transport.
    Host,
    /// Our own clock, anchored at the first note of the phrase.
    Free,
    /// Our own clock, not anchored yet: nothing is timed until a note arrives.
    Waiting,
}

/// Musical time of one block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockTime {
    /// Position of the block's first sample in steps from the origin; `None` while the free
    /// clock waits for its first note.
    pub start_steps: Option<f64>,
    /// Steps one sample lasts: `tempo / 60 * 24 / sample_rate`.
    pub steps_per_sample: f64,
    pub tempo_bpm: f64,
    pub source: ClockSource,
    /// The timeline broke just before this block (the transport started, stopped, jumped or
    /// looped): whatever sounds must stop in this block.
    pub discontinuity: bool,
    /// False when the host's bars are not four quarters long, so that our measures are not its
    /// bars.
    pub four_four: bool,
}

impl BlockTime {
    /// The position of a sample of this block, in steps from the origin.
    pub fn steps_at(&self, offset_samples: u32) -> Option<f64> {
        self.start_steps
            .map(|start| start + offset_samples as f64 * self.steps_per_sample)
    }

    /// The sample of this block at which step `step` falls (rounded to the nearest sample; may
    /// lie outside the block).
    pub fn sample_of(&self, step: i64) -> Option<i64> {
        let start = self.start_steps?;
        Some(((step as f64 - start) / self.steps_per_sample).round() as i64)
    }

    /// Whether step `step` is still to come: its sample is this block's first or later. (A
    /// position computed a hair past a bar line that falls on the block start still counts the
    /// bar line as to come, as the scheduler will play it at sample 0.)
    pub fn is_ahead(&self, step: i64) -> bool {
        self.sample_of(step).is_some_and(|sample| sample >= 0)
    }
}

/// The free clock's position, kept as a count of samples at one tempo since a fixed point, so
/// that a long run at a steady tempo lands exactly on its bar lines (adding up each block's share
/// of a step would drift in floating point).
#[derive(Clone, Copy, Debug, PartialEq)]
struct FreeRun {
    /// Position where the current tempo began (or the clock was anchored).
    start_steps: f64,
    /// Samples since then.
    samples: u64,
    steps_per_sample: f64,
}

impl FreeRun {
    fn position(&self) -> f64 {
        self.start_steps + self.samples as f64 * self.steps_per_sample
    }

    /// The same position, counted on from here at another tempo.
    fn at_tempo(self, steps_per_sample: f64) -> FreeRun {
        if steps_per_sample == self.steps_per_sample {
            return self;
        }
        FreeRun {
            start_steps: self.position(),
            samples: 0,
            steps_per_sample,
        }
    }
}

/// Turns host transports into [`BlockTime`]s and runs the free clock.
#[derive(Clone, Debug)]
pub struct Clock {
    sample_rate_hz: f64,
    /// Host position predicted for the next block's first sample; `None` when the previous
    /// block did not run on the host clock. Compared with what the host reports to find jumps.
    expected_host_beats: Option<f64>,
    /// The origin's offset from the song start in beats, on the host clock.
    origin_beats: f64,
    /// Free clock: position of the next block's first sample; `None` while waiting for a note.
    free_next_steps: Option<FreeRun>,
    /// The time of the block being processed.
    current: BlockTime,
}

impl Clock {
    pub fn new(sample_rate_hz: f64) -> Self {
        Clock {
            sample_rate_hz: sample_rate_hz.max(1.0),
            expected_host_beats: None,
            origin_beats: 0.0,
            free_next_steps: None,
            current: BlockTime {
                start_steps: None,
                steps_per_sample: 0.0,
                tempo_bpm: 120.0,
                source: ClockSource::Waiting,
                discontinuity: false,
                four_four: true,
            },
        }
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// The time of the block being processed.
    pub fn current(&self) -> &BlockTime {
        &self.current
    }

    /// Works out the time of a block of `len_samples` samples from the host's transport.
    /// `fallback_tempo_bpm` times the free clock when the host gives no tempo.
    pub fn begin_block(
        &mut self,
        host: &HostTime,
        fallback_tempo_bpm: f64,
        len_samples: usize,
    ) -> BlockTime {
        let tempo_bpm = host
            .tempo_bpm
            .filter(|bpm| bpm.is_finite() && *bpm > 1.0)
            .unwrap_or(fallback_tempo_bpm)
            .clamp(1.0, 1000.0);
        let beats_per_sample = tempo_bpm / 60.0 / self.sample_rate_hz;
        let steps_per_sample = beats_per_sample * STEPS_PER_BEAT as f64;

        let host_beats = host
            .pos_beats
            .filter(|beats| host.playing && beats.is_finite());
        self.current = match host_beats {
            Some(pos_beats) => {
                let (origin_beats, four_four) = host_origin(host);
                let discontinuity = match self.expected_host_beats {
                    Some(expected) => {
                        (pos_beats - expected).abs() > JUMP_TOLERANCE_BEATS
                            || (origin_beats - self.origin_beats).abs() > JUMP_TOLERANCE_BEATS
                    }
                    None => true,
                };
                self.origin_beats = origin_beats;
                self.expected_host_beats = Some(pos_beats + len_samples as f64 * beats_per_sample);
                self.free_next_steps = None;
                BlockTime {
                    start_steps: Some((pos_beats - origin_beats) * STEPS_PER_BEAT as f64),
                    steps_per_sample,
                    tempo_bpm,
                    source: ClockSource::Host,
                    discontinuity,
                    four_four,
                }
            }
            None => {
                // Leaving the host clock (the transport stopped) breaks the timeline.
                let discontinuity = self.expected_host_beats.take().is_some();
                self.free_next_steps = self
                    .free_next_steps
                    .map(|run| run.at_tempo(steps_per_sample));
                BlockTime {
                    start_steps: self.free_next_steps.map(|run| run.position()),
                    steps_per_sample,
                    tempo_bpm,
                    source: if self.free_next_steps.is_some() {
                        ClockSource::Free
                    } else {
                        ClockSource::Waiting
                    },
                    discontinuity,
                    four_four: true,
                }
            }
        };
        self.current
    }

    /// Starts the free clock so that sample `offset_samples` of the current block is the bar
    /// line of measure 0. Does nothing on the host clock.
    pub fn anchor_free(&mut self, offset_samples: u32) -> BlockTime {
        if self.current.source != ClockSource::Host {
            let steps_per_sample = self.current.steps_per_sample;
            let start = -(offset_samples as f64) * steps_per_sample;
            self.current.start_steps = Some(start);
            self.current.source = ClockSource::Free;
            self.free_next_steps = Some(FreeRun {
                start_steps: start,
                samples: 0,
                steps_per_sample,
            });
        }
        self.current
    }

    /// Stops the free clock: from now on nothing is timed until the next note, which will be
    /// a new measure 0. Does nothing on the host clock.
    pub fn release_free(&mut self) {
        if self.current.source != ClockSource::Host {
            self.free_next_steps = None;
            self.current.start_steps = None;
            self.current.source = ClockSource::Waiting;
        }
    }

    /// Moves the free clock past the block just processed.
    pub fn end_block(&mut self, len_samples: usize) {
        if let Some(run) = self.free_next_steps.as_mut() {
            run.samples += len_samples as u64;
        }
    }
}

/// The origin of the host clock and whether its bars are four quarters long.
fn host_origin(host: &HostTime) -> (f64, bool) {
    let (numerator, denominator) = host.time_signature.unwrap_or((4, 4));
    let bar_beats = if denominator > 0 {
        numerator as f64 * 4.0 / denominator as f64
    } else {
        BEATS_PER_MEASURE
    };
    let four_four = (bar_beats - BEATS_PER_MEASURE).abs() < 1e-9;
    let origin_beats = match host.bar_start_beats {
        Some(bar_start) if four_four && bar_start.is_finite() => {
            bar_start.rem_euclid(BEATS_PER_MEASURE)
        }
        // NOTE: In meters other than four quarters per bar, our 4-beat measures are counted
        //       from the song start and do not line up with the host's bars.
        _ => 0.0,
    };
    (origin_beats, four_four)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playing_at(pos_beats: f64) -> HostTime {
        HostTime {
            playing: true,
            tempo_bpm: Some(120.0),
            pos_beats: Some(pos_beats),
            time_signature: Some((4, 4)),
            bar_start_beats: Some((pos_beats / 4.0).floor() * 4.0),
        }
    }

    #[test]
    fn host_blocks_follow_each_other_without_a_jump() {
        // 120 bpm at 48 kHz: a beat is 24,000 samples, a step 1,000 samples.
        let mut clock = Clock::new(48_000.0);
        let first = clock.begin_block(&playing_at(0.0), 90.0, 512);
        assert!(
            first.discontinuity,
            "starting the transport breaks the timeline"
        );
        assert_eq!(first.start_steps, Some(0.0));
        assert!((first.steps_per_sample - 0.001).abs() < 1e-15);
        clock.end_block(512);
        let second = clock.begin_block(&playing_at(512.0 / 24_000.0), 90.0, 512);
        assert!(!second.discontinuity);
        assert!((second.start_steps.unwrap() - 0.512).abs() < 1e-12);
        assert_eq!(second.sample_of(1), Some(488));
    }

    #[test]
    fn loops_and_stops_are_discontinuities() {
        let mut clock = Clock::new(48_000.0);
        clock.begin_block(&playing_at(7.9), 120.0, 480);
        // 480 samples later would be 7.92; the host looped back to 0.
        assert!(
            clock
                .begin_block(&playing_at(0.0), 120.0, 480)
                .discontinuity
        );
        let stopped = HostTime {
            playing: false,
            ..playing_at(0.02)
        };
        let block = clock.begin_block(&stopped, 120.0, 480);
        assert!(block.discontinuity);
        assert_eq!(block.source, ClockSource::Waiting);
        assert!(!clock.begin_block(&stopped, 120.0, 480).discontinuity);
    }

    #[test]
    fn the_free_clock_starts_at_the_first_note_and_uses_the_fallback_tempo() {
        let mut clock = Clock::new(48_000.0);
        let idle = HostTime::default();
        assert_eq!(clock.begin_block(&idle, 60.0, 256).start_steps, None);
        // At 60 bpm a step is 2,000 samples. A note at sample 100 is step 0.
        let anchored = clock.anchor_free(100);
        assert_eq!(anchored.source, ClockSource::Free);
        assert!((anchored.steps_at(100).unwrap()).abs() < 1e-12);
        clock.end_block(256);
        let next = clock.begin_block(&idle, 60.0, 256);
        assert!((next.start_steps.unwrap() - 156.0 / 2000.0).abs() < 1e-12);
        assert!(!next.discontinuity);
    }

    #[test]
    fn other_meters_count_four_beat_measures_from_the_song_start() {
        let mut clock = Clock::new(48_000.0);
        let three_four = HostTime {
            time_signature: Some((3, 4)),
            bar_start_beats: Some(3.0),
            ..playing_at(3.5)
        };
        let block = clock.begin_block(&three_four, 120.0, 64);
        assert!(!block.four_four);
        assert_eq!(block.start_steps, Some(3.5 * 24.0));
        // In 4/4 with a bar starting at beat 6 (after a pickup), measures start at 2 + 4k.
        let mut clock = Clock::new(48_000.0);
        let shifted = HostTime {
            bar_start_beats: Some(6.0),
            ..playing_at(7.0)
        };
        assert_eq!(
            clock.begin_block(&shifted, 120.0, 64).start_steps,
            Some(5.0 * 24.0)
        );
    }
}

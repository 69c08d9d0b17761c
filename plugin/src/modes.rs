//! The three ways Continuo plays along, as transitions of [`Phase`] driven by grid steps, the
//! player's notes and the composer's results.
//!
//! - **Answer** (call and response). The player's call ends at a bar line where no key is held
//!   and none was struck in the beat before it. As soon as a measure's last beat has begun with
//!   no key held and none struck in it, the measure goes to the composer (`Pending`), so that
//!   the first answer measure is ready on the bar line; a strike before the bar line takes the
//!   request back. The answer lasts `length` measures, each continuing the one before it
//!   (Algorithm 2), the next computed while the current one plays. A strike during the answer
//!   ends it at once and starts a new call.
//! - **Follow**. A margin before each bar line (default a sixteenth) the measure the player is
//!   in is sent to be continued in the next measure. When the player stops, the plugin continues
//!   its own last measure, `length` measures in all. Notes struck inside the margin are not
//!   heard by the model for that measure (they still sound and are recorded).
//! - **Compose**. While the host transport runs, Algorithm 1 makes two measures, placed at the
//!   first bar line after they arrive, and Algorithm 2 continues from there for as long as the
//!   transport runs. The player's notes are passed through but do not steer it.
//!
//! A result that arrives after its bar line is never played late: its measures are skipped and
//! counted, and the chain goes on from it at the next bar line still ahead.

use crate::capture::{bar_line, measure_of};
use crate::cells::{STEPS_PER_BEAT, STEPS_PER_MEASURE};
use crate::engine::{
    Engine, InputEvent, Mode, OutputOffset, Phase, Settings, Target, VelocityChoice,
};
use crate::messages::{ComposeResult, Job, RecordEvent};
use crate::scheduler::EventBuffer;

/// The step at which a measure's last beat begins.
const LAST_BEAT_STEP: i64 = (STEPS_PER_MEASURE - STEPS_PER_BEAT) as i64;
/// How often (in steps) the recorder hears of the measure being played: a sixteenth.
const LIVE_UPDATE_STEPS: i64 = 6;
/// A request whose measure is this far in the past is given up (the composer is stuck).
const GIVE_UP_MEASURES: i64 = 8;
/// Quiet measures after which the free clock stops, so that the next note is a new measure 0.
const FREE_CLOCK_IDLE_MEASURES: i64 = 2;

impl Engine {
    /// The logic of grid step `step`, run once when the music reaches it.
    pub(crate) fn on_step(&mut self, step: i64, settings: &Settings, _out: &mut EventBuffer) {
        self.capture.fill_held_until(step);
        if self.capture.any_held() {
            self.input_dirty = true;
            self.last_activity_step = step;
        }

        let measure = measure_of(step);
        let step_in_measure = step - bar_line(measure);
        if step_in_measure == 0 {
            self.on_bar_line(measure, settings);
        }
        match settings.mode {
            Mode::Answer if step_in_measure == LAST_BEAT_STEP => {
                self.try_end_call(step as f64, settings);
            }
            Mode::Follow if step_in_measure == follow_take_step(settings) => {
                self.follow_take(measure, settings);
            }
            Mode::Compose if step_in_measure == 0 => self.compose_start(measure, settings),
            _ => {}
        }

        if step_in_measure % LIVE_UPDATE_STEPS == 0 {
            self.send_live_input(measure);
        }
        self.give_up_old_requests(measure);
        self.stop_idle_free_clock(step);
    }

    /// A strike by the player at fractional step `pos_steps`.
    pub(crate) fn on_strike(
        &mut self,
        pos_steps: f64,
        event: &InputEvent,
        at: OutputOffset,
        settings: &Settings,
        out: &mut EventBuffer,
    ) {
        let measure = measure_of(pos_steps.round() as i64);
        self.last_activity_step = pos_steps.round() as i64;
        self.input_dirty = true;
        match (settings.mode, self.phase) {
            (Mode::Answer, Phase::Calling { .. }) => {}
            (Mode::Answer, Phase::Pending { first_measure, .. }) => {
                // Struck in the last beat: the call goes on, the answer is not wanted yet. Its
                // first measure may already be scheduled (nothing of it sounds before the bar
                // line).
                self.scheduler.flush(at.0, out);
                self.cancel_requests();
                self.last_scheduled_measure = None;
                self.phase = Phase::Calling { first_measure };
            }
            (Mode::Answer, Phase::Answering { .. }) => {
                // The player cuts in: the answer stops now and a new call begins.
                self.scheduler.flush(at.0, out);
                self.cancel_requests();
                self.last_scheduled_measure = None;
                self.begin_phrase(measure, settings);
                self.phase = Phase::Calling {
                    first_measure: measure,
                };
            }
            (Mode::Answer, _) => {
                self.begin_phrase(measure, settings);
                self.phase = Phase::Calling {
                    first_measure: measure,
                };
            }
            (Mode::Follow, Phase::Following { .. }) | (Mode::Compose, _) => {}
            (Mode::Follow, _) => {
                self.begin_phrase(measure, settings);
                self.phase = Phase::Following { own_left: 0 };
            }
        }
        self.capture.note_on(pos_steps, event.pitch, event.velocity);
    }

    /// A release by the player at fractional step `pos_steps`.
    pub(crate) fn on_release(&mut self, pos_steps: f64, event: &InputEvent, settings: &Settings) {
        self.capture.note_off(pos_steps, event.pitch);
        self.last_activity_step = pos_steps.round() as i64;
        self.input_dirty = true;
        if settings.mode == Mode::Answer {
            self.try_end_call(pos_steps, settings);
        }
    }

    /// Takes every result the composer has finished.
    pub(crate) fn take_results(&mut self, settings: &Settings, out: &mut EventBuffer) {
        while let Ok(result) = self.link.results.try_recv() {
            self.on_result(&result, settings, out);
        }
    }

    fn on_bar_line(&mut self, measure: i64, settings: &Settings) {
        let finished = measure - 1;
        if let Some(cells) = self
            .capture
            .cells(finished)
            .filter(|cells| !cells.is_empty())
        {
            let event = RecordEvent::Input {
                measure: finished,
                cells: *cells,
                velocity: self.capture.measure_velocity(finished),
                finished: true,
            };
            self.record(event);
        }

        match self.phase {
            Phase::Pending { start, end, .. } if start == measure => {
                self.phase = Phase::Answering { start, end };
            }
            Phase::Answering { end, .. } if measure >= end => self.phase = Phase::Idle,
            Phase::Following { own_left: 0 }
                if settings.mode == Mode::Follow
                    && self.in_flight.iter().all(Option::is_none)
                    && !self.capture.any_held()
                    && !self.capture.has_music(finished)
                    && self
                        .scheduler
                        .last_step()
                        .is_none_or(|step| step <= bar_line(measure)) =>
            {
                self.phase = Phase::Idle;
            }
            _ => {}
        }
    }

    /// Answer mode: sends the call to be answered if its last beat is under way with no key
    /// held and none struck in it.
    fn try_end_call(&mut self, now_steps: f64, settings: &Settings) {
        let Phase::Calling { first_measure } = self.phase else {
            return;
        };
        let measure = measure_of(now_steps.floor() as i64);
        let last_beat = (bar_line(measure) + LAST_BEAT_STEP) as f64;
        let struck_in_last_beat = self
            .capture
            .last_strike_steps()
            .is_some_and(|strike| strike >= last_beat);
        if now_steps < last_beat || self.capture.any_held() || struck_in_last_beat {
            return;
        }

        // Algorithm 2 continues the last measure that holds music (a call whose last strike fell
        // in a measure's last beat ends a measure later, on a silent measure).
        let previous = (first_measure.max(measure - 2)..=measure)
            .rev()
            .find_map(|m| self.capture.cells(m).filter(|cells| !cells.is_empty()))
            .copied();
        let Some(previous) = previous else {
            self.phase = Phase::Idle;
            return;
        };
        let start = measure + 1;
        let end = start + settings.length_measures.max(1) as i64;
        self.request(
            Job::Continue { previous },
            Target::Measure(start),
            0,
            settings.density,
        );
        self.phase = Phase::Pending {
            first_measure,
            start,
            end,
        };
    }

    /// Follow mode, a margin before the end of `measure`.
    fn follow_take(&mut self, measure: i64, settings: &Settings) {
        let Phase::Following { own_left } = self.phase else {
            return;
        };
        let played = self
            .capture
            .cells(measure)
            .filter(|cells| !cells.is_empty())
            .copied();
        let seed_index = (measure + 1 - self.phrase_first_measure).max(0) as u64;
        if let Some(previous) = played {
            self.request(
                Job::Continue { previous },
                Target::Measure(measure + 1),
                seed_index,
                settings.density,
            );
            self.phase = Phase::Following {
                own_left: settings.length_measures.max(1) - 1,
            };
        } else if let (Some(previous), true) = (self.own_measure, own_left > 0) {
            self.request(
                Job::Continue { previous },
                Target::Measure(measure + 1),
                seed_index,
                settings.density,
            );
            self.phase = Phase::Following {
                own_left: own_left - 1,
            };
        }
    }

    /// Compose mode, at a bar line: starts a composition if none is running and the transport
    /// is.
    fn compose_start(&mut self, measure: i64, settings: &Settings) {
        let chain_broken = self.phase == Phase::Composing
            && self.in_flight.iter().all(Option::is_none)
            && self
                .scheduler
                .last_step()
                .is_none_or(|step| step <= bar_line(measure));
        if chain_broken {
            // A request was lost (the composer's queue was full, or it never answered): start
            // over rather than stay silent.
            self.phase = Phase::Idle;
        }
        if self.phase != Phase::Idle
            || self.clock.current().source != crate::clock::ClockSource::Host
        {
            return;
        }
        self.begin_phrase(measure + 1, settings);
        if self.request(Job::Compose, Target::OnArrival, 0, settings.density) {
            self.phase = Phase::Composing;
        }
    }

    fn on_result(&mut self, result: &ComposeResult, settings: &Settings, _out: &mut EventBuffer) {
        let Some(slot) = self
            .in_flight
            .iter()
            .position(|entry| entry.is_some_and(|entry| entry.id == result.id))
        else {
            return; // cancelled
        };
        let Some(entry) = self.in_flight[slot].take() else {
            return;
        };
        let Some(now_steps) = self.clock.current().start_steps else {
            return;
        };
        let time = *self.clock.current();
        // The measure whose bar line is the first still to come.
        let mut next_bar = measure_of(now_steps.floor() as i64);
        while !time.is_ahead(bar_line(next_bar)) {
            next_bar += 1;
        }
        let current_measure = next_bar - 1;
        let first = match entry.target {
            Target::Measure(measure) => measure,
            Target::OnArrival => next_bar,
        };
        let (answer_start, end) = match (settings.mode, self.phase) {
            (Mode::Answer, Phase::Pending { start, end, .. })
            | (Mode::Answer, Phase::Answering { start, end }) => (start, end),
            (Mode::Answer, _) => return,
            _ => (self.phrase_first_measure, i64::MAX),
        };

        let count = result.measure_count.clamp(1, 2) as i64;
        let last = first + count - 1;
        for index in 0..count {
            let measure = first + index;
            if measure < end {
                self.place_measure(measure, result, index as usize, settings);
            }
        }
        self.own_measure = Some(*result.last_measure());

        // Measures between this result and the next bar line still ahead were lost to lateness.
        let next = (last + 1).max(current_measure + 1);
        let lost = (next.min(end) - (last + 1)).max(0);
        self.count_skipped(lost as u32);

        let chains = match settings.mode {
            Mode::Answer => next < end,
            Mode::Compose => self.phase == Phase::Composing,
            Mode::Follow => false, // Follow decides at each margin.
        };
        if chains {
            let previous = *result.last_measure();
            let seed_index = (next - answer_start).max(0) as u64;
            self.request(
                Job::Continue { previous },
                Target::Measure(next),
                seed_index,
                settings.density,
            );
        }
    }

    /// Schedules measure `index` of a result at `measure`, or counts it as skipped when its bar
    /// line has passed.
    fn place_measure(
        &mut self,
        measure: i64,
        result: &ComposeResult,
        index: usize,
        settings: &Settings,
    ) {
        let cells = result.measures[index];
        let velocity = self.output_velocity(settings);
        let on_time = self.clock.current().is_ahead(bar_line(measure))
            && self
                .last_scheduled_measure
                .is_none_or(|last| measure > last);
        if on_time {
            self.scheduler
                .add_measure(bar_line(measure), &cells, velocity);
            self.last_scheduled_measure = Some(measure);
            self.last_activity_step = self.last_activity_step.max(bar_line(measure + 1));
        } else {
            self.count_skipped(1);
        }
        self.record(RecordEvent::Output {
            measure,
            cells,
            velocity,
            played: on_time,
        });
    }

    fn output_velocity(&self, settings: &Settings) -> u8 {
        match settings.velocity {
            VelocityChoice::Fixed(velocity) => velocity,
            VelocityChoice::PlayersMean { fallback } => {
                self.capture.mean_velocity().unwrap_or(fallback)
            }
        }
    }

    /// A new phrase: a new seed, a new mean velocity, and a fresh record for the editor.
    fn begin_phrase(&mut self, measure: i64, settings: &Settings) {
        self.start_phrase_seed(settings);
        self.capture.reset_velocity();
        self.phrase_first_measure = measure;
        self.record(RecordEvent::PhraseStarted { measure });
    }

    fn send_live_input(&mut self, measure: i64) {
        if !self.input_dirty {
            return;
        }
        if let Some(cells) = self
            .capture
            .cells(measure)
            .filter(|cells| !cells.is_empty())
        {
            let event = RecordEvent::Input {
                measure,
                cells: *cells,
                velocity: self.capture.measure_velocity(measure),
                finished: false,
            };
            self.record(event);
        }
        self.input_dirty = false;
    }

    fn give_up_old_requests(&mut self, measure: i64) {
        for entry in self.in_flight.iter_mut() {
            if let Some(flight) = entry {
                let deadline = match flight.target {
                    Target::Measure(target) => target,
                    Target::OnArrival => flight.asked_in,
                };
                if measure >= deadline + GIVE_UP_MEASURES {
                    *entry = None;
                }
            }
        }
    }

    /// On the free clock, after a quiet while, the bar grid is let go: the next note starts a
    /// new measure 0 (the player may come back at another moment, or tempo).
    fn stop_idle_free_clock(&mut self, step: i64) {
        let quiet = self.phase == Phase::Idle
            && !self.capture.any_held()
            && self.in_flight.iter().all(Option::is_none)
            && self.scheduler.is_idle()
            && step - self.last_activity_step
                >= FREE_CLOCK_IDLE_MEASURES * STEPS_PER_MEASURE as i64;
        if quiet && self.clock.current().source == crate::clock::ClockSource::Free {
            self.clock.release_free();
            self.next_step = None;
            self.capture.reset();
        }
    }
}

/// The step of a measure at which Follow mode takes it.
fn follow_take_step(settings: &Settings) -> i64 {
    let margin = settings
        .follow_margin_steps
        .clamp(1, STEPS_PER_MEASURE as u32 / 2);
    STEPS_PER_MEASURE as i64 - margin as i64
}

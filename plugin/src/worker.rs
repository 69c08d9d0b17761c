//! The plugin's two background threads.
//!
//! - The **composer** runs Algorithms 1 and 2 (`continuo_model::compose::Composer`) for the
//!   audio thread's requests and sends back the measures.
//! - The **recorder** keeps the phrase record the editor draws and the state saves, and works out
//!   the free energy of each measure under the current model.
//!
//! Both poll their channel with `try_recv` and a short sleep instead of blocking in `recv`: a
//! crossbeam receiver that blocks registers a waker, and every `try_send` of the audio thread
//! would then lock the channel's waker mutex to wake it. Polling keeps the audio thread's sends
//! lock-free; a few milliseconds of latency are nothing against a beat.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use continuo_model::compose::{Composer, Density};
use continuo_model::Rbm;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use ndarray::Array1;

use crate::cells::{MeasureCells, STEPS_PER_MEASURE};
use crate::engine::EngineStatus;
use crate::messages::{ComposeRequest, ComposeResult, DensityChoice, Job, RecordEvent, WorkerLink};
use crate::model::{LoadedModel, ModelShelf};
use crate::phrase::{notes_of, Phrase, Voice};

/// How often the composer looks for work while requests are coming in.
const COMPOSER_POLL: Duration = Duration::from_millis(2);
/// How often it looks after a second without any: an idle plugin should cost next to nothing,
/// and 20 ms is still a tenth of the shortest beat the tempo parameter allows.
const COMPOSER_IDLE_POLL: Duration = Duration::from_millis(20);
/// Polls without work after which the composer polls at the idle rate.
const COMPOSER_IDLE_AFTER_POLLS: u32 = 500;
/// How often the recorder looks for events (the editor redraws at about 60 Hz).
const RECORDER_POLL: Duration = Duration::from_millis(10);
/// How long a request waits for a model to be loaded before it is dropped.
const MODEL_WAIT: Duration = Duration::from_secs(10);

/// The running background threads; dropping this stops and joins them.
pub struct Workers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts the composer and the recorder.
    pub fn spawn(
        link: WorkerLink,
        shelf: Arc<ModelShelf>,
        status: Arc<EngineStatus>,
        phrase: Arc<RwLock<Phrase>>,
    ) -> std::io::Result<Workers> {
        let stop = Arc::new(AtomicBool::new(false));
        let WorkerLink {
            requests,
            results,
            records,
        } = link;

        let composer = {
            let (stop, shelf, status) = (stop.clone(), shelf.clone(), status.clone());
            std::thread::Builder::new()
                .name(String::from("continuo-composer"))
                .spawn(move || compose_loop(&requests, &results, &shelf, &status, &stop))?
        };
        let recorder = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(String::from("continuo-recorder"))
                .spawn(move || record_loop(&records, &shelf, &status, &phrase, &stop))?
        };
        Ok(Workers {
            stop,
            threads: vec![composer, recorder],
        })
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The composer thread: one request at a time, skipping cancelled ones.
fn compose_loop(
    requests: &Receiver<ComposeRequest>,
    results: &Sender<ComposeResult>,
    shelf: &ModelShelf,
    status: &EngineStatus,
    stop: &AtomicBool,
) {
    // The composer of the current model, rebuilt when the shelf's generation changes.
    let mut composer: Option<(u64, Composer)> = None;
    let mut idle_polls = 0u32;
    while !stop.load(Ordering::Acquire) {
        let request = match requests.try_recv() {
            Ok(request) => {
                idle_polls = 0;
                request
            }
            Err(TryRecvError::Empty) => {
                idle_polls = idle_polls.saturating_add(1);
                std::thread::sleep(if idle_polls < COMPOSER_IDLE_AFTER_POLLS {
                    COMPOSER_POLL
                } else {
                    COMPOSER_IDLE_POLL
                });
                continue;
            }
            Err(TryRecvError::Disconnected) => return,
        };
        if request.id < status.cancel_below.load(Ordering::Relaxed) {
            continue;
        }
        let Some(model) = wait_for_model(shelf, stop) else {
            continue;
        };
        let generation = shelf.generation();
        let composer = match &mut composer {
            Some((built, composer)) if *built == generation => composer,
            slot => &mut slot.insert((generation, Composer::new(&model.rbm))).1,
        };
        let result = compose(composer, &request);
        // A full result queue means the audio thread is not running; the request is lost.
        let _ = results.try_send(result);
    }
}

/// The current model, waiting a while for one still loading.
fn wait_for_model(shelf: &ModelShelf, stop: &AtomicBool) -> Option<Arc<LoadedModel>> {
    let mut waited = Duration::ZERO;
    loop {
        if let Some(model) = shelf.current() {
            return Some(model);
        }
        if waited >= MODEL_WAIT || stop.load(Ordering::Acquire) {
            return None;
        }
        std::thread::sleep(COMPOSER_POLL * 5);
        waited += COMPOSER_POLL * 5;
    }
}

/// Runs one request: Algorithm 2 for a continuation, Algorithm 1 for a composition.
pub fn compose(composer: &mut Composer, request: &ComposeRequest) -> ComposeResult {
    let measures_in_image = composer.geometry().measures;
    let density = |measures: usize| match request.density {
        DensityChoice::Auto => Density::Auto,
        DensityChoice::Match => Density::Match,
        DensityChoice::Ones(ones) => Density::Ones(ones as usize * measures),
    };
    match request.job {
        Job::Continue { previous } => {
            let continuation =
                composer.continue_measure(&previous.to_roll(), density(1), request.seed);
            ComposeResult {
                id: request.id,
                measure_count: 1,
                measures: [
                    MeasureCells::from_roll(&continuation.measure, 0),
                    MeasureCells::EMPTY,
                ],
            }
        }
        Job::Compose => {
            let composition = composer.compose(density(measures_in_image), request.seed);
            let image = &composition.image;
            let count = image.measures().clamp(1, 2);
            ComposeResult {
                id: request.id,
                measure_count: count as u8,
                measures: [
                    MeasureCells::from_roll(image, 0),
                    if count > 1 {
                        MeasureCells::from_roll(image, 1)
                    } else {
                        MeasureCells::EMPTY
                    },
                ],
            }
        }
    }
}

/// The recorder thread: applies record events to the phrase.
fn record_loop(
    records: &Receiver<RecordEvent>,
    shelf: &ModelShelf,
    status: &EngineStatus,
    phrase: &RwLock<Phrase>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Acquire) {
        let mut any = false;
        loop {
            match records.try_recv() {
                Ok(event) => {
                    any = true;
                    let model = shelf.current();
                    if let Ok(mut phrase) = phrase.write() {
                        apply(&mut phrase, &event, model.as_deref(), status.tempo_bpm());
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        if !any {
            std::thread::sleep(RECORDER_POLL);
        }
    }
}

/// Applies one record event; the free energies need a model.
pub fn apply(
    phrase: &mut Phrase,
    event: &RecordEvent,
    model: Option<&LoadedModel>,
    tempo_bpm: f64,
) {
    match *event {
        RecordEvent::PhraseStarted { measure } => phrase.start(measure, tempo_bpm),
        RecordEvent::Input {
            measure,
            cells,
            velocity,
            ..
        } => {
            let index = measure - phrase.first_measure;
            let before = phrase.cells((index - 1).max(0) as usize, Voice::Player);
            let before = if index > 0 {
                before
            } else {
                MeasureCells::EMPTY
            };
            let energy = model.map(|model| free_energy_after(&model.rbm, &before, &cells));
            if let Some(entry) = phrase.measure_mut(measure) {
                entry.input = notes_of(&cells);
                if velocity > 0 {
                    entry.input_velocity = velocity;
                }
                entry.input_free_energy = energy;
            }
        }
        RecordEvent::Output {
            measure,
            cells,
            velocity,
            played,
        } => {
            let index = measure - phrase.first_measure;
            let before = if index > 0 {
                sounding(phrase, (index - 1) as usize)
            } else {
                MeasureCells::EMPTY
            };
            let energy = model.map(|model| free_energy_after(&model.rbm, &before, &cells));
            if let Some(entry) = phrase.measure_mut(measure) {
                entry.output = notes_of(&cells);
                entry.output_velocity = velocity;
                entry.output_skipped = !played;
                entry.output_free_energy = energy;
            }
        }
    }
}

/// What sounded in measure `index`: the plugin's measure if it played one, else the player's.
fn sounding(phrase: &Phrase, index: usize) -> MeasureCells {
    let plugin = phrase.cells(index, Voice::Plugin);
    if plugin.is_empty() {
        phrase.cells(index, Voice::Player)
    } else {
        plugin
    }
}

/// The free energy `F(v)` of the image whose last measure is `current`, preceded by `before`
/// (and silence, for models of more than two measures). Low means likely under the model.
pub fn free_energy_after(rbm: &Rbm, before: &MeasureCells, current: &MeasureCells) -> f32 {
    let geometry = rbm.geometry;
    let mut visible = Array1::<f32>::zeros(geometry.visible_units());
    let last = geometry.measures.saturating_sub(1);
    let mut place = |measure: usize, cells: &MeasureCells| {
        for step in 0..STEPS_PER_MEASURE {
            let column = cells.column(step);
            for row in 0..geometry.grid.pitch_rows.min(128) {
                if column & (1 << row) != 0 {
                    let unit = geometry.unit(measure * STEPS_PER_MEASURE + step, row);
                    if unit < visible.len() {
                        visible[unit] = 1.0;
                    }
                }
            }
        }
    };
    if last > 0 {
        place(last - 1, before);
    }
    place(last, current);
    rbm.free_energy(visible.view())
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuo_model::{Geometry, Grid};

    #[test]
    fn free_energy_places_the_measures_where_the_model_expects_them() {
        // A model whose only nonzero parameter is the visible bias of C4 (row 36) at step 3 of
        // the second measure: F(v) = -b'v - sum softplus(c) = -2 - 4 ln 2 when that cell is on.
        let geometry = Geometry::PAPER;
        let mut rbm = Rbm::xavier(geometry, 4, 1);
        rbm.w.fill(0.0);
        rbm.b[geometry.unit(96 + 3, 36)] = 2.0;
        let mut current = MeasureCells::EMPTY;
        current.set(3, 36);
        let expected = -2.0 - 4.0 * std::f32::consts::LN_2;
        let got = free_energy_after(&rbm, &MeasureCells::EMPTY, &current);
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
        // The same cell in the measure before counts nothing.
        let got = free_energy_after(&rbm, &current, &MeasureCells::EMPTY);
        assert!((got + 4.0 * std::f32::consts::LN_2).abs() < 1e-5);
        assert_eq!(geometry.grid, Grid::PAPER);
    }

    #[test]
    fn the_composer_answers_with_the_requested_density() {
        let rbm = Rbm::xavier(Geometry::PAPER, 16, 3);
        let mut composer = Composer::new(&rbm);
        let mut previous = MeasureCells::EMPTY;
        for step in 0..24 {
            previous.set(step, 36);
        }
        let request = ComposeRequest {
            id: 5,
            job: Job::Continue { previous },
            density: DensityChoice::Ones(40),
            seed: 9,
        };
        let result = compose(&mut composer, &request);
        assert_eq!(result.id, 5);
        assert_eq!(result.measure_count, 1);
        assert_eq!(result.measures[0].ones(), 40);

        let request = ComposeRequest {
            job: Job::Compose,
            density: DensityChoice::Ones(30),
            ..request
        };
        let result = compose(&mut composer, &request);
        assert_eq!(result.measure_count, 2);
        assert_eq!(result.measures[0].ones() + result.measures[1].ones(), 60);
    }

    #[test]
    fn records_build_the_phrase() {
        let mut phrase = Phrase::default();
        let mut cells = MeasureCells::EMPTY;
        cells.set(0, 36);
        apply(
            &mut phrase,
            &RecordEvent::PhraseStarted { measure: 4 },
            None,
            100.0,
        );
        let input = RecordEvent::Input {
            measure: 4,
            cells,
            velocity: 77,
            finished: true,
        };
        apply(&mut phrase, &input, None, 100.0);
        let output = RecordEvent::Output {
            measure: 5,
            cells,
            velocity: 60,
            played: false,
        };
        apply(&mut phrase, &output, None, 100.0);
        assert_eq!(phrase.tempo_bpm, 100.0);
        assert_eq!(phrase.measures.len(), 2);
        assert_eq!(phrase.measures[0].input_velocity, 77);
        assert!(phrase.measures[1].output_skipped);
        assert!(
            phrase.cells(1, Voice::Plugin).is_empty(),
            "skipped measures did not sound"
        );
    }
}

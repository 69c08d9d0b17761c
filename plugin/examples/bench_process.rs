//! How long the audio thread's work takes: `Engine::process` for blocks of several sizes while
//! an answer plays (a composer made of plain code replies at once with dense measures), as time
//! per block and as a fraction of the block's own duration (the real-time budget). Then how long
//! the composer thread takes for one measure with the built-in model, against the beat it has
//! (Answer mode sends the call when the last beat of its measure begins).
//!
//! `cargo run -p continuo-plugin --release --example bench_process`

use std::sync::Arc;
use std::time::Instant;

use continuo_plugin::cells::MeasureCells;
use continuo_plugin::clock::HostTime;
use continuo_plugin::engine::{Engine, EngineStatus, InputEvent, Settings};
use continuo_plugin::messages::{self, ComposeRequest, ComposeResult, DensityChoice, Job};
use continuo_plugin::scheduler::{EventBuffer, NoteKind};
use continuo_plugin::worker;

const SAMPLE_RATE_HZ: f64 = 48_000.0;
/// Seconds of music per run: eight measures at 120 bpm.
const SECONDS: f64 = 16.0;

fn main() {
    println!("block  median ns  p99 ns  max ns  median/block duration  events out");
    for block in [32usize, 128, 512, 2048] {
        let (mut block_ns, events) = run(block);
        block_ns.sort_unstable();
        let at = |quantile: f64| block_ns[((block_ns.len() - 1) as f64 * quantile) as usize];
        let duration_ns = block as f64 / SAMPLE_RATE_HZ * 1e9;
        println!(
            "{block:5}  {:9}  {:6}  {:6}  {:20.4}%  {events:10}",
            at(0.5),
            at(0.99),
            at(1.0),
            100.0 * at(0.5) as f64 / duration_ns
        );
    }
    composer_times();
}

/// Times Algorithm 2 (density Auto and 264 ones) and Algorithm 1 on the built-in model.
fn composer_times() {
    let (rbm, card) = continuo_model::bundled::default_model().expect("the built-in model loads");
    let mut composer = continuo_model::compose::Composer::new(&rbm);
    let mut previous = MeasureCells::EMPTY;
    for (step, row) in [(0, 36), (12, 40), (24, 43), (36, 48), (60, 47)] {
        for offset in 0..10 {
            previous.set(step + offset, row);
        }
    }
    println!();
    println!(
        "composer, {} ({} hidden units)",
        card.name, card.hidden_units
    );
    let jobs = [
        (
            "Algorithm 2, density auto",
            Job::Continue { previous },
            DensityChoice::Auto,
        ),
        (
            "Algorithm 2, 264 ones",
            Job::Continue { previous },
            DensityChoice::Ones(264),
        ),
        (
            "Algorithm 1, density auto",
            Job::Compose,
            DensityChoice::Auto,
        ),
    ];
    for (name, job, density) in jobs {
        let runs = 5;
        let start = Instant::now();
        for seed in 0..runs {
            let request = ComposeRequest {
                id: 1,
                job,
                density,
                seed,
            };
            std::hint::black_box(worker::compose(&mut composer, &request));
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / runs as f64;
        // A beat at 120 bpm lasts 500 ms.
        println!(
            "{name:28} {ms:8.1} ms/measure  ({:.1}% of a beat at 120 bpm)",
            ms / 5.0
        );
    }
}

/// Runs `SECONDS` of a call and a long answer in blocks of `block` samples; returns the time of
/// every block in nanoseconds and the number of events sent.
fn run(block: usize) -> (Vec<u64>, usize) {
    let (audio, worker) = messages::link();
    let status = Arc::new(EngineStatus::default());
    let mut engine = Engine::new(SAMPLE_RATE_HZ, audio, status, 1);
    let settings = Settings {
        length_measures: 16,
        ..Settings::default()
    };
    // A dense measure: 12 voices of sixteenth notes, 288 ones (the Bach median is 264).
    let mut dense = MeasureCells::EMPTY;
    for row in (12..60).step_by(4) {
        for step in 0..96 {
            if step % 6 != 5 {
                dense.set(step, row);
            }
        }
    }

    let mut out = EventBuffer::default();
    let mut events = 0;
    let blocks = (SECONDS * SAMPLE_RATE_HZ) as usize / block;
    let mut block_ns = Vec::with_capacity(blocks);
    for index in 0..blocks {
        let now = index * block;
        let host = HostTime {
            playing: true,
            tempo_bpm: Some(120.0),
            pos_beats: Some(now as f64 / 24_000.0),
            time_signature: Some((4, 4)),
            bar_start_beats: Some((now as f64 / 96_000.0).floor() * 4.0),
        };
        let mut input = Vec::new();
        for (at, kind) in [(0, NoteKind::On), (12_000, NoteKind::Off)] {
            if (now..now + block).contains(&at) {
                input.push(InputEvent {
                    offset_samples: (at - now) as u32,
                    kind,
                    channel: 0,
                    pitch: 60,
                    velocity: 90,
                });
            }
        }

        let start = Instant::now();
        engine.process(&host, &settings, &input, block, &mut out);
        block_ns.push(start.elapsed().as_nanos() as u64);
        events += out.as_slice().len();

        while let Ok(request) = worker.requests.try_recv() {
            let result = ComposeResult {
                id: request.id,
                measure_count: 1,
                measures: [dense, MeasureCells::EMPTY],
            };
            let _ = worker.results.try_send(result);
        }
        while worker.records.try_recv().is_ok() {}
    }
    (block_ns, events)
}

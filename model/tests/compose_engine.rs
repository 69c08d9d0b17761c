//! The fast engine against the direct reference: same model, same seed, same notes and the same
//! energy curve, bit for bit.

use continuo_model::compose::{Composer, Density};
use continuo_model::direct::DirectComposer;
use continuo_model::{Geometry, Grid, PianoRoll, Rbm};
use ndarray::{Array1, Array2};

/// Two measures of 4 steps on 6 pitch rows: 24 units a measure, 48 an image.
fn small_geometry() -> Geometry {
    Geometry {
        grid: Grid {
            lowest_pitch: 60,
            pitch_rows: 6,
            steps_per_quarter: 2,
            quarters_per_measure: 2,
        },
        measures: 2,
    }
}

/// Two measures of 16 steps on 12 pitch rows: 192 units a measure.
fn medium_geometry() -> Geometry {
    Geometry {
        grid: Grid {
            lowest_pitch: 48,
            pitch_rows: 12,
            steps_per_quarter: 4,
            quarters_per_measure: 4,
        },
        measures: 2,
    }
}

/// A fixed-seed sequence of numbers in [0, 1), independent of the code under test.
fn uniforms(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed
        .wrapping_mul(2862933555777941757)
        .wrapping_add(3037000493);
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Xavier weights times `gain`, with varied biases: low visible biases (notes are rare), hidden
/// biases around zero.
fn varied_model(geometry: Geometry, hidden_units: usize, gain: f32, seed: u64) -> Rbm {
    let mut next = uniforms(seed);
    let rbm = Rbm::xavier(geometry, hidden_units, seed);
    Rbm {
        w: rbm.w * gain,
        b: Array1::from_shape_fn(geometry.visible_units(), |_| -1.0 + 0.8 * next()),
        c: Array1::from_shape_fn(hidden_units, |_| next() - 0.5),
        ..rbm
    }
}

/// Weights of -0.5, 0 and 0.5 only, and equal visible biases, so that many visible inputs tie
/// and the tie rule decides.
fn coarse_model(geometry: Geometry, hidden_units: usize) -> Rbm {
    let w = Array2::from_shape_fn((geometry.visible_units(), hidden_units), |(i, j)| {
        ((i * 7 + j * 3) % 3) as f32 * 0.5 - 0.5
    });
    Rbm {
        geometry,
        w,
        b: Array1::from_elem(geometry.visible_units(), -0.25),
        c: Array1::from_shape_fn(hidden_units, |j| (j % 2) as f32 - 0.5),
    }
}

fn models() -> Vec<(&'static str, Rbm)> {
    vec![
        ("small xavier", varied_model(small_geometry(), 8, 1.0, 1)),
        (
            "small, large weights",
            varied_model(small_geometry(), 8, 40.0, 2),
        ),
        ("medium xavier", varied_model(medium_geometry(), 24, 1.0, 3)),
        (
            "medium, large weights",
            varied_model(medium_geometry(), 24, 25.0, 4),
        ),
        ("medium, ties", coarse_model(medium_geometry(), 16)),
    ]
}

/// A measure with about a third of its cells on, from a fixed-seed sequence.
fn busy_measure(grid: Grid, seed: u64) -> PianoRoll {
    let mut next = uniforms(seed);
    let cells = (0..grid.units_per_measure())
        .map(|_| next() < 0.3)
        .collect();
    PianoRoll::from_cells(grid, cells).expect("whole columns of cells")
}

#[test]
fn algorithm_1_fast_and_direct_agree_on_the_same_random_stream() {
    for (name, rbm) in models() {
        let mut composer = Composer::new(&rbm);
        let direct = DirectComposer::new(&rbm);
        let image_units = rbm.geometry.visible_units();
        for seed in [0, 1, 17, 123_456_789] {
            for ones in [1, 7, image_units / 3, image_units] {
                let fast = composer.compose(Density::Ones(ones), seed);
                let reference = direct.compose(ones, seed);
                assert_eq!(
                    fast.image.cells(),
                    &reference.visible[..],
                    "{name}, seed {seed}"
                );
                assert_eq!(
                    fast.energy, reference.energy,
                    "{name}, seed {seed}, {ones} ones"
                );
                assert_eq!(fast.image.ones(), ones);
            }
        }
    }
}

#[test]
fn algorithm_2_fast_and_direct_agree_and_the_left_measure_stays() {
    for (name, rbm) in models() {
        let grid = rbm.geometry.grid;
        let measure_units = grid.units_per_measure();
        let mut composer = Composer::new(&rbm);
        let direct = DirectComposer::new(&rbm);
        for seed in [3, 4, 99] {
            let previous = busy_measure(grid, seed);
            for ones in [1, 5, measure_units / 2, measure_units] {
                let fast = composer.continue_measure(&previous, Density::Ones(ones), seed);
                let reference = direct.continue_image(previous.cells(), ones, seed);

                let (left, right) = reference.visible.split_at(measure_units);
                assert_eq!(left, previous.cells(), "{name}: the fixed measure changed");
                assert_eq!(right.iter().filter(|&&on| on).count(), ones);
                assert_eq!(
                    fast.measure.cells(),
                    right,
                    "{name}, seed {seed}, {ones} ones"
                );
                assert_eq!(
                    fast.energy, reference.energy,
                    "{name}, seed {seed}, {ones} ones"
                );
            }
        }
    }
}

#[test]
fn fast_and_direct_agree_at_the_papers_size() {
    let geometry = Geometry::PAPER;
    for (gain, seed) in [(1.0, 5), (30.0, 6)] {
        let rbm = varied_model(geometry, 16, gain, seed);
        let mut composer = Composer::new(&rbm);
        let direct = DirectComposer::new(&rbm);

        let fast = composer.compose(Density::Ones(40), seed);
        let reference = direct.compose(40, seed);
        assert_eq!(fast.image.cells(), &reference.visible[..]);
        assert_eq!(fast.energy, reference.energy);

        let previous = busy_measure(geometry.grid, seed);
        let fast = composer.continue_measure(&previous, Density::Ones(30), seed);
        let reference = direct.continue_image(previous.cells(), 30, seed);
        assert_eq!(fast.measure.cells(), &reference.visible[6_912..]);
        assert_eq!(fast.energy, reference.energy);
    }
}

#[test]
fn a_composer_reused_across_calls_matches_a_fresh_one() {
    // Scratch left over from earlier runs must not leak into later ones.
    let rbm = varied_model(medium_geometry(), 24, 3.0, 8);
    let previous = busy_measure(rbm.geometry.grid, 8);
    let mut used = Composer::new(&rbm);
    used.compose(Density::Ones(300), 1);
    used.continue_measure(&previous, Density::Auto, 2);
    let again = used.continue_measure(&previous, Density::Ones(50), 3);
    let fresh = Composer::new(&rbm).continue_measure(&previous, Density::Ones(50), 3);
    assert_eq!(again, fresh);
}

//! Algorithms 1 and 2 on models whose outcome can be worked out by hand, the tie rule, the
//! density choices and reproducibility.

use continuo_model::compose::{Composer, Density};
use continuo_model::{Geometry, Grid, PianoRoll, Rbm};
use ndarray::{Array1, Array2};

/// Two measures of 4 steps on 6 pitch rows: 24 units a measure, 48 an image. Unit
/// `step * 6 + row`.
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

/// A model with all weights and biases zero, the given visible biases and hidden biases.
fn model_with(geometry: Geometry, hidden_units: usize) -> Rbm {
    Rbm {
        geometry,
        w: Array2::zeros((geometry.visible_units(), hidden_units)),
        b: Array1::zeros(geometry.visible_units()),
        c: Array1::zeros(hidden_units),
    }
}

fn on_units(roll: &PianoRoll) -> Vec<usize> {
    (0..roll.cells().len())
        .filter(|&unit| roll.cells()[unit])
        .collect()
}

fn roll_with(grid: Grid, steps: usize, units: &[usize]) -> PianoRoll {
    let mut cells = vec![false; steps * grid.pitch_rows];
    for &unit in units {
        cells[unit] = true;
    }
    PianoRoll::from_cells(grid, cells).expect("whole columns of cells")
}

fn xavier_model(geometry: Geometry, hidden_units: usize, seed: u64) -> Rbm {
    let rbm = Rbm::xavier(geometry, hidden_units, seed);
    Rbm {
        w: rbm.w * 4.0,
        b: Array1::from_shape_fn(geometry.visible_units(), |i| -0.5 + 0.01 * (i % 7) as f32),
        c: Array1::from_shape_fn(hidden_units, |j| 0.1 * (j % 3) as f32 - 0.1),
        ..rbm
    }
}

#[test]
fn algorithm_1_leaves_exactly_n_ones() {
    let rbm = xavier_model(small_geometry(), 8, 1);
    let mut composer = Composer::new(&rbm);
    for ones in [0, 1, 2, 13, 47, 48] {
        let composition = composer.compose(Density::Ones(ones), 5);
        assert_eq!(composition.image.ones(), ones);
        assert_eq!(composition.image.steps(), 8);
        assert_eq!(composition.energy.len(), ones);
    }
    // More ones than cells: every cell.
    assert_eq!(composer.compose(Density::Ones(500), 5).image.ones(), 48);
}

#[test]
fn algorithm_2_leaves_exactly_n_ones_in_the_new_measure() {
    let rbm = xavier_model(small_geometry(), 8, 2);
    let mut composer = Composer::new(&rbm);
    let previous = roll_with(small_geometry().grid, 4, &[0, 7, 8, 15, 22]);
    for ones in [0, 1, 9, 24] {
        let continuation = composer.continue_measure(&previous, Density::Ones(ones), 11);
        assert_eq!(continuation.measure.steps(), 4);
        assert_eq!(continuation.measure.ones(), ones);
        assert_eq!(continuation.energy.len(), ones);
    }
}

#[test]
fn equal_inputs_go_to_the_earlier_step_then_the_lower_pitch() {
    // No weights: the visible input is the bias. Six units have bias 1, the rest 0. With 10
    // ones the six come first, then the four lowest unit indices among the rest: steps 0 (rows
    // 0-3), since unit = step * 6 + row.
    let mut rbm = model_with(small_geometry(), 2);
    let favoured = [5, 17, 30, 31, 40, 47];
    for unit in favoured {
        rbm.b[unit] = 1.0;
    }
    let mut composer = Composer::new(&rbm);
    let image = composer.compose(Density::Ones(10), 0).image;
    assert_eq!(on_units(&image), vec![0, 1, 2, 3, 5, 17, 30, 31, 40, 47]);

    // Algorithm 2 ranks the right measure only: its favoured units are 30, 31, 40, 47 (offsets
    // 6, 7, 16, 23); the next three by index are offsets 0, 1, 2.
    let silence = PianoRoll::new(small_geometry().grid, 4);
    let measure = composer
        .continue_measure(&silence, Density::Ones(7), 0)
        .measure;
    assert_eq!(on_units(&measure), vec![0, 1, 2, 6, 7, 16, 23]);
}

#[test]
fn inputs_whose_expected_values_round_alike_keep_their_order() {
    // sigmoid(30) and sigmoid(40) are both 1.0 in f32. The units with input 40 still rank
    // first, although those with input 30 have lower indices.
    let mut rbm = model_with(small_geometry(), 1);
    for unit in 0..10 {
        rbm.b[unit] = 30.0;
    }
    for unit in [20, 21, 44] {
        rbm.b[unit] = 40.0;
    }
    let image = Composer::new(&rbm).compose(Density::Ones(5), 3).image;
    assert_eq!(on_units(&image), vec![0, 1, 20, 21, 44]);
}

#[test]
fn a_strongly_preferred_pattern_is_reproduced() {
    // Two hidden units, each tied to one pattern by +40 and to the other by -40. From silence
    // the first notes of either pattern switch its unit on for good (sigmoid(40) is 1.0 in f32)
    // and the other off, and then only that pattern has a positive input: with as many ones as
    // the pattern has cells, the image is exactly one of the two patterns.
    let pattern_a = [2, 9, 14, 27, 33, 46];
    let pattern_b = [4, 11, 19, 24, 38, 41];
    let mut rbm = model_with(small_geometry(), 2);
    for unit in pattern_a {
        rbm.w[[unit, 0]] = 40.0;
        rbm.w[[unit, 1]] = -40.0;
    }
    for unit in pattern_b {
        rbm.w[[unit, 1]] = 40.0;
        rbm.w[[unit, 0]] = -40.0;
    }
    let mut composer = Composer::new(&rbm);
    let mut seen = [false, false];
    for seed in 0..16 {
        let image = on_units(&composer.compose(Density::Ones(6), seed).image);
        let which = if image == pattern_a {
            0
        } else if image == pattern_b {
            1
        } else {
            panic!("seed {seed} composed {image:?}, neither pattern");
        };
        seen[which] = true;
    }
    assert_eq!(
        seen,
        [true, true],
        "both patterns should occur over 16 seeds"
    );
}

#[test]
fn a_continuation_answers_the_measure_it_continues() {
    // Hidden unit 0 joins left pattern A to right answer A', unit 1 joins B to B'. Each is
    // switched on only by its own left pattern (bias -60 against +40 per cell of the pattern:
    // 3 cells give +60) and pushes its answer up by 40 and the other answer down by 40.
    let left_a = [0, 7, 14];
    let left_b = [3, 10, 17];
    let answer_a = [24 + 1, 24 + 8, 24 + 21];
    let answer_b = [24 + 4, 24 + 12, 24 + 20];
    let mut rbm = model_with(small_geometry(), 2);
    for (hidden, left, answer, other) in [
        (0, left_a, answer_a, answer_b),
        (1, left_b, answer_b, answer_a),
    ] {
        rbm.c[hidden] = -60.0;
        for unit in left {
            rbm.w[[unit, hidden]] = 40.0;
        }
        for unit in answer {
            rbm.w[[unit, hidden]] = 40.0;
        }
        for unit in other {
            rbm.w[[unit, hidden]] = -40.0;
        }
    }
    let grid = small_geometry().grid;
    let mut composer = Composer::new(&rbm);
    for seed in 0..4 {
        let after_a =
            composer.continue_measure(&roll_with(grid, 4, &left_a), Density::Ones(3), seed);
        assert_eq!(on_units(&after_a.measure), vec![1, 8, 21]);
        let after_b =
            composer.continue_measure(&roll_with(grid, 4, &left_b), Density::Ones(3), seed);
        assert_eq!(on_units(&after_b.measure), vec![4, 12, 20]);
    }
}

#[test]
fn match_copies_the_density_of_the_measure_it_continues() {
    let rbm = xavier_model(small_geometry(), 8, 3);
    let mut composer = Composer::new(&rbm);
    let grid = small_geometry().grid;
    for units in [&[][..], &[5][..], &[0, 1, 2, 3, 4, 12, 13, 23][..]] {
        let previous = roll_with(grid, 4, units);
        let continuation = composer.continue_measure(&previous, Density::Match, 8);
        assert_eq!(continuation.measure.ones(), units.len());
    }
    // Only the last measure of a longer roll counts: 2 ones there, 5 before.
    let longer = roll_with(grid, 8, &[0, 1, 2, 3, 4, 24 + 6, 24 + 7]);
    let continuation = composer.continue_measure(&longer, Density::Match, 8);
    assert_eq!(continuation.measure.ones(), 2);
}

#[test]
fn auto_stops_at_the_lowest_energy_of_the_run() {
    let rbm = xavier_model(small_geometry(), 8, 4);
    let mut composer = Composer::new(&rbm);
    let previous = roll_with(small_geometry().grid, 4, &[1, 8, 9, 16]);
    for seed in 0..6 {
        let auto = composer.continue_measure(&previous, Density::Auto, seed);
        // The whole horizon is recorded: 500 steps, capped at the 24 cells of a measure.
        assert_eq!(auto.energy.len(), 24);
        let lowest = lowest_step(&auto.energy);
        assert_eq!(auto.measure.ones(), lowest);
        // The same seed gives the same random stream, so stopping there by count gives the
        // same measure.
        let fixed = composer.continue_measure(&previous, Density::Ones(lowest), seed);
        assert_eq!(auto.measure, fixed.measure);

        let auto = composer.compose(Density::Auto, seed);
        assert_eq!(auto.energy.len(), 48);
        let lowest = lowest_step(&auto.energy);
        assert_eq!(
            auto.image,
            composer.compose(Density::Ones(lowest), seed).image
        );
    }
}

/// The step `t >= 1` of lowest energy, the earliest on ties.
fn lowest_step(energy: &[f32]) -> usize {
    let mut best = 1;
    for t in 1..energy.len() {
        if energy[t] < energy[best] {
            best = t;
        }
    }
    best
}

#[test]
fn the_same_seed_gives_the_same_piece_and_another_seed_another() {
    let rbm = xavier_model(small_geometry(), 8, 5);
    let mut composer = Composer::new(&rbm);
    let piece = composer.compose_piece(8, Density::Ones(20), Density::Ones(10), 42);
    assert_eq!(piece.roll.measures(), 8);
    // One composition of two measures and six continuations, as in the paper.
    assert_eq!(piece.energies.len(), 7);
    assert_eq!(piece.energies[0].len(), 20);
    assert!(piece.energies[1..].iter().all(|curve| curve.len() == 10));
    for measure in 2..8 {
        assert_eq!(piece.roll.measure(measure).ones(), 10);
    }

    let again = Composer::new(&rbm).compose_piece(8, Density::Ones(20), Density::Ones(10), 42);
    assert_eq!(piece, again);
    let other = composer.compose_piece(8, Density::Ones(20), Density::Ones(10), 43);
    assert_ne!(piece.roll, other.roll);
}

#[test]
fn continue_piece_returns_only_the_new_measures() {
    let rbm = xavier_model(small_geometry(), 8, 6);
    let mut composer = Composer::new(&rbm);
    let grid = small_geometry().grid;
    let previous = roll_with(grid, 12, &[0, 30, 61]);
    let piece = composer.continue_piece(&previous, 3, Density::Match, 9);
    assert_eq!(piece.roll.steps(), 12);
    assert_eq!(piece.energies.len(), 3);
    // Match: the last measure of the input holds one cell, so does each answer.
    for measure in 0..3 {
        assert_eq!(piece.roll.measure(measure).ones(), 1);
    }
    assert_eq!(
        piece,
        composer.continue_piece(&previous, 3, Density::Match, 9)
    );
}

#[test]
fn short_pieces_and_rolls_on_other_grids_are_handled() {
    let rbm = xavier_model(small_geometry(), 8, 7);
    let mut composer = Composer::new(&rbm);
    assert_eq!(
        composer
            .compose_piece(1, Density::Ones(6), Density::Match, 1)
            .roll
            .steps(),
        4
    );
    assert_eq!(
        composer
            .compose_piece(0, Density::Ones(6), Density::Match, 1)
            .roll
            .steps(),
        0
    );

    // A roll on the paper's grid: its notes are redrawn on the model's grid, and the answer is
    // on the model's grid.
    let (previous, _) = PianoRoll::from_notes(
        Grid::PAPER,
        96,
        &[continuo_model::Note {
            start_step: 0,
            end_step: 96,
            pitch: 60,
            velocity: 80,
        }],
    );
    let continuation = composer.continue_measure(&previous, Density::Match, 1);
    assert_eq!(continuation.measure.grid(), small_geometry().grid);
    // 96 steps of one pitch at 24 per quarter are 8 steps at 2 per quarter: the last 4 count.
    assert_eq!(continuation.measure.ones(), 4);
}

#[test]
fn densities_parse_from_text() {
    assert_eq!("auto".parse::<Density>().ok(), Some(Density::Auto));
    assert_eq!(" Match ".parse::<Density>().ok(), Some(Density::Match));
    assert_eq!("264".parse::<Density>().ok(), Some(Density::Ones(264)));
    assert!("dense".parse::<Density>().is_err());
    assert_eq!(Density::PAPER_IMAGE, Density::Ones(1000));
    assert_eq!(Density::PAPER_MEASURE, Density::Ones(500));
}

#[test]
fn a_composer_can_move_to_a_worker_thread() {
    fn is_send_and_sync<T: Send + Sync>() {}
    is_send_and_sync::<Composer>();
}

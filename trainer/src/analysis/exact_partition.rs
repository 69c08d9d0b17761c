//! The exact log partition function of an RBM with few hidden units, to check annealed
//! importance sampling ([`super::ais`]) on models of the full image size.
//!
//! Summing over the hidden states instead of the visible ones,
//! `Z = sum_h exp(c'h) prod_i (1 + exp(b_i + (W h)_i))`, costs `2^P` sums over the visible
//! units: seconds for P = 16 at 13,824 visible units, where the `2^13824` visible states are out
//! of reach. The hidden states are visited in Gray-code order, so that each differs from the last
//! in one unit and `b + W h` moves by one column of `W`; the top bits are split across threads.

use rayon::prelude::*;

use continuo_model::Rbm;

/// Above this many hidden units the sum takes too long to be worth waiting for.
pub const MAX_EXACT_HIDDEN_UNITS: usize = 20;

/// Hidden units whose states are split across threads rather than walked in Gray-code order.
const SPLIT_HIDDEN_UNITS: usize = 6;

/// `ln Z`, or `None` when the model has more than [`MAX_EXACT_HIDDEN_UNITS`] hidden units.
pub fn exact_log_partition(rbm: &Rbm) -> Option<f64> {
    let hidden_units = rbm.hidden_units();
    if hidden_units > MAX_EXACT_HIDDEN_UNITS {
        return None;
    }
    // Columns of W in f64: a Gray-code walk adds and subtracts each of them thousands of times.
    let columns: Vec<Vec<f64>> = (0..hidden_units)
        .map(|j| rbm.w.column(j).iter().map(|&w| f64::from(w)).collect())
        .collect();
    let split = SPLIT_HIDDEN_UNITS.min(hidden_units);
    let walked = hidden_units - split;
    let parts: Vec<LogSum> = (0..1usize << split)
        .into_par_iter()
        .map(|prefix| walk_states(rbm, &columns, walked, prefix))
        .collect();
    let mut total = LogSum::default();
    for part in parts {
        total.add_log_sum(&part);
    }
    Some(total.value())
}

/// The sum over the states whose top hidden units (from `walked` on) spell `prefix`.
fn walk_states(rbm: &Rbm, columns: &[Vec<f64>], walked: usize, prefix: usize) -> LogSum {
    let mut visible_input: Vec<f64> = rbm.b.iter().map(|&b| f64::from(b)).collect();
    let mut hidden_term = 0.0;
    for (j, column) in columns.iter().enumerate().skip(walked) {
        if (prefix >> (j - walked)) & 1 == 1 {
            add_column(&mut visible_input, column, 1.0);
            hidden_term += f64::from(rbm.c[j]);
        }
    }
    let mut on = vec![false; walked];
    let mut sum = LogSum::default();
    sum.add(hidden_term + softplus_sum(&visible_input));
    for step in 1..1usize << walked {
        // Gray code: step `g` flips the unit of g's lowest set bit.
        let j = step.trailing_zeros() as usize;
        let sign = if on[j] { -1.0 } else { 1.0 };
        on[j] = !on[j];
        add_column(&mut visible_input, &columns[j], sign);
        hidden_term += sign * f64::from(rbm.c[j]);
        sum.add(hidden_term + softplus_sum(&visible_input));
    }
    sum
}

fn add_column(visible_input: &mut [f64], column: &[f64], sign: f64) {
    for (x, w) in visible_input.iter_mut().zip(column) {
        *x += sign * w;
    }
}

/// `sum_i ln(1 + e^x_i)`, without overflow.
fn softplus_sum(inputs: &[f64]) -> f64 {
    inputs
        .iter()
        .map(|&x| x.max(0.0) + (-x.abs()).exp().ln_1p())
        .sum()
}

/// A running `ln sum_k e^t_k` that never overflows: the largest term so far and the sum of
/// the others scaled by it.
#[derive(Clone, Copy, Debug)]
struct LogSum {
    largest: f64,
    scaled_sum: f64,
}

impl Default for LogSum {
    fn default() -> Self {
        LogSum {
            largest: f64::NEG_INFINITY,
            scaled_sum: 0.0,
        }
    }
}

impl LogSum {
    fn add(&mut self, term: f64) {
        if term > self.largest {
            self.scaled_sum = self.scaled_sum * (self.largest - term).exp() + 1.0;
            self.largest = term;
        } else {
            self.scaled_sum += (term - self.largest).exp();
        }
    }

    fn add_log_sum(&mut self, other: &LogSum) {
        if other.scaled_sum > 0.0 {
            let log_other = other.value();
            if log_other > self.largest {
                self.scaled_sum = self.scaled_sum * (self.largest - log_other).exp() + 1.0;
                self.largest = log_other;
            } else {
                self.scaled_sum += (log_other - self.largest).exp();
            }
        }
    }

    fn value(&self) -> f64 {
        self.largest + self.scaled_sum.ln()
    }
}

/// A model small enough to enumerate, for the tests of this module and of AIS: 10 visible
/// units (2 rows x 5 steps), `hidden` hidden units, weights of a size that couples them.
#[cfg(test)]
pub(crate) fn small_rbm(hidden: usize, seed: u64) -> Rbm {
    use ndarray::{Array1, Array2};
    use rand::{Rng, SeedableRng};

    let geometry = continuo_model::Geometry {
        grid: continuo_model::Grid {
            lowest_pitch: 60,
            pitch_rows: 2,
            steps_per_quarter: 5,
            quarters_per_measure: 1,
        },
        measures: 1,
    };
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut uniform = |range: f32| rng.random_range(-range..range);
    Rbm::from_parts(
        geometry,
        Array2::from_shape_simple_fn((10, hidden), || uniform(1.5)),
        Array1::from_shape_simple_fn(10, || uniform(1.0) - 0.5),
        Array1::from_shape_simple_fn(hidden, || uniform(1.0)),
    )
    .expect("model")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    /// `ln Z = ln sum_v exp(-F(v))` over all 1024 visible vectors: the other way round.
    fn log_partition_by_visible_states(rbm: &Rbm) -> f64 {
        let mut sum = LogSum::default();
        for bits in 0..1u32 << 10 {
            let v = Array1::from_shape_fn(10, |i| ((bits >> i) & 1) as f32);
            sum.add(-f64::from(rbm.free_energy(v.view())));
        }
        sum.value()
    }

    #[test]
    fn summing_hidden_states_agrees_with_summing_visible_states() {
        // 4 hidden units walk entirely in Gray code; 9 split 6 ways and walk 3.
        for (hidden, seed) in [(4, 1), (9, 2)] {
            let rbm = small_rbm(hidden, seed);
            let by_hidden = exact_log_partition(&rbm).expect("few hidden units");
            let by_visible = log_partition_by_visible_states(&rbm);
            assert!(
                (by_hidden - by_visible).abs() < 1e-4,
                "P = {hidden}: {by_hidden} against {by_visible}"
            );
        }
        assert_eq!(exact_log_partition(&small_rbm(21, 3)), None);
    }

    #[test]
    fn a_log_sum_adds_terms_in_any_order() {
        let mut forwards = LogSum::default();
        let mut backwards = LogSum::default();
        for t in [1.0, 700.0, -3.0] {
            forwards.add(t);
        }
        for t in [-3.0, 700.0, 1.0] {
            backwards.add(t);
        }
        let expected = 700.0 + ((1.0f64 - 700.0).exp() + 1.0 + (-703.0f64).exp()).ln();
        assert!((forwards.value() - expected).abs() < 1e-12);
        assert!((backwards.value() - expected).abs() < 1e-12);
    }
}

//! The RBM's parameters as fixed-point integers: the form both composing engines compute with.
//!
//! The fast engine ([`crate::engine`]) keeps its sums up to date by adding and removing single
//! rows and columns of `W` as units flip, while the direct reference ([`crate::direct`]) adds
//! every term afresh at every step. Float sums taken in different orders round differently, so
//! the two would drift apart and, sooner or later, choose different notes. Integer addition is
//! exact, so on quantised parameters both orders give the same bits and the two engines make the
//! same choices from the same random numbers.
//!
//! # Scale and error
//!
//! One integer step (the *quantum* `q`) is worth `max|W| / 32767` in float units, so the largest
//! weight maps to the largest `i16`. Biases keep the same quantum but are stored as `i32`, so they
//! may be far larger than any weight. Every quantised value lies within `q / 2` of its float
//! value, hence:
//! - a hidden input `c_j + sum_i v_i W_ij` is off by at most `(1 + ones(v)) * q / 2`;
//! - a visible input `b_i + sum_j W_ij h_j` is off by at most `(1 + ones(h)) * q / 2`;
//! - errors of independent roundings mostly cancel: the typical error is about
//!   `q * sqrt(terms / 12)`.
//!
//! For a model with `max|W| = 1` that is `q = 3.1e-5`: with 512 hidden units a visible input is
//! off by at most 0.008 and typically by 2e-4, far below the differences that decide which notes
//! are chosen in all but near-ties. `continuo bench compose` prints the figures of the model it
//! measures.
//!
//! # Overflow
//!
//! Sums are `i32`. The weight limit is lowered below 32767 when a layer is so wide that
//! `units * limit` could pass `2^30`, and the quantum is enlarged when a bias would not fit in
//! `2^30` quanta, so no sum of a bias and one weight per unit can overflow. Energies are summed
//! in `i64`.

use crate::geometry::Geometry;
use crate::rbm::Rbm;

/// The largest magnitude of a quantised weight: the whole `i16` range for layers narrower than
/// 32,768 units.
const FULL_WEIGHT_LIMIT: i32 = i16::MAX as i32;

/// Half of the `i32` range: the most that all the weights of a sum together, or a bias alone,
/// may reach, so that a bias plus all the weights still fits.
const HALF_SUM_RANGE: i64 = 1 << 30;

/// An [`Rbm`] with weights as `i16` and biases as `i32` on one shared scale, stored in the two
/// layouts the engines read.
#[derive(Clone)]
pub struct QuantisedRbm {
    /// The image shape of the float model this was made from.
    geometry: Geometry,
    /// Visible units `V`.
    visible_units: usize,
    /// Hidden units `P`.
    hidden_units: usize,
    /// Float units per integer step (`q`).
    quantum: f64,
    /// `q` as the `f32` the hidden probabilities are computed with.
    quantum_f32: f32,
    /// `W` visible-major (`V` rows of `P`): the hidden input of a binary visible vector is a sum
    /// of these rows, one per on-unit.
    visible_major: Vec<i16>,
    /// `W` hidden-major (`P` columns of `V`): the visible input of a binary hidden vector is a
    /// sum of these columns, and a measure's part of a column is contiguous.
    hidden_major: Vec<i16>,
    /// `b` in quanta.
    visible_bias: Vec<i32>,
    /// `c` in quanta.
    hidden_bias: Vec<i32>,
}

impl QuantisedRbm {
    /// Quantises a model. Models from [`Rbm::from_parts`] or the weight loader are finite; a
    /// non-finite value in a hand-made model quantises to zero or to the end of the range.
    pub fn new(rbm: &Rbm) -> Self {
        let visible_units = rbm.visible_units();
        let hidden_units = rbm.hidden_units();
        let quantum = choose_quantum(rbm);

        let to_weight = |w: f32| (w as f64 / quantum).round() as i16;
        let to_bias = |x: f32| {
            let quanta = (x as f64 / quantum).round();
            quanta.clamp(-(HALF_SUM_RANGE as f64), HALF_SUM_RANGE as f64) as i32
        };
        let visible_major: Vec<i16> = rbm.w.iter().map(|&w| to_weight(w)).collect();
        let hidden_major = transpose(&visible_major, visible_units, hidden_units);

        QuantisedRbm {
            geometry: rbm.geometry,
            visible_units,
            hidden_units,
            quantum,
            quantum_f32: quantum as f32,
            visible_major,
            hidden_major,
            visible_bias: rbm.b.iter().map(|&b| to_bias(b)).collect(),
            hidden_bias: rbm.c.iter().map(|&c| to_bias(c)).collect(),
        }
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    pub fn visible_units(&self) -> usize {
        self.visible_units
    }

    pub fn hidden_units(&self) -> usize {
        self.hidden_units
    }

    /// Float units per integer step: a quantised value `x` stands for `x * quantum()`.
    pub fn quantum(&self) -> f64 {
        self.quantum
    }

    /// The weights of visible unit `unit` to every hidden unit.
    pub fn row(&self, unit: usize) -> &[i16] {
        let start = unit * self.hidden_units;
        &self.visible_major[start..start + self.hidden_units]
    }

    /// The weights of hidden unit `hidden` to the visible units in `units`.
    pub fn column(&self, hidden: usize, units: std::ops::Range<usize>) -> &[i16] {
        let start = hidden * self.visible_units;
        &self.hidden_major[start + units.start..start + units.end]
    }

    /// The quantised weight between visible unit `unit` and hidden unit `hidden`.
    pub fn weight(&self, unit: usize, hidden: usize) -> i16 {
        self.visible_major[unit * self.hidden_units + hidden]
    }

    /// `b` in quanta.
    pub fn visible_bias(&self) -> &[i32] {
        &self.visible_bias
    }

    /// `c` in quanta.
    pub fn hidden_bias(&self) -> &[i32] {
        &self.hidden_bias
    }

    /// `p(h_j = 1 | v)` from a hidden input in quanta. Both engines call this one function, so
    /// they compare their random numbers against identical probabilities. The sigmoid is
    /// computed with [`exp_polynomial`] rather than the C library's `expf`, so that the engine's
    /// loop over the hidden units vectorises.
    #[inline(always)]
    pub fn hidden_on_probability(&self, input_quanta: i32) -> f32 {
        1.0 / (1.0 + exp_polynomial(-(input_quanta as f32 * self.quantum_f32)))
    }

    /// An energy in quanta as a float energy.
    pub fn energy_from_quanta(&self, energy_quanta: i64) -> f32 {
        (energy_quanta as f64 * self.quantum) as f32
    }

    /// The most a sum of a bias and `terms` weights can differ from the same float sum.
    pub fn input_error_bound(&self, terms: usize) -> f64 {
        (1 + terms) as f64 * self.quantum / 2.0
    }
}

impl std::fmt::Debug for QuantisedRbm {
    /// Shapes and scale only: the weights run to millions of numbers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantisedRbm")
            .field("geometry", &self.geometry)
            .field("visible_units", &self.visible_units)
            .field("hidden_units", &self.hidden_units)
            .field("quantum", &self.quantum)
            .finish_non_exhaustive()
    }
}

/// `e^x` within 2 units in the last place for `|x| <= 87`, built from operations that vectorise
/// (no calls, no branches); arguments are clamped to `[-87, 88]`, so the result is always a
/// positive normal float. Plain `f32` arithmetic, without fused multiply-adds, so every build
/// and instruction set gives the same bits.
///
/// The method of the Cephes library's `expf`: `e^x = 2^n e^r` with `n` the integer nearest
/// `x / ln 2`, `r = x - n ln 2` taken in two parts for accuracy, and `e^r` by a degree-6
/// polynomial on `|r| <= ln 2 / 2`.
#[inline(always)]
pub fn exp_polynomial(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 = LN_2_HIGH + LN_2_LOW; LN_2_HIGH has few mantissa bits, so n * LN_2_HIGH is exact.
    const LN_2_HIGH: f32 = 0.693_359_4;
    const LN_2_LOW: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer.
    const ROUNDING: f32 = 12_582_912.0;

    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUNDING) - ROUNDING;
    let r = (x - n * LN_2_HIGH) - n * LN_2_LOW;
    let polynomial =
        ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
            + 1.666_666_5e-1)
            * r
            + 0.5;
    let e_r = polynomial * r * r + r + 1.0;
    let two_to_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    e_r * two_to_n
}

/// The quantum: the largest weight maps to the weight limit, unless a bias then needs more than
/// `2^30` quanta, in which case the bias decides.
fn choose_quantum(rbm: &Rbm) -> f64 {
    let widest_layer = rbm.visible_units().max(rbm.hidden_units()).max(1) as i64;
    let weight_limit = (HALF_SUM_RANGE / widest_layer).min(FULL_WEIGHT_LIMIT as i64) as f64;
    let largest = |values: &mut dyn Iterator<Item = &f32>| {
        values
            .map(|x| x.abs() as f64)
            .filter(|x| x.is_finite())
            .fold(0.0, f64::max)
    };
    let largest_weight = largest(&mut rbm.w.iter());
    let largest_bias = largest(&mut rbm.b.iter().chain(rbm.c.iter()));

    let quantum = (largest_weight / weight_limit).max(largest_bias / HALF_SUM_RANGE as f64);
    // An all-zero model: any scale represents it exactly.
    if quantum > 0.0 {
        quantum
    } else {
        1.0
    }
}

/// `rows x cols` row-major into `cols x rows` row-major, in cache-sized tiles.
fn transpose(values: &[i16], rows: usize, cols: usize) -> Vec<i16> {
    const TILE: usize = 64;
    let mut out = vec![0; values.len()];
    for row_tile in (0..rows).step_by(TILE) {
        for col_tile in (0..cols).step_by(TILE) {
            for row in row_tile..(row_tile + TILE).min(rows) {
                for col in col_tile..(col_tile + TILE).min(cols) {
                    out[col * rows + row] = values[row * cols + col];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Grid;
    use ndarray::{array, Array1, Array2};

    fn geometry_of(visible_units: usize) -> Geometry {
        Geometry {
            grid: Grid {
                lowest_pitch: 60,
                pitch_rows: visible_units,
                steps_per_quarter: 1,
                quarters_per_measure: 1,
            },
            measures: 1,
        }
    }

    #[test]
    fn the_largest_weight_maps_to_the_end_of_the_i16_range() {
        let rbm = Rbm {
            geometry: geometry_of(2),
            w: array![[0.5, -2.0, 0.0], [1.0, 0.25, -0.001]],
            b: array![3.0, -1.0],
            c: array![0.0, 0.1, -7.0],
        };
        let q = QuantisedRbm::new(&rbm);
        // 2.0 / 32767 float units per quantum.
        assert_eq!(q.quantum(), 2.0 / 32767.0);
        assert_eq!(q.weight(0, 1), -32767);
        assert_eq!(q.weight(1, 0), 16384); // 16383.5 rounds away from zero
        assert_eq!(q.weight(0, 0), 8192); // 8191.75
        assert_eq!(q.weight(1, 2), -16); // -16.38
        assert_eq!(q.visible_bias(), &[49151, -16384]); // 49150.5, -16383.5
        assert_eq!(q.hidden_bias(), &[0, 1638, -114685]); // 1638.35, -114684.5
        assert_eq!(q.row(1), &[16384, 4096, -16]);
        assert_eq!(q.column(1, 0..2), &[-32767, 4096]);
    }

    #[test]
    fn every_weight_lies_within_half_a_quantum() {
        let rbm = Rbm::xavier(geometry_of(40), 30, 3);
        let q = QuantisedRbm::new(&rbm);
        for unit in 0..40 {
            for hidden in 0..30 {
                let back = q.weight(unit, hidden) as f64 * q.quantum();
                assert!((back - rbm.w[[unit, hidden]] as f64).abs() <= q.quantum() / 2.0 + 1e-12);
                assert_eq!(q.column(hidden, unit..unit + 1)[0], q.weight(unit, hidden));
            }
        }
    }

    #[test]
    fn huge_biases_enlarge_the_quantum_instead_of_overflowing() {
        let rbm = Rbm {
            geometry: geometry_of(1),
            w: Array2::from_elem((1, 1), 1e-6),
            b: Array1::from_elem(1, -1e6),
            c: Array1::zeros(1),
        };
        let q = QuantisedRbm::new(&rbm);
        assert_eq!(q.quantum(), 1e6 / (1u64 << 30) as f64);
        assert_eq!(q.visible_bias(), &[-(1 << 30)]);
        assert_eq!(q.weight(0, 0), 0);
    }

    #[test]
    fn the_polynomial_exp_matches_the_library_exp() {
        let mut worst_ulps = 0.0f64;
        for i in -87_000..88_000 {
            let x = i as f32 / 1000.0 + 0.000_37;
            let exact = (x as f64).exp();
            let ulp = (exact as f32).abs() * f32::EPSILON;
            worst_ulps = worst_ulps.max((exp_polynomial(x) as f64 - exact).abs() / ulp as f64);
        }
        assert!(worst_ulps <= 2.0, "{worst_ulps} units in the last place");
        assert_eq!(exp_polynomial(0.0), 1.0);
        assert_eq!(exp_polynomial(-1000.0), (-87.0f64).exp() as f32);
        assert!(exp_polynomial(1000.0).is_finite());
        assert!(exp_polynomial(f32::NEG_INFINITY) > 0.0);
    }

    #[test]
    fn an_all_zero_model_quantises_to_zeros() {
        let rbm = Rbm {
            geometry: geometry_of(2),
            w: Array2::zeros((2, 2)),
            b: Array1::zeros(2),
            c: Array1::zeros(2),
        };
        let q = QuantisedRbm::new(&rbm);
        assert_eq!(q.quantum(), 1.0);
        assert_eq!(q.row(0), &[0, 0]);
        assert_eq!(q.hidden_on_probability(0), 0.5);
    }
}

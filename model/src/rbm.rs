//! The Bernoulli-Bernoulli restricted Boltzmann machine of Kobayashi & Watanabe, "Learning and
//! composing of classical music using restricted Boltzmann machines".
//!
//! Energy `E(v, h) = -v'Wh - b'v - c'h` over binary visible units `v` (the piano-roll image) and
//! binary hidden units `h`. The conditionals factorise:
//! `p(h_j = 1 | v) = sigmoid(c_j + (v'W)_j)` and `p(v_i = 1 | h) = sigmoid(b_i + (Wh)_i)`.

use ndarray::{Array1, Array2, ArrayView1};
use rand::{Rng, SeedableRng};

use crate::geometry::Geometry;
use crate::ModelError;

/// The parameters of an RBM together with the shape of the images it models.
#[derive(Clone, Debug, PartialEq)]
pub struct Rbm {
    /// The image shape; part of the model because weights only make sense on their own grid.
    pub geometry: Geometry,
    /// Weights, visible x hidden, row-major: row `i` holds the weights of visible unit `i`, so
    /// the hidden input of a sparse binary image is a sum of rows.
    pub w: Array2<f32>,
    /// Visible biases `b`, one per visible unit.
    pub b: Array1<f32>,
    /// Hidden biases `c`, one per hidden unit.
    pub c: Array1<f32>,
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `ln(1 + e^x)` without overflow for large `x`.
pub fn softplus(x: f32) -> f32 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

impl Rbm {
    /// Xavier-uniform weights (`U(-r, r)` with `r = sqrt(6 / (visible + hidden))`), zero biases.
    pub fn xavier(geometry: Geometry, hidden_units: usize, seed: u64) -> Self {
        let visible_units = geometry.visible_units();
        let range = (6.0 / (visible_units + hidden_units) as f32).sqrt();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        let w = Array2::from_shape_simple_fn((visible_units, hidden_units), || {
            rng.random_range(-range..range)
        });
        Rbm {
            geometry,
            w,
            b: Array1::zeros(visible_units),
            c: Array1::zeros(hidden_units),
        }
    }

    /// Builds a model from parameters, checking that their shapes agree with the geometry and
    /// that every value is finite.
    pub fn from_parts(
        geometry: Geometry,
        w: Array2<f32>,
        b: Array1<f32>,
        c: Array1<f32>,
    ) -> Result<Self, ModelError> {
        let visible_units = geometry.visible_units();
        let shape_error = |what: &str, expected: String, actual: String| {
            Err(ModelError::ShapeMismatch {
                expected: format!("{what} of {expected}"),
                actual: format!("{what} of {actual}"),
            })
        };
        if w.nrows() != visible_units || w.ncols() != c.len() {
            return shape_error(
                "W",
                format!("{visible_units} x {}", c.len()),
                format!("{} x {}", w.nrows(), w.ncols()),
            );
        }
        if b.len() != visible_units {
            return shape_error("b", visible_units.to_string(), b.len().to_string());
        }
        for (name, bad) in [
            ("W", w.iter().find(|x| !x.is_finite())),
            ("b", b.iter().find(|x| !x.is_finite())),
            ("c", c.iter().find(|x| !x.is_finite())),
        ] {
            if let Some(bad) = bad {
                return Err(ModelError::Weights(format!(
                    "{name} holds a value that is not finite ({bad})"
                )));
            }
        }
        Ok(Rbm { geometry, w, b, c })
    }

    pub fn visible_units(&self) -> usize {
        self.w.nrows()
    }

    pub fn hidden_units(&self) -> usize {
        self.w.ncols()
    }

    /// `c + v'W`, the input of each hidden unit.
    pub fn hidden_input(&self, v: ArrayView1<f32>) -> Array1<f32> {
        v.dot(&self.w) + &self.c
    }

    /// `b + Wh`, the input of each visible unit.
    pub fn visible_input(&self, h: ArrayView1<f32>) -> Array1<f32> {
        self.w.dot(&h) + &self.b
    }

    /// `p(h_j = 1 | v)` for every hidden unit.
    pub fn hidden_probabilities(&self, v: ArrayView1<f32>) -> Array1<f32> {
        self.hidden_input(v).mapv(sigmoid)
    }

    /// `p(v_i = 1 | h)` for every visible unit: the expected visible vector `E[v | h]`.
    pub fn visible_probabilities(&self, h: ArrayView1<f32>) -> Array1<f32> {
        self.visible_input(h).mapv(sigmoid)
    }

    /// `E(v, h) = -v'Wh - b'v - c'h`.
    pub fn energy(&self, v: ArrayView1<f32>, h: ArrayView1<f32>) -> f32 {
        -v.dot(&self.w.dot(&h)) - self.b.dot(&v) - self.c.dot(&h)
    }

    /// `F(v) = -b'v - sum_j softplus(c_j + (v'W)_j)`, so that `p(v)` is proportional to
    /// `exp(-F(v))`. Needs no sampling, unlike the energy.
    pub fn free_energy(&self, v: ArrayView1<f32>) -> f32 {
        -self.b.dot(&v)
            - self
                .hidden_input(v)
                .iter()
                .map(|&x| softplus(x))
                .sum::<f32>()
    }

    /// Draws binary units, each on with its probability, from the generator.
    pub fn sample_bernoulli(probabilities: ArrayView1<f32>, rng: &mut impl Rng) -> Array1<f32> {
        probabilities.mapv(|p| if rng.random::<f32>() < p { 1.0 } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Grid;
    use ndarray::array;

    /// A geometry of 8 visible units: 2 pitch rows, 2 steps per quarter, 2 quarters a measure,
    /// one measure.
    pub fn tiny_geometry() -> Geometry {
        Geometry {
            grid: Grid {
                lowest_pitch: 60,
                pitch_rows: 2,
                steps_per_quarter: 2,
                quarters_per_measure: 2,
            },
            measures: 1,
        }
    }

    #[test]
    fn energy_and_free_energy_match_brute_force() {
        let geometry = tiny_geometry();
        let rbm = Rbm::xavier(geometry, 3, 7);
        let rbm = Rbm {
            b: Array1::from_iter((0..8).map(|i| 0.1 * i as f32 - 0.3)),
            c: array![0.2, -0.5, 0.05],
            ..rbm
        };
        let v = array![1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0];

        // Energy by its definition, summed term by term.
        let h = array![1.0, 0.0, 1.0];
        let mut expected = 0.0;
        for i in 0..8 {
            for j in 0..3 {
                expected -= v[i] * rbm.w[[i, j]] * h[j];
            }
            expected -= rbm.b[i] * v[i];
        }
        for j in 0..3 {
            expected -= rbm.c[j] * h[j];
        }
        assert!((rbm.energy(v.view(), h.view()) - expected).abs() < 1e-5);

        // Free energy: -ln of the sum of exp(-E) over all 8 hidden configurations.
        let mut partition = 0.0f64;
        for bits in 0..8u32 {
            let h = Array1::from_iter((0..3).map(|j| ((bits >> j) & 1) as f32));
            partition += (-(rbm.energy(v.view(), h.view()) as f64)).exp();
        }
        let brute = -partition.ln() as f32;
        assert!((rbm.free_energy(v.view()) - brute).abs() < 1e-4);
    }

    #[test]
    fn from_parts_rejects_wrong_shapes_and_non_finite_values() {
        let geometry = tiny_geometry();
        let good = Rbm::xavier(geometry, 3, 1);
        let wrong_w = Rbm::from_parts(
            geometry,
            Array2::zeros((7, 3)),
            good.b.clone(),
            good.c.clone(),
        );
        assert!(matches!(wrong_w, Err(ModelError::ShapeMismatch { .. })));
        let mut nan_b = good.b.clone();
        nan_b[2] = f32::NAN;
        let nan = Rbm::from_parts(geometry, good.w.clone(), nan_b, good.c.clone());
        assert!(matches!(nan, Err(ModelError::Weights(_))));
        assert!(Rbm::from_parts(geometry, good.w, good.b, good.c).is_ok());
    }

    #[test]
    fn same_seed_same_weights() {
        let a = Rbm::xavier(tiny_geometry(), 4, 9);
        let b = Rbm::xavier(tiny_geometry(), 4, 9);
        let c = Rbm::xavier(tiny_geometry(), 4, 10);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let limit = (6.0f32 / 12.0).sqrt();
        assert!(a.w.iter().all(|x| x.abs() <= limit));
    }
}

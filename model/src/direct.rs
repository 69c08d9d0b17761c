//! The direct reference: Algorithms 1 and 2 computed step by step exactly as the paper writes
//! them, with dense loops over the whole quantised model.
//!
//! It exists to check and to measure the fast engine ([`crate::engine`]): it shares only the
//! quantised parameters, the random stream (one uniform per hidden unit per step, in unit order,
//! from a [`Pcg64Mcg`] seeded with the seed) and the tie rule, and recomputes everything else
//! from scratch at every step:
//! 1. `a = c + W'v` over every visible unit;
//! 2. `h_j = 1` when `u_j < sigmoid(a_j)`;
//! 3. `E[v | h] = sigmoid(b + W h)` over every visible unit, as the paper does;
//! 4. the free units sorted by expected value (ties: by the exact input, then by lower index)
//!    and the first `t + 1` set to one;
//!
//! and records the energy `-v'Wh - b'v - c'h` summed term by term.

use std::ops::Range;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::quantised::QuantisedRbm;
use crate::rbm::{sigmoid, Rbm};

/// The paper's steps without shortcuts, on the same quantised model as the fast engine.
#[derive(Clone, Debug)]
pub struct DirectComposer {
    params: QuantisedRbm,
}

/// A whole image after a direct run, with its energy curve.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectRun {
    /// The final visible vector `v_N`, every unit of the image, context included.
    pub visible: Vec<bool>,
    /// `E(v_t, h_t)` for `t = 0..N`.
    pub energy: Vec<f32>,
}

impl DirectComposer {
    pub fn new(rbm: &Rbm) -> Self {
        DirectComposer {
            params: QuantisedRbm::new(rbm),
        }
    }

    /// Algorithm 1: `ones` steps from silence over the whole image.
    pub fn compose(&self, ones: usize, seed: u64) -> DirectRun {
        let visible = vec![false; self.params.visible_units()];
        self.run(visible, 0..self.params.visible_units(), ones, seed)
    }

    /// Algorithm 2: `ones` steps on the last measure of the image with the measures before it
    /// fixed to `context` (the cells of those measures, in the flattening order; missing cells
    /// are off, extra ones ignored).
    pub fn continue_image(&self, context: &[bool], ones: usize, seed: u64) -> DirectRun {
        let geometry = self.params.geometry();
        let free = geometry.measure_units(geometry.measures.saturating_sub(1));
        let mut visible = vec![false; self.params.visible_units()];
        let fixed = context.len().min(free.start);
        visible[..fixed].copy_from_slice(&context[..fixed]);
        self.run(visible, free, ones, seed)
    }

    fn run(&self, mut visible: Vec<bool>, free: Range<usize>, ones: usize, seed: u64) -> DirectRun {
        let steps = ones.min(free.len());
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut energy = Vec::with_capacity(steps);
        for t in 0..steps {
            let hidden_input = self.hidden_input(&visible);
            let hidden = self.sample_hidden(&hidden_input, &mut rng);
            let weighted_hidden = self.weighted_hidden(&hidden);
            energy.push(self.energy(&visible, &hidden, &weighted_hidden));
            self.choose(&mut visible, &free, &weighted_hidden, t + 1);
        }
        DirectRun { visible, energy }
    }

    /// `a = c + W'v`, every visible unit multiplied in.
    fn hidden_input(&self, visible: &[bool]) -> Vec<i32> {
        let mut input = self.params.hidden_bias().to_vec();
        for (unit, &on) in visible.iter().enumerate() {
            let on = on as i32;
            for (sum, &weight) in input.iter_mut().zip(self.params.row(unit)) {
                *sum += on * weight as i32;
            }
        }
        input
    }

    fn sample_hidden(&self, hidden_input: &[i32], rng: &mut Pcg64Mcg) -> Vec<bool> {
        hidden_input
            .iter()
            .map(|&input| rng.random::<f32>() < self.params.hidden_on_probability(input))
            .collect()
    }

    /// `W h` for every visible unit.
    fn weighted_hidden(&self, hidden: &[bool]) -> Vec<i32> {
        (0..self.params.visible_units())
            .map(|unit| {
                self.params
                    .row(unit)
                    .iter()
                    .zip(hidden)
                    .map(|(&weight, &on)| weight as i32 * on as i32)
                    .sum()
            })
            .collect()
    }

    /// `E(v, h) = -v'Wh - b'v - c'h`, term by term, in quanta, then scaled.
    fn energy(&self, visible: &[bool], hidden: &[bool], weighted_hidden: &[i32]) -> f32 {
        let mut energy = 0i64;
        for (unit, &on) in visible.iter().enumerate() {
            let on = on as i64;
            energy -= on * weighted_hidden[unit] as i64;
            energy -= on * self.params.visible_bias()[unit] as i64;
        }
        for (&on, &bias) in hidden.iter().zip(self.params.hidden_bias()) {
            energy -= on as i64 * bias as i64;
        }
        self.params.energy_from_quanta(energy)
    }

    /// Sets the free region of `visible` to its `ones` most likely units.
    fn choose(
        &self,
        visible: &mut [bool],
        free: &Range<usize>,
        weighted_hidden: &[i32],
        ones: usize,
    ) {
        let quantum = self.params.quantum() as f32;
        let input = |unit: usize| self.params.visible_bias()[unit] + weighted_hidden[unit];
        let expected: Vec<f32> = (0..visible.len())
            .map(|unit| sigmoid(input(unit) as f32 * quantum))
            .collect();

        let mut ranked: Vec<usize> = free.clone().collect();
        ranked.sort_unstable_by(|&x, &y| {
            expected[y]
                .total_cmp(&expected[x])
                .then(input(y).cmp(&input(x)))
                .then(x.cmp(&y))
        });
        visible[free.clone()].fill(false);
        for &unit in &ranked[..ones] {
            visible[unit] = true;
        }
    }
}

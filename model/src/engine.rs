//! The fast composing engine: the step loop shared by Algorithms 1 and 2, computed
//! incrementally on the quantised model.
//!
//! Both algorithms of Kobayashi & Watanabe repeat one step over a *free region* of the image (the
//! whole image for Algorithm 1, the right measure for Algorithm 2) while the rest, the *context*,
//! stays fixed (nothing for Algorithm 1, the left measure for Algorithm 2). Step `t`:
//! 1. the hidden input `a = c + W'v_t` of the current image `v_t`;
//! 2. `h_t ~ p(h | v_t)`: one uniform `u_j` per hidden unit, drawn in unit order, and `h_j = 1`
//!    when `u_j < sigmoid(a_j)`;
//! 3. the visible input `z = b + W h_t`, needed on the free region only;
//! 4. `v_{t+1}`: the `t + 1` largest inputs of the free region set to one, the others to zero
//!    (tie rule in [`crate::selection`]).
//!
//! The direct way costs two dense products with all of `W` per step. This engine uses that the
//! units are binary and change little from one step to the next:
//! - the context's share of `a` is a constant sum of rows of `W`, taken once per run;
//! - the free region's share is a sum of rows too, so `a` changes by one row per free unit that
//!   entered or left the selection (or is rebuilt from the constant when that is cheaper);
//! - `W h` is a sum of columns, so `z` changes by one column per hidden unit that flipped (or is
//!   rebuilt from the on-units when those are fewer);
//! - the selection looks at the free region only and uses a partial select, not a sort;
//! - the energy `E(v_t, h_t) = -v'Wh - b'v - c'h` equals `-sum_{j on} a_j - b'v`, from numbers
//!   the step has anyway.
//!
//! All sums are integers on the quantised model, so they equal the direct reference's
//! ([`crate::direct`]) bit for bit, and with the same seed both make the same choices.
//!
//! # Speed
//!
//! The work of a step is about `(hidden flips) x (free units)` for `z`, plus `(free flips) x
//! (hidden units)` for `a`, plus a pass over the free region to select. With a trained model of
//! 512 hidden units about 10 hidden units flip per step, and a 500-step continuation takes a few
//! milliseconds (`continuo bench compose`; figures in docs/benchmarks.md).
//!
//! NOTE: An untrained or barely trained model, whose hidden probabilities sit near one half,
//!   flips about half its hidden units at every step; a continuation then costs ten times more
//!   (50-70 ms at P = 512), still far inside a measure but beyond the plugin's 10 ms budget.

use std::ops::Range;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::quantised::QuantisedRbm;
use crate::selection::TopSelection;

/// When a run stops, and which of its images it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopping {
    /// Run this many steps and return the last image, which has that many ones.
    AfterSteps(usize),
    /// Run `horizon` steps and return the image `v_t` of the step `t >= 1` with the lowest
    /// recorded energy (the earliest such step on ties).
    LowestEnergy { horizon: usize },
}

/// What a run leaves behind: the chosen free units and the energy curve.
#[derive(Debug)]
pub struct RunResult<'a> {
    /// Offsets into the free region of the units set to one, in no particular order.
    pub chosen: &'a [u32],
    /// `E(v_t, h_t)` for every step `t` run.
    pub energy: Vec<f32>,
}

/// How much work the last run did: what its time depends on besides the model's size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Steps run.
    pub steps: usize,
    /// Hidden units that changed state from one step to the next, summed over the steps.
    pub hidden_flips: usize,
    /// Free units that entered or left the selection, summed over the steps.
    pub free_flips: usize,
    /// Columns of `W` (free region part) added to or subtracted from the visible input.
    pub columns: usize,
    /// Rows of `W` added to or subtracted from the hidden input, the context's included.
    pub rows: usize,
}

/// The fast engine for one model: its quantised parameters and every buffer a run needs, sized
/// once so that a run allocates only its energy curve.
#[derive(Clone)]
pub struct Engine {
    params: QuantisedRbm,

    /// `c` plus the rows of the context's on-units: the hidden input before any free unit is
    /// on. Set at the start of each run.
    context_input: Vec<i32>,
    /// `a`: the hidden input of the current image.
    hidden_input: Vec<i32>,
    /// The uniforms of the current step, one per hidden unit.
    uniforms: Vec<f32>,
    /// `p(h_j = 1 | v)` at the current step.
    probabilities: Vec<f32>,
    /// `h`: the current hidden sample.
    hidden_on: Vec<bool>,
    /// Number of on-units in `hidden_on`, to choose between updating and rebuilding `z`.
    hidden_ones: usize,
    /// Hidden units that turned on at the current step (their columns are added to `z`).
    switched_on: Vec<u32>,
    /// Hidden units that turned off at the current step (their columns are subtracted).
    switched_off: Vec<u32>,

    /// `z`: the visible input of the free region (only the first `free.len()` entries are used).
    visible_input: Vec<i32>,
    /// The free units on in the current image, as offsets into the free region.
    chosen: Vec<u32>,
    /// The selection being made at the current step; swapped into `chosen`.
    next_chosen: Vec<u32>,
    /// Per free unit: bit 0 set when in `chosen`, bit 1 while being compared with `next_chosen`.
    membership: Vec<u8>,
    /// Free units that entered the selection at the last step (their rows are added to `a`).
    entered: Vec<u32>,
    /// Free units that left the selection at the last step (their rows are subtracted).
    left: Vec<u32>,
    /// `b'v` of the current image, in quanta.
    visible_bias_sum: i64,

    /// The image of the lowest energy so far, for [`Stopping::LowestEnergy`].
    lowest_energy_chosen: Vec<u32>,
    /// Scratch of the selection step.
    selection: TopSelection,
    /// Zeros as long as the longest sum, to pad the last batch of an [`Accumulator`].
    zeros: Vec<i16>,
    /// Work counts of the current or last run.
    stats: RunStats,
    /// Whether the CPU has AVX2, checked once, which selects the step loop compiled for it.
    has_avx2: bool,
}

impl Engine {
    pub fn new(params: QuantisedRbm) -> Self {
        let visible_units = params.visible_units();
        let hidden_units = params.hidden_units();
        Engine {
            context_input: vec![0; hidden_units],
            hidden_input: vec![0; hidden_units],
            uniforms: vec![0.0; hidden_units],
            probabilities: vec![0.0; hidden_units],
            hidden_on: vec![false; hidden_units],
            hidden_ones: 0,
            switched_on: Vec::with_capacity(hidden_units),
            switched_off: Vec::with_capacity(hidden_units),
            visible_input: vec![0; visible_units],
            chosen: Vec::with_capacity(visible_units),
            next_chosen: Vec::with_capacity(visible_units),
            membership: vec![0; visible_units],
            entered: Vec::with_capacity(visible_units),
            left: Vec::with_capacity(visible_units),
            visible_bias_sum: 0,
            lowest_energy_chosen: Vec::with_capacity(visible_units),
            selection: TopSelection::with_capacity(visible_units),
            zeros: vec![0; visible_units.max(hidden_units)],
            stats: RunStats::default(),
            has_avx2: cpu_has_avx2(),
            params,
        }
    }

    pub fn params(&self) -> &QuantisedRbm {
        &self.params
    }

    /// The instruction set the step loop runs with: `"AVX2"` or `"portable"`.
    pub fn kernels(&self) -> &'static str {
        if self.has_avx2 {
            "AVX2"
        } else {
            "portable"
        }
    }

    /// The work counts of the last run.
    pub fn last_run_stats(&self) -> RunStats {
        self.stats
    }

    /// Runs the composing steps on `free` (a range of visible units) with the units in
    /// `context_on` fixed to one and every other unit outside `free` fixed to zero. The random
    /// stream is a [`Pcg64Mcg`] seeded with `seed`.
    ///
    /// `context_on` must lie outside `free` and inside the image; the step count is capped at
    /// the size of the free region.
    pub fn run(
        &mut self,
        context_on: &[usize],
        free: Range<usize>,
        stopping: Stopping,
        seed: u64,
    ) -> RunResult<'_> {
        let free_units = free.len();
        let steps = match stopping {
            Stopping::AfterSteps(steps) => steps,
            Stopping::LowestEnergy { horizon } => horizon,
        }
        .min(free_units);
        self.start_run(context_on, &free);

        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let energy = self.run_steps(&free, steps, &mut rng);

        let chosen = match stopping {
            Stopping::LowestEnergy { .. } if steps >= 2 => &self.lowest_energy_chosen,
            _ => &self.chosen,
        };
        RunResult { chosen, energy }
    }

    /// The step loop, in the instantiation the CPU runs fastest.
    fn run_steps(&mut self, free: &Range<usize>, steps: usize, rng: &mut Pcg64Mcg) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        if self.has_avx2 {
            // SAFETY: `has_avx2` is true only when the CPU running this reported AVX2, the one
            // requirement of `run_steps_avx2`.
            return unsafe { self.run_steps_avx2(free, steps, rng) };
        }
        self.steps(free, steps, rng)
    }

    /// The step loop compiled for AVX2, which adds rows and columns of weights 8 at a time
    /// rather than 4. Callers must make sure the CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_steps_avx2(
        &mut self,
        free: &Range<usize>,
        steps: usize,
        rng: &mut Pcg64Mcg,
    ) -> Vec<f32> {
        self.steps(free, steps, rng)
    }

    /// Runs `steps` steps from the state [`Engine::start_run`] left, returning the energy of
    /// each. Inlined into each instantiation of [`Engine::run_steps`], with everything it calls
    /// in the inner loops, so that all of it is compiled for the same CPU features.
    #[inline(always)]
    fn steps(&mut self, free: &Range<usize>, steps: usize, rng: &mut Pcg64Mcg) -> Vec<f32> {
        let mut energy = Vec::with_capacity(steps);
        let mut lowest_energy = f32::INFINITY;
        for t in 0..steps {
            // Steps 1 and 2: h_t from v_t, and the energy of the pair.
            self.update_hidden_input(free.start);
            let on_input_sum = self.sample_hidden(rng);
            let step_energy = self
                .params
                .energy_from_quanta(-on_input_sum - self.visible_bias_sum);
            energy.push(step_energy);
            if t >= 1 && step_energy < lowest_energy {
                lowest_energy = step_energy;
                self.lowest_energy_chosen.clear();
                self.lowest_energy_chosen.extend_from_slice(&self.chosen);
            }

            // Steps 3 and 4: the expected visible of the free region and v_{t+1}.
            self.update_visible_input(free);
            self.selection.select(
                &self.visible_input[..free.len()],
                t + 1,
                &mut self.next_chosen,
            );
            self.adopt_selection(free.start);
        }
        energy
    }

    /// Resets every buffer to `v_0`: the context on, the free region silent, `h` all off.
    fn start_run(&mut self, context_on: &[usize], free: &Range<usize>) {
        self.context_input
            .copy_from_slice(self.params.hidden_bias());
        self.visible_bias_sum = 0;
        let mut context_input = Accumulator::new(&mut self.context_input, &self.zeros);
        for &unit in context_on {
            context_input.add(self.params.row(unit));
            self.visible_bias_sum += self.params.visible_bias()[unit] as i64;
        }
        context_input.finish();
        self.hidden_input.copy_from_slice(&self.context_input);
        self.stats = RunStats {
            rows: context_on.len(),
            ..RunStats::default()
        };

        self.hidden_on.fill(false);
        self.hidden_ones = 0;
        self.visible_input[..free.len()].copy_from_slice(&self.params.visible_bias()[free.clone()]);

        self.chosen.clear();
        self.entered.clear();
        self.left.clear();
        self.membership[..free.len()].fill(0);
        self.lowest_energy_chosen.clear();
        self.selection.reset();
    }

    /// Step 1: brings `a` up to date with the free units that entered or left the selection,
    /// or rebuilds it from the context's input when the selection itself is smaller.
    #[inline(always)]
    fn update_hidden_input(&mut self, free_start: usize) {
        let params = &self.params;
        let flips = self.entered.len() + self.left.len();
        self.stats.free_flips += flips;
        let row = |offset: &u32| params.row(free_start + *offset as usize);
        if flips > self.chosen.len() {
            self.stats.rows += self.chosen.len();
            self.hidden_input.copy_from_slice(&self.context_input);
            let mut hidden_input = Accumulator::new(&mut self.hidden_input, &self.zeros);
            for offset in &self.chosen {
                hidden_input.add(row(offset));
            }
            hidden_input.finish();
        } else {
            self.stats.rows += flips;
            let mut hidden_input = Accumulator::new(&mut self.hidden_input, &self.zeros);
            for offset in &self.entered {
                hidden_input.add(row(offset));
            }
            for offset in &self.left {
                hidden_input.subtract(row(offset));
            }
            hidden_input.finish();
        }
    }

    /// Step 2: samples `h` in unit order, one uniform per unit, noting which units flipped.
    /// Returns `sum_{j on} a_j` in quanta, the hidden part of the energy.
    #[inline(always)]
    fn sample_hidden(&mut self, rng: &mut Pcg64Mcg) -> i64 {
        // The uniforms first, in unit order (the shared random stream), then the probabilities
        // in a loop free of calls, which vectorises.
        for uniform in &mut self.uniforms {
            *uniform = rng.random();
        }
        for (probability, &input) in self.probabilities.iter_mut().zip(&self.hidden_input) {
            *probability = self.params.hidden_on_probability(input);
        }

        self.switched_on.clear();
        self.switched_off.clear();
        let mut on_input_sum = 0i64;
        for unit in 0..self.hidden_on.len() {
            let on = self.uniforms[unit] < self.probabilities[unit];
            if on != self.hidden_on[unit] {
                if on {
                    self.switched_on.push(unit as u32);
                } else {
                    self.switched_off.push(unit as u32);
                }
                self.hidden_on[unit] = on;
            }
            if on {
                on_input_sum += self.hidden_input[unit] as i64;
            }
        }
        self.hidden_ones = self.hidden_ones + self.switched_on.len() - self.switched_off.len();
        on_input_sum
    }

    /// Step 3: brings `z` on the free region up to date with the hidden units that flipped, or
    /// rebuilds it from `b` and the on-units when those are fewer.
    #[inline(always)]
    fn update_visible_input(&mut self, free: &Range<usize>) {
        let params = &self.params;
        let visible_input = &mut self.visible_input[..free.len()];
        let column = |hidden: usize| params.column(hidden, free.clone());
        let flips = self.switched_on.len() + self.switched_off.len();
        self.stats.steps += 1;
        self.stats.hidden_flips += flips;
        if flips > self.hidden_ones {
            self.stats.columns += self.hidden_ones;
            visible_input.copy_from_slice(&params.visible_bias()[free.clone()]);
            let mut visible_input = Accumulator::new(visible_input, &self.zeros);
            for (hidden, _) in self.hidden_on.iter().enumerate().filter(|(_, &on)| on) {
                visible_input.add(column(hidden));
            }
            visible_input.finish();
        } else {
            self.stats.columns += flips;
            let mut visible_input = Accumulator::new(visible_input, &self.zeros);
            for &hidden in &self.switched_on {
                visible_input.add(column(hidden as usize));
            }
            for &hidden in &self.switched_off {
                visible_input.subtract(column(hidden as usize));
            }
            visible_input.finish();
        }
    }

    /// Step 4, bookkeeping: compares the new selection with the current one, records the units
    /// that entered and left for the next step's update of `a`, and adopts it.
    #[inline(always)]
    fn adopt_selection(&mut self, free_start: usize) {
        const IN_CURRENT: u8 = 1;
        const IN_NEXT: u8 = 2;
        let bias = self.params.visible_bias();
        self.entered.clear();
        self.left.clear();
        for &offset in &self.next_chosen {
            let mark = &mut self.membership[offset as usize];
            if *mark & IN_CURRENT == 0 {
                self.entered.push(offset);
                self.visible_bias_sum += bias[free_start + offset as usize] as i64;
            }
            *mark |= IN_NEXT;
        }
        for &offset in &self.chosen {
            let mark = &mut self.membership[offset as usize];
            if *mark & IN_NEXT == 0 {
                self.left.push(offset);
                self.visible_bias_sum -= bias[free_start + offset as usize] as i64;
            }
            *mark = 0;
        }
        for &offset in &self.next_chosen {
            self.membership[offset as usize] = IN_CURRENT;
        }
        std::mem::swap(&mut self.chosen, &mut self.next_chosen);
    }
}

fn cpu_has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Adds and subtracts weight vectors (rows of `W`, or the free region's part of columns) into
/// a vector of sums, four vectors per pass so that the sums are loaded and stored a quarter as
/// often. A last, partial batch is padded with zeros rather than handled one vector at a time.
struct Accumulator<'a> {
    sums: &'a mut [i32],
    /// A vector of zeros at least as long as `sums`: the padding.
    zeros: &'a [i16],
    batch: [&'a [i16]; 4],
    /// Per batched vector: 0 to add it, -1 (all bits set) to subtract it.
    negate: [i32; 4],
    batched: usize,
}

impl<'a> Accumulator<'a> {
    #[inline(always)]
    fn new(sums: &'a mut [i32], zeros: &'a [i16]) -> Self {
        let zeros = &zeros[..sums.len()];
        Accumulator {
            sums,
            zeros,
            batch: [zeros; 4],
            negate: [0; 4],
            batched: 0,
        }
    }

    #[inline(always)]
    fn add(&mut self, weights: &'a [i16]) {
        self.push(weights, 0);
    }

    #[inline(always)]
    fn subtract(&mut self, weights: &'a [i16]) {
        self.push(weights, -1);
    }

    #[inline(always)]
    fn push(&mut self, weights: &'a [i16], negate: i32) {
        self.batch[self.batched] = weights;
        self.negate[self.batched] = negate;
        self.batched += 1;
        if self.batched == self.batch.len() {
            accumulate_four(self.sums, &self.batch, self.negate);
            self.batched = 0;
        }
    }

    /// Applies the last, partial batch.
    #[inline(always)]
    fn finish(mut self) {
        if self.batched > 0 {
            for slot in self.batched..self.batch.len() {
                self.batch[slot] = self.zeros;
                self.negate[slot] = 0;
            }
            accumulate_four(self.sums, &self.batch, self.negate);
        }
    }
}

/// `sums += sum_k (-1)^negate_k weights_k`, widening each weight; `negate_k` is 0 or -1, and
/// `(w ^ n) - n` negates `w` exactly when `n` is -1.
#[inline(always)]
fn accumulate_four(sums: &mut [i32], weights: &[&[i16]; 4], negate: [i32; 4]) {
    let len = sums.len();
    let [w0, w1, w2, w3] = weights.map(|w| &w[..len]);
    let [n0, n1, n2, n3] = negate;
    let signed = |w: i16, n: i32| (w as i32 ^ n) - n;
    for i in 0..len {
        sums[i] += signed(w0[i], n0) + signed(w1[i], n1) + signed(w2[i], n2) + signed(w3[i], n3);
    }
}

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
}

impl Engine {
    pub fn new(params: QuantisedRbm) -> Self {
        let visible_units = params.visible_units();
        let hidden_units = params.hidden_units();
        Engine {
            context_input: vec![0; hidden_units],
            hidden_input: vec![0; hidden_units],
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
            params,
        }
    }

    pub fn params(&self) -> &QuantisedRbm {
        &self.params
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
        let mut energy = Vec::with_capacity(steps);
        let mut lowest_energy = f32::INFINITY;
        for t in 0..steps {
            // Steps 1 and 2: h_t from v_t, and the energy of the pair.
            self.update_hidden_input(free.start);
            let on_input_sum = self.sample_hidden(&mut rng);
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
            self.update_visible_input(&free);
            self.selection.select(
                &self.visible_input[..free_units],
                t + 1,
                &mut self.next_chosen,
            );
            self.adopt_selection(free.start);
        }

        let chosen = match stopping {
            Stopping::LowestEnergy { .. } if steps >= 2 => &self.lowest_energy_chosen,
            _ => &self.chosen,
        };
        RunResult { chosen, energy }
    }

    /// Resets every buffer to `v_0`: the context on, the free region silent, `h` all off.
    fn start_run(&mut self, context_on: &[usize], free: &Range<usize>) {
        self.context_input
            .copy_from_slice(self.params.hidden_bias());
        self.visible_bias_sum = 0;
        for &unit in context_on {
            add_to(&mut self.context_input, self.params.row(unit));
            self.visible_bias_sum += self.params.visible_bias()[unit] as i64;
        }
        self.hidden_input.copy_from_slice(&self.context_input);

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
    fn update_hidden_input(&mut self, free_start: usize) {
        let params = &self.params;
        if self.entered.len() + self.left.len() > self.chosen.len() {
            self.hidden_input.copy_from_slice(&self.context_input);
            for &offset in &self.chosen {
                add_to(
                    &mut self.hidden_input,
                    params.row(free_start + offset as usize),
                );
            }
        } else {
            for &offset in &self.entered {
                add_to(
                    &mut self.hidden_input,
                    params.row(free_start + offset as usize),
                );
            }
            for &offset in &self.left {
                subtract_from(
                    &mut self.hidden_input,
                    params.row(free_start + offset as usize),
                );
            }
        }
    }

    /// Step 2: samples `h` in unit order, one uniform per unit, noting which units flipped.
    /// Returns `sum_{j on} a_j` in quanta, the hidden part of the energy.
    fn sample_hidden(&mut self, rng: &mut Pcg64Mcg) -> i64 {
        self.switched_on.clear();
        self.switched_off.clear();
        let mut on_input_sum = 0i64;
        for (unit, (&input, was_on)) in self
            .hidden_input
            .iter()
            .zip(self.hidden_on.iter_mut())
            .enumerate()
        {
            let uniform: f32 = rng.random();
            let on = uniform < self.params.hidden_on_probability(input);
            if on != *was_on {
                if on {
                    self.switched_on.push(unit as u32);
                } else {
                    self.switched_off.push(unit as u32);
                }
                *was_on = on;
            }
            if on {
                on_input_sum += input as i64;
            }
        }
        self.hidden_ones = self.hidden_ones + self.switched_on.len() - self.switched_off.len();
        on_input_sum
    }

    /// Step 3: brings `z` on the free region up to date with the hidden units that flipped, or
    /// rebuilds it from `b` and the on-units when those are fewer.
    fn update_visible_input(&mut self, free: &Range<usize>) {
        let params = &self.params;
        let visible_input = &mut self.visible_input[..free.len()];
        let flips = self.switched_on.len() + self.switched_off.len();
        if flips > self.hidden_ones {
            visible_input.copy_from_slice(&params.visible_bias()[free.clone()]);
            let on_units = (0..params.hidden_units()).filter(|&j| self.hidden_on[j]);
            add_columns(visible_input, params, free, on_units);
        } else {
            let on_units = self.switched_on.iter().map(|&j| j as usize);
            add_columns(visible_input, params, free, on_units);
            let off_units = self.switched_off.iter().map(|&j| j as usize);
            subtract_columns(visible_input, params, free, off_units);
        }
    }

    /// Step 4, bookkeeping: compares the new selection with the current one, records the units
    /// that entered and left for the next step's update of `a`, and adopts it.
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

/// `sums += weights`, widening each weight.
#[inline]
fn add_to(sums: &mut [i32], weights: &[i16]) {
    for (sum, &weight) in sums.iter_mut().zip(weights) {
        *sum += weight as i32;
    }
}

/// `sums -= weights`, widening each weight.
#[inline]
fn subtract_from(sums: &mut [i32], weights: &[i16]) {
    for (sum, &weight) in sums.iter_mut().zip(weights) {
        *sum -= weight as i32;
    }
}

/// Adds the free region's part of the columns of `hidden_units` to `sums`, four columns per
/// pass so that `sums` is read and written a quarter as often.
fn add_columns(
    sums: &mut [i32],
    params: &QuantisedRbm,
    free: &Range<usize>,
    hidden_units: impl Iterator<Item = usize>,
) {
    combine_columns::<false>(sums, params, free, hidden_units);
}

/// Subtracts the free region's part of the columns of `hidden_units` from `sums`.
fn subtract_columns(
    sums: &mut [i32],
    params: &QuantisedRbm,
    free: &Range<usize>,
    hidden_units: impl Iterator<Item = usize>,
) {
    combine_columns::<true>(sums, params, free, hidden_units);
}

fn combine_columns<const SUBTRACT: bool>(
    sums: &mut [i32],
    params: &QuantisedRbm,
    free: &Range<usize>,
    hidden_units: impl Iterator<Item = usize>,
) {
    let len = sums.len();
    let mut batch: [&[i16]; 4] = [&[]; 4];
    let mut batched = 0;
    for hidden in hidden_units {
        batch[batched] = &params.column(hidden, free.clone())[..len];
        batched += 1;
        if batched == batch.len() {
            combine_four::<SUBTRACT>(sums, &batch);
            batched = 0;
        }
    }
    for column in &batch[..batched] {
        if SUBTRACT {
            subtract_from(sums, column);
        } else {
            add_to(sums, column);
        }
    }
}

#[inline]
fn combine_four<const SUBTRACT: bool>(sums: &mut [i32], columns: &[&[i16]; 4]) {
    let len = sums.len();
    let [c0, c1, c2, c3] = columns.map(|column| &column[..len]);
    for i in 0..len {
        let total = c0[i] as i32 + c1[i] as i32 + c2[i] as i32 + c3[i] as i32;
        if SUBTRACT {
            sums[i] -= total;
        } else {
            sums[i] += total;
        }
    }
}

//! Choosing the `k` most likely units: the selection step of both composing algorithms.
//!
//! The paper sets the `k` largest entries of the expected visible vector `E[v | h]` to one. The
//! sigmoid is monotone, so the `k` largest expected values belong to the `k` largest visible
//! inputs, and the selection works on the integer inputs of [`crate::quantised`] directly.
//!
//! # Tie rule
//!
//! Units are ranked by input, larger first; among equal inputs the unit with the lower index
//! wins. Units are flattened time-major (see [`crate::geometry::Geometry`]), so between equal
//! candidates the earlier time step wins, then the lower pitch. Ranking on the exact integer
//! input rather than on the rounded `f32` expected value also decides units whose expected
//! values round to the same float (near 0 or 1) by their true order.
//!
//! # Speed
//!
//! A selection runs once per composing step over a whole measure or image, so it avoids a sort:
//! a threshold that at least `k` inputs reach is found with counting passes (starting from the
//! previous step's threshold, which moves little), the units at or above it are collected, and
//! the exact `k` are chosen among those few with a partial select. Everything is inlined so that
//! the engine's loop compiled for AVX2 selects with AVX2 too.

/// Reusable state of the selection: scratch space and the previous threshold.
#[derive(Clone, Debug, Default)]
pub struct TopSelection {
    /// Units at or above the trial threshold, as ranking keys (see [`ranking_key`]).
    candidates: Vec<u64>,
    /// The smallest chosen input of the previous call: the next call's first trial threshold.
    previous_threshold: Option<i32>,
    /// How far the threshold had to move last time; the next call's first step size.
    previous_margin: i64,
}

/// The most candidates kept beyond `k` before the threshold is raised: a partial select over
/// them costs about as much as a counting pass over a measure.
fn acceptable_surplus(k: usize) -> usize {
    64 + k / 2
}

/// Counting passes allowed per selection before settling for the lowest good threshold found;
/// bisection over the `i32` range needs at most 32, the previous threshold usually one or two.
const MAX_COUNTING_PASSES: usize = 40;

impl TopSelection {
    /// Scratch for selections over up to `units` units, so that selecting allocates nothing.
    pub fn with_capacity(units: usize) -> Self {
        TopSelection {
            candidates: Vec::with_capacity(units),
            previous_threshold: None,
            previous_margin: 1,
        }
    }

    /// Forgets the previous threshold. The result of [`TopSelection::select`] never depends on
    /// it; only the time does.
    pub fn reset(&mut self) {
        self.previous_threshold = None;
        self.previous_margin = 1;
    }

    /// Writes into `chosen` the indices of the `k` largest `inputs` under the tie rule of this
    /// module, in no particular order. Every unit is chosen when `k >= inputs.len()`.
    #[inline(always)]
    pub fn select(&mut self, inputs: &[i32], k: usize, chosen: &mut Vec<u32>) {
        chosen.clear();
        if k == 0 {
            return;
        }
        if k >= inputs.len() {
            chosen.extend(0..inputs.len() as u32);
            return;
        }

        let threshold = self.find_threshold(inputs, k);
        self.collect_candidates(inputs, threshold);

        // The k best candidates by ranking key, which holds the tie rule.
        let surplus = self.candidates.len() - k;
        if surplus > 0 {
            self.candidates.select_nth_unstable(surplus);
        }
        let best = &self.candidates[surplus..];
        chosen.extend(best.iter().map(|&key| unit_of_key(key)));

        let smallest_chosen = best.iter().map(|&key| input_of_key(key)).min();
        if let (Some(previous), Some(smallest)) = (self.previous_threshold, smallest_chosen) {
            self.previous_margin = (smallest as i64 - previous as i64).abs().max(1);
        }
        self.previous_threshold = smallest_chosen;
    }

    /// A threshold that at least `k` inputs reach and, unless the inputs are too crowded near
    /// it, at most `k + acceptable_surplus(k)` do.
    #[inline(always)]
    fn find_threshold(&self, inputs: &[i32], k: usize) -> i32 {
        let Some(start) = self.previous_threshold else {
            return i32::MIN;
        };
        let most = k + acceptable_surplus(k);

        // Bracket: `low` is reached by at least k inputs, `high` (when known) by fewer than k,
        // or by too many when raising overshoots.
        let mut margin = self.previous_margin.max(1);
        let mut trial = start as i64 - margin;
        let mut low: Option<i64> = None;
        let mut high: Option<i64> = None;
        for _ in 0..MAX_COUNTING_PASSES {
            let reached = count_reaching(inputs, clamp_to_i32(trial));
            if reached < k {
                high = Some(trial);
            } else if reached > most {
                low = Some(trial);
            } else {
                return clamp_to_i32(trial);
            }
            trial = match (low, high) {
                (Some(l), Some(h)) if h - l <= 1 => break,
                (Some(l), Some(h)) => l + (h - l) / 2,
                (None, Some(h)) => {
                    margin *= 2;
                    h - margin
                }
                (Some(l), None) => {
                    margin *= 2;
                    l + margin
                }
                // Every pass sets one of the two.
                (None, None) => break,
            };
        }
        low.map_or(i32::MIN, clamp_to_i32)
    }

    /// Collects the ranking keys of all units whose input reaches `threshold`.
    #[inline(always)]
    fn collect_candidates(&mut self, inputs: &[i32], threshold: i32) {
        self.candidates.clear();
        const LANES: usize = 32;
        let whole = inputs.len() / LANES * LANES;
        for (block, lane_inputs) in inputs[..whole].chunks_exact(LANES).enumerate() {
            // A bit per lane, so that the comparisons vectorise and the loop below visits only
            // the few units that reach the threshold.
            let mut reaching = 0u32;
            for (lane, &input) in lane_inputs.iter().enumerate() {
                reaching |= ((input >= threshold) as u32) << lane;
            }
            while reaching != 0 {
                let unit = block * LANES + reaching.trailing_zeros() as usize;
                self.candidates.push(ranking_key(inputs[unit], unit));
                reaching &= reaching - 1;
            }
        }
        for (unit, &input) in inputs.iter().enumerate().skip(whole) {
            if input >= threshold {
                self.candidates.push(ranking_key(input, unit));
            }
        }
    }
}

/// Number of inputs at or above `threshold`.
#[inline(always)]
fn count_reaching(inputs: &[i32], threshold: i32) -> usize {
    // u32 lanes vectorise twice as wide as usize ones; a measure has far fewer than 2^32 units.
    inputs.iter().map(|&x| (x >= threshold) as u32).sum::<u32>() as usize
}

fn clamp_to_i32(x: i64) -> i32 {
    x.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// A key whose natural order is the ranking order: the input (offset to unsigned) in the high
/// half, the complement of the unit index in the low half, so a larger key ranks first and
/// equal inputs rank the lower index first.
fn ranking_key(input: i32, unit: usize) -> u64 {
    let input_bits = (input as u32) ^ 0x8000_0000;
    ((input_bits as u64) << 32) | (u32::MAX - unit as u32) as u64
}

fn unit_of_key(key: u64) -> u32 {
    u32::MAX - key as u32
}

fn input_of_key(key: u64) -> i32 {
    (((key >> 32) as u32) ^ 0x8000_0000) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_selection(selection: &mut TopSelection, inputs: &[i32], k: usize) -> Vec<u32> {
        let mut chosen = Vec::new();
        selection.select(inputs, k, &mut chosen);
        chosen.sort_unstable();
        chosen
    }

    #[test]
    fn ranking_keys_round_trip_and_order() {
        for (input, unit) in [(i32::MIN, 0), (-5, 7), (0, 13_823), (i32::MAX, 1)] {
            let key = ranking_key(input, unit);
            assert_eq!(input_of_key(key), input);
            assert_eq!(unit_of_key(key), unit as u32);
        }
        assert!(ranking_key(3, 9) > ranking_key(2, 0));
        assert!(ranking_key(-1, 0) > ranking_key(-2, 0));
        assert!(ranking_key(5, 1) > ranking_key(5, 2));
    }

    #[test]
    fn the_largest_inputs_win_and_ties_go_to_the_lower_index() {
        let inputs = [4, 9, 4, -3, 9, 4, 0, 4];
        let mut selection = TopSelection::with_capacity(8);
        // Ranking: 9@1, 9@4, 4@0, 4@2, 4@5, 4@7, 0@6, -3@3.
        assert_eq!(sorted_selection(&mut selection, &inputs, 1), vec![1]);
        assert_eq!(sorted_selection(&mut selection, &inputs, 2), vec![1, 4]);
        assert_eq!(sorted_selection(&mut selection, &inputs, 3), vec![0, 1, 4]);
        assert_eq!(
            sorted_selection(&mut selection, &inputs, 5),
            vec![0, 1, 2, 4, 5]
        );
        assert_eq!(
            sorted_selection(&mut selection, &inputs, 7),
            vec![0, 1, 2, 4, 5, 6, 7]
        );
        assert_eq!(
            sorted_selection(&mut selection, &inputs, 0),
            Vec::<u32>::new()
        );
        assert_eq!(sorted_selection(&mut selection, &inputs, 20).len(), 8);
    }

    #[test]
    fn the_previous_threshold_never_changes_the_result() {
        // Inputs from a fixed-seed linear congruential generator, over several lengths, with
        // and without a remembered threshold, checked against a full sort.
        let mut state = 12345u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as i32 % 2000) - 1000
        };
        let mut remembering = TopSelection::with_capacity(1000);
        for len in [1usize, 31, 32, 33, 100, 1000] {
            let inputs: Vec<i32> = (0..len).map(|_| next()).collect();
            let mut ranked: Vec<u32> = (0..len as u32).collect();
            ranked.sort_by(|&a, &b| inputs[b as usize].cmp(&inputs[a as usize]).then(a.cmp(&b)));
            for k in [1, 2, len / 3, len / 2, len.saturating_sub(1), len] {
                let mut expected = ranked[..k.min(len)].to_vec();
                expected.sort_unstable();
                let mut fresh = TopSelection::with_capacity(len);
                assert_eq!(sorted_selection(&mut fresh, &inputs, k), expected);
                assert_eq!(sorted_selection(&mut remembering, &inputs, k), expected);
            }
        }
    }

    #[test]
    fn extreme_inputs_are_selected_without_overflow() {
        let inputs = [i32::MIN, i32::MAX, 0, i32::MIN, i32::MAX];
        let mut selection = TopSelection::with_capacity(5);
        for _ in 0..3 {
            assert_eq!(sorted_selection(&mut selection, &inputs, 2), vec![1, 4]);
            assert_eq!(
                sorted_selection(&mut selection, &inputs, 4),
                vec![0, 1, 2, 4]
            );
        }
    }
}

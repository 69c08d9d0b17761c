//! Counter-based random numbers: a uniform draw is a pure function of where it is used.
//!
//! Training draws one uniform number per unit per Gibbs half-step. Instead of a generator whose
//! state advances (so that the numbers depend on the order of the draws, and thus on threading),
//! each draw hashes its coordinates `(seed, draw, chain, unit)`:
//! - `seed`: the run's seed, folded to 32 bits;
//! - `draw`: which half-step of which batch ([`draw_index`]);
//! - `chain`: the image's slot in the batch (or the persistent chain);
//! - `unit`: the visible or hidden unit.
//!
//! The hash is `pcg4d` of Jarzynski & Olano, "Hash Functions for GPU Rendering" (JCGT 2020):
//! only wrapping 32-bit multiplies, adds, xors and shifts, so a WGSL shader computes the very
//! same bits with `vec4<u32>` arithmetic and a GPU backend draws the same uniforms as this one.
//! The uniform keeps the top 24 bits, which an `f32` holds exactly: `(x >> 8) * 2^-24`.

/// The 4-to-4 32-bit hash `pcg4d`; WGSL: the same lines on a `vec4<u32>`.
pub fn pcg4d(mut v: [u32; 4]) -> [u32; 4] {
    for x in &mut v {
        *x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    }
    mix(&mut v);
    for x in &mut v {
        *x ^= *x >> 16;
    }
    mix(&mut v);
    v
}

/// The mixing round of `pcg4d`, in its sequential order (each line reads the line before).
fn mix(v: &mut [u32; 4]) {
    v[0] = v[0].wrapping_add(v[1].wrapping_mul(v[3]));
    v[1] = v[1].wrapping_add(v[2].wrapping_mul(v[0]));
    v[2] = v[2].wrapping_add(v[0].wrapping_mul(v[1]));
    v[3] = v[3].wrapping_add(v[1].wrapping_mul(v[2]));
}

/// A uniform number in `[0, 1)` for the given coordinates: the first word of the hash, top 24
/// bits. WGSL: `f32(pcg4d(vec4(seed, draw, chain, unit)).x >> 8u) * (1.0 / 16777216.0)`.
#[inline]
pub fn uniform(seed: u32, draw: u32, chain: u32, unit: u32) -> f32 {
    (pcg4d([seed, draw, chain, unit])[0] >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Folds a 64-bit seed to the 32 bits the hash takes.
pub fn fold_seed(seed: u64) -> u32 {
    (seed as u32) ^ ((seed >> 32) as u32)
}

/// The `draw` coordinate of a half-step: batch `batch` (counted over the whole run, across
/// epochs), Gibbs half-step `half_step` of the `2 k` a CD-k batch takes. Wraps after 2^32
/// half-steps (two billion CD-1 batches), far beyond any run.
pub fn draw_index(batch: u64, cd_steps: usize, half_step: usize) -> u32 {
    (batch.wrapping_mul(2 * cd_steps as u64) as u32).wrapping_add(half_step as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pcg4d(0, 0, 0, 0)` worked by hand, modulo 2^32:
    /// - every lane: 0 * 1664525 + 1013904223 = 1013904223 (a = 0x3C6EF35F);
    /// - first mix, x = a + a*a: a*a = 2499902785 (mod 2^32), so x = 3513807008;
    /// - y = a + z*x = a + a*3513807008 = 2496700095 (mod 2^32); and so on.
    ///
    /// The expected words below were computed with Python's arbitrary-precision integers, a
    /// separate implementation of the same published formulas:
    /// ```text
    /// M=2**32
    /// def pcg4d(v):
    ///   v=[(x*1664525+1013904223)%M for x in v]
    ///   def mix(v):
    ///     v[0]=(v[0]+v[1]*v[3])%M; v[1]=(v[1]+v[2]*v[0])%M
    ///     v[2]=(v[2]+v[0]*v[1])%M; v[3]=(v[3]+v[1]*v[2])%M
    ///   mix(v); v=[x^(x>>16) for x in v]; mix(v); return v
    /// ```
    #[test]
    fn pcg4d_matches_hand_computed_words() {
        assert_eq!(
            pcg4d([0, 0, 0, 0]),
            [251_852_841, 760_645_481, 850_445_371, 3_542_436_074]
        );
        assert_eq!(
            pcg4d([1, 2, 3, 4]),
            [908_250_390, 4_044_648_920, 3_775_961_919, 45_698_095]
        );
    }

    #[test]
    fn uniform_keeps_the_top_24_bits() {
        // 251852841 >> 8 = 983800; 908250390 >> 8 = 3547853.
        assert_eq!(uniform(0, 0, 0, 0), 983_800.0 / 16_777_216.0);
        assert_eq!(uniform(1, 2, 3, 4), 3_547_853.0 / 16_777_216.0);
    }

    #[test]
    fn uniforms_are_uniform_enough() {
        // Mean and variance of 100,000 draws along the unit axis: 1/2 and 1/12.
        let draws: Vec<f64> = (0..100_000).map(|u| uniform(7, 3, 1, u) as f64).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let variance = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        assert!((variance - 1.0 / 12.0).abs() < 0.002, "variance {variance}");
        assert!(draws.iter().all(|&x| (0.0..1.0).contains(&x)));
    }

    #[test]
    fn draw_indices_of_consecutive_batches_do_not_overlap() {
        // CD-2 takes 4 half-steps a batch: batch 0 uses 0..4, batch 1 uses 4..8.
        assert_eq!(draw_index(0, 2, 3), 3);
        assert_eq!(draw_index(1, 2, 0), 4);
        assert_eq!(fold_seed(0x0000_0001_0000_0003), 2);
    }
}

// Counter-based random numbers, bit for bit those of the CPU trainer (trainer/src/counter_rng.rs):
// a uniform draw is the hash `pcg4d` (Jarzynski & Olano, "Hash Functions for GPU Rendering",
// JCGT 2020) of its coordinates (seed, draw, chain, unit), so that both backends draw the same
// number for the same unit of the same chain in the same half-step. WGSL's u32 arithmetic
// wraps modulo 2^32, as the CPU's `wrapping_*` calls do.

fn pcg4d(coordinates: vec4<u32>) -> vec4<u32> {
    var v = coordinates * 1664525u + 1013904223u;

    // The mixing round, each line reading the line before.
    v.x += v.y * v.w;
    v.y += v.z * v.x;
    v.z += v.x * v.y;
    v.w += v.y * v.z;

    v ^= v >> vec4<u32>(16u);

    // The mixing round again.
    v.x += v.y * v.w;
    v.y += v.z * v.x;
    v.z += v.x * v.y;
    v.w += v.y * v.z;
    return v;
}

// A uniform number in [0, 1): the top 24 bits of the hash's first word, which an f32 holds
// exactly.
fn counter_uniform(seed: u32, draw: u32, chain: u32, unit: u32) -> f32 {
    return f32(pcg4d(vec4<u32>(seed, draw, chain, unit)).x >> 8u) * (1.0 / 16777216.0);
}

// A binary unit, on when its uniform falls below its probability (the CPU's comparison).
fn bernoulli(probability: f32, chain: u32, unit: u32) -> f32 {
    return select(0.0, 1.0, counter_uniform(settings.seed, settings.draw, chain, unit) < probability);
}

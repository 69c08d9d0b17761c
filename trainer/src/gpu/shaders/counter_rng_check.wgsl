// Test only: the WGSL `pcg4d` and `counter_uniform` on given coordinates, for comparison with
// the hand-computed words of trainer/src/counter_rng.rs.

// Coordinates in, four words each.
@group(0) @binding(1) var<storage, read> coordinates: array<vec4<u32>>;
// For each: the four hash words, then the uniform's bits.
@group(0) @binding(2) var<storage, read_write> hashes: array<u32>;

@compute @workgroup_size(1, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = coordinates[id.x];
    let words = pcg4d(c);
    hashes[id.x * 5u] = words.x;
    hashes[id.x * 5u + 1u] = words.y;
    hashes[id.x * 5u + 2u] = words.z;
    hashes[id.x * 5u + 3u] = words.w;
    hashes[id.x * 5u + 4u] = bitcast<u32>(counter_uniform(c.x, c.y, c.z, c.w));
}

// Benchmark only: the adapter's fp32 rate, as independent chains of fused multiply-adds, the
// yardstick the trainer's matrix products are compared with. Each thread runs 8 chains of
// vec4 FMAs (64 FLOPs per iteration) for `settings.depth` iterations; the sums are stored so
// that the compiler cannot drop the work.

@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let start = f32(id.x % 1024u) * (1.0 / 1024.0);
    var x0 = vec4<f32>(start, start + 0.1, start + 0.2, start + 0.3);
    var x1 = x0 + 0.01;
    var x2 = x0 + 0.02;
    var x3 = x0 + 0.03;
    var x4 = x0 + 0.04;
    var x5 = x0 + 0.05;
    var x6 = x0 + 0.06;
    var x7 = x0 + 0.07;
    // x -> 0.9999 x + 0.0001 stays within [0, 1]: no overflow, no denormals.
    let scale = vec4<f32>(0.9999);
    let shift = vec4<f32>(0.0001);
    for (var i = 0u; i < settings.depth; i++) {
        x0 = fma(x0, scale, shift);
        x1 = fma(x1, scale, shift);
        x2 = fma(x2, scale, shift);
        x3 = fma(x3, scale, shift);
        x4 = fma(x4, scale, shift);
        x5 = fma(x5, scale, shift);
        x6 = fma(x6, scale, shift);
        x7 = fma(x7, scale, shift);
    }
    let total = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
    sink[id.x] = total.x + total.y + total.z + total.w;
}

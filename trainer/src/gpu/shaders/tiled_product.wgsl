// A matrix product tiled in workgroup memory, shared by the three products of a CD step.
//
// The including kernel defines what the product reads and what it does with each sum:
// - `load_a(row, k)` and `load_b(k, column)`: the factors' entries (called in range only);
// - `A_RUNS_ALONG_DEPTH`, `B_RUNS_ALONG_DEPTH`: whether consecutive memory addresses of a
//   factor follow the depth `k` (else they follow its rows, or columns), so that consecutive
//   threads load consecutive addresses;
// - `finish(row, column, slice, sum)`: the epilogue, called once per output in range.
//
// Each workgroup computes a TILE x TILE block of the output, each of its THREADS_PER_SIDE^2
// threads an OUTPUTS_PER_SIDE^2 set of it (rows `local.y + THREADS_PER_SIDE * i`, columns
// `local.x + THREADS_PER_SIDE * j`: neighbouring threads read neighbouring tile entries, which
// spreads them over the memory banks), stepping through the depth DEPTH_TILE at a time: stage
// a TILE x DEPTH_TILE block of A and a DEPTH_TILE x TILE block of B in workgroup memory, then
// accumulate from there. Each step a thread reads 2 x OUTPUTS_PER_SIDE staged values for
// OUTPUTS_PER_SIDE^2 multiply-adds, so that workgroup memory keeps up with the arithmetic.
// Workgroup layer `z` sums only the depth slice `z` (see `PassSettings::slices`).
//
// TILE, DEPTH_TILE and THREADS_PER_SIDE come from the Rust side (`kernels::PRODUCT_*`), which
// sizes the dispatches with them.

const OUTPUTS_PER_SIDE: u32 = TILE / THREADS_PER_SIDE;
const THREADS: u32 = THREADS_PER_SIDE * THREADS_PER_SIDE;
const STAGED_PER_THREAD: u32 = TILE * DEPTH_TILE / THREADS;
// One float of padding per tile row, so that threads storing down a column of a tile hit
// different memory banks.
const PADDED_TILE: u32 = TILE + 1u;

// a_tile[k][row] and b_tile[k][column] of the current depth step.
var<workgroup> a_tile: array<array<f32, PADDED_TILE>, DEPTH_TILE>;
var<workgroup> b_tile: array<array<f32, PADDED_TILE>, DEPTH_TILE>;

@compute @workgroup_size(THREADS_PER_SIDE, THREADS_PER_SIDE, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) thread: u32,
) {
    let first_row = group.y * TILE;
    let first_column = group.x * TILE;
    let depth_start = group.z * settings.slice_depth;
    let depth_end = min(depth_start + settings.slice_depth, settings.depth);

    var sums: array<array<f32, OUTPUTS_PER_SIDE>, OUTPUTS_PER_SIDE>;
    for (var k0 = depth_start; k0 < depth_end; k0 += DEPTH_TILE) {
        // Stage this depth step's blocks of A and B.
        for (var i = 0u; i < STAGED_PER_THREAD; i++) {
            let entry = thread + i * THREADS;
            var tile_row = entry % TILE;
            var a_k = entry / TILE;
            if A_RUNS_ALONG_DEPTH {
                tile_row = entry / DEPTH_TILE;
                a_k = entry % DEPTH_TILE;
            }
            let row = first_row + tile_row;
            var a = 0.0;
            if row < settings.rows && k0 + a_k < depth_end {
                a = load_a(row, k0 + a_k);
            }
            a_tile[a_k][tile_row] = a;

            var tile_column = entry % TILE;
            var b_k = entry / TILE;
            if B_RUNS_ALONG_DEPTH {
                tile_column = entry / DEPTH_TILE;
                b_k = entry % DEPTH_TILE;
            }
            let column = first_column + tile_column;
            var b = 0.0;
            if column < settings.columns && k0 + b_k < depth_end {
                b = load_b(k0 + b_k, column);
            }
            b_tile[b_k][tile_column] = b;
        }
        workgroupBarrier();

        // Accumulate this thread's outputs over the staged depth.
        for (var k = 0u; k < DEPTH_TILE; k++) {
            var a: array<f32, OUTPUTS_PER_SIDE>;
            var b: array<f32, OUTPUTS_PER_SIDE>;
            for (var i = 0u; i < OUTPUTS_PER_SIDE; i++) {
                a[i] = a_tile[k][local.y + i * THREADS_PER_SIDE];
                b[i] = b_tile[k][local.x + i * THREADS_PER_SIDE];
            }
            for (var i = 0u; i < OUTPUTS_PER_SIDE; i++) {
                for (var j = 0u; j < OUTPUTS_PER_SIDE; j++) {
                    sums[i][j] += a[i] * b[j];
                }
            }
        }
        workgroupBarrier();
    }

    // Hand each output in range to the kernel's epilogue.
    for (var i = 0u; i < OUTPUTS_PER_SIDE; i++) {
        for (var j = 0u; j < OUTPUTS_PER_SIDE; j++) {
            let row = first_row + local.y + i * THREADS_PER_SIDE;
            let column = first_column + local.x + j * THREADS_PER_SIDE;
            if row < settings.rows && column < settings.columns {
                finish(row, column, group.z, sums[i][j]);
            }
        }
    }
}

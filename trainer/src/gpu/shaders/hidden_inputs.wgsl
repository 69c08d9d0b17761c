// Pipeline step: the inputs of the hidden units, `v W` for each image `v` of a batch of
// visible states (the products "data x W" and "reconstruction x W" of a CD step). The sum
// over the visible units is long (13,824 for two measures) while the output is small (batch x
// hidden), so the depth is split into slices, each workgroup layer summing one slice into
// `partial_sums`; `hidden_probabilities.wgsl` adds the slices up.

// Binary visible states, images x visible units: `visible_states` (data or reconstruction
// rows, from `settings.input_row`) or the persistent chains.
@group(0) @binding(1) var<storage, read> visible_input: array<f32>;
// The weights W, visible x hidden, row-major as on the CPU.
@group(0) @binding(2) var<storage, read> weights: array<f32>;
// One batch x hidden block of sums per depth slice.
@group(0) @binding(3) var<storage, read_write> partial_sums: array<f32>;

// A = the visible states (image, unit): consecutive units are consecutive addresses.
const A_RUNS_ALONG_DEPTH: bool = true;
// B = W (unit, hidden): consecutive hidden units are consecutive addresses.
const B_RUNS_ALONG_DEPTH: bool = false;

fn load_a(image: u32, unit: u32) -> f32 {
    return visible_input[(settings.input_row + image) * settings.visible_units + unit];
}

fn load_b(unit: u32, hidden: u32) -> f32 {
    return weights[unit * settings.hidden_units + hidden];
}

fn finish(image: u32, hidden: u32, slice: u32, sum: f32) {
    partial_sums[(slice * settings.rows + image) * settings.hidden_units + hidden] = sum;
}

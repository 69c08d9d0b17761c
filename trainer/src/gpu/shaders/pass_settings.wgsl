// The settings of one dispatch, shared by every kernel of the training pipeline. Each dispatch
// gets its own copy in a slot of one uniform buffer (bound with a dynamic offset), so that a
// whole CD-k batch is recorded into one submission. The Rust twin is `kernels::PassSettings`:
// keep the two in the same order.
struct PassSettings {
    // The shape of a matrix product: output rows x columns, summed over `depth`.
    rows: u32,
    columns: u32,
    depth: u32,
    // The product's depth is split into `slices` slices of `slice_depth` (a multiple of
    // DEPTH_TILE), one workgroup layer each, when the output alone is too small to fill the GPU.
    slice_depth: u32,
    slices: u32,
    // Images in this batch, and the model's shape.
    batch_images: u32,
    visible_units: u32,
    hidden_units: u32,
    // The first row of the input and of the output in their buffers (data rows come first,
    // the negative phase's rows follow them).
    input_row: u32,
    output_row: u32,
    // The counter-based random draw: the run's seed and the half-step's `draw` coordinate;
    // `sample` is 1 when the kernel also draws binary units.
    seed: u32,
    draw: u32,
    sample: u32,
    // Elementwise kernels: how many elements, and the batch's on-cells.
    elements: u32,
    // The update: momentum, the learning rate over the batch size, and the learning rate times
    // the weight decay.
    momentum: f32,
    step: f32,
    decay: f32,
    _padding0: u32,
    _padding1: u32,
    _padding2: u32,
}

@group(0) @binding(0) var<uniform> settings: PassSettings;

fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

// Pipeline step: the reconstruction. `p(v = 1 | h) = sigmoid(b + W h)` for each binary hidden
// state `h` of the batch (the product "hidden x W'" of a CD step), and straight away a binary
// visible state drawn from it into the reconstruction rows of `visible_states`. The
// probabilities themselves are not kept: the gradient uses the binary reconstruction.

// The binary hidden states, batch x hidden.
@group(0) @binding(1) var<storage, read> hidden_sample: array<f32>;
// The weights W, visible x hidden.
@group(0) @binding(2) var<storage, read> weights: array<f32>;
// The visible biases b.
@group(0) @binding(3) var<storage, read> visible_biases: array<f32>;
// Visible states, (2 x batch) x visible units; written from row `settings.output_row`.
@group(0) @binding(4) var<storage, read_write> visible_states: array<f32>;

// A = the hidden states (image, hidden): consecutive hidden units are consecutive addresses.
const A_RUNS_ALONG_DEPTH: bool = true;
// B = W' (hidden, unit): W is visible-major, so consecutive hidden units are consecutive.
const B_RUNS_ALONG_DEPTH: bool = true;

fn load_a(image: u32, hidden: u32) -> f32 {
    return hidden_sample[image * settings.hidden_units + hidden];
}

fn load_b(hidden: u32, unit: u32) -> f32 {
    return weights[unit * settings.hidden_units + hidden];
}

fn finish(image: u32, unit: u32, slice: u32, sum: f32) {
    let probability = sigmoid(visible_biases[unit] + sum);
    let row = settings.output_row + image;
    visible_states[row * settings.visible_units + unit] = bernoulli(probability, image, unit);
}

// Pipeline step: `p(h = 1 | v) = sigmoid(c + v W)` from the slices of `hidden_inputs.wgsl`,
// and when `settings.sample` is set a binary hidden state drawn from it (the `h` that drives
// the next visible step of the Gibbs chain).

@group(0) @binding(1) var<storage, read> partial_sums: array<f32>;
// The hidden biases c.
@group(0) @binding(2) var<storage, read> hidden_biases: array<f32>;
// Hidden probabilities, (2 x batch) x hidden: the positive phase's rows, then the negative
// phase's; this pass writes `settings.elements` of them from row `settings.output_row`.
@group(0) @binding(3) var<storage, read_write> hidden_probabilities: array<f32>;
// The binary hidden states of the batch's chains, batch x hidden.
@group(0) @binding(4) var<storage, read_write> hidden_sample: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let stride = groups.x * 256u;
    for (var index = id.x; index < settings.elements; index += stride) {
        let image = index / settings.hidden_units;
        let hidden = index % settings.hidden_units;

        // The bias first, then the slices in order of the visible units, as the CPU sums.
        var input = hidden_biases[hidden];
        for (var slice = 0u; slice < settings.slices; slice++) {
            input += partial_sums[slice * settings.elements + index];
        }
        let probability = sigmoid(input);

        hidden_probabilities[settings.output_row * settings.hidden_units + index] = probability;
        if settings.sample == 1u {
            hidden_sample[index] = bernoulli(probability, image, hidden);
        }
    }
}

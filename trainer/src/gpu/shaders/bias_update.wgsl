// Pipeline step: the update of the visible biases b (from the visible states) or the hidden
// biases c (from the hidden probabilities), one thread per unit:
//   velocity = momentum * velocity + lr / batch * (sum of the positive rows - sum of the
//   negative rows);  bias += velocity.
// No weight decay on biases, as on the CPU.

// (2 x batch) x units: the positive phase's rows, then the negative phase's.
@group(0) @binding(1) var<storage, read> unit_states: array<f32>;
@group(0) @binding(2) var<storage, read_write> bias_velocity: array<f32>;
@group(0) @binding(3) var<storage, read_write> biases: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let stride = groups.x * 256u;
    let units = settings.elements;
    let images = settings.batch_images;
    for (var unit = id.x; unit < units; unit += stride) {
        var positive = 0.0;
        var negative = 0.0;
        for (var image = 0u; image < images; image++) {
            positive += unit_states[image * units + unit];
            negative += unit_states[(images + image) * units + unit];
        }
        let velocity = settings.momentum * bias_velocity[unit] + settings.step * (positive - negative);
        bias_velocity[unit] = velocity;
        biases[unit] += velocity;
    }
}

// Pipeline step: the update of W, fused with its gradient so that the gradient never needs a
// buffer of its own. The gradient's outer products, summed over the batch,
//   <v0 p0'> - <vk pk'>  =  sum over the 2 x batch rows r of  v_r p_r' * (+1 or -1),
// are one product of the visible states (transposed) with the hidden probabilities, the data
// rows counted positive and the reconstruction rows negative. Then, as on the CPU:
//   velocity = momentum * velocity - lr * decay * W + lr / batch * gradient;  W += velocity.

// Visible states, (2 x batch) x visible units: data rows, then reconstruction rows.
@group(0) @binding(1) var<storage, read> visible_states: array<f32>;
// Hidden probabilities, (2 x batch) x hidden: p0 rows, then pk rows.
@group(0) @binding(2) var<storage, read> hidden_probabilities: array<f32>;
// W and its momentum, visible x hidden.
@group(0) @binding(3) var<storage, read_write> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> weight_velocity: array<f32>;

// A = V' (unit, row): a row of `visible_states` runs along the units, the rows of this product.
const A_RUNS_ALONG_DEPTH: bool = false;
// B = the signed hidden probabilities (row, hidden): consecutive hidden units are consecutive.
const B_RUNS_ALONG_DEPTH: bool = false;

fn load_a(unit: u32, row: u32) -> f32 {
    return visible_states[row * settings.visible_units + unit];
}

fn load_b(row: u32, hidden: u32) -> f32 {
    let signed_step = select(-settings.step, settings.step, row < settings.batch_images);
    return signed_step * hidden_probabilities[row * settings.hidden_units + hidden];
}

fn finish(unit: u32, hidden: u32, slice: u32, sum: f32) {
    let index = unit * settings.hidden_units + hidden;
    let weight = weights[index];
    let velocity = settings.momentum * weight_velocity[index] - settings.decay * weight + sum;
    weight_velocity[index] = velocity;
    weights[index] = weight + velocity;
}

// Pipeline step 1: the batch's images into the data rows of `visible_states`.
//
// Only the on-cells of the batch go up to the GPU (a Bach image has about 3% of its units
// on), each as `image * visible_units + unit`; the data rows were cleared before this pass,
// so setting the on-cells to 1 makes them the dense 0/1 images the products read.

// The batch's on-cells, `settings.elements` of them.
@group(0) @binding(1) var<storage, read> on_cells: array<u32>;
// Visible states, (2 x batch) x visible units: data rows, then reconstruction rows.
@group(0) @binding(2) var<storage, read_write> visible_states: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let stride = groups.x * 256u;
    for (var index = id.x; index < settings.elements; index += stride) {
        visible_states[on_cells[index]] = 1.0;
    }
}

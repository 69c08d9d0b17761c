//! The GPU trainer's buffers: the parameters and their momentum, which stay on the GPU from
//! batch to batch, and the working space of one batch. All hold `f32` (or `u32` cells) in
//! the layouts of the CPU trainer: row-major, visible x hidden for `W`, images x units for
//! states.

use wgpu::util::DeviceExt;

use continuo_model::Rbm;

use super::GpuError;
use crate::cpu::Velocity;

/// Every buffer a storage binding reads or writes may also be copied to and from (uploads,
/// the persistent chains, readback).
const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);

/// The sizes that set the buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub visible_units: u32,
    pub hidden_units: u32,
    /// The most images a batch may hold.
    pub batch_capacity: u32,
    /// The depth slices of the hidden inputs ([`super::kernels::depth_slices`]).
    pub hidden_slices: u32,
    /// Whether there are persistent chains to keep.
    pub persistent: bool,
}

impl Shape {
    /// Each buffer's name and size in bytes, largest first: what must fit the adapter's
    /// binding limit.
    pub fn buffer_bytes(&self) -> Vec<(&'static str, u64)> {
        let visible = u64::from(self.visible_units);
        let hidden = u64::from(self.hidden_units);
        let batch = u64::from(self.batch_capacity);
        let mut sizes = vec![
            ("the weights (visible x hidden)", 4 * visible * hidden),
            (
                "the batch's visible states (2 x batch x visible)",
                4 * 2 * batch * visible,
            ),
            (
                "the batch's on-cells (batch x visible)",
                4 * batch * visible,
            ),
            (
                "the partial hidden inputs (slices x batch x hidden)",
                4 * u64::from(self.hidden_slices) * batch * hidden,
            ),
        ];
        sizes.sort_by_key(|&(_, bytes)| std::cmp::Reverse(bytes));
        sizes
    }
}

/// The model's parameters and their momentum, on the GPU for the whole run.
pub struct ParameterBuffers {
    /// `W`, visible x hidden.
    pub weights: wgpu::Buffer,
    /// The previous update of `W` (the momentum term).
    pub weight_velocity: wgpu::Buffer,
    /// `b`, one per visible unit.
    pub visible_biases: wgpu::Buffer,
    pub visible_bias_velocity: wgpu::Buffer,
    /// `c`, one per hidden unit.
    pub hidden_biases: wgpu::Buffer,
    pub hidden_bias_velocity: wgpu::Buffer,
}

impl ParameterBuffers {
    /// Uploads the model and its momentum (all zero on a fresh run, restored on a resumed one).
    pub fn upload(device: &wgpu::Device, rbm: &Rbm, velocity: &Velocity) -> Self {
        let upload = |label: &str, values: Vec<f32>| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(&values),
                usage: STORAGE,
            })
        };
        let row_major =
            |array: &ndarray::Array2<f32>| array.as_standard_layout().iter().copied().collect();
        ParameterBuffers {
            weights: upload("weights", row_major(&rbm.w)),
            weight_velocity: upload("weight velocity", row_major(&velocity.w)),
            visible_biases: upload("visible biases", rbm.b.to_vec()),
            visible_bias_velocity: upload("visible bias velocity", velocity.b.to_vec()),
            hidden_biases: upload("hidden biases", rbm.c.to_vec()),
            hidden_bias_velocity: upload("hidden bias velocity", velocity.c.to_vec()),
        }
    }
}

/// The working space of a batch: rewritten by every batch, never read back in training.
pub struct BatchBuffers {
    /// The batch's on-cells, `image * visible_units + unit`: the only data that goes up to the
    /// GPU per batch.
    pub on_cells: wgpu::Buffer,
    /// Binary visible states, (2 x batch) x visible: the data rows `v0`, then the rows of the
    /// negative phase's visible states (the reconstruction `vk` once the chain has run).
    pub visible_states: wgpu::Buffer,
    /// `p(h | v)`, (2 x batch) x hidden: `p0` for the data rows, then `pk` for the negative
    /// rows (and the chain's intermediate probabilities before the last step).
    pub hidden_probabilities: wgpu::Buffer,
    /// The binary hidden states that drive the chain's next visible step, batch x hidden.
    pub hidden_sample: wgpu::Buffer,
    /// The hidden inputs summed over each slice of the visible units, slices x batch x hidden.
    pub partial_sums: wgpu::Buffer,
    /// Persistent CD's negative chains, batch x visible, carried from batch to batch.
    pub persistent_chains: Option<wgpu::Buffer>,
}

impl BatchBuffers {
    pub fn new(device: &wgpu::Device, shape: &Shape) -> Self {
        let visible = u64::from(shape.visible_units);
        let hidden = u64::from(shape.hidden_units);
        let batch = u64::from(shape.batch_capacity);
        let storage = |label: &str, floats: u64| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 4 * floats.max(1),
                usage: STORAGE,
                mapped_at_creation: false,
            })
        };
        BatchBuffers {
            on_cells: storage("on-cells", batch * visible),
            visible_states: storage("visible states", 2 * batch * visible),
            hidden_probabilities: storage("hidden probabilities", 2 * batch * hidden),
            hidden_sample: storage("hidden sample", batch * hidden),
            partial_sums: storage(
                "partial hidden inputs",
                u64::from(shape.hidden_slices) * batch * hidden,
            ),
            persistent_chains: shape
                .persistent
                .then(|| storage("persistent chains", batch * visible)),
        }
    }
}

/// Copies `count` values (`f32` or `u32`) from the start of `buffer` back to the CPU, waiting
/// for the GPU.
pub fn read_values<T: bytemuck::Pod>(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    count: usize,
    adapter: &str,
) -> Result<Vec<T>, GpuError> {
    let bytes = (size_of::<T>() * count.max(1)) as u64;
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("readback"),
    });
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
    queue.submit([encoder.finish()]);

    let device_error = |message: String| GpuError::Device {
        adapter: adapter.to_string(),
        message,
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |result| {
        // The receiver waits below; if it is gone there is no one left to tell.
        let _ = sender.send(result);
    });
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|error| device_error(format!("waiting for a readback: {error}")))?;
    receiver
        .recv()
        .map_err(|_| device_error("a readback was never answered".into()))?
        .map_err(|error| device_error(format!("mapping a readback: {error}")))?;

    let view = staging
        .get_mapped_range(..)
        .map_err(|error| device_error(format!("reading a readback: {error}")))?;
    let mut values: Vec<T> = bytemuck::pod_collect_to_vec(&view);
    drop(view);
    staging.unmap();
    values.truncate(count);
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weights_are_the_largest_buffer_at_the_papers_size() {
        let shape = Shape {
            visible_units: 13_824,
            hidden_units: 4096,
            batch_capacity: 100,
            hidden_slices: 8,
            persistent: false,
        };
        let sizes = shape.buffer_bytes();
        // 13,824 x 4,096 x 4 = 226,492,416 bytes.
        assert_eq!(sizes[0], ("the weights (visible x hidden)", 226_492_416));
        // Then 8 slices x 100 x 4,096 x 4 = 13,107,200 bytes of partial sums, and 2 x 100 x
        // 13,824 x 4 = 11,059,200 bytes of visible states.
        assert_eq!(sizes[1].1, 13_107_200);
        assert_eq!(sizes[2].1, 11_059_200);
    }
}

//! The compute kernels of the GPU trainer: their WGSL sources, their pipelines and the shape
//! of the dispatches that run them.
//!
//! Every kernel is assembled from `shaders/`: `pass_settings.wgsl` (the per-dispatch
//! [`PassSettings`] at binding 0, and `sigmoid`), `counter_rng.wgsl` where it samples, and
//! `tiled_product.wgsl` under the three matrix products, which only say what they read and
//! what they do with each sum. Binding 0 is bound with a dynamic offset: one uniform buffer
//! holds a slot of settings for every dispatch of a batch.

use wgpu::util::DeviceExt;

/// The settings of one dispatch; WGSL: `PassSettings` in `shaders/pass_settings.wgsl`, field
/// for field. Which kernel reads which field is written there.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PassSettings {
    pub rows: u32,
    pub columns: u32,
    pub depth: u32,
    pub slice_depth: u32,
    pub slices: u32,
    pub batch_images: u32,
    pub visible_units: u32,
    pub hidden_units: u32,
    pub input_row: u32,
    pub output_row: u32,
    pub seed: u32,
    pub draw: u32,
    pub sample: u32,
    pub elements: u32,
    pub momentum: f32,
    pub step: f32,
    pub decay: f32,
    pub _padding: [u32; 3],
}

/// Bytes between two slots of settings in the uniform buffer: a dynamic offset must be a
/// multiple of the adapter's `min_uniform_buffer_offset_alignment`, which is at most 256.
pub const SETTINGS_SLOT_BYTES: u64 = 256;

/// Output rows and columns per workgroup of a tiled product (`TILE` in the WGSL).
// NOTE: The batch is the row count of the products "data x W" and "hidden x W'", so a batch
//       of 100 images fills two 64-row tiles to 78%; a batch of 64 or 128 wastes nothing.
pub const PRODUCT_TILE: u32 = 64;

/// The depth of one step of a tiled product through workgroup memory (`DEPTH_TILE`).
pub const PRODUCT_DEPTH_TILE: u32 = 16;

/// A tiled product's workgroup is this many threads square, each computing
/// `(PRODUCT_TILE / PRODUCT_THREADS_PER_SIDE)^2` = 64 outputs: 16 staged reads for 64
/// multiply-adds per depth step. (With 16 x 16 threads of 4 x 4 outputs it would be 8 reads
/// for 16, and by a count of instructions the reads from workgroup memory, not the
/// arithmetic, would set the pace on an NVIDIA card.)
pub const PRODUCT_THREADS_PER_SIDE: u32 = 8;

/// Threads per workgroup of the elementwise kernels.
const ELEMENTWISE_THREADS: u32 = 256;

/// The most workgroups an elementwise dispatch asks for; each thread then loops over its
/// share, so that a dispatch stays within every adapter's 65,535 workgroups per dimension.
const ELEMENTWISE_MAX_WORKGROUPS: u32 = 4096;

/// How many workgroups a product split over its depth aims for: enough to keep every
/// compute unit of a large card busy several times over.
const TARGET_WORKGROUPS: u32 = 1024;

/// The least depth a slice sums: below it the partial sums cost more than they save.
const MIN_SLICE_DEPTH: u32 = 256;

const PASS_SETTINGS: &str = include_str!("shaders/pass_settings.wgsl");
const COUNTER_RNG: &str = include_str!("shaders/counter_rng.wgsl");
const TILED_PRODUCT: &str = include_str!("shaders/tiled_product.wgsl");

/// Whether a kernel only reads a storage binding or also writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    ReadWrite,
}

/// A compute pipeline and the layout its bind groups follow.
pub struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    /// The label of the pipeline and of its passes, as graphics debuggers show them.
    pub name: &'static str,
    /// Whether the kernel is a tiled matrix product (`PassSettings::rows` x `columns` over
    /// `depth`), whose FLOPs the profile counts.
    pub product: bool,
}

impl Kernel {
    /// Compiles `parts` (concatenated) into a pipeline whose bindings are the settings
    /// uniform at 0 and `storage` at 1, 2, ...
    pub fn new(
        device: &wgpu::Device,
        name: &'static str,
        parts: &[&str],
        storage: &[Access],
    ) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(name),
            source: wgpu::ShaderSource::Wgsl(parts.concat().into()),
        });

        let settings_entry = wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: true,
                min_binding_size: wgpu::BufferSize::new(size_of::<PassSettings>() as u64),
            },
            count: None,
        };
        let storage_entries =
            storage
                .iter()
                .enumerate()
                .map(|(index, access)| wgpu::BindGroupLayoutEntry {
                    binding: index as u32 + 1,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage {
                            read_only: *access == Access::Read,
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                });
        let entries: Vec<_> = std::iter::once(settings_entry)
            .chain(storage_entries)
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(name),
            entries: &entries,
        });

        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(name),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(name),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        Kernel {
            pipeline,
            layout,
            name,
            product: false,
        }
    }

    /// Marks a kernel built on `tiled_product.wgsl`.
    fn tiled_product(self) -> Self {
        Kernel {
            product: true,
            ..self
        }
    }

    /// A bind group of this kernel: the settings buffer at 0 (one slot wide, placed by the
    /// dynamic offset of each dispatch), then `storage` in binding order.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        settings: &wgpu::Buffer,
        storage: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let settings_entry = wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: settings,
                offset: 0,
                size: wgpu::BufferSize::new(size_of::<PassSettings>() as u64),
            }),
        };
        let storage_entries =
            storage
                .iter()
                .enumerate()
                .map(|(index, buffer)| wgpu::BindGroupEntry {
                    binding: index as u32 + 1,
                    resource: buffer.as_entire_binding(),
                });
        let entries: Vec<_> = std::iter::once(settings_entry)
            .chain(storage_entries)
            .collect();
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.name),
            layout: &self.layout,
            entries: &entries,
        })
    }
}

/// The kernels of a CD-k step, in the order a batch runs them.
pub struct TrainingKernels {
    /// The batch's on-cells into dense 0/1 rows.
    pub expand_batch: Kernel,
    /// `v W`, split over slices of the visible units.
    pub hidden_inputs: Kernel,
    /// `sigmoid(c + sum of the slices)`, and a binary sample of it.
    pub hidden_probabilities: Kernel,
    /// `sigmoid(b + W h)`, sampled straight into binary visible states.
    pub visible_sample: Kernel,
    /// The gradient's outer products, fused with the momentum update of `W`.
    pub weight_update: Kernel,
    /// The momentum update of `b` or of `c`.
    pub bias_update: Kernel,
}

/// The WGSL constants of `tiled_product.wgsl` that the dispatches are sized with.
fn product_constants() -> String {
    format!(
        "const TILE: u32 = {PRODUCT_TILE}u;\n\
         const DEPTH_TILE: u32 = {PRODUCT_DEPTH_TILE}u;\n\
         const THREADS_PER_SIDE: u32 = {PRODUCT_THREADS_PER_SIDE}u;\n"
    )
}

impl TrainingKernels {
    pub fn new(device: &wgpu::Device) -> Self {
        use Access::{Read, ReadWrite};
        let product_constants = product_constants();
        let tiled_product = [product_constants.as_str(), TILED_PRODUCT].concat();
        let tiled_product = tiled_product.as_str();
        TrainingKernels {
            expand_batch: Kernel::new(
                device,
                "expand batch",
                &[PASS_SETTINGS, include_str!("shaders/expand_batch.wgsl")],
                &[Read, ReadWrite],
            ),
            hidden_inputs: Kernel::new(
                device,
                "hidden inputs",
                &[
                    PASS_SETTINGS,
                    include_str!("shaders/hidden_inputs.wgsl"),
                    tiled_product,
                ],
                &[Read, Read, ReadWrite],
            )
            .tiled_product(),
            hidden_probabilities: Kernel::new(
                device,
                "hidden probabilities",
                &[
                    PASS_SETTINGS,
                    COUNTER_RNG,
                    include_str!("shaders/hidden_probabilities.wgsl"),
                ],
                &[Read, Read, ReadWrite, ReadWrite],
            ),
            visible_sample: Kernel::new(
                device,
                "visible sample",
                &[
                    PASS_SETTINGS,
                    COUNTER_RNG,
                    include_str!("shaders/visible_sample.wgsl"),
                    tiled_product,
                ],
                &[Read, Read, Read, ReadWrite],
            )
            .tiled_product(),
            weight_update: Kernel::new(
                device,
                "weight update",
                &[
                    PASS_SETTINGS,
                    include_str!("shaders/weight_update.wgsl"),
                    tiled_product,
                ],
                &[Read, Read, ReadWrite, ReadWrite],
            )
            .tiled_product(),
            bias_update: Kernel::new(
                device,
                "bias update",
                &[PASS_SETTINGS, include_str!("shaders/bias_update.wgsl")],
                &[Read, ReadWrite, ReadWrite],
            ),
        }
    }
}

/// The benchmark's yardstick: chains of fused multiply-adds at the adapter's fp32 rate.
pub fn fma_rate_kernel(device: &wgpu::Device) -> Kernel {
    Kernel::new(
        device,
        "fma rate",
        &[PASS_SETTINGS, include_str!("shaders/fma_rate.wgsl")],
        &[Access::ReadWrite],
    )
}

/// Test only: `pcg4d` and the uniform of given coordinates, computed in WGSL.
#[cfg(test)]
pub fn counter_rng_check_kernel(device: &wgpu::Device) -> Kernel {
    Kernel::new(
        device,
        "counter rng check",
        &[
            PASS_SETTINGS,
            COUNTER_RNG,
            include_str!("shaders/counter_rng_check.wgsl"),
        ],
        &[Access::Read, Access::ReadWrite],
    )
}

/// Workgroups of a tiled product with `rows` x `columns` outputs over `slices` depth slices.
pub fn product_workgroups(rows: u32, columns: u32, slices: u32) -> [u32; 3] {
    [
        columns.div_ceil(PRODUCT_TILE),
        rows.div_ceil(PRODUCT_TILE),
        slices,
    ]
}

/// Workgroups of an elementwise kernel over `elements` (each thread loops over its share).
pub fn elementwise_workgroups(elements: u32) -> [u32; 3] {
    [
        elements
            .div_ceil(ELEMENTWISE_THREADS)
            .clamp(1, ELEMENTWISE_MAX_WORKGROUPS),
        1,
        1,
    ]
}

/// How to split the depth of a product whose output is `rows` x `columns`: `(slices,
/// slice_depth)`, with `slice_depth` a multiple of the depth tile. A small output (the batch
/// x hidden inputs: 2 x 8 tiles for 100 images and 512 hidden units) over a long depth (13,824
/// visible units) would occupy a handful of workgroups; its depth is cut until the dispatch
/// holds about [`TARGET_WORKGROUPS`], but never into slices shorter than [`MIN_SLICE_DEPTH`].
pub fn depth_slices(rows: u32, columns: u32, depth: u32) -> (u32, u32) {
    let tiles = rows.div_ceil(PRODUCT_TILE) * columns.div_ceil(PRODUCT_TILE);
    let wanted = TARGET_WORKGROUPS.div_ceil(tiles.max(1));
    let most = depth.div_ceil(MIN_SLICE_DEPTH).max(1);
    let slices = wanted.clamp(1, most);
    let slice_depth = depth
        .div_ceil(slices)
        .next_multiple_of(PRODUCT_DEPTH_TILE)
        .max(PRODUCT_DEPTH_TILE);
    (depth.div_ceil(slice_depth).max(1), slice_depth)
}

/// Lays out one slot of settings per dispatch, [`SETTINGS_SLOT_BYTES`] apart.
pub fn settings_slots(settings: &[PassSettings]) -> Vec<u8> {
    let mut bytes = vec![0u8; settings.len() * SETTINGS_SLOT_BYTES as usize];
    for (slot, pass) in bytes
        .chunks_exact_mut(SETTINGS_SLOT_BYTES as usize)
        .zip(settings)
    {
        slot[..size_of::<PassSettings>()].copy_from_slice(bytemuck::bytes_of(pass));
    }
    bytes
}

/// A buffer of `slots` settings slots, written once per batch.
pub fn settings_buffer(device: &wgpu::Device, slots: usize) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("pass settings"),
        contents: &vec![0u8; slots.max(1) * SETTINGS_SLOT_BYTES as usize],
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_settings_match_the_wgsl_struct() {
        // 17 four-byte fields and 3 of padding: 80 bytes, a multiple of 16 as a uniform
        // struct must be, and within one slot.
        assert_eq!(size_of::<PassSettings>(), 80);
        assert!(size_of::<PassSettings>() as u64 <= SETTINGS_SLOT_BYTES);
        let fields = PASS_SETTINGS
            .lines()
            .filter(|line| {
                line.trim_end().ends_with(": u32,") || line.trim_end().ends_with(": f32,")
            })
            .count();
        assert_eq!(fields, 20);
    }

    #[test]
    fn product_constants_tile_evenly() {
        // Every thread stages the same number of entries and owns a square of outputs.
        let threads = PRODUCT_THREADS_PER_SIDE * PRODUCT_THREADS_PER_SIDE;
        assert_eq!(PRODUCT_TILE * PRODUCT_DEPTH_TILE % threads, 0);
        assert_eq!(PRODUCT_TILE % PRODUCT_THREADS_PER_SIDE, 0);
        assert!(product_constants().contains("const TILE: u32 = 64u;"));
    }

    #[test]
    fn depth_slices_fill_the_card_but_stay_long() {
        // 100 images x 512 hidden: 2 x 8 = 16 tiles; 1024 / 16 = 64 slices wanted, but
        // 13,824 / 256 = 54 at most; 13,824 / 54 = 256 deep, already a multiple of 16.
        assert_eq!(depth_slices(100, 512, 13_824), (54, 256));
        // 100 x 4096: 2 x 64 = 128 tiles, 8 slices of 13,824 / 8 = 1,728 (a multiple of 16).
        assert_eq!(depth_slices(100, 4096, 13_824), (8, 1728));
        // A short depth is not split: 300 / 256 rounds up to 2 slices of 150 -> 160 deep.
        assert_eq!(depth_slices(16, 20, 300), (2, 160));
        assert_eq!(depth_slices(16, 20, 100), (1, 112));
    }

    #[test]
    fn workgroups_cover_every_output() {
        // 100 rows need 2 tiles of 64, 13,824 columns 216.
        assert_eq!(product_workgroups(100, 13_824, 1), [216, 2, 1]);
        // 40,000 on-cells: 157 workgroups of 256; a billion elements stop at the cap.
        assert_eq!(elementwise_workgroups(40_000), [157, 1, 1]);
        assert_eq!(elementwise_workgroups(1_000_000_000), [4096, 1, 1]);
        assert_eq!(elementwise_workgroups(0), [1, 1, 1]);
    }

    #[test]
    fn settings_slots_are_256_bytes_apart() {
        let first = PassSettings {
            rows: 7,
            ..Default::default()
        };
        let second = PassSettings {
            step: 0.5,
            ..Default::default()
        };
        let bytes = settings_slots(&[first, second]);
        assert_eq!(bytes.len(), 512);
        assert_eq!(&bytes[0..4], &7u32.to_le_bytes());
        // `step` is the 16th field: byte 60 of its slot.
        assert_eq!(&bytes[256 + 60..256 + 64], &0.5f32.to_le_bytes());
    }
}

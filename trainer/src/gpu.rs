//! Contrastive divergence on a GPU: the CD-k step of [`crate::cpu`], as WGSL compute shaders
//! run through wgpu (Vulkan, Metal or DX12).
//!
//! The parameters and their momentum live on the GPU for the whole run; per batch only the
//! batch's on-cells go up, and the whole CD-k step is recorded into one submission. A batch
//! runs these passes (shaders in `gpu/shaders/`, one file per pass):
//! 1. `expand_batch`: the on-cells into the dense 0/1 data rows `v0` of `visible_states`;
//! 2. `hidden_inputs` + `hidden_probabilities`: `p0 = sigmoid(c + v0 W)` (the product "data x
//!    W", split over slices of the visible units), and a binary `h ~ p0` to start the chain
//!    (persistent CD: the same two passes from the persistent chains instead);
//! 3. `k` Gibbs steps: `visible_sample` draws `v ~ sigmoid(b + W h)` (the product "hidden x
//!    W'") into the negative rows of `visible_states`, then `hidden_inputs` +
//!    `hidden_probabilities` give `pk` (and the next `h`, except after the last step);
//! 4. `weight_update`: `<v0 p0'> - <vk pk'>` (the gradient's outer products) fused with the
//!    momentum update of `W`; `bias_update` for `b` and for `c`.
//!
//! Random numbers come from the same counter-based hash as on the CPU ([`crate::counter_rng`],
//! `shaders/counter_rng.wgsl`), keyed by (seed, draw, image, unit), so a CPU run and a GPU run
//! draw the same uniforms and agree up to float rounding (a unit whose uniform falls between
//! the two backends' probabilities flips, which is rare; see the tests).

pub mod bench;
mod buffers;
pub mod device;
mod kernels;
pub mod profile;

use anyhow::Context;
use ndarray::{Array1, Array2};

use continuo_model::weights::Hyperparameters;
use continuo_model::Rbm;

use crate::counter_rng;
use crate::cpu::{CpuTrainer, Velocity};
use crate::train::Device;
use buffers::{BatchBuffers, ParameterBuffers, Shape};
use device::{AdapterPolicy, AdapterSummary, Gpu};
use kernels::{PassSettings, TrainingKernels};
use profile::{PassRecord, PassTimer};

/// What can go wrong on the GPU side; each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No adapter the policy accepts; `--device auto` then trains on the CPU.
    #[error("{}", no_adapter_message(*hardware_only, found))]
    NoAdapter {
        /// `--device auto`'s policy, which refuses software adapters.
        hardware_only: bool,
        /// Every adapter found, described, so that the user sees what was there.
        found: Vec<String>,
    },
    /// A buffer the model needs exceeds what the adapter can bind.
    #[error(
        "{what} take {bytes} bytes, more than {adapter} can bind as one buffer ({limit} \
         bytes); use fewer hidden units or a smaller batch, or --device cpu"
    )]
    BufferTooLarge {
        what: &'static str,
        bytes: u64,
        limit: u64,
        adapter: String,
    },
    /// The working buffers are sized for the run's batch size at the start.
    #[error("a batch of {images} images is larger than the {capacity} the GPU trainer holds")]
    BatchTooLarge { images: usize, capacity: usize },
    /// The device failed: no device, out of memory, lost, or a readback that never came.
    #[error("{adapter}: {message}")]
    Device { adapter: String, message: String },
}

fn no_adapter_message(hardware_only: bool, found: &[String]) -> String {
    let mut message = if hardware_only {
        "no hardware GPU adapter".to_string()
    } else {
        "no GPU adapter at all (Vulkan, Metal or DX12)".to_string()
    };
    if found.is_empty() {
        message.push_str(
            " was found; on Linux install the card's Vulkan driver (or Mesa's software one, \
             Debian's mesa-vulkan-drivers, which is slow)",
        );
    } else {
        message.push_str("; found: ");
        message.push_str(&found.join("; "));
    }
    message
}

/// A CD-k trainer whose model lives on a GPU; the GPU twin of [`CpuTrainer`].
pub struct GpuTrainer {
    /// The device and queue everything runs on, and the adapter's description for the log.
    gpu: Gpu,
    /// The compiled passes of a CD-k step.
    kernels: TrainingKernels,
    /// The model and its momentum: uploaded once, read back at the end of each epoch.
    parameters: ParameterBuffers,
    /// The working space every batch rewrites.
    batch: BatchBuffers,
    bind_groups: BindGroups,
    /// One slot of [`PassSettings`] per dispatch of a batch.
    settings_buffer: wgpu::Buffer,
    /// The model's and the batch's sizes, which the buffers and dispatches were made for.
    shape: Shape,
    /// The depth of each slice of the hidden inputs (see `kernels::depth_slices`).
    hidden_slice_depth: u32,
    /// Learning rate, momentum, decay, CD steps, persistence and seed, as the CPU trainer's.
    settings: Hyperparameters,
    /// Batches trained since the run began: the `draw` key of the random numbers, as on the CPU.
    pub batches_done: u64,
    /// How many persistent chains hold a state; 0 until the first batch fills them.
    persistent_chain_count: usize,
    /// The latest submission, waited for before the next-but-one is recorded, so that at most
    /// two batches are queued ahead of the GPU.
    in_flight: Option<wgpu::SubmissionIndex>,
    /// The timestamp queries of [`GpuTrainer::profile_batch`], made on its first call.
    timer: Option<PassTimer>,
}

/// The bind groups of every pass, made once: a pass binds the same buffers every batch.
/// `hidden_inputs` has two, one per source of visible states; `bias_update` two, one for `b`
/// and one for `c`.
struct BindGroups {
    expand_batch: wgpu::BindGroup,
    hidden_inputs_from_states: wgpu::BindGroup,
    /// Only with persistent CD.
    hidden_inputs_from_chains: Option<wgpu::BindGroup>,
    hidden_probabilities: wgpu::BindGroup,
    visible_sample: wgpu::BindGroup,
    weight_update: wgpu::BindGroup,
    visible_bias_update: wgpu::BindGroup,
    hidden_bias_update: wgpu::BindGroup,
}

/// Where the inputs of a hidden pass come from.
#[derive(Clone, Copy)]
enum VisibleSource {
    /// `visible_states` from this row: the data (0) or the negative phase's rows.
    States { first_row: u32 },
    /// The persistent chains.
    Chains,
}

/// A batch being recorded: the command encoder and one settings slot per dispatch so far.
struct Recording {
    encoder: wgpu::CommandEncoder,
    settings: Vec<PassSettings>,
    /// Where each pass writes its start and end times, when the batch is profiled.
    timestamps: Option<wgpu::QuerySet>,
    /// The passes so far, for the profile.
    passes: Vec<PassRecord>,
}

impl GpuTrainer {
    /// Moves a trainer's state (model, momentum, run position, persistent chains) onto the
    /// GPU chosen by `policy`.
    pub fn new(cpu: &CpuTrainer, policy: AdapterPolicy) -> Result<Self, GpuError> {
        let rbm = &cpu.rbm;
        let settings = cpu.settings.clone();
        let batch_capacity = settings.batch_size.max(cpu.persistent_chains.len()).max(1);
        let (hidden_slices, hidden_slice_depth) = kernels::depth_slices(
            batch_capacity as u32,
            rbm.hidden_units() as u32,
            rbm.visible_units() as u32,
        );
        let shape = Shape {
            visible_units: rbm.visible_units() as u32,
            hidden_units: rbm.hidden_units() as u32,
            batch_capacity: batch_capacity as u32,
            hidden_slices,
            persistent: settings.persistent,
        };
        let (largest, largest_bytes) = shape.buffer_bytes()[0];
        let gpu = device::open(policy, largest, largest_bytes)?;

        // Creating the buffers is where a card runs out of memory: caught, not a panic.
        let out_of_memory = gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let kernels = TrainingKernels::new(&gpu.device);
        let parameters = ParameterBuffers::upload(&gpu.device, rbm, &cpu.velocity);
        let batch = BatchBuffers::new(&gpu.device, &shape);
        let settings_buffer =
            kernels::settings_buffer(&gpu.device, dispatches_per_batch(settings.cd_steps));
        if let Some(error) = pollster::block_on(out_of_memory.pop()) {
            return Err(GpuError::Device {
                adapter: gpu.adapter.name.clone(),
                message: format!("out of memory for the model and its batch: {error}"),
            });
        }
        let bind_groups =
            BindGroups::new(&gpu.device, &kernels, &parameters, &batch, &settings_buffer);

        let mut trainer = GpuTrainer {
            gpu,
            kernels,
            parameters,
            batch,
            bind_groups,
            settings_buffer,
            shape,
            hidden_slice_depth,
            settings,
            batches_done: cpu.batches_done,
            persistent_chain_count: 0,
            in_flight: None,
            timer: None,
        };
        trainer.upload_persistent_chains(&cpu.persistent_chains);
        Ok(trainer)
    }

    /// The adapter this trainer runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.gpu.adapter
    }

    /// One CD-k update on a batch of images given by their on-units: the same update as
    /// [`CpuTrainer::train_batch`]. Returns once the batch is queued; the GPU may still be
    /// working on it (see [`GpuTrainer::finish`]).
    pub fn train_batch(&mut self, batch: &[&[u32]]) -> Result<(), GpuError> {
        let Some(recording) = self.record_batch(batch, None)? else {
            return Ok(());
        };

        // Submit, keeping at most two batches queued ahead of the GPU.
        let submitted = self.submit(recording);
        if let Some(previous) = self.in_flight.replace(submitted) {
            self.wait_for(Some(previous))?;
        }
        Ok(())
    }

    /// [`GpuTrainer::train_batch`], timing each pass of the batch and waiting for it: the
    /// kernels' times are added to `totals`. `false` (and nothing trained) when the adapter
    /// has no timestamp queries or the batch has too many passes to time.
    pub fn profile_batch(
        &mut self,
        batch: &[&[u32]],
        totals: &mut Vec<profile::KernelTime>,
    ) -> Result<bool, GpuError> {
        if self.timer.is_none() {
            self.timer = PassTimer::new(&self.gpu.device, &self.gpu.queue);
        }
        let passes = dispatches_per_batch(self.settings.cd_steps);
        let Some(query_set) = self
            .timer
            .as_ref()
            .filter(|timer| timer.fits(passes))
            .map(|timer| timer.query_set.clone())
        else {
            return Ok(false);
        };
        let Some(mut recording) = self.record_batch(batch, Some(query_set))? else {
            return Ok(true);
        };
        let passes = recording.passes.clone();
        if let Some(timer) = &self.timer {
            let queries = 2 * passes.len() as u32;
            recording
                .encoder
                .resolve_query_set(&timer.query_set, 0..queries, &timer.resolved, 0);
        }
        self.submit(recording);
        self.finish()?;

        if let Some(timer) = &self.timer {
            let ticks = profile::read_ticks(
                &self.gpu.device,
                &self.gpu.queue,
                timer,
                passes.len(),
                &self.gpu.adapter.name,
            )?;
            profile::accumulate(totals, &passes, &timer.pass_seconds(&ticks));
        }
        Ok(true)
    }

    /// Records the passes of one CD-k batch (the module's steps 1 to 4) after queueing the
    /// upload of its on-cells; `None` for an empty batch. With `timestamps`, every pass
    /// writes its start and end there.
    fn record_batch(
        &mut self,
        batch: &[&[u32]],
        timestamps: Option<wgpu::QuerySet>,
    ) -> Result<Option<Recording>, GpuError> {
        let images = batch.len();
        if images == 0 {
            return Ok(None);
        }
        if images > self.shape.batch_capacity as usize {
            return Err(GpuError::BatchTooLarge {
                images,
                capacity: self.shape.batch_capacity as usize,
            });
        }
        let images = images as u32;
        let cd_steps = self.settings.cd_steps.max(1);
        let batches_done = self.batches_done;
        let draw = |half_step| counter_rng::draw_index(batches_done, cd_steps, half_step);
        let negative_row = images;

        // Upload: only the batch's on-cells go up.
        let on_cells = self.on_cells(batch);
        self.gpu
            .queue
            .write_buffer(&self.batch.on_cells, 0, bytemuck::cast_slice(&on_cells));
        let mut recording = Recording::new(&self.gpu.device, timestamps);

        // Step 1: the data rows of the visible states.
        let data_bytes = 4 * u64::from(images * self.shape.visible_units);
        recording
            .encoder
            .clear_buffer(&self.batch.visible_states, 0, Some(data_bytes));
        recording.dispatch(
            &self.kernels.expand_batch,
            &self.bind_groups.expand_batch,
            PassSettings {
                elements: on_cells.len() as u32,
                ..self.pass_settings(images)
            },
            kernels::elementwise_workgroups(on_cells.len() as u32),
        );

        // Step 2, positive phase: p0, and (plain CD) the chain's first hidden sample.
        let chain_from_data = (!self.settings.persistent).then(|| draw(0));
        let data = VisibleSource::States { first_row: 0 };
        self.record_hidden(&mut recording, images, data, 0, chain_from_data);

        // Persistent CD: the chain starts from where the previous batch left it.
        if self.settings.persistent {
            self.record_chain_start(&mut recording, images, draw(0));
        }

        // Step 3, negative phase: k Gibbs steps, v ~ p(v | h), then p(h | v) (and h ~ p(h | v),
        // except after the last step).
        let reconstruction = VisibleSource::States {
            first_row: negative_row,
        };
        for step in 0..cd_steps {
            self.record_visible_sample(&mut recording, images, draw(2 * step + 1));
            let next_hidden = (step + 1 < cd_steps).then(|| draw(2 * step + 2));
            self.record_hidden(
                &mut recording,
                images,
                reconstruction,
                negative_row,
                next_hidden,
            );
        }
        if let Some(chains) = &self.batch.persistent_chains {
            let bytes = 4 * u64::from(images * self.shape.visible_units);
            recording.encoder.copy_buffer_to_buffer(
                &self.batch.visible_states,
                bytes,
                chains,
                0,
                bytes,
            );
        }

        // Step 4: the update of W, b and c.
        self.record_update(&mut recording, images);
        self.batches_done += 1;
        Ok(Some(recording))
    }

    /// Writes the settings of a recorded batch's passes and submits it.
    fn submit(&self, recording: Recording) -> wgpu::SubmissionIndex {
        self.gpu.queue.write_buffer(
            &self.settings_buffer,
            0,
            &kernels::settings_slots(&recording.settings),
        );
        self.gpu.queue.submit([recording.encoder.finish()])
    }

    /// Waits until the GPU has trained every batch queued so far.
    pub fn finish(&mut self) -> Result<(), GpuError> {
        self.in_flight = None;
        self.wait_for(None)
    }

    /// Copies the model, its momentum, the run's position and the persistent chains back into
    /// `cpu`, for monitoring, checkpoints and the weight file (which are the CPU trainer's).
    pub fn write_back(&mut self, cpu: &mut CpuTrainer) -> anyhow::Result<()> {
        self.finish()?;
        let visible = self.shape.visible_units as usize;
        let hidden = self.shape.hidden_units as usize;
        let read = |buffer: &wgpu::Buffer, floats: usize| {
            buffers::read_values(
                &self.gpu.device,
                &self.gpu.queue,
                buffer,
                floats,
                &self.gpu.adapter.name,
            )
        };
        let parameters = &self.parameters;
        let matrix = |values: Vec<f32>| Array2::from_shape_vec((visible, hidden), values);
        cpu.rbm = Rbm::from_parts(
            cpu.rbm.geometry,
            matrix(read(&parameters.weights, visible * hidden)?)?,
            Array1::from(read(&parameters.visible_biases, visible)?),
            Array1::from(read(&parameters.hidden_biases, hidden)?),
        )
        .context("the model read back from the GPU")?;
        cpu.velocity = Velocity {
            w: matrix(read(&parameters.weight_velocity, visible * hidden)?)?,
            b: Array1::from(read(&parameters.visible_bias_velocity, visible)?),
            c: Array1::from(read(&parameters.hidden_bias_velocity, hidden)?),
        };
        if let Some(chains) = &self.batch.persistent_chains {
            let dense = read(chains, self.persistent_chain_count * visible)?;
            cpu.persistent_chains = dense
                .chunks_exact(visible.max(1))
                .map(|chain| {
                    (0..visible as u32)
                        .filter(|&unit| chain[unit as usize] != 0.0)
                        .collect()
                })
                .collect();
        }
        cpu.batches_done = self.batches_done;
        Ok(())
    }

    /// The settings every pass of a batch of `images` shares; each pass fills in the rest.
    fn pass_settings(&self, images: u32) -> PassSettings {
        let settings = &self.settings;
        PassSettings {
            batch_images: images,
            visible_units: self.shape.visible_units,
            hidden_units: self.shape.hidden_units,
            seed: counter_rng::fold_seed(settings.seed),
            momentum: settings.momentum,
            step: settings.learning_rate / images as f32,
            decay: settings.learning_rate * settings.weight_decay,
            ..PassSettings::default()
        }
    }

    /// The batch's on-cells, `image * visible_units + unit`.
    fn on_cells(&self, batch: &[&[u32]]) -> Vec<u32> {
        let visible = self.shape.visible_units;
        batch
            .iter()
            .enumerate()
            .flat_map(|(image, units)| units.iter().map(move |&unit| image as u32 * visible + unit))
            .collect()
    }

    /// `p(h | v)` of `images` visible states from `source`, into the rows of
    /// `hidden_probabilities` from `output_row`; with `sample_draw`, also a binary hidden
    /// sample of it into `hidden_sample`, drawn with that `draw` coordinate.
    fn record_hidden(
        &self,
        recording: &mut Recording,
        images: u32,
        source: VisibleSource,
        output_row: u32,
        sample_draw: Option<u32>,
    ) {
        let shared = self.pass_settings(images);
        let (input_row, inputs_bind_group) = match source {
            VisibleSource::States { first_row } => {
                (first_row, &self.bind_groups.hidden_inputs_from_states)
            }
            VisibleSource::Chains => match &self.bind_groups.hidden_inputs_from_chains {
                Some(bind_group) => (0, bind_group),
                None => return,
            },
        };

        // The product "visible x W", slice by slice of the visible units.
        recording.dispatch(
            &self.kernels.hidden_inputs,
            inputs_bind_group,
            PassSettings {
                rows: images,
                columns: self.shape.hidden_units,
                depth: self.shape.visible_units,
                slice_depth: self.hidden_slice_depth,
                slices: self.shape.hidden_slices,
                input_row,
                ..shared
            },
            kernels::product_workgroups(images, self.shape.hidden_units, self.shape.hidden_slices),
        );

        // The slices summed, the bias added, the sigmoid, and the sample.
        let elements = images * self.shape.hidden_units;
        recording.dispatch(
            &self.kernels.hidden_probabilities,
            &self.bind_groups.hidden_probabilities,
            PassSettings {
                slices: self.shape.hidden_slices,
                output_row,
                elements,
                draw: sample_draw.unwrap_or(0),
                sample: u32::from(sample_draw.is_some()),
                ..shared
            },
            kernels::elementwise_workgroups(elements),
        );
    }

    /// Persistent CD's chain start: the chains are (re)filled with the batch's data when
    /// there are fewer of them than images (the first batch), as on the CPU; then the hidden
    /// sample that starts this batch's chain comes from them.
    fn record_chain_start(&mut self, recording: &mut Recording, images: u32, draw: u32) {
        let Some(chains) = &self.batch.persistent_chains else {
            return;
        };
        if self.persistent_chain_count < images as usize {
            let bytes = 4 * u64::from(images * self.shape.visible_units);
            recording.encoder.copy_buffer_to_buffer(
                &self.batch.visible_states,
                0,
                chains,
                0,
                bytes,
            );
            self.persistent_chain_count = images as usize;
        }
        // The chains' probabilities go to the negative rows, which the Gibbs steps overwrite.
        self.record_hidden(recording, images, VisibleSource::Chains, images, Some(draw));
    }

    /// One visible half-step: `v ~ sigmoid(b + W h)` from `hidden_sample` into the negative
    /// rows of `visible_states`.
    fn record_visible_sample(&self, recording: &mut Recording, images: u32, draw: u32) {
        recording.dispatch(
            &self.kernels.visible_sample,
            &self.bind_groups.visible_sample,
            PassSettings {
                rows: images,
                columns: self.shape.visible_units,
                depth: self.shape.hidden_units,
                slice_depth: self.shape.hidden_units,
                slices: 1,
                output_row: images,
                draw,
                sample: 1,
                ..self.pass_settings(images)
            },
            kernels::product_workgroups(images, self.shape.visible_units, 1),
        );
    }

    /// The momentum updates of W (with the gradient's outer products), b and c.
    fn record_update(&self, recording: &mut Recording, images: u32) {
        let shared = self.pass_settings(images);
        let (visible, hidden) = (self.shape.visible_units, self.shape.hidden_units);

        // W: the product "visible states' x signed hidden probabilities" over the 2 x batch
        // rows, fused with the update.
        recording.dispatch(
            &self.kernels.weight_update,
            &self.bind_groups.weight_update,
            PassSettings {
                rows: visible,
                columns: hidden,
                depth: 2 * images,
                slice_depth: 2 * images,
                slices: 1,
                ..shared
            },
            kernels::product_workgroups(visible, hidden, 1),
        );

        // b from the visible states, c from the hidden probabilities.
        for (bind_group, units) in [
            (&self.bind_groups.visible_bias_update, visible),
            (&self.bind_groups.hidden_bias_update, hidden),
        ] {
            recording.dispatch(
                &self.kernels.bias_update,
                bind_group,
                PassSettings {
                    elements: units,
                    ..shared
                },
                kernels::elementwise_workgroups(units),
            );
        }
    }

    /// Fills the persistent chains from on-units (a resumed run's chains).
    fn upload_persistent_chains(&mut self, chains: &[Vec<u32>]) {
        let Some(buffer) = &self.batch.persistent_chains else {
            return;
        };
        if chains.is_empty() {
            return;
        }
        let visible = self.shape.visible_units as usize;
        let mut dense = vec![0.0f32; chains.len() * visible];
        for (chain, units) in chains.iter().enumerate() {
            for &unit in units {
                dense[chain * visible + unit as usize] = 1.0;
            }
        }
        self.gpu
            .queue
            .write_buffer(buffer, 0, bytemuck::cast_slice(&dense));
        self.persistent_chain_count = chains.len();
    }

    fn wait_for(&self, submission: Option<wgpu::SubmissionIndex>) -> Result<(), GpuError> {
        self.gpu
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: submission,
                timeout: None,
            })
            .map(|_| ())
            .map_err(|error| GpuError::Device {
                adapter: self.gpu.adapter.name.clone(),
                message: format!("waiting for a batch: {error}"),
            })
    }
}

impl BindGroups {
    fn new(
        device: &wgpu::Device,
        kernels: &TrainingKernels,
        parameters: &ParameterBuffers,
        batch: &BatchBuffers,
        settings: &wgpu::Buffer,
    ) -> Self {
        let hidden_inputs_from = |visible_input: &wgpu::Buffer| {
            kernels.hidden_inputs.bind(
                device,
                settings,
                &[visible_input, &parameters.weights, &batch.partial_sums],
            )
        };
        BindGroups {
            expand_batch: kernels.expand_batch.bind(
                device,
                settings,
                &[&batch.on_cells, &batch.visible_states],
            ),
            hidden_inputs_from_states: hidden_inputs_from(&batch.visible_states),
            hidden_inputs_from_chains: batch.persistent_chains.as_ref().map(hidden_inputs_from),
            hidden_probabilities: kernels.hidden_probabilities.bind(
                device,
                settings,
                &[
                    &batch.partial_sums,
                    &parameters.hidden_biases,
                    &batch.hidden_probabilities,
                    &batch.hidden_sample,
                ],
            ),
            visible_sample: kernels.visible_sample.bind(
                device,
                settings,
                &[
                    &batch.hidden_sample,
                    &parameters.weights,
                    &parameters.visible_biases,
                    &batch.visible_states,
                ],
            ),
            weight_update: kernels.weight_update.bind(
                device,
                settings,
                &[
                    &batch.visible_states,
                    &batch.hidden_probabilities,
                    &parameters.weights,
                    &parameters.weight_velocity,
                ],
            ),
            visible_bias_update: kernels.bias_update.bind(
                device,
                settings,
                &[
                    &batch.visible_states,
                    &parameters.visible_bias_velocity,
                    &parameters.visible_biases,
                ],
            ),
            hidden_bias_update: kernels.bias_update.bind(
                device,
                settings,
                &[
                    &batch.hidden_probabilities,
                    &parameters.hidden_bias_velocity,
                    &parameters.hidden_biases,
                ],
            ),
        }
    }
}

/// The dispatches a CD-k batch records at most: expand (1), positive phase (2), persistent
/// chain start (2), k x (visible, hidden inputs, hidden probabilities), updates (3).
fn dispatches_per_batch(cd_steps: usize) -> usize {
    8 + 3 * cd_steps.max(1)
}

impl Recording {
    fn new(device: &wgpu::Device, timestamps: Option<wgpu::QuerySet>) -> Self {
        Recording {
            encoder: device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("CD-k batch"),
            }),
            settings: Vec::new(),
            timestamps,
            passes: Vec::new(),
        }
    }

    /// One compute pass of one dispatch, with its own settings slot.
    fn dispatch(
        &mut self,
        kernel: &kernels::Kernel,
        bind_group: &wgpu::BindGroup,
        settings: PassSettings,
        workgroups: [u32; 3],
    ) {
        let index = self.settings.len() as u32;
        let offset = (u64::from(index) * kernels::SETTINGS_SLOT_BYTES) as u32;
        self.settings.push(settings);
        let flops = if kernel.product {
            2.0 * f64::from(settings.rows) * f64::from(settings.columns) * f64::from(settings.depth)
        } else {
            0.0
        };
        self.passes.push(PassRecord {
            kernel: kernel.name,
            flops,
        });
        let timestamp_writes =
            self.timestamps
                .as_ref()
                .map(|query_set| wgpu::ComputePassTimestampWrites {
                    query_set,
                    beginning_of_pass_write_index: Some(2 * index),
                    end_of_pass_write_index: Some(2 * index + 1),
                });
        let mut pass = self
            .encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(kernel.name),
                timestamp_writes,
            });
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, bind_group, &[offset]);
        pass.dispatch_workgroups(workgroups[0], workgroups[1], workgroups[2]);
    }
}

/// The GPU trainer `--device` asks for, or `None` when the CPU trains: always for `cpu`; for
/// `auto` when there is no hardware adapter (said in the log); `gpu` fails without any adapter.
pub fn for_device(device: Device, cpu: &CpuTrainer) -> anyhow::Result<Option<GpuTrainer>> {
    let policy = match device {
        Device::Cpu => return Ok(None),
        Device::Auto => AdapterPolicy::HardwareOnly,
        Device::Gpu => AdapterPolicy::BestAvailable,
    };
    match GpuTrainer::new(cpu, policy) {
        Ok(trainer) => {
            let adapter = trainer.adapter();
            log::info!("training on {adapter}");
            if adapter.is_software() {
                log::warn!(
                    "{} is a software adapter: training on it is about 100 times slower \
                     than --device cpu",
                    adapter.name
                );
            }
            Ok(Some(trainer))
        }
        Err(error @ GpuError::NoAdapter { .. }) if device == Device::Auto => {
            log::info!("{error}; training on the CPU");
            Ok(None)
        }
        Err(error) if device == Device::Auto => {
            log::warn!("the GPU cannot train this model: {error}; training on the CPU");
            Ok(None)
        }
        Err(error) => Err(error).context("--device gpu"),
    }
}

#[cfg(test)]
mod tests;

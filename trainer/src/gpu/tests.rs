//! The GPU trainer against the CPU trainer and against hand-computed values.
//!
//! These tests run on any adapter, Mesa's software Vulkan driver (lavapipe) included, which is
//! what CI installs (Debian's mesa-vulkan-drivers); their sizes are kept small because lavapipe
//! is slow. Without any adapter they fail and say so; a developer without one can skip them
//! with `CONTINUO_SKIP_GPU_TESTS=1`.

use ndarray::Array2;

use continuo_model::compose::{Composer, Density};
use continuo_model::geometry::{Geometry, Grid};
use continuo_model::weights::{self, Hyperparameters, ModelCard, Precision, VisibleBiasInit};
use continuo_model::Rbm;

use super::device::{self, AdapterPolicy};
use super::kernels::{self, PassSettings};
use super::GpuTrainer;
use crate::cpu::CpuTrainer;
use crate::metrics;
use crate::sparse_images::SparseImages;

/// Whether the developer asked to skip the GPU tests (no adapter on their machine).
fn skip_requested() -> bool {
    let skip = std::env::var("CONTINUO_SKIP_GPU_TESTS").is_ok_and(|value| value == "1");
    if skip {
        eprintln!("GPU test skipped: CONTINUO_SKIP_GPU_TESTS=1");
    }
    skip
}

fn no_adapter(error: impl std::fmt::Display) -> ! {
    panic!(
        "the GPU tests need a GPU adapter, a software one will do: {error}\n\
         Install Mesa's Vulkan driver (Debian: apt-get install mesa-vulkan-drivers), or set \
         CONTINUO_SKIP_GPU_TESTS=1 to skip these tests"
    )
}

/// The trainer's state moved to the best adapter there is, software ones included.
fn gpu_twin(cpu: &CpuTrainer) -> GpuTrainer {
    GpuTrainer::new(cpu, AdapterPolicy::BestAvailable).unwrap_or_else(|error| no_adapter(error))
}

/// 12 pitch rows x 2 measures of 16 steps: 384 visible units, long enough that the hidden
/// inputs are summed in two slices, and 6 tiles of 64 (the tests' hidden units are not
/// multiples of 64, so that partial tiles are covered too).
fn small_geometry() -> Geometry {
    Geometry {
        grid: Grid {
            lowest_pitch: 48,
            pitch_rows: 12,
            steps_per_quarter: 4,
            quarters_per_measure: 4,
        },
        measures: 2,
    }
}

fn settings(seed: u64, batch_size: usize) -> Hyperparameters {
    Hyperparameters {
        learning_rate: 0.05,
        momentum: 0.5,
        batch_size,
        weight_decay: 0.0,
        cd_steps: 1,
        persistent: false,
        seed,
        holdout_fraction: 0.0,
        visible_bias_init: VisibleBiasInit::Zero,
    }
}

fn frobenius(matrix: &Array2<f32>) -> f64 {
    matrix
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn wgsl_pcg4d_matches_the_hand_computed_words() {
    if skip_requested() {
        return;
    }
    let gpu = device::open(AdapterPolicy::BestAvailable, "nothing", 4)
        .unwrap_or_else(|error| no_adapter(error));
    let (device, queue) = (&gpu.device, &gpu.queue);
    let kernel = kernels::counter_rng_check_kernel(device);
    let coordinates: [u32; 8] = [0, 0, 0, 0, 1, 2, 3, 4];
    let input = wgpu::util::DeviceExt::create_buffer_init(
        device,
        &wgpu::util::BufferInitDescriptor {
            label: Some("coordinates"),
            contents: bytemuck::cast_slice(&coordinates),
            usage: wgpu::BufferUsages::STORAGE,
        },
    );
    let output = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("hashes"),
        size: 4 * 10,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let settings = kernels::settings_buffer(device, 1);
    queue.write_buffer(
        &settings,
        0,
        &kernels::settings_slots(&[PassSettings::default()]),
    );
    let bind_group = kernel.bind(device, &settings, &[&input, &output]);
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &bind_group, &[0]);
        pass.dispatch_workgroups(2, 1, 1);
    }
    queue.submit([encoder.finish()]);
    let words: Vec<u32> =
        super::buffers::read_values(device, queue, &output, 10, "test").expect("readback");

    // The words of trainer/src/counter_rng.rs's test, computed there with Python's integers;
    // the uniforms are their first words' top 24 bits: 983,800 and 3,547,853 over 2^24.
    assert_eq!(
        words[..4],
        [251_852_841, 760_645_481, 850_445_371, 3_542_436_074]
    );
    assert_eq!(
        words[5..9],
        [908_250_390, 4_044_648_920, 3_775_961_919, 45_698_095]
    );
    assert_eq!(f32::from_bits(words[4]), 983_800.0 / 16_777_216.0);
    assert_eq!(f32::from_bits(words[9]), 3_547_853.0 / 16_777_216.0);
}

/// Trains the same model on the same batches on both backends and compares the parameters.
/// Returns the relative error of W (Frobenius norm of the difference over that of CPU's W).
fn train_on_both(
    settings: Hyperparameters,
    hidden_units: usize,
    visible_bias: f32,
    batches: &[Vec<&[u32]>],
) -> f64 {
    let mut rbm = Rbm::xavier(small_geometry(), hidden_units, 5);
    rbm.b.fill(visible_bias);
    let start = rbm.w.clone();
    let mut cpu = CpuTrainer::new(rbm, settings);
    let mut gpu = gpu_twin(&cpu);
    for batch in batches {
        cpu.train_batch(batch);
        gpu.train_batch(batch).expect("GPU batch");
    }
    let stale = Rbm::xavier(small_geometry(), hidden_units, 99);
    let mut from_gpu = CpuTrainer::new(stale, cpu.settings.clone());
    gpu.write_back(&mut from_gpu).expect("read back");

    let relative = |gpu: &Array2<f32>, cpu: &Array2<f32>| frobenius(&(gpu - cpu)) / frobenius(cpu);
    let error = relative(&from_gpu.rbm.w, &cpu.rbm.w);
    let moved = frobenius(&(&cpu.rbm.w - &start)) / frobenius(&start);
    // The comparison means something only if training moved W well beyond the tolerance.
    assert!(moved > 1e-2, "W moved by only {moved}");
    assert!(relative(&from_gpu.velocity.w, &cpu.velocity.w) < 1e-3);
    let largest = |a: &ndarray::Array1<f32>, b: &ndarray::Array1<f32>| {
        (a - b).iter().fold(0.0f32, |m, x| m.max(x.abs()))
    };
    assert!(largest(&from_gpu.rbm.b, &cpu.rbm.b) < 1e-4);
    assert!(largest(&from_gpu.rbm.c, &cpu.rbm.c) < 1e-4);
    assert_eq!(from_gpu.batches_done, cpu.batches_done);
    assert_eq!(from_gpu.persistent_chains, cpu.persistent_chains);
    eprintln!(
        "CD-{}{}, {hidden_units} hidden, b = {visible_bias}: W moved {moved:.3e}, CPU/GPU relative error {error:.3e}",
        cpu.settings.cd_steps,
        if cpu.settings.persistent {
            " (persistent)"
        } else {
            ""
        }
    );
    error
}

/// Three batches of 16 random images at 3% and a last one of 10, as an epoch's last batch is.
fn small_batches(images: &SparseImages) -> Vec<Vec<&[u32]>> {
    let mut batches: Vec<Vec<&[u32]>> = (0..3)
        .map(|batch| (0..16).map(|i| images.image(batch * 16 + i)).collect())
        .collect();
    batches.push((48..58).map(|i| images.image(i)).collect());
    batches
}

#[test]
fn cpu_and_gpu_agree_after_several_batches() {
    if skip_requested() {
        return;
    }
    let images = SparseImages::synthetic(small_geometry().visible_units(), 58, 0.03, 9);
    let batches = small_batches(&images);

    // CD-1 with reconstructions near half on (zero visible biases: the CPU multiplies them
    // densely) and with sparse ones (biases at -4: the CPU gathers them).
    for visible_bias in [0.0, -4.0] {
        let error = train_on_both(settings(8, 16), 20, visible_bias, &batches);
        assert!(
            error <= 1e-4,
            "CD-1, b = {visible_bias}: relative error of W {error}"
        );
    }

    // CD-2 with weight decay, and 70 hidden units: two column tiles, the second partial.
    let mut cd2 = settings(3, 16);
    cd2.cd_steps = 2;
    cd2.weight_decay = 0.01;
    let error = train_on_both(cd2, 70, -2.0, &batches);
    assert!(error <= 1e-4, "CD-2: relative error of W {error}");
}

#[test]
fn cpu_and_gpu_agree_with_persistent_chains() {
    if skip_requested() {
        return;
    }
    let images = SparseImages::synthetic(small_geometry().visible_units(), 58, 0.03, 4);
    let batches = small_batches(&images);
    let mut persistent = settings(6, 16);
    persistent.persistent = true;
    let error = train_on_both(persistent, 20, -2.0, &batches);
    assert!(error <= 1e-4, "PCD: relative error of W {error}");
}

/// Four patterns of structure to learn: each of 4 pitch rows held for a whole two measures.
fn held_notes() -> SparseImages {
    let geometry = small_geometry();
    let mut images = SparseImages::new(geometry.visible_units());
    for row in [0usize, 3, 7, 10] {
        // Time-major units: ascending with the step.
        let units: Vec<u32> = (0..geometry.steps())
            .map(|step| geometry.unit(step, row) as u32)
            .collect();
        images.push(&units);
    }
    images
}

#[test]
fn gpu_training_lowers_the_reconstruction_error() {
    if skip_requested() {
        return;
    }
    let images = held_notes();
    let batch: Vec<&[u32]> = (0..16).map(|i| images.image(i % 4)).collect();
    let mut settings = settings(2, 16);
    settings.learning_rate = 0.1;
    let cpu = CpuTrainer::new(Rbm::xavier(small_geometry(), 16, 3), settings);
    let before = metrics::reconstruction_error(&cpu.rbm, &images, 1);

    let mut gpu = gpu_twin(&cpu);
    for _ in 0..100 {
        gpu.train_batch(&batch).expect("GPU batch");
    }
    let mut trained = cpu;
    gpu.write_back(&mut trained).expect("read back");
    let after = metrics::reconstruction_error(&trained.rbm, &images, 1);

    // A fresh model with zero biases reconstructs every cell near 1/2: an error near 1/4.
    // Four patterns and 16 hidden units are easy: training must remove most of it.
    eprintln!("reconstruction error before {before:.4}, after 100 GPU batches {after:.4}");
    assert!(before > 0.2, "before {before}");
    assert!(after < 0.25 * before, "before {before}, after {after}");
}

#[test]
fn a_gpu_trained_model_saves_loads_and_composes() {
    if skip_requested() {
        return;
    }
    let images = held_notes();
    let batch: Vec<&[u32]> = (0..8).map(|i| images.image(i % 4)).collect();
    let mut trained = CpuTrainer::new(Rbm::xavier(small_geometry(), 16, 3), settings(2, 8));
    let mut gpu = gpu_twin(&trained);
    for _ in 0..10 {
        gpu.train_batch(&batch).expect("GPU batch");
    }
    gpu.write_back(&mut trained).expect("read back");

    let directory = std::env::temp_dir().join(format!("continuo-gpu-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temporary directory");
    let path = directory.join("gpu.safetensors");
    let card = ModelCard::untrained("gpu", small_geometry(), 16);
    weights::save(&path, &trained.rbm, &card, Precision::F32).expect("save");
    let (loaded, loaded_card) = weights::load(&path).expect("load");
    std::fs::remove_dir_all(&directory).ok();
    assert_eq!(loaded, trained.rbm);
    assert_eq!(loaded_card.hidden_units, 16);

    // Algorithm 1 with 12 ones: the image holds exactly 12 on-cells.
    let composition = Composer::new(&loaded).compose(Density::Ones(12), 1);
    assert_eq!(composition.image.ones(), 12);
}

//! `continuo bench train --device gpu`: the GPU trainer timed on the benchmark's batches, and
//! the adapter's own fp32 rate measured in the same run, the yardstick its products are held
//! to.

use std::time::Instant;

use continuo_model::weights::Hyperparameters;
use continuo_model::Rbm;

use super::device::{AdapterSummary, Gpu};
use super::kernels::{self, PassSettings};
use super::profile::KernelTime;
use super::{for_device, GpuError};
use crate::cpu::CpuTrainer;
use crate::train::Device;

/// The fp32 measurement runs until one dispatch takes at least this long.
const FMA_MEASURE_SECONDS: f64 = 0.2;

/// FLOPs per thread per loop iteration of `fma_rate.wgsl`: 8 chains of 4-wide FMAs.
const FMA_FLOPS_PER_ITERATION: f64 = 8.0 * 4.0 * 2.0;

/// The most workgroups of one fp32 measurement (then its loops grow longer instead).
const FMA_MAX_WORKGROUPS: u32 = 16_384;

/// Batches timed pass by pass after the throughput run.
const PROFILED_BATCHES: usize = 5;

/// What the GPU did in the benchmark.
pub struct GpuTiming {
    pub adapter: AdapterSummary,
    /// Seconds for all the batches, after one warm-up batch, until the GPU finished.
    pub seconds: f64,
    /// The adapter's fp32 rate by chains of fused multiply-adds, GFLOP/s.
    pub fma_gflops: f64,
    /// Each kernel's GPU time over [`GpuTiming::profiled_batches`] batches; empty without
    /// timestamp queries.
    pub kernel_times: Vec<KernelTime>,
    pub profiled_batches: usize,
}

impl GpuTiming {
    /// The lines the benchmark prints under its table: the adapter, its fp32 rate, and the
    /// share of it the training step reaches (the goal on a real card: at least half).
    pub fn summary(&self, step_gflops: f64, cpu_seconds: f64) -> String {
        let mut lines = vec![
            format!("GPU: {}", self.adapter),
            format!(
                "  fp32 rate measured here (FMA chains): {:.1} GFLOP/s; the training step \
                 reaches {:.1}% of it; {:.2}x the sparse CPU trainer (all threads)",
                self.fma_gflops,
                100.0 * step_gflops / self.fma_gflops,
                cpu_seconds / self.seconds,
            ),
        ];
        if self.kernel_times.is_empty() {
            lines.push("  (no timestamp queries on this adapter: no per-pass profile)".into());
            return lines.join("\n");
        }
        let batches = self.profiled_batches.max(1) as f64;
        let total: f64 = self.kernel_times.iter().map(|kernel| kernel.seconds).sum();
        lines.push(format!(
            "  per batch, by timestamp queries over {} batches: {:.3} ms on the GPU",
            self.profiled_batches,
            1e3 * total / batches
        ));
        for kernel in &self.kernel_times {
            let mut line = format!(
                "    {:<22} {:>3} passes {:>9.3} ms {:>5.1}%",
                kernel.kernel,
                kernel.passes / self.profiled_batches.max(1),
                1e3 * kernel.seconds / batches,
                100.0 * kernel.seconds / total.max(f64::MIN_POSITIVE),
            );
            if kernel.flops > 0.0 && kernel.seconds > 0.0 {
                let gflops = kernel.flops / kernel.seconds / 1e9;
                line.push_str(&format!(
                    " {gflops:>9.1} GFLOP/s, {:.1}% of the fp32 rate",
                    100.0 * gflops / self.fma_gflops
                ));
            }
            lines.push(line);
        }
        lines.join("\n")
    }
}

/// Times the GPU trainer on `batches` from `start`, on the adapter `device` chooses; `None`
/// when it chooses the CPU (`auto` without a hardware adapter).
pub fn time_training(
    start: &Rbm,
    settings: &Hyperparameters,
    batches: &[Vec<&[u32]>],
    device: Device,
) -> anyhow::Result<Option<GpuTiming>> {
    let cpu = CpuTrainer::new(start.clone(), settings.clone());
    let Some(mut trainer) = for_device(device, &cpu)? else {
        return Ok(None);
    };

    // A warm-up batch: the driver finishes compiling the pipelines and touches every buffer.
    if let Some(first) = batches.first() {
        trainer.train_batch(first)?;
        trainer.finish()?;
    }

    let started = Instant::now();
    for batch in batches {
        trainer.train_batch(batch)?;
    }
    trainer.finish()?;
    let seconds = started.elapsed().as_secs_f64();

    let fma_gflops = fma_rate(&trainer.gpu)?;

    // Where the time goes: a few batches more, each pass timed on the GPU.
    let mut kernel_times = Vec::new();
    let mut profiled_batches = 0;
    for batch in batches.iter().take(PROFILED_BATCHES) {
        if !trainer.profile_batch(batch, &mut kernel_times)? {
            break;
        }
        profiled_batches += 1;
    }
    Ok(Some(GpuTiming {
        adapter: trainer.gpu.adapter.clone(),
        seconds,
        fma_gflops,
        kernel_times,
        profiled_batches,
    }))
}

/// The adapter's fp32 rate in GFLOP/s: dispatches of `fma_rate.wgsl`, doubled until one
/// lasts [`FMA_MEASURE_SECONDS`].
fn fma_rate(gpu: &Gpu) -> Result<f64, GpuError> {
    let device = &gpu.device;
    let kernel = kernels::fma_rate_kernel(device);
    let settings = kernels::settings_buffer(device, 1);
    let sink = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("fma sink"),
        size: 4 * 256 * u64::from(FMA_MAX_WORKGROUPS),
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let bind_group = kernel.bind(device, &settings, &[&sink]);

    let run = |workgroups: u32, iterations: u32| -> Result<f64, GpuError> {
        let pass_settings = PassSettings {
            depth: iterations,
            ..PassSettings::default()
        };
        gpu.queue
            .write_buffer(&settings, 0, &kernels::settings_slots(&[pass_settings]));
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(kernel.name),
                timestamp_writes: None,
            });
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &bind_group, &[0]);
            pass.dispatch_workgroups(workgroups, 1, 1);
        }
        let started = Instant::now();
        let submission = gpu.queue.submit([encoder.finish()]);
        device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: None,
            })
            .map_err(|error| GpuError::Device {
                adapter: gpu.adapter.name.clone(),
                message: format!("measuring the fp32 rate: {error}"),
            })?;
        Ok(started.elapsed().as_secs_f64())
    };

    // The first dispatch also pays for compiling the pipeline.
    run(1, 1)?;
    let (mut workgroups, mut iterations) = (16u32, 256u32);
    loop {
        let seconds = run(workgroups, iterations)?;
        if seconds >= FMA_MEASURE_SECONDS || iterations >= 1 << 24 {
            let flops =
                f64::from(workgroups) * 256.0 * f64::from(iterations) * FMA_FLOPS_PER_ITERATION;
            return Ok(flops / seconds / 1e9);
        }
        if workgroups < FMA_MAX_WORKGROUPS {
            workgroups *= 2;
        } else {
            iterations *= 2;
        }
    }
}

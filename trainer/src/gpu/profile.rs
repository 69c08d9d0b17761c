//! Where a batch's GPU time goes, pass by pass, by timestamp queries: what `continuo bench
//! train --device gpu` prints under its table, so that a measurement on a real card says which
//! product falls short of the card's fp32 rate.
//!
//! Profiled batches wait for the GPU and read their timestamps back one by one, so they are
//! timed separately from the benchmark's throughput run.

use super::GpuError;

/// Passes one profiled batch may time (two timestamps each): CD-k with k up to 100.
const MOST_PASSES: u32 = 308;

/// The timestamp queries of one batch and the buffer they are resolved into.
pub struct PassTimer {
    pub query_set: wgpu::QuerySet,
    /// Two `u64` ticks per pass, resolved at the end of the batch.
    pub resolved: wgpu::Buffer,
    /// Nanoseconds per tick.
    period_ns: f64,
}

/// A pass of a profiled batch as recorded: its kernel and the multiply-add FLOPs it does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PassRecord {
    pub kernel: &'static str,
    pub flops: f64,
}

/// The GPU time of one kernel, summed over its passes in the profiled batches.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTime {
    pub kernel: &'static str,
    pub passes: usize,
    pub seconds: f64,
    pub flops: f64,
}

impl PassTimer {
    /// A timer, or `None` when the device was opened without timestamp queries (the adapter
    /// lacks them).
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Option<Self> {
        if !device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let query_set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("pass timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * MOST_PASSES,
        });
        let resolved = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("resolved pass timestamps"),
            size: 8 * 2 * u64::from(MOST_PASSES),
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Some(PassTimer {
            query_set,
            resolved,
            period_ns: f64::from(queue.get_timestamp_period()),
        })
    }

    /// Whether a batch of `passes` passes fits the query set.
    pub fn fits(&self, passes: usize) -> bool {
        passes <= MOST_PASSES as usize
    }

    /// Each pass's seconds from its two timestamps, read back after the batch.
    pub fn pass_seconds(&self, ticks: &[u64]) -> Vec<f64> {
        ticks
            .chunks_exact(2)
            .map(|pair| pair[1].saturating_sub(pair[0]) as f64 * self.period_ns * 1e-9)
            .collect()
    }
}

/// Adds the passes of one profiled batch to the kernels' totals, in order of first use.
pub fn accumulate(totals: &mut Vec<KernelTime>, passes: &[PassRecord], seconds: &[f64]) {
    for (pass, &pass_seconds) in passes.iter().zip(seconds) {
        let index = match totals.iter().position(|total| total.kernel == pass.kernel) {
            Some(index) => index,
            None => {
                totals.push(KernelTime {
                    kernel: pass.kernel,
                    passes: 0,
                    seconds: 0.0,
                    flops: 0.0,
                });
                totals.len() - 1
            }
        };
        let total = &mut totals[index];
        total.passes += 1;
        total.seconds += pass_seconds;
        total.flops += pass.flops;
    }
}

/// Reads back the resolved ticks of `passes` passes.
pub fn read_ticks(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    timer: &PassTimer,
    passes: usize,
    adapter: &str,
) -> Result<Vec<u64>, GpuError> {
    super::buffers::read_values(device, queue, &timer.resolved, 2 * passes, adapter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_add_up_their_passes() {
        let passes = [
            PassRecord {
                kernel: "hidden inputs",
                flops: 100.0,
            },
            PassRecord {
                kernel: "visible sample",
                flops: 50.0,
            },
            PassRecord {
                kernel: "hidden inputs",
                flops: 100.0,
            },
        ];
        let mut totals = Vec::new();
        accumulate(&mut totals, &passes, &[1.0, 2.0, 3.0]);
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[0].kernel, "hidden inputs");
        assert_eq!(
            (totals[0].passes, totals[0].seconds, totals[0].flops),
            (2, 4.0, 200.0)
        );
        assert_eq!((totals[1].passes, totals[1].seconds), (1, 2.0));
    }
}

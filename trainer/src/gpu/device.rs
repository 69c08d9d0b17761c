//! Which GPU trains: the choice of an adapter, and a device with the limits training needs.
//!
//! Adapters are ranked discrete, integrated, virtual, other, then software. A software
//! adapter (Mesa's lavapipe/llvmpipe on Vulkan, WARP on DX12; wgpu reports them as device
//! type `Cpu`) runs the shaders on the CPU: a tiled matrix product measured about 0.5 GFLOP/s
//! on lavapipe, some 100 times slower than the CPU trainer on the same machine. So `--device
//! auto` never takes one, while `--device gpu` takes one when there is nothing better, with a
//! warning.
//!
//! wgpu's environment variables apply: `WGPU_BACKEND` (e.g. `vulkan`) limits the backends
//! searched, and `WGPU_ADAPTER_NAME` keeps only the adapters whose name contains it.

use std::fmt;

use super::GpuError;

/// Which adapters a run accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterPolicy {
    /// `--device auto`: hardware only; without one the CPU trains.
    HardwareOnly,
    /// `--device gpu`: the best adapter there is, a software one included.
    BestAvailable,
}

/// An open device and what it was opened on.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The adapter's name, type, backend and driver, for the log and the benchmark.
    pub adapter: AdapterSummary,
}

/// What the log says about an adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    pub device_type: wgpu::DeviceType,
    pub backend: wgpu::Backend,
    pub driver: String,
}

impl AdapterSummary {
    fn of(info: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: info.name.clone(),
            device_type: info.device_type,
            backend: info.backend,
            driver: [info.driver.as_str(), info.driver_info.as_str()]
                .iter()
                .filter(|part| !part.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// Whether the adapter runs on the CPU (lavapipe, llvmpipe, WARP, SwiftShader).
    pub fn is_software(&self) -> bool {
        self.device_type == wgpu::DeviceType::Cpu
    }
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Cpu => "software, runs on the CPU",
            wgpu::DeviceType::Other => "unknown type",
        };
        write!(f, "{} ({kind}, {:?}", self.name, self.backend)?;
        if !self.driver.is_empty() {
            write!(f, ", {}", self.driver)?;
        }
        write!(f, ")")
    }
}

/// The rank of a device type, best first; `None` for the types `policy` refuses.
fn rank(device_type: wgpu::DeviceType, policy: AdapterPolicy) -> Option<u8> {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => Some(0),
        wgpu::DeviceType::IntegratedGpu => Some(1),
        wgpu::DeviceType::VirtualGpu => Some(2),
        wgpu::DeviceType::Other => Some(3),
        wgpu::DeviceType::Cpu => (policy == AdapterPolicy::BestAvailable).then_some(4),
    }
}

/// The index of the adapter to train on among `found`, or the error that lists them. Among
/// equals the first found wins (wgpu lists the system's preferred adapter first).
pub fn choose_adapter(found: &[AdapterSummary], policy: AdapterPolicy) -> Result<usize, GpuError> {
    found
        .iter()
        .enumerate()
        .filter_map(|(index, adapter)| Some((rank(adapter.device_type, policy)?, index)))
        .min()
        .map(|(_, index)| index)
        .ok_or_else(|| GpuError::NoAdapter {
            hardware_only: policy == AdapterPolicy::HardwareOnly,
            found: found.iter().map(ToString::to_string).collect(),
        })
}

/// Opens the adapter `policy` chooses, with storage bindings of at least `largest_buffer_bytes`
/// (the size of `largest_buffer`, usually the weights). The default binding limit (128 MiB) is below the
/// weights at 4096 hidden units (13,824 x 4,096 x 4 = 226 MB), so the limits are raised to
/// what the adapter offers; a buffer beyond even those is an error, never a truncation.
pub fn open(
    policy: AdapterPolicy,
    largest_buffer: &'static str,
    largest_buffer_bytes: u64,
) -> Result<Gpu, GpuError> {
    let descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    let backends = descriptor.backends;
    let instance = wgpu::Instance::new(descriptor);
    let mut adapters = pollster::block_on(instance.enumerate_adapters(backends));
    if let Ok(wanted) = std::env::var("WGPU_ADAPTER_NAME") {
        let wanted = wanted.to_lowercase();
        adapters.retain(|adapter| adapter.get_info().name.to_lowercase().contains(&wanted));
    }
    let summaries: Vec<AdapterSummary> = adapters
        .iter()
        .map(|adapter| AdapterSummary::of(&adapter.get_info()))
        .collect();
    let chosen = choose_adapter(&summaries, policy)?;
    let adapter = &adapters[chosen];
    let summary = summaries[chosen].clone();

    let limits = required_limits(
        &adapter.limits(),
        largest_buffer,
        largest_buffer_bytes,
        &summary,
    )?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("continuo trainer"),
        // Timestamp queries, where there are any, for the benchmark's per-pass profile.
        required_features: adapter.features() & wgpu::Features::TIMESTAMP_QUERY,
        required_limits: limits,
        experimental_features: wgpu::ExperimentalFeatures::disabled(),
        memory_hints: wgpu::MemoryHints::Performance,
        trace: wgpu::Trace::Off,
    }))
    .map_err(|error| GpuError::Device {
        adapter: summary.name.clone(),
        message: format!("no device: {error}"),
    })?;
    Ok(Gpu {
        device,
        queue,
        adapter: summary,
    })
}

/// wgpu's default limits with the buffer limits raised to the adapter's, or the error naming
/// the buffer that exceeds them.
// NOTE: A buffer above the adapter's binding limit is refused, not split across bindings:
//       W (13,824 x P floats) fits a 2 GiB limit up to P = 38,836, a 1 GiB one (some
//       integrated GPUs) up to P = 19,418 and a 256 MiB one (older Metal devices) up to
//       P = 4,854. A larger model trains with --device cpu.
pub fn required_limits(
    adapter_limits: &wgpu::Limits,
    largest_buffer: &'static str,
    largest_buffer_bytes: u64,
    adapter: &AdapterSummary,
) -> Result<wgpu::Limits, GpuError> {
    let bindable = adapter_limits
        .max_storage_buffer_binding_size
        .min(adapter_limits.max_buffer_size);
    if largest_buffer_bytes > bindable {
        return Err(GpuError::BufferTooLarge {
            what: largest_buffer,
            bytes: largest_buffer_bytes,
            limit: bindable,
            adapter: adapter.name.clone(),
        });
    }
    Ok(wgpu::Limits {
        max_storage_buffer_binding_size: adapter_limits.max_storage_buffer_binding_size,
        max_buffer_size: adapter_limits.max_buffer_size,
        ..wgpu::Limits::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(name: &str, device_type: wgpu::DeviceType) -> AdapterSummary {
        AdapterSummary {
            name: name.to_string(),
            device_type,
            backend: wgpu::Backend::Vulkan,
            driver: String::new(),
        }
    }

    #[test]
    fn auto_never_takes_a_software_adapter() {
        let found = [
            adapter("llvmpipe", wgpu::DeviceType::Cpu),
            adapter("Intel UHD", wgpu::DeviceType::IntegratedGpu),
            adapter("RTX 4090", wgpu::DeviceType::DiscreteGpu),
        ];
        assert_eq!(
            choose_adapter(&found, AdapterPolicy::HardwareOnly).ok(),
            Some(2)
        );
        assert_eq!(
            choose_adapter(&found[..2], AdapterPolicy::HardwareOnly).ok(),
            Some(1)
        );

        let error = choose_adapter(&found[..1], AdapterPolicy::HardwareOnly)
            .expect_err("only a software adapter");
        let message = error.to_string();
        assert!(message.contains("no hardware GPU adapter"), "{message}");
        assert!(
            message.contains("llvmpipe (software, runs on the CPU, Vulkan)"),
            "{message}"
        );
    }

    #[test]
    fn gpu_takes_a_software_adapter_only_when_alone() {
        let software = adapter("llvmpipe", wgpu::DeviceType::Cpu);
        let other = adapter("mystery", wgpu::DeviceType::Other);
        let best = AdapterPolicy::BestAvailable;
        assert_eq!(
            choose_adapter(std::slice::from_ref(&software), best).ok(),
            Some(0)
        );
        assert_eq!(choose_adapter(&[software, other], best).ok(), Some(1));

        let error = choose_adapter(&[], best).expect_err("nothing found");
        assert!(
            error.to_string().contains("no GPU adapter at all"),
            "{error}"
        );
    }

    #[test]
    fn limits_are_raised_to_the_adapters_or_refused() {
        let card = adapter("card", wgpu::DeviceType::DiscreteGpu);
        let adapter_limits = wgpu::Limits {
            max_storage_buffer_binding_size: 1 << 31,
            max_buffer_size: 1 << 32,
            ..wgpu::Limits::default()
        };
        // W at 4096 hidden units: 13,824 x 4,096 x 4 bytes, above the default 128 MiB.
        let weights_bytes = 13_824 * 4_096 * 4;
        assert!(weights_bytes > wgpu::Limits::default().max_storage_buffer_binding_size);
        let limits = required_limits(&adapter_limits, "W", weights_bytes, &card).expect("fits");
        assert_eq!(limits.max_storage_buffer_binding_size, 1 << 31);
        assert_eq!(limits.max_buffer_size, 1 << 32);

        let error = required_limits(&adapter_limits, "W", 3 << 30, &card).expect_err("too large");
        assert!(
            matches!(error, GpuError::BufferTooLarge { limit, .. } if limit == 1 << 31),
            "{error}"
        );
    }
}

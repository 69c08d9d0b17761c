//! The CLAP host: loads `Continuo.clap`, reads and sets its parameters, saves and loads its state,
//! and plays [`Script`]s through it.
//!
//! Threads are used as a DAW uses them: the instance is made, configured and saved on the
//! calling (main) thread, and `process()` runs on an audio thread of its own that lives for one
//! session. While a session plays, the main thread answers the plugin's requests for a
//! main-thread callback, as a DAW's event loop would.

use std::ffi::CString;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::ParamValueEvent;
use clack_host::events::io::EventBuffer;
use clack_host::prelude::*;

use crate::bundle;
use crate::quiet;
use crate::session::{self, AudioLayout, Recording, Script};

/// The host's side of the plugin's thread-safe callbacks: it notes what was asked.
#[derive(Default)]
pub struct TestHostShared {
    /// The plugin asked for `on_main_thread`; the main thread calls it and clears this.
    callback_requested: AtomicBool,
}

impl<'a> SharedHandler<'a> for TestHostShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

/// The test host's callback handlers. It offers the plugin no extension: a plugin must work
/// without any.
pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = TestHostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// One of the plugin's parameters as the host sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub id: u32,
    pub name: String,
    pub module: String,
    pub min_value: f64,
    pub max_value: f64,
    pub default_value: f64,
    /// Only whole values are valid (nice-plug reports enums, integers and booleans so).
    pub stepped: bool,
    pub hidden: bool,
    pub bypass: bool,
}

/// A loaded instance of Continuo.
pub struct ContinuoClap {
    instance: PluginInstance<TestHost>,
    /// The parameters, in the plugin's order.
    pub parameters: Vec<Parameter>,
    /// The audio ports, read once: they do not change.
    pub audio_layout: AudioLayout,
}

impl ContinuoClap {
    /// Loads the bundle at `path` and makes an instance of the only plugin it holds.
    pub fn load(path: &Path) -> ContinuoClap {
        // SAFETY: loading a library runs its initialisers. The bundle is this workspace's own
        // plugin, built by the tests, and it is loaded only through this function.
        let entry = unsafe { PluginEntry::load(path) }
            .unwrap_or_else(|error| panic!("loading {}: {error}", path.display()));
        let host_info = HostInfo::new("Continuo test host", "Continuo", "https://localhost", "1")
            .expect("the host's strings hold no NUL");
        let plugin_id = only_plugin_id(&entry, path);
        let mut instance = PluginInstance::<TestHost>::new(
            |_| TestHostShared::default(),
            |_| (),
            &entry,
            &plugin_id,
            &host_info,
        )
        .unwrap_or_else(|error| panic!("instantiating {plugin_id:?}: {error}"));
        let parameters = read_parameters(&mut instance);
        let audio_layout = AudioLayout::of(&mut instance);
        ContinuoClap {
            instance,
            parameters,
            audio_layout,
        }
    }

    /// The parameter with display name `name`.
    pub fn parameter(&self, name: &str) -> &Parameter {
        self.parameters
            .iter()
            .find(|parameter| parameter.name == name)
            .unwrap_or_else(|| {
                let names: Vec<&str> = self.parameters.iter().map(|p| p.name.as_str()).collect();
                panic!("the plugin has no parameter named {name:?}; it has {names:?}")
            })
    }

    fn params_extension(&mut self) -> PluginParams {
        self.instance
            .plugin_handle()
            .get_extension::<PluginParams>()
            .expect("the plugin has the params extension")
    }

    /// A parameter's current CLAP value.
    pub fn value(&mut self, id: u32) -> f64 {
        let params = self.params_extension();
        params
            .get_value(&self.instance.plugin_handle(), ClapId::new(id))
            .unwrap_or_else(|| panic!("the plugin has no value for parameter {id}"))
    }

    /// Every parameter's current CLAP value, in the plugin's order.
    pub fn values(&mut self) -> Vec<(u32, f64)> {
        let ids: Vec<u32> = self
            .parameters
            .iter()
            .map(|parameter| parameter.id)
            .collect();
        ids.into_iter().map(|id| (id, self.value(id))).collect()
    }

    /// The plugin's text for a CLAP value of a parameter.
    pub fn text_of(&mut self, id: u32, value: f64) -> String {
        let params = self.params_extension();
        let mut buffer = [0u8; 256];
        let text = params
            .value_to_text(
                &self.instance.plugin_handle(),
                ClapId::new(id),
                value,
                &mut buffer,
            )
            .unwrap_or_else(|_| panic!("parameter {id} has no text for {value}"));
        String::from_utf8_lossy(text).into_owned()
    }

    /// The CLAP value the plugin reads from `text`. Stepped values are rounded: nice-plug may
    /// parse "7" as 6.9999997.
    pub fn value_of(&mut self, name: &str, text: &str) -> (u32, f64) {
        let parameter = self.parameter(name).clone();
        let params = self.params_extension();
        let c_text = CString::new(text).expect("parameter text holds no NUL");
        let value = params
            .text_to_value(
                &self.instance.plugin_handle(),
                ClapId::new(parameter.id),
                &c_text,
            )
            .unwrap_or_else(|| panic!("parameter {name:?} does not read {text:?}"));
        let value = if parameter.stepped {
            value.round()
        } else {
            value
        };
        (parameter.id, value)
    }

    /// Sets parameters (by display name and text) while the plugin is inactive, through
    /// `params.flush`, as a host restoring a project does before activating.
    pub fn set(&mut self, settings: &[(&str, &str)]) {
        let mut events = EventBuffer::with_capacity(settings.len());
        for (name, text) in settings {
            let (id, value) = self.value_of(name, text);
            events.push(&ParamValueEvent::new(
                0,
                ClapId::new(id),
                Pckn::match_all(),
                value,
            ));
        }
        let params = self.params_extension();
        let mut handle = self
            .instance
            .inactive_plugin_handle()
            .expect("parameters are set while the plugin is inactive");
        let mut ignored = EventBuffer::new();
        params.flush(&mut handle, &events.as_input(), &mut ignored.as_output());
        for (name, text) in settings {
            let (id, expected) = self.value_of(name, text);
            let parameter = self.parameter(name).clone();
            let value = self.value(id);
            // nice-plug keeps values normalised as f32: 1234 of 0-99999 reads back as
            // 1234.00004. Stepped values round; others may be off by the f32 step of the range.
            let close = if parameter.stepped {
                value.round() == expected
            } else {
                (value - expected).abs()
                    <= 1e-6 * (parameter.max_value - parameter.min_value).abs().max(1.0)
            };
            assert!(
                close,
                "{name:?} reads {value} after being set to {text:?} ({expected})"
            );
        }
    }

    /// The plugin's state, as a host saves it into a project.
    pub fn save_state(&mut self) -> Vec<u8> {
        let state = self
            .instance
            .plugin_handle()
            .get_extension::<PluginState>()
            .expect("the plugin has the state extension");
        let mut bytes = Vec::new();
        state
            .save(&self.instance.plugin_handle(), &mut bytes)
            .expect("the plugin saves its state");
        bytes
    }

    /// Loads a saved state; `Err` when the plugin refuses it.
    pub fn load_state(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        let state = self
            .instance
            .plugin_handle()
            .get_extension::<PluginState>()
            .expect("the plugin has the state extension");
        state
            .load(&self.instance.plugin_handle(), &mut bytes)
            .map_err(|error| error.to_string())
    }

    /// Activates the plugin for `script`, plays it on an audio thread, deactivates it, and
    /// waits until its background threads are done (so that its saved state holds the whole
    /// session). Sessions of all instances in the process take turns, so that the composer of
    /// one is never waited for behind the rendering of another.
    pub fn play(&mut self, script: &Script) -> Recording {
        static ONE_SESSION_AT_A_TIME: Mutex<()> = Mutex::new(());
        // A session that panicked poisons the lock; the next one can still run.
        let _turn = ONE_SESSION_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());

        let configuration = PluginAudioConfiguration {
            sample_rate: script.sample_rate_hz,
            min_frames_count: 1,
            max_frames_count: script.blocks.max(),
        };
        let processor = self
            .instance
            .activate(|_, _| (), configuration)
            .unwrap_or_else(|error| panic!("activating at {configuration:?}: {error}"));
        let main_thread = quiet::current_thread_id();
        let layout = self.audio_layout.clone();

        let (stopped, recording) = std::thread::scope(|scope| {
            let audio_thread = std::thread::Builder::new()
                .name("test host audio".into())
                .spawn_scoped(scope, || {
                    session::run(processor, script, &layout, main_thread)
                })
                .expect("starting the audio thread");
            while !audio_thread.is_finished() {
                self.answer_callbacks();
                std::thread::sleep(Duration::from_millis(2));
            }
            audio_thread.join().expect("the audio thread panicked")
        });
        self.instance.deactivate(stopped);
        self.settle();
        recording
    }

    /// Waits until the plugin's background threads are idle (the recorder has caught up with
    /// the session), answering its main-thread requests before and after.
    fn settle(&mut self) {
        self.answer_callbacks();
        quiet::wait_until_quiet(&[quiet::current_thread_id()], Duration::from_secs(30));
        self.answer_callbacks();
    }

    /// Calls `on_main_thread` if the plugin asked for it.
    fn answer_callbacks(&mut self) {
        let requested = self.instance.access_shared_handler(|shared| {
            shared.callback_requested.swap(false, Ordering::SeqCst)
        });
        if requested {
            self.instance.call_on_main_thread_callback();
        }
    }
}

/// The ID of the one plugin in the bundle's factory, which must be Continuo's.
fn only_plugin_id(entry: &PluginEntry, path: &Path) -> CString {
    let factory = entry
        .get_plugin_factory()
        .unwrap_or_else(|| panic!("{} has no plugin factory", path.display()));
    let ids: Vec<CString> = factory
        .plugin_descriptors()
        .filter_map(|descriptor| descriptor.id().map(CString::from))
        .collect();
    let expected = CString::new(bundle::CLAP_ID).expect("the ID holds no NUL");
    assert_eq!(
        ids,
        vec![expected],
        "{} should hold Continuo alone (its ID is saved in projects and must not change)",
        path.display()
    );
    ids.into_iter().next().expect("one plugin")
}

fn read_parameters(instance: &mut PluginInstance<TestHost>) -> Vec<Parameter> {
    let handle = instance.plugin_handle();
    let Some(params) = handle.get_extension::<PluginParams>() else {
        return Vec::new();
    };
    // NOTE: nice-plug 0.4's get_info indexes its table before checking the index against the
    //       count, so the host must never ask for index `count`.
    (0..params.count(&handle))
        .filter_map(|index| {
            let mut buffer = ParamInfoBuffer::new();
            let info = params.get_info(&handle, index, &mut buffer)?;
            Some(Parameter {
                id: info.id.get(),
                name: String::from_utf8_lossy(info.name).into_owned(),
                module: String::from_utf8_lossy(info.module).into_owned(),
                min_value: info.min_value,
                max_value: info.max_value,
                default_value: info.default_value,
                stepped: info.flags.contains(ParamInfoFlags::IS_STEPPED),
                hidden: info.flags.contains(ParamInfoFlags::IS_HIDDEN),
                bypass: info.flags.contains(ParamInfoFlags::IS_BYPASS),
            })
        })
        .collect()
}

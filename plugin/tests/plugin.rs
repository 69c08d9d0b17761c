//! The plugin as a host sees it: the whole `process()` path (nice-plug's events in and out,
//! the engine, the composer thread, the preview voice) and state that is not what we wrote.
//!
//! Built with the `assert_process_allocs` feature, each `process()` call runs under nice-plug's
//! allocation guard (the same one nice-plug's wrappers put around it), so any allocation on the
//! audio path aborts the test.

use std::time::Duration;

use continuo_plugin::params::ContinuoParams;
use continuo_plugin::phrase::{Phrase, PhraseMeasure, PhraseNote};
use continuo_plugin::Continuo;
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

/// The longest block the test uses.
const MAX_BLOCK: usize = 2048;

struct Activation;

impl ActivateContext<Continuo> for Activation {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute(&self, _task: ()) {}
    fn set_latency_samples(&self, _samples: u32) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

/// A host's process context: a transport, the block's input notes, and the notes sent back.
struct Host {
    transport: Transport,
    input: Vec<NoteEvent<()>>,
    next_input: usize,
    output: Vec<NoteEvent<()>>,
}

impl ProcessContext<Continuo> for Host {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute_background(&self, _task: ()) {}
    fn execute_gui(&self, _task: ()) {}
    fn transport(&self) -> &Transport {
        &self.transport
    }
    fn next_event(&mut self) -> Option<NoteEvent<()>> {
        let event = self.input.get(self.next_input).copied();
        self.next_input += 1;
        event
    }
    fn try_send_event(
        &mut self,
        event: NoteEvent<()>,
    ) -> Result<(), (NoteEvent<()>, nice_plug::context::process::SendEventError)> {
        if self.output.len() < self.output.capacity() {
            self.output.push(event);
            Ok(())
        } else {
            Err((
                event,
                nice_plug::context::process::SendEventError::HostBufferFull,
            ))
        }
    }
    fn set_latency_samples(&self, _samples: u32) {}
    fn request_restart(&self) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

fn note_on(timing: u32, pitch: u8) -> NoteEvent<()> {
    NoteEvent::NoteOn {
        timing,
        voice_id: VoiceID::Wildcard,
        channel: Channel::Number(0),
        key: Key::Number(pitch),
        velocity: 0.8,
    }
}

fn note_off(timing: u32, pitch: u8) -> NoteEvent<()> {
    NoteEvent::NoteOff {
        timing,
        voice_id: VoiceID::Wildcard,
        channel: Channel::Number(0),
        key: Key::Number(pitch),
        velocity: 0.0,
    }
}

/// Sets a parameter by id the way a host does.
fn set_param(plugin: &Continuo, id: &str, normalized: f32) {
    let params = plugin.params();
    let (_, pointer, _) = params
        .param_map()
        .into_iter()
        .find(|(param_id, _, _)| param_id == id)
        .expect("parameter exists");
    // SAFETY: the pointer points into the parameters `params` keeps alive.
    unsafe {
        pointer._internal_set_normalized_value(normalized);
    }
}

fn process_guarded(
    plugin: &mut Continuo,
    buffer: &mut Buffer,
    aux: &mut AuxiliaryBuffers,
    host: &mut Host,
) -> ProcessStatus {
    #[cfg(feature = "assert_process_allocs")]
    return nice_assert_no_alloc::assert_no_alloc(|| plugin.process(buffer, aux, host));
    #[cfg(not(feature = "assert_process_allocs"))]
    return plugin.process(buffer, aux, host);
}

/// Plays a one-beat call at 120 bpm, 48 kHz (a measure is 96,000 samples) and runs the plugin
/// through two measures of answer in blocks of varying size, with the preview voice on.
#[test]
fn the_process_path_answers_and_sounds_without_allocating() {
    let mut plugin = Continuo::default();
    let config = BufferConfig {
        sample_rate: 48_000.0,
        min_buffer_size: None,
        max_buffer_size: MAX_BLOCK as u32,
        process_mode: ProcessMode::Realtime,
    };
    let layout = Continuo::AUDIO_IO_LAYOUTS[0];
    assert!(plugin.activate(&layout, &config, &mut Activation));
    plugin.reset();
    set_param(&plugin, "preview", 1.0);
    set_param(&plugin, "length", 0.0); // one measure

    let mut left = vec![0.0f32; MAX_BLOCK];
    let mut right = vec![0.0f32; MAX_BLOCK];
    let mut buffer = Buffer::default();
    let mut aux = AuxiliaryBuffers {
        inputs: &mut [],
        outputs: &mut [],
    };
    let mut host = Host {
        transport: Transport::new(48_000.0),
        input: Vec::with_capacity(16),
        next_input: 0,
        output: Vec::with_capacity(4096),
    };

    let mut now = 0usize;
    let mut sizes = 17u64;
    let mut answer_notes = 0;
    let mut loudest = 0.0f32;
    let mut waited_for_composer = false;
    while now < 2 * 96_000 + 1_000 {
        sizes = sizes
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = 1 + (sizes >> 33) as usize % MAX_BLOCK;

        host.transport.playing = true;
        host.transport.tempo = Some(120.0);
        host.transport.pos_samples = Some(now as i64);
        host.transport.time_sig_numerator = Some(4);
        host.transport.time_sig_denominator = Some(4);
        host.input.clear();
        host.next_input = 0;
        host.output.clear();
        // C4 for the first beat.
        for (at, event) in [
            (0, note_on as fn(u32, u8) -> NoteEvent<()>),
            (24_000, note_off),
        ] {
            if (now..now + len).contains(&at) {
                host.input.push(event((at - now) as u32, 60));
            }
        }
        // SAFETY: the slices point into `left` and `right`, which outlive the call.
        unsafe {
            let (l, r) = (left.as_mut_ptr(), right.as_mut_ptr());
            buffer.set_slices(len, |slices| {
                slices.clear();
                slices.push(std::slice::from_raw_parts_mut(l, len));
                slices.push(std::slice::from_raw_parts_mut(r, len));
            });
        }

        let status = process_guarded(&mut plugin, &mut buffer, &mut aux, &mut host);
        assert_eq!(status, ProcessStatus::KeepAlive);

        answer_notes += host
            .output
            .iter()
            .filter(
                |event| matches!(event, NoteEvent::NoteOn { key, .. } if *key != Key::Number(60)),
            )
            .count();
        if now >= 96_000 {
            loudest = loudest.max(left[..len].iter().fold(0.0, |m, x| m.max(x.abs())));
        }
        now += len;
        // This loop runs far faster than real time: give the composer the time a real beat
        // would, once the call has been sent (the last beat began at sample 72,000).
        if now > 72_000 && !waited_for_composer {
            std::thread::sleep(Duration::from_millis(1500));
            waited_for_composer = true;
        }
    }
    assert!(answer_notes > 0, "the answer played");
    assert!(loudest > 0.001, "the preview voice sounded");
}

/// State a host hands back that is not what the plugin wrote gives the defaults, never a crash.
#[test]
fn garbage_state_gives_defaults() {
    let params = ContinuoParams::default();
    let mut garbage = std::collections::BTreeMap::new();
    garbage.insert(String::from("model-path"), String::from("{not json"));
    garbage.insert(String::from("last-phrase"), String::from("[1, 2, \"x\"]"));
    garbage.insert(String::from("no-such-field"), String::from("42"));
    params.deserialize_fields(&garbage);
    assert_eq!(*params.model_path.read().unwrap(), None);
    assert_eq!(*params.phrase.read().unwrap(), Phrase::default());

    // Well-formed JSON with values out of range is brought into range.
    let odd = r#"{"tempo_bpm": -5, "measures": [{"input": [
        {"start_step": 90, "end_step": 10, "pitch": 60},
        {"start_step": 0, "end_step": 200, "pitch": 60},
        {"start_step": 0, "end_step": 4, "pitch": 5},
        {"start_step": 0, "end_step": 4, "pitch": 60}
    ]}]}"#;
    let mut phrase: Phrase = serde_json::from_str(odd).expect("parses");
    phrase.sanitize();
    assert_eq!(phrase.tempo_bpm, 120.0);
    assert_eq!(
        phrase.measures[0],
        PhraseMeasure {
            input: vec![PhraseNote {
                start_step: 0,
                end_step: 4,
                pitch: 60
            }],
            ..PhraseMeasure::default()
        }
    );
}

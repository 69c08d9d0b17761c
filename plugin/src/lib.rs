//! Continuo: a CLAP/VST3 plugin that continues what you play, measure by measure, in the style
//! of J. S. Bach, with a restricted Boltzmann machine composing each measure (the method of
//! Kobayashi & Watanabe, "Learning and composing of classical music using restricted Boltzmann
//! machines").
//!
//! MIDI notes in, MIDI notes out, and a stereo audio output that is silent unless the preview
//! voice is on (hosts such as Ableton Live refuse plugins without audio). The musical work is
//! done by plain structs that know nothing of the host: [`engine::Engine`] on the audio thread
//! (timing, capture, the modes), [`worker`] threads for composing and recording, [`model`] for
//! loading models. This file only connects them to nice-plug.

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState};

pub mod capture;
pub mod cells;
pub mod clock;
pub mod editor;
pub mod engine;
pub mod messages;
pub mod model;
mod modes;
pub mod params;
pub mod phrase;
pub mod scheduler;
pub mod voice;
pub mod worker;

use clock::HostTime;
use engine::{Engine, EngineStatus, InputEvent};
use messages::WorkerLink;
use model::ModelShelf;
use params::ContinuoParams;
use scheduler::{EventBuffer, NoteKind, OutputEvent};
use voice::PreviewVoice;
use worker::Workers;

/// Input notes one block can carry; more are dropped (hosts send far fewer).
const INPUT_CAPACITY: usize = 1024;

/// The plugin.
pub struct Continuo {
    params: Arc<ContinuoParams>,
    /// Published by the engine, read by the editor and the composer.
    status: Arc<EngineStatus>,
    shelf: Arc<ModelShelf>,
    engine: Engine,
    /// The background threads' ends of the channels, until the first activation starts them.
    worker_link: Option<WorkerLink>,
    /// The composer and recorder threads, started at the first activation (not when a host
    /// merely scans the plugin).
    workers: Option<Workers>,
    voice: PreviewVoice,
    /// The block's input notes, in storage reserved up front.
    input: Vec<InputEvent>,
    /// The block's output notes.
    out: EventBuffer,
    /// Whether the preview voice played in the previous block, to silence it once when it is
    /// switched off.
    preview_was_on: bool,
    editor_state: Arc<EguiEditorState>,
}

impl Default for Continuo {
    fn default() -> Self {
        let (audio_link, worker_link) = messages::link();
        let status = Arc::new(EngineStatus::default());
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x5EED, |since| since.as_nanos() as u64);
        Continuo {
            params: Arc::new(ContinuoParams::default()),
            engine: Engine::new(48_000.0, audio_link, status.clone(), seed),
            status,
            shelf: Arc::new(ModelShelf::default()),
            worker_link: Some(worker_link),
            workers: None,
            voice: PreviewVoice::new(48_000.0),
            input: Vec::with_capacity(INPUT_CAPACITY),
            out: EventBuffer::default(),
            preview_was_on: false,
            editor_state: editor::default_state(),
        }
    }
}

impl Plugin for Continuo {
    const NAME: &'static str = "Continuo";
    const VENDOR: &'static str = "Continuo developers";
    const URL: &'static str = "https://github.com/continuo-developers/continuo";
    const EMAIL: &'static str = "continuo@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[AudioIOLayout {
        main_input_channels: None,
        main_output_channels: NonZeroU32::new(2),
        ..AudioIOLayout::const_default()
    }];
    const MIDI_INPUT: MidiConfig = MidiConfig::Basic;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = EguiEditor<editor::ContinuoEditor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        let shared = editor::EditorShared {
            params: self.params.clone(),
            status: self.status.clone(),
            shelf: self.shelf.clone(),
        };
        editor::create(shared, self.editor_state.clone())
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let sample_rate_hz = buffer_config.sample_rate;
        self.engine.set_sample_rate(sample_rate_hz as f64);
        self.voice = PreviewVoice::new(sample_rate_hz);
        if let Ok(mut phrase) = self.params.phrase.write() {
            phrase.sanitize();
        }

        if self.workers.is_none() {
            if let Some(link) = self.worker_link.take() {
                let phrase = self.params.phrase.clone();
                match Workers::spawn(link, self.shelf.clone(), self.status.clone(), phrase) {
                    Ok(workers) => self.workers = Some(workers),
                    Err(error) => {
                        nice_error!("Continuo could not start its composer thread: {error}");
                        return false;
                    }
                }
            }
        }
        let model_path = self.params.model_path.read().ok().and_then(|p| p.clone());
        self.shelf.ensure(model_path.as_deref());
        true
    }

    fn reset(&mut self) {
        self.engine.request_flush();
        self.voice.silence();
    }

    fn deactivate(&mut self) {
        // Nothing can be sent now; the next processed block ends whatever was left on.
        self.engine.request_flush();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let host = host_time(context.transport());
        self.collect_input(context);
        let settings = self.params.settings();
        let len_samples = buffer.samples();
        self.engine
            .process(&host, &settings, &self.input, len_samples, &mut self.out);

        for event in self.out.as_slice() {
            // A full host queue loses the event; there is nothing better to do in real time.
            let _ = context.try_send_event(note_event(event));
        }
        self.render_preview(buffer);
        // The plugin makes notes out of silence and keeps time: never let the host suspend it.
        ProcessStatus::KeepAlive
    }
}

impl Continuo {
    /// Copies the block's note events into `self.input` (other events are ignored).
    fn collect_input(&mut self, context: &mut impl ProcessContext<Self>) {
        self.input.clear();
        while let Some(event) = context.next_event() {
            let (kind, timing, channel, key, velocity) = match event {
                NoteEvent::NoteOn {
                    timing,
                    channel,
                    key,
                    velocity,
                    ..
                } if velocity > 0.0 => (NoteKind::On, timing, channel, key, velocity),
                // MIDI's note-on with velocity 0 is a release.
                NoteEvent::NoteOn {
                    timing,
                    channel,
                    key,
                    ..
                }
                | NoteEvent::NoteOff {
                    timing,
                    channel,
                    key,
                    ..
                }
                | NoteEvent::Choke {
                    timing,
                    channel,
                    key,
                    ..
                } => (NoteKind::Off, timing, channel, key, 0.0),
                _ => continue,
            };
            let Some(pitch) = key.number() else {
                continue;
            };
            if self.input.len() < self.input.capacity() {
                self.input.push(InputEvent {
                    offset_samples: timing,
                    kind,
                    channel: channel.number().unwrap_or(0) & 0x0F,
                    pitch: pitch.min(127),
                    velocity: (velocity * 127.0).round().clamp(0.0, 127.0) as u8,
                });
            }
        }
    }

    /// The preview voice, or silence.
    fn render_preview(&mut self, buffer: &mut Buffer) {
        if self.params.preview.value() {
            self.voice.render(self.out.as_slice(), buffer.as_slice());
            self.preview_was_on = true;
        } else {
            if self.preview_was_on {
                self.voice.silence();
                self.preview_was_on = false;
            }
            for channel in buffer.as_slice() {
                channel.fill(0.0);
            }
        }
    }
}

/// The host's transport as the engine's plain value.
fn host_time(transport: &Transport) -> HostTime {
    HostTime {
        playing: transport.playing,
        tempo_bpm: transport.tempo,
        pos_beats: transport.pos_beats(),
        time_signature: transport
            .time_sig_numerator
            .zip(transport.time_sig_denominator),
        bar_start_beats: transport.bar_start_pos_beats(),
    }
}

fn note_event(event: &OutputEvent) -> NoteEvent<()> {
    let channel = nice_plug::midi::Channel::Number(event.channel & 0x0F);
    let key = nice_plug::midi::Key::Number(event.pitch & 0x7F);
    let voice_id = nice_plug::midi::VoiceID::Wildcard;
    match event.kind {
        NoteKind::On => NoteEvent::NoteOn {
            timing: event.offset_samples,
            voice_id,
            channel,
            key,
            velocity: event.velocity as f32 / 127.0,
        },
        NoteKind::Off => NoteEvent::NoteOff {
            timing: event.offset_samples,
            voice_id,
            channel,
            key,
            velocity: 0.0,
        },
    }
}

impl ClapPlugin for Continuo {
    const CLAP_ID: &'static str = "org.continuo.continuo";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Continues what you play, measure by measure, in the style of J. S. Bach");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::NoteEffect,
        ClapFeature::Instrument,
        ClapFeature::Stereo,
    ];
}

impl Vst3Plugin for Continuo {
    const VST3_CLASS_ID: [u8; 16] = *b"ContinuoRBMBach!";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Instrument, Vst3SubCategory::Generator];
}

nice_export_clap!(Continuo);
nice_export_vst3!(Continuo);

//! A session: what the host does, block by block, on an audio thread of its own, and what the
//! plugin sent back.
//!
//! A [`Script`] lists the player's notes and the host's actions (tempo changes, stop, play,
//! jumps, parameter changes) at absolute sample positions. The audio thread cuts the timeline
//! into blocks of the script's sizes, never moved to suit the script: an action takes effect at
//! the first block that starts at or after its sample, as in a DAW, and the [`Recording`] says
//! where that was. Every block carries the transport (when the script has one), as CLAP's
//! `process.transport`.
//!
//! Before the block that holds a bar line listed in [`Script::ready_by`], the audio thread waits
//! until the plugin's threads are quiet (see [`crate::quiet`]), so that a composed measure is
//! ready at its bar line however slow the machine is; a script without such bar lines renders as
//! fast as the CPU allows, and shows what the plugin does when it is not ready.

use std::time::Duration;

use clack_extensions::audio_ports::{AudioPortInfoBuffer, PluginAudioPorts};
use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::io::EventBuffer;
use clack_host::events::spaces::CoreEventSpace;
use clack_host::events::{EventFlags, Match};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::clap_host::TestHost;
use crate::notes::NoteEvent;
use crate::quiet;

/// How the timeline is cut into blocks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BlockSizes {
    /// Every block this long.
    Fixed(u32),
    /// Sizes drawn uniformly from `1..=max`, from a generator seeded with `seed`.
    Random { seed: u64, max: u32 },
}

impl BlockSizes {
    /// The largest block this can make: what the plugin is activated with.
    pub fn max(&self) -> u32 {
        match *self {
            BlockSizes::Fixed(size) => size,
            BlockSizes::Random { max, .. } => max,
        }
    }

    /// The blocks of a session of `length_samples` samples, in order. The same sizes every
    /// time, so that a script can know in advance where its actions will take effect.
    pub fn cut(&self, length_samples: u64) -> Vec<Block> {
        let mut sizes = Pcg64::seed_from_u64(match *self {
            BlockSizes::Random { seed, .. } => seed,
            BlockSizes::Fixed(_) => 0,
        });
        let mut blocks = Vec::new();
        let mut start = 0;
        while start < length_samples {
            let len = match *self {
                BlockSizes::Fixed(size) => size,
                BlockSizes::Random { max, .. } => sizes.random_range(1..=max),
            }
            .min((length_samples - start) as u32);
            blocks.push(Block {
                start_sample: start,
                len_samples: len,
            });
            start += len as u64;
        }
        blocks
    }

    /// Where an action due at `sample` takes effect: the first block start at or after it.
    pub fn effect_sample(&self, sample: u64, length_samples: u64) -> u64 {
        self.cut(length_samples)
            .iter()
            .map(|block| block.start_sample)
            .find(|&start| start >= sample)
            .unwrap_or(length_samples)
    }
}

/// The transport as the host reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transport {
    pub playing: bool,
    pub tempo_bpm: f64,
    /// Song position of the block's first sample, in quarter notes. Bars are 4/4 from 0.
    pub pos_beats: f64,
}

/// Something the host does at a sample position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    /// The transport starts rolling.
    Play,
    /// The transport stops where it is.
    Stop,
    /// The tempo changes.
    Tempo(f64),
    /// The playhead moves (a loop wrapping back, a locate).
    JumpToBeats(f64),
    /// A parameter changes (CLAP parameter ID, CLAP value), sent as an event at the block start.
    Param { id: u32, value: f64 },
}

/// A key the player presses or releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlayerNote {
    pub sample: u64,
    pub on: bool,
    /// MIDI channel index 0-15.
    pub channel: u8,
    pub pitch: u8,
    /// MIDI velocity 1-127 (for note-ons).
    pub velocity: u8,
}

/// Everything that happens in one session.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    pub sample_rate_hz: f64,
    pub blocks: BlockSizes,
    /// The transport at sample 0, or `None` for a host that has none.
    pub transport: Option<Transport>,
    /// Host actions, by sample position.
    pub actions: Vec<(u64, Action)>,
    /// The player's notes, in time order.
    pub notes: Vec<PlayerNote>,
    /// Samples (bar lines) by which the plugin's composer must have finished its work.
    pub ready_by: Vec<u64>,
    /// The longest wait for the composer before a bar line.
    pub ready_wait_limit: Duration,
    /// The session's length.
    pub length_samples: u64,
}

impl Script {
    /// An empty session of `length_samples` samples.
    pub fn new(sample_rate_hz: f64, blocks: BlockSizes, length_samples: u64) -> Script {
        Script {
            sample_rate_hz,
            blocks,
            transport: None,
            actions: Vec::new(),
            notes: Vec::new(),
            ready_by: Vec::new(),
            ready_wait_limit: Duration::from_secs(30),
            length_samples,
        }
    }
}

/// One block the host processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub start_sample: u64,
    pub len_samples: u32,
}

/// What happened in a session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recording {
    /// Every note event the plugin sent, in order.
    pub events: Vec<NoteEvent>,
    /// Every block, in order.
    pub blocks: Vec<Block>,
    /// For each of the script's actions (same order), the sample at which it took effect.
    pub actions_at: Vec<u64>,
    /// How long the host waited for the composer before each bar line of `ready_by`.
    pub waits: Vec<(u64, Duration)>,
    /// Blocks whose `process()` returned an error.
    pub failed_blocks: u32,
    /// Peak absolute sample value of the output, per block.
    pub block_peaks: Vec<f32>,
}

impl Recording {
    /// The block that starts at `sample`, if one does.
    pub fn block_starting_at(&self, sample: u64) -> Option<Block> {
        self.blocks
            .iter()
            .find(|block| block.start_sample == sample)
            .copied()
    }
}

/// The channel counts of the plugin's audio ports, inputs and outputs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AudioLayout {
    pub inputs: Vec<u32>,
    pub outputs: Vec<u32>,
}

impl AudioLayout {
    /// Reads the plugin's audio ports. A plugin without the extension gets a stereo output,
    /// the least a CLAP host gives an instrument.
    pub fn of(instance: &mut PluginInstance<TestHost>) -> AudioLayout {
        let handle = instance.plugin_handle();
        let Some(ports) = handle.get_extension::<PluginAudioPorts>() else {
            return AudioLayout {
                inputs: Vec::new(),
                outputs: vec![2],
            };
        };
        let channels = |is_input: bool| -> Vec<u32> {
            (0..ports.count(&handle, is_input))
                .map(|index| {
                    let mut buffer = AudioPortInfoBuffer::new();
                    ports
                        .get(&handle, index, is_input, &mut buffer)
                        .map_or(2, |info| info.channel_count)
                })
                .collect()
        };
        AudioLayout {
            inputs: channels(true),
            outputs: channels(false),
        }
    }
}

/// The audio thread's storage, all sized before the first block.
struct AudioStorage {
    /// Per port, per channel, `max` samples.
    inputs: Vec<Vec<Vec<f32>>>,
    outputs: Vec<Vec<Vec<f32>>>,
    input_ports: AudioPorts,
    output_ports: AudioPorts,
    in_events: EventBuffer,
    out_events: EventBuffer,
}

impl AudioStorage {
    fn new(layout: &AudioLayout, max_block: u32) -> AudioStorage {
        let buffers = |ports: &[u32]| -> Vec<Vec<Vec<f32>>> {
            ports
                .iter()
                .map(|&channels| vec![vec![0.0; max_block as usize]; channels as usize])
                .collect()
        };
        // Sized up front: clack-host 0.2 mis-points the buffers of the second port when its
        // pointer list has to grow while being filled.
        let channel_total = |ports: &[u32]| ports.iter().sum::<u32>() as usize;
        AudioStorage {
            inputs: buffers(&layout.inputs),
            outputs: buffers(&layout.outputs),
            input_ports: AudioPorts::with_capacity(
                channel_total(&layout.inputs),
                layout.inputs.len(),
            ),
            output_ports: AudioPorts::with_capacity(
                channel_total(&layout.outputs),
                layout.outputs.len(),
            ),
            in_events: EventBuffer::with_capacity(1024),
            out_events: EventBuffer::with_capacity(8192),
        }
    }
}

/// The CLAP transport event for a block.
fn transport_event(transport: &Transport, seconds: f64) -> TransportEvent {
    let mut flags = TransportFlags::HAS_TEMPO
        | TransportFlags::HAS_BEATS_TIMELINE
        | TransportFlags::HAS_SECONDS_TIMELINE
        | TransportFlags::HAS_TIME_SIGNATURE;
    if transport.playing {
        flags |= TransportFlags::IS_PLAYING;
    }
    let bar_number = (transport.pos_beats / 4.0).floor();
    TransportEvent {
        header: EventHeader::new_core(0, EventFlags::empty()),
        flags,
        song_pos_beats: BeatTime::from_float(transport.pos_beats),
        song_pos_seconds: SecondsTime::from_float(seconds),
        tempo: transport.tempo_bpm,
        tempo_inc: 0.0,
        loop_start_beats: BeatTime::from_int(0),
        loop_end_beats: BeatTime::from_int(0),
        loop_start_seconds: SecondsTime::from_int(0),
        loop_end_seconds: SecondsTime::from_int(0),
        bar_start: BeatTime::from_float(bar_number * 4.0),
        bar_number: bar_number as i32,
        time_signature_numerator: 4,
        time_signature_denominator: 4,
    }
}

/// Plays `script` on the calling thread (the session's audio thread) and hands the processor
/// back stopped. `main_thread` is the id of the thread servicing the plugin's main-thread
/// requests, left out of the quiet check with this one.
pub fn run(
    processor: StoppedPluginAudioProcessor<TestHost>,
    script: &Script,
    layout: &AudioLayout,
    main_thread: u32,
) -> (StoppedPluginAudioProcessor<TestHost>, Recording) {
    let mut started = processor
        .start_processing()
        .unwrap_or_else(|error| panic!("starting to process: {error}"));
    let quiet_exclusions = [main_thread, quiet::current_thread_id()];
    let mut storage = AudioStorage::new(layout, script.blocks.max());
    let mut recording = Recording {
        actions_at: vec![u64::MAX; script.actions.len()],
        ..Recording::default()
    };
    let mut transport = script.transport;
    let mut seconds = 0.0;
    let mut next_note = 0;
    let mut next_ready = 0;
    for block in script.blocks.cut(script.length_samples) {
        let (start, len) = (block.start_sample, block.len_samples);
        let end = start + len as u64;

        // Wait for the composer before a block that reaches a bar line it must be ready for.
        while next_ready < script.ready_by.len() && script.ready_by[next_ready] < end {
            if script.ready_by[next_ready] >= start {
                let waited = quiet::wait_until_quiet(&quiet_exclusions, script.ready_wait_limit);
                recording.waits.push((script.ready_by[next_ready], waited));
            }
            next_ready += 1;
        }

        // The host's actions due by this block start, then the player's notes inside it.
        storage.in_events.clear();
        for (index, &(at, action)) in script.actions.iter().enumerate() {
            if at <= start && recording.actions_at[index] == u64::MAX {
                recording.actions_at[index] = start;
                apply(action, &mut transport, &mut storage.in_events);
            }
        }
        while next_note < script.notes.len() && script.notes[next_note].sample < end {
            push_note(&script.notes[next_note], start, &mut storage.in_events);
            next_note += 1;
        }

        let transport_now = transport.map(|transport| transport_event(&transport, seconds));
        process_block(
            &mut started,
            &mut storage,
            len,
            transport_now.as_ref(),
            &mut recording,
        );
        collect_notes(&storage.out_events, start, &mut recording.events);
        recording.block_peaks.push(peak(&storage.outputs, len));
        recording.blocks.push(block);

        if let Some(transport) = transport.as_mut().filter(|transport| transport.playing) {
            transport.pos_beats += len as f64 * transport.tempo_bpm / 60.0 / script.sample_rate_hz;
        }
        seconds += len as f64 / script.sample_rate_hz;
    }
    (started.stop_processing(), recording)
}

/// A host action: a change of the transport, or a parameter event at the block start.
fn apply(action: Action, transport: &mut Option<Transport>, events: &mut EventBuffer) {
    let transport = transport.as_mut();
    match (action, transport) {
        (Action::Play, Some(transport)) => transport.playing = true,
        (Action::Stop, Some(transport)) => transport.playing = false,
        (Action::Tempo(bpm), Some(transport)) => transport.tempo_bpm = bpm,
        (Action::JumpToBeats(beats), Some(transport)) => transport.pos_beats = beats,
        (Action::Param { id, value }, _) => {
            let id = ClapId::new(id);
            events.push(&ParamValueEvent::new(0, id, Pckn::match_all(), value));
        }
        (action, None) => panic!("{action:?} needs a transport, and the script has none"),
    }
}

/// A player's note as a CLAP note event in the block starting at `block_start`.
fn push_note(note: &PlayerNote, block_start: u64, events: &mut EventBuffer) {
    let time = (note.sample - block_start) as u32;
    let pckn = Pckn::new(0u16, note.channel as u16, note.pitch as u16, Match::All);
    let velocity = note.velocity as f64 / 127.0;
    if note.on {
        events.push(&NoteOnEvent::new(time, pckn, velocity));
    } else {
        events.push(&NoteOffEvent::new(time, pckn, 0.0));
    }
}

/// One `process()` call with the block's buffers and events.
fn process_block(
    processor: &mut StartedPluginAudioProcessor<TestHost>,
    storage: &mut AudioStorage,
    len: u32,
    transport: Option<&TransportEvent>,
    recording: &mut Recording,
) {
    let len = len as usize;
    let inputs = storage
        .input_ports
        .with_input_buffers(storage.inputs.iter_mut().map(|port| {
            AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    port.iter_mut()
                        .map(|channel| InputChannel::constant(&mut channel[..len])),
                ),
            }
        }));
    let mut outputs = storage
        .output_ports
        .with_output_buffers(storage.outputs.iter_mut().map(|port| AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                port.iter_mut().map(|channel| &mut channel[..len]),
            ),
        }));
    storage.out_events.clear();
    let result = processor.process(
        &inputs,
        &mut outputs,
        &storage.in_events.as_input(),
        &mut storage.out_events.as_output(),
        None,
        transport,
    );
    if result.is_err() {
        recording.failed_blocks += 1;
    }
}

/// The plugin's note events of a block, at absolute sample positions.
fn collect_notes(out_events: &EventBuffer, block_start: u64, into: &mut Vec<NoteEvent>) {
    for event in out_events.iter() {
        let sample = block_start + event.header().time() as u64;
        let note = |on: bool, channel: Match<u16>, key: Match<u16>, velocity: f64| NoteEvent {
            sample,
            on,
            channel: match channel {
                Match::Specific(channel) => channel as u8,
                Match::All => 0,
            },
            pitch: match key {
                Match::Specific(key) => key as u8,
                Match::All => 255,
            },
            velocity: (velocity * 127.0).round() as u8,
        };
        match event.as_core_event() {
            Some(CoreEventSpace::NoteOn(on)) => {
                into.push(note(true, on.channel(), on.key(), on.velocity()))
            }
            Some(CoreEventSpace::NoteOff(off)) => {
                into.push(note(false, off.channel(), off.key(), 0.0))
            }
            Some(CoreEventSpace::Midi(midi)) => {
                if let Some(event) = midi_note(midi, sample) {
                    into.push(event);
                }
            }
            _ => {}
        }
    }
}

/// A MIDI 1.0 note-on or note-off (a note-on of velocity 0 is a note-off).
fn midi_note(midi: &MidiEvent, sample: u64) -> Option<NoteEvent> {
    let [status, pitch, velocity] = midi.data();
    let on = match status & 0xF0 {
        0x90 if velocity > 0 => true,
        0x80 | 0x90 => false,
        _ => return None,
    };
    Some(NoteEvent {
        sample,
        on,
        channel: status & 0x0F,
        pitch,
        velocity: if on { velocity } else { 0 },
    })
}

fn peak(outputs: &[Vec<Vec<f32>>], len: u32) -> f32 {
    outputs
        .iter()
        .flatten()
        .flat_map(|channel| channel[..len as usize].iter())
        .fold(0.0f32, |peak, sample| peak.max(sample.abs()))
}

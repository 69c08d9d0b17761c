//! The preview voice: a small polyphonic synth that plays what the plugin sends out, so that
//! Continuo can be heard without an instrument after it (the standalone program, a quick try in
//! a host). Sixteen voices of a soft sine-and-triangle tone with a short attack and release;
//! the oldest voice is taken when all are busy. Nothing here allocates.

use std::f32::consts::TAU;

use crate::scheduler::{NoteKind, OutputEvent};

/// Voices sounding at once at most.
pub const VOICES: usize = 16;
const ATTACK_SECONDS: f32 = 0.005;
const RELEASE_SECONDS: f32 = 0.12;
/// Peak level of a note at full velocity: sixteen of them stay below clipping.
const PEAK_LEVEL: f32 = 0.06;
/// Below this the release is over.
const SILENT_LEVEL: f32 = 1e-4;

#[derive(Clone, Copy, Debug, Default)]
struct Voice {
    active: bool,
    releasing: bool,
    channel: u8,
    pitch: u8,
    /// Phase in cycles, 0..1.
    phase: f32,
    /// Cycles per sample.
    increment: f32,
    /// Level the envelope rises to.
    peak: f32,
    /// Current envelope level.
    level: f32,
    /// Order of starting, to find the oldest voice.
    started: u64,
}

/// The synth. See the module docs.
#[derive(Clone, Debug)]
pub struct PreviewVoice {
    voices: [Voice; VOICES],
    sample_rate_hz: f32,
    /// Level added per sample during the attack, as a fraction of the peak.
    attack_step: f32,
    /// Factor the level is multiplied by per sample during the release.
    release_factor: f32,
    notes_started: u64,
}

impl PreviewVoice {
    pub fn new(sample_rate_hz: f32) -> Self {
        let sample_rate_hz = sample_rate_hz.max(1.0);
        PreviewVoice {
            voices: [Voice::default(); VOICES],
            sample_rate_hz,
            attack_step: 1.0 / (ATTACK_SECONDS * sample_rate_hz),
            // The level falls by 60 dB over the release time.
            release_factor: (1e-3f32).powf(1.0 / (RELEASE_SECONDS * sample_rate_hz)),
            notes_started: 0,
        }
    }

    /// Stops every voice at once (the preview was switched off).
    pub fn silence(&mut self) {
        self.voices = [Voice::default(); VOICES];
    }

    /// Voices still sounding, releases included.
    pub fn sounding(&self) -> usize {
        self.voices.iter().filter(|voice| voice.active).count()
    }

    /// Renders one block into every output channel, playing `events` at their offsets.
    pub fn render(&mut self, events: &[OutputEvent], channels: &mut [&mut [f32]]) {
        let len = channels.first().map_or(0, |channel| channel.len());
        let mut next = 0;
        for sample in 0..len {
            while let Some(event) = events.get(next) {
                if event.offset_samples as usize > sample {
                    break;
                }
                self.play(event);
                next += 1;
            }
            let value = self.next_sample();
            for channel in channels.iter_mut() {
                channel[sample] = value;
            }
        }
        // Events at or past the block end (there should be none) still take effect.
        for event in &events[next.min(events.len())..] {
            self.play(event);
        }
    }

    fn play(&mut self, event: &OutputEvent) {
        match event.kind {
            NoteKind::On => self.note_on(event.channel, event.pitch, event.velocity),
            NoteKind::Off => self.note_off(event.channel, event.pitch),
        }
    }

    fn note_on(&mut self, channel: u8, pitch: u8, velocity: u8) {
        let slot = self
            .voices
            .iter()
            .position(|voice| !voice.active)
            .unwrap_or_else(|| self.oldest_voice());
        let frequency_hz = 440.0 * 2f32.powf((pitch as f32 - 69.0) / 12.0);
        self.notes_started += 1;
        self.voices[slot] = Voice {
            active: true,
            releasing: false,
            channel,
            pitch,
            phase: 0.0,
            increment: frequency_hz / self.sample_rate_hz,
            peak: PEAK_LEVEL * velocity.min(127) as f32 / 127.0,
            level: 0.0,
            started: self.notes_started,
        };
    }

    fn note_off(&mut self, channel: u8, pitch: u8) {
        for voice in &mut self.voices {
            if voice.active && !voice.releasing && voice.channel == channel && voice.pitch == pitch
            {
                voice.releasing = true;
            }
        }
    }

    fn oldest_voice(&self) -> usize {
        (0..VOICES)
            .min_by_key(|&index| self.voices[index].started)
            .unwrap_or(0)
    }

    fn next_sample(&mut self) -> f32 {
        let mut sum = 0.0;
        for voice in &mut self.voices {
            if !voice.active {
                continue;
            }
            if voice.releasing {
                voice.level *= self.release_factor;
                if voice.level < SILENT_LEVEL * voice.peak.max(SILENT_LEVEL) {
                    voice.active = false;
                    continue;
                }
            } else if voice.level < voice.peak {
                voice.level = (voice.level + self.attack_step * voice.peak).min(voice.peak);
            }
            // A sine with a little triangle: soft, but audible on small speakers.
            let sine = (voice.phase * TAU).sin();
            let triangle = 1.0 - 4.0 * (voice.phase - 0.5).abs();
            sum += voice.level * (0.75 * sine + 0.25 * triangle);
            voice.phase += voice.increment;
            voice.phase -= voice.phase.floor();
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(offset_samples: u32, kind: NoteKind, pitch: u8) -> OutputEvent {
        OutputEvent {
            offset_samples,
            kind,
            channel: 0,
            pitch,
            velocity: 127,
        }
    }

    #[test]
    fn a_note_sounds_from_its_offset_and_dies_after_its_release() {
        let mut synth = PreviewVoice::new(48_000.0);
        let mut left = vec![0.0f32; 4800];
        let mut right = vec![0.0f32; 4800];
        let events = [
            event(100, NoteKind::On, 69),
            event(2_500, NoteKind::Off, 69),
        ];
        synth.render(&events, &mut [&mut left, &mut right]);
        assert!(left[..100].iter().all(|&x| x == 0.0));
        assert!(left[100..400].iter().any(|&x| x.abs() > 0.01));
        assert_eq!(left, right);
        // 0.12 s of release is 5,760 samples; render past it.
        let mut tail = vec![0.0f32; 8000];
        synth.render(&[], &mut [&mut tail]);
        assert_eq!(synth.sounding(), 0);
        assert!(tail[7000..].iter().all(|&x| x == 0.0));
        assert!(left.iter().chain(&tail).all(|x| x.abs() <= PEAK_LEVEL));
    }

    #[test]
    fn the_seventeenth_note_takes_the_oldest_voice() {
        let mut synth = PreviewVoice::new(48_000.0);
        let events: Vec<OutputEvent> = (0..17)
            .map(|i| event(i, NoteKind::On, 40 + i as u8))
            .collect();
        let mut out = vec![0.0f32; 64];
        synth.render(&events, &mut [&mut out]);
        assert_eq!(synth.sounding(), VOICES);
        assert!(!synth.voices.iter().any(|voice| voice.pitch == 40));
        assert!(synth.voices.iter().any(|voice| voice.pitch == 56));
    }
}

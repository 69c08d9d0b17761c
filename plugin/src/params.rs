//! The host-automatable parameters and the persisted fields of the plugin's state.
//!
//! Parameter ids are part of saved projects and automation: never rename one.

use std::sync::{Arc, RwLock};

use nice_plug::prelude::*;

use crate::engine::{Mode, Settings, VelocityChoice};
use crate::messages::DensityChoice;
use crate::phrase::Phrase;

/// The paper's grid holds 72 x 96 = 6,912 cells a measure.
const CELLS_PER_MEASURE: i32 = 6_912;
/// A Bach measure holds a median of 264 on-steps.
const BACH_MEDIAN_ONES: i32 = 264;

/// The `mode` parameter.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeParam {
    #[id = "answer"]
    #[name = "Answer"]
    Answer,
    #[id = "follow"]
    #[name = "Follow"]
    Follow,
    #[id = "compose"]
    #[name = "Compose"]
    Compose,
}

/// The `density` parameter: how many ones a composed measure holds.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DensityParam {
    /// The model's lowest-energy image along a run.
    #[id = "auto"]
    #[name = "Auto"]
    Auto,
    /// As many ones as the measure being continued.
    #[id = "match"]
    #[name = "Match the player"]
    Match,
    /// The `ones` parameter.
    #[id = "fixed"]
    #[name = "Fixed"]
    Fixed,
}

/// The `velocity mode` parameter.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VelocityParam {
    #[id = "fixed"]
    #[name = "Fixed"]
    Fixed,
    #[id = "players-mean"]
    #[name = "Player's mean"]
    PlayersMean,
}

/// Everything the host saves with a project.
#[derive(Params)]
pub struct ContinuoParams {
    #[id = "mode"]
    pub mode: EnumParam<ModeParam>,
    #[id = "density"]
    pub density: EnumParam<DensityParam>,
    /// Ones per measure when `density` is Fixed.
    #[id = "ones"]
    pub ones: IntParam,
    /// Measures in an answer; in Follow, measures the plugin goes on after the player stops.
    #[id = "length"]
    pub length: IntParam,
    /// 0 draws a new seed for every phrase.
    #[id = "seed"]
    pub seed: IntParam,
    #[id = "velocity-mode"]
    pub velocity_mode: EnumParam<VelocityParam>,
    /// The velocity of the plugin's notes when Fixed, and when the player struck nothing yet.
    #[id = "velocity"]
    pub velocity: IntParam,
    /// MIDI channel 1-16 of the plugin's notes.
    #[id = "channel"]
    pub channel: IntParam,
    /// Forwards the player's notes unchanged: hosts swallow a MIDI plugin's input.
    #[id = "pass-through"]
    pub pass_through: BoolParam,
    /// The built-in synth that makes the output audible without an instrument after the plugin.
    #[id = "preview"]
    pub preview: BoolParam,
    /// Follow mode takes each measure this many steps (1/24 quarter) before its end.
    #[id = "follow-margin"]
    pub follow_margin: IntParam,
    /// The free clock's tempo when the host gives none.
    #[id = "tempo"]
    pub fallback_tempo: FloatParam,
    #[id = "bypass"]
    pub bypass: BoolParam,

    /// The weight file loaded with "Load model...", or `None` for the built-in model. If the
    /// file is gone when the project reopens, the built-in model plays and the editor says so.
    #[persist = "model-path"]
    pub model_path: Arc<RwLock<Option<String>>>,
    /// The last phrase (call and answer), shown and exportable after reopening the project.
    #[persist = "last-phrase"]
    pub phrase: Arc<RwLock<Phrase>>,
}

impl Default for ContinuoParams {
    fn default() -> Self {
        ContinuoParams {
            mode: EnumParam::new("Mode", ModeParam::Answer),
            density: EnumParam::new("Density", DensityParam::Auto),
            ones: IntParam::new(
                "Ones per measure",
                BACH_MEDIAN_ONES,
                IntRange::Linear {
                    min: 1,
                    max: CELLS_PER_MEASURE,
                },
            ),
            length: IntParam::new("Length", 4, IntRange::Linear { min: 1, max: 16 })
                .with_unit(" measures"),
            seed: IntParam::new(
                "Seed",
                0,
                IntRange::Linear {
                    min: 0,
                    max: 99_999,
                },
            )
            .with_value_to_string(Arc::new(|seed| match seed {
                0 => String::from("new each time"),
                seed => seed.to_string(),
            })),
            velocity_mode: EnumParam::new("Velocity mode", VelocityParam::Fixed),
            velocity: IntParam::new("Velocity", 90, IntRange::Linear { min: 1, max: 127 }),
            channel: IntParam::new("Output channel", 1, IntRange::Linear { min: 1, max: 16 }),
            pass_through: BoolParam::new("Pass-through", true),
            preview: BoolParam::new("Preview voice", false),
            follow_margin: IntParam::new("Follow margin", 6, IntRange::Linear { min: 1, max: 48 })
                .with_value_to_string(Arc::new(|steps| match steps {
                    6 => String::from("6 steps (1/16)"),
                    12 => String::from("12 steps (1/8)"),
                    24 => String::from("24 steps (1/4)"),
                    steps => format!("{steps} steps"),
                })),
            fallback_tempo: FloatParam::new(
                "Tempo without host",
                120.0,
                FloatRange::Linear {
                    min: 30.0,
                    max: 300.0,
                },
            )
            .with_step_size(0.1)
            .with_unit(" bpm"),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            model_path: Arc::new(RwLock::new(None)),
            phrase: Arc::new(RwLock::new(Phrase::default())),
        }
    }
}

impl ContinuoParams {
    /// The values one block runs with. Reads atomics only: safe on the audio thread.
    pub fn settings(&self) -> Settings {
        let velocity = self.velocity.value().clamp(1, 127) as u8;
        Settings {
            mode: match self.mode.value() {
                ModeParam::Answer => Mode::Answer,
                ModeParam::Follow => Mode::Follow,
                ModeParam::Compose => Mode::Compose,
            },
            density: match self.density.value() {
                DensityParam::Auto => DensityChoice::Auto,
                DensityParam::Match => DensityChoice::Match,
                DensityParam::Fixed => {
                    DensityChoice::Ones(self.ones.value().clamp(1, CELLS_PER_MEASURE) as u16)
                }
            },
            length_measures: self.length.value().clamp(1, 16) as u32,
            seed: self.seed.value().max(0) as u64,
            velocity: match self.velocity_mode.value() {
                VelocityParam::Fixed => VelocityChoice::Fixed(velocity),
                VelocityParam::PlayersMean => VelocityChoice::PlayersMean { fallback: velocity },
            },
            channel: (self.channel.value().clamp(1, 16) - 1) as u8,
            pass_through: self.pass_through.value(),
            follow_margin_steps: self.follow_margin.value().clamp(1, 48) as u32,
            fallback_tempo_bpm: self.fallback_tempo.value().clamp(30.0, 300.0) as f64,
            bypass: self.bypass.value(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let settings = ContinuoParams::default().settings();
        assert_eq!(settings.mode, Mode::Answer);
        assert_eq!(settings.density, DensityChoice::Auto);
        assert_eq!(settings.length_measures, 4);
        assert_eq!(settings.seed, 0);
        assert_eq!(settings.channel, 0);
        assert!(settings.pass_through);
        assert_eq!(settings.follow_margin_steps, 6);
        assert_eq!(settings.fallback_tempo_bpm, 120.0);
        assert!(!settings.bypass);
        assert!(!ContinuoParams::default().preview.value());
    }

    #[test]
    fn persisted_fields_survive_a_round_trip() {
        let params = ContinuoParams::default();
        *params.model_path.write().unwrap() = Some(String::from("/tmp/bach.safetensors"));
        params.phrase.write().unwrap().tempo_bpm = 93.0;
        let saved = params.serialize_fields();

        let restored = ContinuoParams::default();
        restored.deserialize_fields(&saved);
        assert_eq!(
            restored.model_path.read().unwrap().as_deref(),
            Some("/tmp/bach.safetensors")
        );
        assert_eq!(restored.phrase.read().unwrap().tempo_bpm, 93.0);
    }
}

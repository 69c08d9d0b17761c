//! The musical core of Continuo: piano rolls, MIDI in and out, the restricted Boltzmann machine
//! and the two composing algorithms of Kobayashi & Watanabe, "Learning and composing of classical
//! music using restricted Boltzmann machines".
//!
//! Nothing here touches audio or a GPU, so the trainer, the plugin and the tests share it.

pub mod bundled;
pub mod compose;
pub mod dataset;
pub mod direct;
pub mod engine;
pub mod error;
pub mod files;
pub mod geometry;
pub mod midi_in;
pub mod midi_out;
pub mod piano_roll;
pub mod pickup;
pub mod quantised;
pub mod rbm;
pub mod selection;
pub mod weights;

pub use error::ModelError;
pub use geometry::{Geometry, Grid};
pub use piano_roll::{Note, PianoRoll};
pub use rbm::Rbm;

//! End-to-end tests of the built Continuo plugin, driven the way a DAW drives it.
//!
//! The plugin is tested as shipped: the bundles that `cargo xtask bundle` writes to
//! `target/bundled/` are loaded by real plugin hosts. This crate is the CLAP side: a host built
//! on `clack-host` that loads `Continuo.clap`, sets its parameters, plays it the first measure
//! of a Bach piece with a running (or stopped, or absent) transport, and records every note it
//! sends back with its absolute sample position. The tests in `tests/` then check those notes
//! against positions worked out by hand from the tempo and the sample rate.
//!
//! The VST3 side (Spotify's `pedalboard` rendering `Continuo.vst3`) and the standalone program
//! are driven by `scripts/e2e.sh`.
//!
//! - [`bundle`]: where the bundles are, and building them with the real-time-safety checks on.
//! - [`clap_host`]: loading the plugin, its parameters and its state.
//! - [`session`]: an audio thread that plays a [`session::Script`] block by block.
//! - [`music`]: the player's call, read from the corpus, and the musical clock of a script.
//! - [`notes`]: pairing note-ons with note-offs and checking them against the clock.
//! - [`scenario`]: a call and its answer laid out as a script, with the answer's bar lines.
//! - [`quiet`]: waiting until the plugin's composer thread has finished its work.
//! - [`record`]: the plugin's own record of the last phrase, from its saved state.

pub mod bundle;
pub mod clap_host;
pub mod music;
pub mod notes;
pub mod quiet;
pub mod record;
pub mod scenario;
pub mod session;

//! Continuo as a plugin (being written).

pub mod capture;
pub mod cells;
pub mod clock;
pub mod engine;
pub mod messages;
mod modes;
pub mod scheduler;

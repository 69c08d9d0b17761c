//! Placeholder until its issue starts.

//! Placeholder until its issue starts.
fn main() {}

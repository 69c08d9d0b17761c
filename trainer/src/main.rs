//! `continuo`: the offline command line of Continuo.

mod analysis;
mod bench;
mod checkpoint;
mod compose;
mod counter_rng;
mod cpu;
mod dataset;
mod dense_reference;
mod gpu;
mod metrics;
mod models;
mod outputs;
mod render;
mod sparse_images;
mod train;
mod train_bench;
mod unit_major;

use clap::{Parser, Subcommand};

/// Learn Bach from MIDI files and compose with a restricted Boltzmann machine.
#[derive(Parser)]
#[command(name = "continuo", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Cut a MIDI corpus into two-measure training images.
    Dataset(dataset::DatasetArgs),
    /// Draw piano rolls (a dataset's images or a MIDI file) as PNG.
    Render(render::RenderArgs),
    /// Train an RBM on a dataset by contrastive divergence.
    Train(train::TrainArgs),
    /// Compose a piece from silence (Algorithm 1, then Algorithm 2 measure by measure).
    Compose(compose::ComposeArgs),
    /// Continue a MIDI phrase measure by measure (Algorithm 2).
    Continue(compose::ContinueArgs),
    /// Feed images to the visible units and compare them with their reconstructions.
    Reconstruct(analysis::reconstruct::ReconstructArgs),
    /// The energy and free energy of music, digits and noise (the paper's Table I).
    Energy(analysis::energy::EnergyArgs),
    /// Algorithm 1's image and energy along its steps (the paper's Fig. 6 and 7).
    Dynamics(analysis::dynamics::DynamicsArgs),
    /// How far transposing moves the hidden activations, with t-SNE plots (Fig. 9).
    Transposition(analysis::transposition::TranspositionArgs),
    /// The held-out log-likelihood by annealed importance sampling.
    Ais(analysis::ais::AisArgs),
    /// Measure speed against a direct implementation in the same run.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match Cli::parse().command {
        Command::Dataset(args) => dataset::run(args),
        Command::Render(args) => render::run(args),
        Command::Train(args) => train::run(args),
        Command::Compose(args) => compose::run_compose(args),
        Command::Continue(args) => compose::run_continue(args),
        Command::Reconstruct(args) => analysis::reconstruct::run(args),
        Command::Energy(args) => analysis::energy::run(args),
        Command::Dynamics(args) => analysis::dynamics::run(args),
        Command::Transposition(args) => analysis::transposition::run(args),
        Command::Ais(args) => analysis::ais::run(args),
        Command::Bench(command) => bench::run(command),
    }
}

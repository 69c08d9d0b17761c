//! `continuo bench`: speed measured against a direct implementation in the same run, because
//! absolute times drift from run to run on shared machines.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// One CD epoch: the sparse CPU trainer against a dense implementation of the same step.
    Train(crate::train::BenchTrainArgs),
    /// One continuation (Algorithm 2): the fast engine against the direct dense steps.
    Compose(crate::compose::BenchComposeArgs),
    /// One CD epoch on MNIST for each of several hidden sizes (the paper's Fig. A.1).
    Mnist(crate::analysis::mnist_timing::BenchMnistArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Train(args) => crate::train::bench(args),
        BenchCommand::Compose(args) => crate::compose::bench(args),
        BenchCommand::Mnist(args) => crate::analysis::mnist_timing::run(args),
    }
}

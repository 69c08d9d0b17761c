//! `continuo bench`: speed measured against a direct implementation in the same run, because
//! absolute times drift from run to run on shared machines.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// One CD epoch: the sparse CPU trainer against a dense implementation of the same step.
    Train(crate::train::BenchTrainArgs),
    /// One continuation (Algorithm 2): the fast engine against the direct dense steps.
    Compose(crate::compose::BenchComposeArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Train(args) => crate::train::bench(args),
        BenchCommand::Compose(args) => crate::compose::bench(args),
    }
}

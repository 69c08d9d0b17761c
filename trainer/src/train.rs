//! (being written)
#[derive(clap::Args)]
pub struct TrainArgs {}
#[derive(clap::Args)]
pub struct BenchTrainArgs {}
pub fn run(_args: TrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("being written")
}
pub fn bench(_args: BenchTrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("being written")
}

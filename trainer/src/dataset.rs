//! (being written)
#[derive(clap::Args)]
pub struct DatasetArgs {}
pub fn run(_args: DatasetArgs) -> anyhow::Result<()> {
    anyhow::bail!("being written")
}

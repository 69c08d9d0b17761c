//! (being written)
#[derive(clap::Args)]
pub struct ComposeArgs {}
#[derive(clap::Args)]
pub struct ContinueArgs {}
#[derive(clap::Args)]
pub struct BenchComposeArgs {}
pub fn run_compose(_args: ComposeArgs) -> anyhow::Result<()> {
    anyhow::bail!("being written")
}
pub fn run_continue(_args: ContinueArgs) -> anyhow::Result<()> {
    anyhow::bail!("being written")
}
pub fn bench(_args: BenchComposeArgs) -> anyhow::Result<()> {
    anyhow::bail!("being written")
}

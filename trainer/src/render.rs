//! (being written)
#[derive(clap::Args)]
pub struct RenderArgs {}
pub fn run(_args: RenderArgs) -> anyhow::Result<()> {
    anyhow::bail!("being written")
}

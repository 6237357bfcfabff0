//! Placeholder for subcommands that do not exist yet: it says so and fails.

/// Accepts and ignores any arguments.
#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

/// Fails with a clear "not yet implemented" message.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("this subcommand is not yet implemented")
}

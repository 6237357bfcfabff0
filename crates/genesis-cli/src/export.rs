//! `genesis export`: write `.bpk` (or any readable) weights as PyTorch-named safetensors.

use std::path::PathBuf;

use crate::import::{ArchArgs, convert};

/// Arguments of `genesis export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Weights to read (`.bpk`, `.pt`/`.pth` or `.safetensors`).
    pub input: PathBuf,
    #[command(flatten)]
    pub model: ArchArgs,
    /// Output file: `.safetensors` (PyTorch names, loadable with `load_state_dict`) or `.bpk`.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `genesis export`.
pub fn run(args: Args) -> anyhow::Result<()> {
    convert(&args.input, &args.model, &args.out, false)
}

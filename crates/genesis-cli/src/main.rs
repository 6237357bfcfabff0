//! `genesis`: self-supervised pretraining for medical images (Semantic Genesis and Models
//! Genesis) from the command line.

use clap::{Parser, Subcommand};

mod not_yet;

/// Self-supervised pretraining for medical images: Semantic Genesis and Models Genesis.
///
/// Typical flow: look at the transforms on an image (`transform`), find recurring anatomy
/// (`discover`), pretrain a network (`pretrain`), then fine-tune it on a few labels
/// (`finetune`). Every command runs on built-in synthetic phantoms when no data is given.
#[derive(Parser)]
#[command(name = "genesis", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply the four transforms and both pipelines to an image or volume; write a PNG grid.
    Transform(not_yet::Args),
    /// Self-discovery: embed patients, find neighbours, crop recurring anatomy into classes.
    Discover(not_yet::Args),
    /// Pretrain a network by self-restoration (and self-classification).
    Pretrain(not_yet::Args),
    /// Fine-tune pretrained weights for classification or segmentation.
    Finetune(not_yet::Args),
    /// Compute embeddings (pooled bottleneck features) for images or volumes.
    Embed(not_yet::Args),
    /// Import PyTorch or safetensors weights into a burn `.bpk` file.
    Import(not_yet::Args),
    /// Export `.bpk` weights as PyTorch-named safetensors.
    Export(not_yet::Args),
    /// Measure transform and model speed.
    Bench(not_yet::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Transform(a)
        | Command::Discover(a)
        | Command::Pretrain(a)
        | Command::Finetune(a)
        | Command::Embed(a)
        | Command::Import(a)
        | Command::Export(a)
        | Command::Bench(a) => not_yet::run(a),
    }
}

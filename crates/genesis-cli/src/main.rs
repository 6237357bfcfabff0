//! `genesis`: self-supervised pretraining for medical images (Semantic Genesis and Models
//! Genesis) from the command line: a thin front end over the `genesis-train` engine (argument
//! parsing, progress bars, plots and printing).

use clap::{Parser, Subcommand};

mod alloc;
mod bench;
mod cubes;
mod discover;
mod embed;
mod experiment;
mod export;
mod finetune;
mod flags;
mod import;
mod infer;
mod observer;
mod phantom;
mod pretrain;
mod render;
mod restore;
mod segment;
mod transform;

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
    Transform(transform::Args),
    /// Cut CT scans (LUNA16 or any folder, DICOM series included) into a cache of Models Genesis cubes.
    Cubes(cubes::Args),
    /// Self-discovery: embed patients, find neighbours, crop recurring anatomy into classes.
    Discover(discover::Args),
    /// Pretrain a network by self-restoration (and self-classification).
    Pretrain(pretrain::Args),
    /// Fine-tune pretrained weights (or train from scratch) for classification or segmentation.
    Finetune(finetune::Args),
    /// Reproducible experiments; `transfer`: label efficiency of pretraining vs scratch.
    #[command(subcommand)]
    Experiment(experiment::Command),
    /// Compute embeddings (pooled bottleneck features) for images or volumes.
    Embed(embed::Args),
    /// Import PyTorch or safetensors weights into a burn `.bpk` file.
    Import(import::Args),
    /// Export `.bpk` weights as PyTorch-named safetensors.
    Export(export::Args),
    /// Damage images with seeded draws and restore them with a pretrained 2-D U-Net; print the
    /// PSNR of the damaged input and of the restoration per transform.
    Restore(restore::Args),
    /// Run one forward pass of a model on an NPY array and write the output as NPY.
    Infer(infer::Args),
    /// Segment a whole scan of any size with a fine-tuned segmenter (sliding windows,
    /// Gaussian blending); write NIfTI or NPY with the scan's geometry.
    Segment(segment::Args),
    /// Measure transform and model speed.
    Bench(bench::Args),
    /// Write synthetic chest phantoms: radiograph PNGs (2d) or CT NIfTI volumes (3d).
    Phantom(phantom::Args),
}

fn main() -> anyhow::Result<()> {
    alloc::keep_freed_memory();
    let cli = Cli::parse();
    match cli.command {
        Command::Embed(a) => embed::run(a),
        Command::Restore(a) => restore::run(a),
        Command::Finetune(a) => finetune::run(a),
        Command::Experiment(c) => experiment::run(c),
        Command::Discover(a) => discover::run(a),
        Command::Cubes(a) => cubes::run(a),
        Command::Pretrain(a) => pretrain::run(a),
        Command::Transform(a) => transform::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Import(a) => import::run(a),
        Command::Export(a) => export::run(a),
        Command::Infer(a) => infer::run(a),
        Command::Segment(a) => segment::run(a),
        Command::Phantom(a) => phantom::run(a),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap checks argument definitions (e.g. two flags of one name) only in debug builds, when
    /// a command is parsed; this checks every subcommand in any build.
    #[test]
    fn every_subcommand_has_well_formed_arguments() {
        super::Cli::command().debug_assert();
    }
}

//! `genesis embed`: the pooled bottleneck of a trained network for each image or volume
//! (spec §4.2), written as NPY with the file list, plus each input's nearest neighbours.

use std::path::{Path, PathBuf};

use genesis_nn::BnMode;
use genesis_train::embed::{self, EmbedJob};

use crate::import::ArchArgs;
use crate::observer::Console;

/// Arguments of `genesis embed`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Images (2-D architectures) or volumes (3-D ones): files, or folders searched
    /// recursively.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub model: ArchArgs,
    /// Weights: a `.bpk` from `genesis pretrain` (checkpoints/best/model.bpk) or `genesis
    /// discover` (autoencoder.bpk), or imported `.pt`/`.safetensors`.
    #[arg(long)]
    pub weights: PathBuf,
    /// Inputs are resized to SIZE×SIZE (2-D) or SIZE×SIZE×SIZE/2 (3-D); it must be divisible
    /// by 2^(levels − 1).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Batch-norm statistics: `running` (each input embedded alone) or `batch`.
    #[arg(long, default_value = "running", value_parser = parse_bn)]
    pub bn: BnMode,
    /// Output folder: embeddings.npy `[N, D]`, files.txt (one input per line, same order) and
    /// neighbours.csv.
    #[arg(long, default_value = "runs/embed")]
    pub out: PathBuf,
    /// Nearest neighbours listed per input.
    #[arg(long, default_value_t = 3)]
    pub neighbours: usize,
}

fn parse_bn(s: &str) -> Result<BnMode, String> {
    BnMode::parse(s).ok_or_else(|| format!("unknown batch-norm mode '{s}'; use batch or running"))
}

/// Runs `genesis embed`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let job = EmbedJob {
        inputs: args.inputs,
        spec: args.model.spec_for(&args.weights, args.bn)?,
        weights: args.weights,
        size: args.size,
        out: args.out,
        neighbours: args.neighbours,
    };
    let found = embed::run(&job, &mut Console::default())?;
    for (name, near) in found.files.iter().zip(&found.neighbours) {
        let shown: Vec<String> =
            near.iter().map(|(n, d)| format!("{} ({d:.4})", short(&found.files[*n]))).collect();
        println!("{:<28} → {}", short(name), shown.join(", "));
    }
    let (dim, count) = (found.dim, found.files.len());
    println!("wrote {dim}-d embeddings of {count} inputs to {}", job.out.display());
    Ok(())
}

/// The file name of a path.
fn short(path: &str) -> &str {
    Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or(path)
}

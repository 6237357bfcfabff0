//! `genesis import`: read PyTorch (`.pt`/`.pth`), safetensors or `.bpk` weights into a model
//! and save them as `.bpk` (or `.safetensors`), printing which keys matched.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_nn::burn::tensor::Device;
use genesis_nn::weights::{head_classes, load_file, save_file};
use genesis_nn::{Arch, ArchSpec, BnMode, ModelTask, Network};

/// Which model the weights belong to.
#[derive(clap::Args, Debug, Clone)]
pub struct ArchArgs {
    /// Architecture: unet3d, unet2d, autoencoder3d, autoencoder2d, semantic3d, semantic2d.
    #[arg(long, default_value = "unet3d")]
    pub arch: Arch,
    /// Width of the first block (32 in the released models).
    #[arg(long, default_value_t = 32)]
    pub base: usize,
    /// Encoder levels of the 2-D and autoencoder models.
    #[arg(long, default_value_t = 4)]
    pub depth: usize,
    /// Classes of the Semantic Genesis head (44 in the released model). Left out, it follows
    /// the head of the weights read (the rows of its last linear layer), else 44.
    #[arg(long)]
    pub classes: Option<usize>,
}

/// The released head's class count.
const RELEASED_CLASSES: usize = 44;

impl ArchArgs {
    /// The model specification with batch-norm mode `bn_mode`.
    pub fn spec(&self, bn_mode: BnMode) -> ArchSpec {
        ArchSpec {
            arch: self.arch,
            base: self.base,
            depth: self.depth,
            classes: self.classes.unwrap_or(RELEASED_CLASSES),
            bn_mode,
        }
    }

    /// The model specification for the weights in `weights`: a Semantic Genesis head takes its
    /// class count from the file when `--classes` is left out; a `--classes` that disagrees
    /// with the file is an error naming both.
    pub fn spec_for(&self, weights: &Path, bn_mode: BnMode) -> anyhow::Result<ArchSpec> {
        let mut spec = self.spec(bn_mode);
        if !matches!(self.arch, Arch::Semantic3d | Arch::Semantic2d) {
            return Ok(spec);
        }
        match (head_classes(weights)?, self.classes) {
            (Some(found), Some(asked)) if found != asked => bail!(
                "{}: its classification head has {found} classes but --classes is {asked}; \
                 pass --classes {found} or leave --classes out",
                weights.display()
            ),
            (Some(found), _) => spec.classes = found,
            (None, _) => {}
        }
        Ok(spec)
    }
}

/// Arguments of `genesis import`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Weights to read: `.pt`/`.pth` (a dict with `state_dict`, or a bare state dict;
    /// `module.` prefixes are stripped), `.safetensors` with PyTorch names, or `.bpk`. With
    /// `--arch semantic3d` the released Semantic Genesis YNet3D layout loads as it is: the U-Net
    /// keys go under `unet.`, the `clc_out.*` head onto `head.*` (listed as `remapped:`), and
    /// tensors no parameter takes (`projection_head.*`, `prototypes.*`, `num_batches_tracked`)
    /// are listed as `unused:` and dropped.
    pub input: PathBuf,
    #[command(flatten)]
    pub model: ArchArgs,
    /// Output file: `.bpk` (burn) or `.safetensors` (PyTorch names).
    #[arg(long)]
    pub out: PathBuf,
    /// Accept files that lack some of the model's parameters (they keep their initial values).
    #[arg(long)]
    pub partial: bool,
}

/// Loads `input` into the model and saves it to `out`.
struct Convert<'a> {
    input: &'a Path,
    out: &'a Path,
    partial: bool,
}

impl ModelTask for Convert<'_> {
    type Output = anyhow::Result<()>;
    fn run<M: Network<D>, const D: usize>(self, model: M) -> anyhow::Result<()> {
        let (model, report) = load_file(model, self.input, self.partial)?;
        print!("{}: {report}", self.input.display());
        save_file(&model, self.out).with_context(|| format!("writing {}", self.out.display()))?;
        println!("wrote {}", self.out.display());
        Ok(())
    }
}

/// Converts between weight formats through the model named by `model` (so names and shapes are
/// checked on the way).
pub fn convert(input: &Path, model: &ArchArgs, out: &Path, partial: bool) -> anyhow::Result<()> {
    model
        .spec_for(input, BnMode::Batch)?
        .with_model(&Device::flex(), Convert { input, out, partial })
}

/// Runs `genesis import`.
pub fn run(args: Args) -> anyhow::Result<()> {
    convert(&args.input, &args.model, &args.out, args.partial)
}

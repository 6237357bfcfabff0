//! `genesis segment`: a fine-tuned segmenter over a whole scan of any size (the engine's
//! sliding window with Gaussian blending), written as NIfTI or NPY with the scan's geometry.

use std::path::PathBuf;

use anyhow::bail;
use genesis_nn::BnMode;
use genesis_train::segment::{DEFAULT_OVERLAP, SegmentJob};

use crate::flags::{Scan, parse_triple};
use crate::observer::Console;

/// Arguments of `genesis segment`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scan: a NIfTI/MetaImage/NPY/DICOM file or a folder of DICOM slices.
    pub input: PathBuf,
    /// A `genesis finetune --task segment` run folder (or its model.bpk).
    #[arg(long)]
    pub model: PathBuf,
    /// Output file: `.nii`/`.nii.gz` (with the scan's spacing, origin and orientation) or `.npy`.
    #[arg(long)]
    pub out: PathBuf,
    /// Window X,Y,Z in voxels (default: the run's image size; Z = 1 for a 2-D model, which
    /// runs slice by slice).
    #[arg(long, value_name = "X,Y,Z", value_parser = parse_triple::<usize>)]
    pub window: Option<[usize; 3]>,
    /// Fraction of a window shared with its neighbour, in [0, 1).
    #[arg(long, default_value_t = DEFAULT_OVERLAP)]
    pub overlap: f64,
    /// Windows per forward pass (memory: one batch of windows beside the scan and output).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Write a 0/1 mask (probability above T) instead of probabilities.
    #[arg(long, value_name = "T")]
    pub threshold: Option<f32>,
    /// Batch-norm statistics: `batch` (each batch's own, as fine-tuning validated; with
    /// --batch 1 each window is normalized alone) or `running`.
    #[arg(long, default_value = "batch", value_parser = parse_bn)]
    pub bn: BnMode,
    /// cpu, wgpu[:N] or cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// How the scan is read (default: as the run's recipe says).
    #[command(flatten)]
    pub scan: Scan,
}

fn parse_bn(s: &str) -> Result<BnMode, String> {
    BnMode::parse(s).ok_or_else(|| format!("unknown batch-norm mode '{s}'; use batch or running"))
}

/// Runs `genesis segment`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let name = args.out.to_string_lossy().to_ascii_lowercase();
    let npy = name.ends_with(".npy");
    if !(npy || name.ends_with(".nii") || name.ends_with(".nii.gz")) {
        bail!("--out {}: write .nii, .nii.gz or .npy", args.out.display());
    }
    let job = SegmentJob {
        model: args.model,
        input: args.input,
        preprocess: args.scan.keys()?,
        window: args.window,
        overlap: args.overlap,
        batch: args.batch,
        bn: args.bn,
        device: args.device,
        threshold: args.threshold,
    };
    let done = genesis_train::segment::run(&job, &mut Console::default())?;
    if npy {
        genesis_io::npy::write(&args.out, &done.volume)?;
    } else {
        genesis_io::nifti::write(&args.out, &done.volume)?;
    }
    let kind = if job.threshold.is_some() { "mask" } else { "probabilities" };
    println!(
        "wrote {} ({kind}, {:?}) from {} windows of {:?}",
        args.out.display(),
        done.volume.shape(),
        done.windows,
        done.window
    );
    Ok(())
}

//! `genesis restore`: how much a pretrained 2-D U-Net improves damaged images — PSNR of the
//! damaged input and of the restoration, per transform, on images given (the page's restorer
//! is measured this way on the NIH radiographs).

use std::path::PathBuf;

use anyhow::Context;
use genesis_core::resize::{Filter, resize};
use genesis_train::finetune::Weights;
use genesis_train::restoration::{self, Quality};

/// Arguments of `genesis restore`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Images to damage and restore (any 2-D file genesis-io reads), e.g. radiographs the
    /// model never saw in training.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// A 2-D U-Net: a `.bpk` from `genesis pretrain --dim 2d`, or its run folder.
    #[arg(long)]
    pub weights: String,
    /// Images are resized to SIZE×SIZE, as the page does (224); divisible by 2^(levels − 1).
    #[arg(long, default_value_t = 224)]
    pub size: usize,
    /// Draws per image and transform (seeds 0, 1, …, the page's draws in order).
    #[arg(long, default_value_t = 20)]
    pub draws: u64,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `genesis restore`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let device = genesis_train::device::parse("cpu")?;
    let weights = Weights::read(&args.weights)?;
    let model = restoration::load_unet2d(&weights, &device)?;
    let mut images = Vec::with_capacity(args.images.len());
    for path in &args.images {
        let volume = genesis_io::load_normalized(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if !volume.is_2d() {
            anyhow::bail!("{}: a volume; `genesis restore` takes 2-D images", path.display());
        }
        let image = resize(&volume, [args.size, args.size, 1], Filter::Area)?;
        images.push((path.display().to_string(), image));
    }
    let rows = restoration::measure(&model, &images, args.draws, &device)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&rows, &weights, images.len(), args.draws);
    }
    Ok(())
}

/// The table people read.
fn print_table(rows: &[Quality], weights: &Weights, images: usize, draws: u64) {
    let arch = weights.arch;
    println!(
        "{}: U-Net base {} levels {}; {images} images × {draws} draws",
        weights.path.display(),
        arch.base,
        arch.depth
    );
    println!("| damage | samples | PSNR damaged (dB) | PSNR restored (dB) | gain (dB) |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {:.2} | {:.2} | {:+.2} |",
            r.transform,
            r.samples,
            r.input_psnr,
            r.restored_psnr,
            r.gain()
        );
    }
}

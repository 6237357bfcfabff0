//! `genesis discover`: arguments, then the engine's self-discovery (spec §4; see
//! docs/discovery.md).

use std::path::PathBuf;

use genesis_core::discovery::Informative;
use genesis_io::datasets::luna16::Partition;
use genesis_train::discover::{EmbedArch, EmbedSettings, Settings};
use genesis_train::recipe::Dim;

use crate::observer::Console;

/// Arguments of `genesis discover`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 2d (radiographs, 224×224 crops) or 3d (CT, 64×64×32 crops).
    #[arg(long, value_enum, default_value = "2d")]
    pub dim: Dim,
    /// `phantom` (built-in synthetic chests) or a folder of images (2d) or volumes (3d).
    #[arg(long, default_value = "phantom")]
    pub data: String,
    /// Pseudo-classes C (default 100 in 2d, 44 in 3d; capped to the patients available).
    #[arg(long)]
    pub classes: Option<usize>,
    /// Nearest patients K cropped per class, the reference included (default 1000 in 2d, 200
    /// in 3d; capped to the patients available).
    #[arg(long)]
    pub neighbours: Option<usize>,
    /// Output folder (default runs/discover).
    #[arg(long, default_value = "runs/discover")]
    pub out: PathBuf,
    /// A coordinates.jsonl of an earlier run: keep its classes (references and corners) and
    /// add classes after them. Pointing at the --out folder's own log resumes a stopped run.
    #[arg(long)]
    pub prev_coordinates: Option<PathBuf>,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Phantom patients to render with --data phantom.
    #[arg(long, default_value_t = 64)]
    pub patients: usize,
    /// Crop side in pixels / in-plane voxels (default 224 in 2d, 64 in 3d).
    #[arg(long)]
    pub size: Option<usize>,
    /// Crop depth in slices, 3d only.
    #[arg(long, default_value_t = 32)]
    pub depth: usize,
    /// Crops per neighbour: 1 (fixed window) to 3 (plus two jittered, resized windows).
    #[arg(long, default_value_t = 3)]
    pub resolutions: usize,
    /// Border kept free of crops, in pixels / in-plane voxels (default 0 in 2d, 100 in 3d; 3d
    /// phantoms use a border of a quarter crop).
    #[arg(long)]
    pub border: Option<usize>,
    /// Network embedding the patients: the no-skip autoencoder or the U-Net.
    #[arg(long, value_enum, default_value = "autoencoder")]
    pub ae_arch: EmbedArch,
    /// Autoencoder training steps.
    #[arg(long, default_value_t = EmbedSettings::default().steps)]
    pub ae_steps: usize,
    /// Autoencoder thumbnail side (3d: side × side × side/2).
    #[arg(long, default_value_t = EmbedSettings::default().size)]
    pub ae_size: usize,
    /// Autoencoder width of the first block.
    #[arg(long, default_value_t = EmbedSettings::default().base)]
    pub ae_base: usize,
    /// Crops per shard file.
    #[arg(long, default_value_t = 256)]
    pub shard_size: usize,
    /// `cpu`, `wgpu[:N]` or `cuda[:N]` for the autoencoder.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Threads rendering phantoms.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// This process's partition `I/N`: cut the crops of classes c with c mod N = I only (every
    /// partition embeds all patients and picks every class, so they agree). Give each
    /// partition its own --out under one parent folder; `genesis pretrain --data PARENT`
    /// reads them all.
    #[arg(long, default_value = "0/1")]
    pub shard: Partition,
}

/// The discovery settings of the command line.
fn settings(a: &Args) -> Settings {
    let size = a.size.unwrap_or(match a.dim {
        Dim::D2 => 224,
        Dim::D3 => 64,
    });
    let mut s = Settings::new(a.dim, &a.data, size, a.depth);
    let d = &mut s.discovery;
    d.classes = a.classes.unwrap_or(d.classes);
    d.neighbours = a.neighbours.unwrap_or(d.neighbours);
    d.resolutions = a.resolutions;
    if let Some(b) = a.border {
        match &mut d.test {
            Informative::LungAir { border, .. } | Informative::Radiograph { border, .. } => {
                *border = b
            }
        }
    }
    s.embed = EmbedSettings {
        arch: a.ae_arch,
        size: a.ae_size,
        steps: a.ae_steps,
        base: a.ae_base,
        ..s.embed
    };
    Settings {
        patients: a.patients,
        seed: a.seed,
        shard_size: a.shard_size,
        device: a.device.clone(),
        workers: a.workers,
        shard: a.shard,
        ..s
    }
}

/// Runs `genesis discover`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let settings = settings(&args);
    let prev = args.prev_coordinates.as_deref();
    let report = genesis_train::discover::run(&settings, &args.out, prev, &mut Console::default())?;
    println!(
        "{} classes in {} ({} new crops); train on them with\n  genesis pretrain --method semantic-genesis --dim {} --data {}",
        report.classes,
        args.out.display(),
        report.crops,
        settings.dim.name(),
        args.out.display()
    );
    Ok(())
}

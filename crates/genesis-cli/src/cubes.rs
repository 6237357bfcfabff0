//! `genesis cubes`: LUNA16 scans (or any folder of CT scans: files, and folders of DICOM
//! slices read one volume per series) → a cache of Models Genesis cubes (spec §3.1), as NPY
//! shards with one manifest per partition. `--shard I/N` runs partition I of N (scan k belongs to
//! partition k mod N), so several processes or machines can share the work in one folder;
//! `genesis pretrain --data CACHE` reads every partition's manifest.

use std::path::PathBuf;

use genesis_core::patches::CubeConfig;
use genesis_io::datasets::luna16::{ExtractConfig, Partition, extract};

use crate::flags::Scan;

/// Arguments of `genesis cubes`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// LUNA16 root (`subset0` … `subset9` folders of `.mhd`/`.raw` scans), or any folder of
    /// CT scans (NIfTI, MetaImage, NPY, folders of DICOM slices).
    pub data: PathBuf,
    /// Cache folder (shared by all partitions; a rerun resumes).
    #[arg(long)]
    pub out: PathBuf,
    /// This process's partition, `I/N` (e.g. `0/4` … `3/4` on four machines).
    #[arg(long, default_value = "0/1")]
    pub shard: Partition,
    /// Cubes per scan (`scale`; 32 in the papers).
    #[arg(long, default_value_t = CubeConfig::default().scale)]
    pub scale: usize,
    /// Cube side in x and y.
    #[arg(long, default_value_t = CubeConfig::default().rows)]
    pub rows: usize,
    /// Cube depth in slices.
    #[arg(long, default_value_t = CubeConfig::default().deps)]
    pub deps: usize,
    /// Border excluded in x and y (voxels).
    #[arg(long, default_value_t = CubeConfig::default().border)]
    pub border: usize,
    /// Border excluded in z (slices).
    #[arg(long, default_value_t = CubeConfig::default().border_z)]
    pub border_z: usize,
    /// Cubes per shard file (whole scans are kept together).
    #[arg(long, default_value_t = ExtractConfig::default().shard_size)]
    pub shard_size: usize,
    /// Seed of the cube sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How scans are read (default: CT, HU window [-1000, 1000]; `--intensity auto` goes by
    /// each file's modality).
    #[command(flatten)]
    pub scan: Scan,
}

/// Runs `genesis cubes`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cubes = CubeConfig {
        scale: args.scale,
        rows: args.rows,
        deps: args.deps,
        border: args.border,
        border_z: args.border_z,
        ..CubeConfig::default()
    };
    let preprocess = args.scan.over(ExtractConfig::default().preprocess)?;
    let config = ExtractConfig { cubes, shard_size: args.shard_size, seed: args.seed, preprocess };
    let manifest = extract(&args.data, &args.out, &config, args.shard)?;
    let total: usize = manifest.scans.iter().map(|s| s.cubes).sum();
    let empty = manifest.scans.iter().filter(|s| s.cubes == 0 && s.error.is_none()).count();
    for failed in manifest.scans.iter().filter(|s| s.error.is_some()) {
        eprintln!("skipped {}: {}", failed.name, failed.error.as_deref().unwrap_or_default());
    }
    println!(
        "partition {}/{}: {} scans, {total} cubes in {} shards ({empty} scans too small or without lung), in {}",
        args.shard.index,
        args.shard.count,
        manifest.scans.len(),
        manifest.shards.len(),
        args.out.display()
    );
    println!(
        "pretrain on them with\n  genesis pretrain --method models-genesis --dim 3d --data {} --size {} --depth {}",
        args.out.display(),
        args.rows,
        args.deps
    );
    Ok(())
}

//! `genesis pretrain`: arguments, then the engine's pretraining (see docs/pretraining.md).

use std::path::PathBuf;

use genesis_train::recipe::{Dim, Method, RunConfig};

use crate::flags::{Flags, Knobs, Scan};
use crate::observer::Console;

/// Arguments of `genesis pretrain`; with none, a small 2-D Semantic Genesis run on phantoms.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A TOML run configuration (keys as the long flags; see docs/pretraining.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The run folder to create (default: the first free of runs/pretrain, runs/pretrain-2, …).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this folder from its last checkpoint.
    #[arg(long, conflicts_with_all = ["config", "out"])]
    pub resume: Option<PathBuf>,
    /// Values overriding the config file.
    #[command(flatten)]
    pub overrides: Overrides,
}

/// Command-line values that override the config file (absent = keep).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Overrides {
    /// Recipe (default semantic-genesis).
    #[arg(long, value_enum)]
    pub method: Option<Method>,
    /// 2d radiographs or 3d CT (default 2d).
    #[arg(long, value_enum)]
    pub dim: Option<Dim>,
    /// `phantom` or a folder of images/volumes (or of labelled crops with a manifest.jsonl).
    #[arg(long)]
    pub data: Option<String>,
    /// cpu, wgpu[:N] or cuda[:N] (default cpu).
    #[arg(long)]
    pub device: Option<String>,
    /// Epochs (at most).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Optimiser steps per epoch.
    #[arg(long)]
    pub steps_per_epoch: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Batch size (samples per micro-batch).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Initial learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Schedule, clipping and accumulation.
    #[command(flatten)]
    pub knobs: Knobs,
    /// How scans of a data folder are read (volume, series, HU window, spacing).
    #[command(flatten)]
    pub scan: Scan,
    /// Early-stopping patience in epochs (at least 1).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Crop side.
    #[arg(long)]
    pub size: Option<usize>,
    /// Data worker threads.
    #[arg(long)]
    pub workers: Option<usize>,
}

impl Overrides {
    /// The flags given, as config keys.
    pub fn table(&self) -> anyhow::Result<toml::Table> {
        let flags = Flags::default()
            .set("method", self.method.as_ref())?
            .set("dim", self.dim.as_ref())?
            .set("data", self.data.as_ref())?
            .set("device", self.device.as_ref())?
            .set("epochs", self.epochs.as_ref())?
            .set("steps-per-epoch", self.steps_per_epoch.as_ref())?
            .set("seed", self.seed.as_ref())?
            .set("batch", self.batch.as_ref())?
            .set("lr", self.lr.as_ref())?
            .set("patience", self.patience.as_ref())?
            .set("size", self.size.as_ref())?
            .set("workers", self.workers.as_ref())?;
        Ok(self.scan.add(self.knobs.add(flags)?)?.0)
    }
}

/// Runs `genesis pretrain`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let flags = args.overrides.table()?;
    let (cfg, dir, resume) = match &args.resume {
        Some(dir) => (RunConfig::resume(dir, &flags)?, dir.clone(), true),
        None => {
            let cfg = RunConfig::resolve(args.config.as_deref(), &flags)?;
            (cfg, args.out.clone().unwrap_or_else(free_run_dir), false)
        }
    };
    let outcome = genesis_train::pretrain::run(&cfg, &dir, resume, &mut Console::default())?;
    print!("{}", outcome.summary);
    Ok(())
}

/// The first of `runs/pretrain`, `runs/pretrain-2`, … that holds no run yet.
fn free_run_dir() -> PathBuf {
    (1..)
        .map(|i| {
            PathBuf::from(if i == 1 {
                "runs/pretrain".into()
            } else {
                format!("runs/pretrain-{i}")
            })
        })
        .find(|d| !d.join("run.toml").exists())
        .unwrap_or_else(|| PathBuf::from("runs/pretrain"))
}

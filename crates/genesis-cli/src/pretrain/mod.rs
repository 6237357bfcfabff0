//! `genesis pretrain`: Models Genesis / Semantic Genesis pretraining with checkpoints, resume,
//! metrics, plots and a built-in phantom default (see docs/pretraining.md).

pub(crate) mod checkpoint;
pub(crate) mod config;
mod data;
pub(crate) mod device;
mod metrics;
pub(crate) mod model;
pub(crate) mod plot;
mod source;
mod summary;
mod train;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use genesis_core::{Pipeline, Quirks};

use config::Overrides;
use data::Generator;
use source::Source;
use train::Trainer;

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

/// Runs `genesis pretrain`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (cfg, dir, resume) = match &args.resume {
        Some(dir) => (config::resume(dir, &args.overrides)?, dir.clone(), true),
        None => {
            let cfg = config::resolve(args.config.as_deref(), &args.overrides)?;
            let out = args.out.clone().unwrap_or_else(free_run_dir);
            if out.join("run.toml").exists() {
                bail!(
                    "{} already holds a run; continue it with --resume {0} or pick another --out",
                    out.display()
                );
            }
            (cfg, out, false)
        }
    };
    let device = device::parse(&cfg.device)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    config::write(&cfg, &dir.join("run.toml"))?;
    let source = Source::open(&cfg, &dir)?;
    let classes = source.classes();
    if let Source::Labelled(crops) = &source {
        println!("{} labelled crops of {classes} pseudo-classes", crops.len());
    }
    if cfg.method.has_head() && classes < 2 {
        bail!("{:?} needs at least two pseudo-classes, the data has {classes}", cfg.method);
    }
    let generator = Arc::new(Generator {
        source,
        pipeline: Pipeline::preset(cfg.pipeline, &Quirks::default()),
        seed: cfg.seed,
        batch: cfg.batch,
        shape: cfg.sample_shape(),
    });
    let trainer = Trainer { cfg: cfg.clone(), dir: dir.clone(), device, generator, resume };
    let outcome = model::with_model(&cfg, classes, trainer)?;
    let summary = summary::render(&cfg, &dir, &outcome);
    print!("{summary}");
    checkpoint::write_atomic(&dir.join("summary.txt"), summary.as_bytes())
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

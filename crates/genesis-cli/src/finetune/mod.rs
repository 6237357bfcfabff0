//! `genesis finetune`: train a classifier or a segmenter from scratch or from pretrained
//! Genesis weights on a few labelled images, and score it on a held-out test split (see
//! docs/finetuning.md).

pub(crate) mod config;
mod data;
mod model;
mod plot;
mod train;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub(crate) use config::{FinetuneConfig, Overrides, Task};
pub(crate) use model::Weights;
pub(crate) use plot::save as save_png;
pub(crate) use train::{Report, describe};

use crate::pretrain::config::Dim;
use model::Arch;
use train::Trainer;

/// Arguments of `genesis finetune`; with none, nodule classification on the phantom benchmark
/// from scratch.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A TOML configuration (keys as in run.toml; see docs/finetuning.md); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The run folder to write (default runs/finetune-TASK).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Values overriding the config file.
    #[command(flatten)]
    pub overrides: Overrides,
}

/// Runs `genesis finetune`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = config::resolve(args.config.as_deref(), &args.overrides)?;
    let out =
        args.out.unwrap_or_else(|| PathBuf::from(format!("runs/finetune-{}", cfg.task.name())));
    if out.join("metrics.json").exists() {
        bail!("{} already holds a finished run; delete it or pick another --out", out.display());
    }
    let report = run_config(&cfg, &out)?;
    print!("{}", summary(&report, &out));
    Ok(())
}

/// Fine-tunes as `cfg` says into the run folder `dir`; returns the report also written there
/// as `metrics.json`.
pub fn run_config(cfg: &FinetuneConfig, dir: &Path) -> anyhow::Result<Report> {
    let device = crate::pretrain::device::parse(&cfg.device)?;
    let weights = if cfg.pretrained() { Some(Weights::read(&cfg.init)?) } else { None };
    let mut cfg = cfg.clone();
    let arch = match &weights {
        Some(w) => {
            if (cfg.base, cfg.levels, cfg.dim) != (w.arch.base, w.arch.depth, w.arch.dim) {
                println!(
                    "{}: a {:?} U-Net of base {} and {} levels; using that architecture",
                    w.path.display(),
                    w.arch.dim,
                    w.arch.base,
                    w.arch.depth
                );
            }
            (cfg.base, cfg.levels, cfg.dim) = (w.arch.base, w.arch.depth, w.arch.dim);
            w.arch
        }
        None => {
            let depth = if cfg.dim == Dim::D3 { 4 } else { cfg.levels };
            Arch { dim: cfg.dim, base: cfg.base, depth }
        }
    };
    let divisor = 1usize << (arch.depth - 1);
    let spatial = match arch.dim {
        Dim::D2 => vec![cfg.size],
        Dim::D3 => vec![cfg.size, cfg.depth],
    };
    if spatial.iter().any(|s| s % divisor != 0) {
        bail!(
            "size (and depth in 3d) must be multiples of {divisor} for this U-Net, got {spatial:?}"
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::pretrain::config::write(&cfg, &dir.join("run.toml"))?;
    let splits = data::open(&cfg)?;
    println!(
        "── genesis finetune: {} from {} on {} · {} train / {} val / {} test images ──",
        cfg.task.name(),
        cfg.init,
        cfg.data,
        splits.train.len(),
        splits.val.len(),
        splits.test.len()
    );
    let classes = splits.classes;
    let trainer = Trainer { cfg: cfg.clone(), dir: dir.to_path_buf(), device, splits };
    let (report, records) = model::with_model(&cfg, arch, weights.as_ref(), classes, trainer)?;
    let metric = match cfg.task {
        Task::Classify => "AUC",
        Task::Segment => "Dice",
    };
    plot::curves(&records, metric, &dir.join("curves.png"))?;
    let json = serde_json::to_vec_pretty(&report)?;
    crate::pretrain::checkpoint::write_atomic(&dir.join("metrics.json"), &json)?;
    Ok(report)
}

/// The one-screen summary of a finished run.
fn summary(report: &Report, dir: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "best epoch  {} of {}{}",
        report.best_epoch,
        report.epochs,
        if report.stopped_early { " (early stop)" } else { "" }
    );
    let _ = writeln!(
        out,
        "validation  {} (initial: {})",
        describe(&report.val),
        describe(&report.initial_val)
    );
    let _ =
        writeln!(out, "test        {} on {} images", describe(&report.test), report.test_images);
    let _ = writeln!(out, "run folder  {}", dir.display());
    let _ = writeln!(
        out,
        "            run.toml · metrics.jsonl · metrics.json · curves.png · model.bpk"
    );
    out
}

//! `genesis finetune`: arguments, then the engine's fine-tuning (see docs/finetuning.md).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::bail;
use genesis_train::finetune::Report;
use genesis_train::recipe::{Dim, FinetuneConfig, Pool, SegLoss, Task};

use crate::flags::{Flags, Knobs, Scan};
use crate::observer::Console;

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

/// Command-line values that override the config file (absent = keep).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Overrides {
    /// The task: `classify` (labels.csv) or `segment` (images/ + masks/).
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// `scratch`, or pretrained weights: a `.bpk` from `genesis pretrain` (U-Net or Semantic
    /// Genesis; the U-Net part is used) or a pretrain run folder (its best checkpoint).
    #[arg(long)]
    pub init: Option<String>,
    /// `phantom` (synthetic lung-nodule benchmark) or a dataset folder (docs/finetuning.md).
    #[arg(long)]
    pub data: Option<String>,
    /// 2d images or 3d volumes (scratch only; pretrained weights decide).
    #[arg(long, value_enum)]
    pub dim: Option<Dim>,
    /// cpu, wgpu[:N] or cuda[:N] (default cpu).
    #[arg(long)]
    pub device: Option<String>,
    /// Seed of initialisation, labelled subset and batch order.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Labelled training images to use (0 = the whole training split).
    #[arg(long)]
    pub labels: Option<usize>,
    /// Epochs (at most).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Batch size.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate.
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
    /// Image side in pixels.
    #[arg(long)]
    pub size: Option<usize>,
    /// Linear probe: freeze the pretrained encoder, train only the head (or the decoder).
    #[arg(long)]
    pub freeze_encoder: bool,
    /// Learning rate of the pretrained layers as a fraction of --lr (new layers: --lr).
    #[arg(long)]
    pub pretrained_lr_scale: Option<f64>,
    /// Epochs at the start in which only the new layers train (pretrained runs).
    #[arg(long)]
    pub head_warmup_epochs: Option<usize>,
    /// The classifier's pooling of the bottleneck: avg, or max (keeps small local findings).
    #[arg(long, value_enum)]
    pub pool: Option<Pool>,
    /// Rescale every image to [0, 1] by its own minimum and maximum.
    #[arg(long)]
    pub normalize: bool,
    /// Segmentation loss: dice, or dice-bce (Dice + binary cross-entropy).
    #[arg(long, value_enum)]
    pub seg_loss: Option<SegLoss>,
    /// Batch-norm statistics at evaluation: batch (each batch's own) or running (stored).
    #[arg(long)]
    pub bn: Option<String>,
    /// Samples per epoch at least: a small labelled set is cycled to this many (0 = one pass).
    #[arg(long)]
    pub epoch_samples: Option<usize>,
}

impl Overrides {
    /// The flags given, as config keys.
    pub fn table(&self) -> anyhow::Result<toml::Table> {
        let freeze = self.freeze_encoder.then_some(true);
        let normalize = self.normalize.then_some(true);
        let flags = Flags::default()
            .set("task", self.task.as_ref())?
            .set("init", self.init.as_ref())?
            .set("data", self.data.as_ref())?
            .set("dim", self.dim.as_ref())?
            .set("device", self.device.as_ref())?
            .set("seed", self.seed.as_ref())?
            .set("labels", self.labels.as_ref())?
            .set("epochs", self.epochs.as_ref())?
            .set("batch", self.batch.as_ref())?
            .set("lr", self.lr.as_ref())?
            .set("patience", self.patience.as_ref())?
            .set("size", self.size.as_ref())?
            .set("freeze-encoder", freeze.as_ref())?
            .set("pretrained-lr-scale", self.pretrained_lr_scale.as_ref())?
            .set("head-warmup-epochs", self.head_warmup_epochs.as_ref())?
            .set("pool", self.pool.as_ref())?
            .set("normalize", normalize.as_ref())?
            .set("seg-loss", self.seg_loss.as_ref())?
            .set("bn", self.bn.as_ref())?
            .set("epoch-samples", self.epoch_samples.as_ref())?;
        Ok(self.scan.add(self.knobs.add(flags)?)?.0)
    }
}

/// Runs `genesis finetune`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = FinetuneConfig::resolve(args.config.as_deref(), &args.overrides.table()?)?;
    let out =
        args.out.unwrap_or_else(|| PathBuf::from(format!("runs/finetune-{}", cfg.task.name())));
    if out.join("metrics.json").exists() {
        bail!("{} already holds a finished run; delete it or pick another --out", out.display());
    }
    let (report, _) = genesis_train::finetune::run(&cfg, &out, &mut Console::default())?;
    print!("{}", summary(&report, &out));
    Ok(())
}

/// The one-screen summary of a finished run.
fn summary(report: &Report, dir: &Path) -> String {
    let mut out = String::new();
    let stop = if report.stopped_early { " (early stop)" } else { "" };
    let _ = writeln!(out, "best epoch  {} of {}{stop}", report.best_epoch, report.epochs);
    let _ = writeln!(
        out,
        "validation  {} (initial: {})",
        report.val.describe(),
        report.initial_val.describe()
    );
    let _ =
        writeln!(out, "test        {} on {} images", report.test.describe(), report.test_images);
    let _ = writeln!(out, "run folder  {}", dir.display());
    let _ = writeln!(
        out,
        "            run.toml · metrics.jsonl · metrics.json · curves.png · model.bpk"
    );
    out
}

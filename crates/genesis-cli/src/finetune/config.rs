//! The resolved fine-tuning configuration: defaults, then the TOML file, then the command-line
//! flags, each overriding the one before.

use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::pretrain::config::{
    Dim, Optimizer, config_table, over_preset, require_counts_and_lr, require_levels,
};

/// The downstream task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Image classification: the encoder's bottleneck, global average pooling, a linear layer.
    Classify,
    /// Binary segmentation: the whole U-Net, one sigmoid channel, soft Dice loss.
    Segment,
}

impl Task {
    /// The name used in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classify => "classify",
            Task::Segment => "segment",
        }
    }
}

/// Everything a fine-tuning run depends on; written to the run folder as `run.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FinetuneConfig {
    /// Classification or segmentation.
    pub task: Task,
    /// `scratch` (random initialisation) or a `.bpk` written by `genesis pretrain` (or a
    /// pretrain run folder, meaning its `checkpoints/best/model.bpk`).
    pub init: String,
    /// `phantom` (the synthetic nodule benchmark) or a folder laid out as in
    /// docs/finetuning.md.
    pub data: String,
    /// 2-D images or 3-D volumes (only for `init = "scratch"`; weights bring their own).
    pub dim: Dim,
    /// `cpu`, `wgpu[:N]` or `cuda[:N]`.
    pub device: String,
    /// Seed of the model initialisation, the labelled subset and the batch order.
    pub seed: u64,
    /// Seed of the train / validation / test split (kept fixed across seeds so every run is
    /// scored on the same test images).
    pub split_seed: u64,
    /// Labelled training images used (a stratified subset of the training split; 0 = all).
    pub labels: usize,
    /// Fraction of the images held out for the test metrics.
    pub test_fraction: f64,
    /// Fraction of the images used for validation (early stopping, best epoch).
    pub val_fraction: f64,
    /// Epochs to train (at most; early stopping may end sooner).
    pub epochs: usize,
    /// Samples per batch.
    pub batch: usize,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Learning rate (constant).
    pub lr: f64,
    /// SGD momentum (ignored by Adam).
    pub momentum: f64,
    /// Stop after this many epochs without a better validation metric.
    pub patience: usize,
    /// Train only the classification layer on a frozen encoder (a linear probe); for
    /// segmentation, only the decoder.
    pub freeze_encoder: bool,
    /// Random horizontal flips of the training images (and masks).
    pub flip: bool,
    /// Image side in pixels (2-D) or in-plane voxels (3-D); every image is resized to it.
    pub size: usize,
    /// Depth in slices (3-D only).
    pub depth: usize,
    /// Width of the first U-Net block (for `init = "scratch"`).
    pub base: usize,
    /// Encoder levels of the 2-D U-Net (for `init = "scratch"`).
    pub levels: usize,
    /// Phantom patients rendered for `data = "phantom"` (each gives two lung windows).
    pub patients: usize,
}

impl FinetuneConfig {
    /// The defaults of `task`: a small 2-D run that trains in under a minute on a CPU, with the
    /// spec's downstream optimiser (§3.4, §7.1: Adam; lr 1e-3 as for the nodule tasks, 1e-2 for
    /// segmentation as for liver segmentation — soft Dice from a 0.5-everywhere start is slow to
    /// leave its plateau at 1e-3), a small model and a small label budget.
    pub fn preset(task: Task) -> Self {
        let lr = match task {
            Task::Classify => 1e-3,
            Task::Segment => 1e-2,
        };
        Self {
            task,
            init: "scratch".into(),
            data: "phantom".into(),
            dim: Dim::D2,
            device: "cpu".into(),
            seed: 0,
            split_seed: 0,
            labels: 32,
            test_fraction: 0.4,
            val_fraction: 0.15,
            epochs: 30,
            batch: 8,
            optimizer: Optimizer::Adam,
            lr,
            momentum: 0.9,
            patience: 10,
            freeze_encoder: false,
            flip: true,
            size: 64,
            depth: 16,
            base: 8,
            levels: 3,
            patients: 192,
        }
    }

    /// Whether `init` names weights rather than `scratch`.
    pub fn pretrained(&self) -> bool {
        self.init != "scratch"
    }

    /// Spatial shape `[X, Y, Z]` of one image (`[size, size, 1]` in 2-D).
    pub fn sample_shape(&self) -> [usize; 3] {
        self.dim.shape(self.size, self.depth)
    }

    /// Checks values a run cannot work with, naming the key to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        let positive = [
            ("epochs", self.epochs),
            ("batch", self.batch),
            ("base", self.base),
            ("size", self.size),
            ("patients", self.patients),
        ];
        require_counts_and_lr(&positive, self.lr)?;
        let fractions =
            [("test-fraction", self.test_fraction), ("val-fraction", self.val_fraction)];
        if let Some((key, v)) = fractions.iter().find(|(_, v)| !(0.0..1.0).contains(v) || *v == 0.0)
        {
            bail!("{key} must be between 0 and 1 (exclusive), got {v}");
        }
        if self.test_fraction + self.val_fraction >= 0.9 {
            bail!("test-fraction + val-fraction must leave at least 10% of the images to train on");
        }
        require_levels(self.dim, self.levels)
    }
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
    /// Early-stopping patience in epochs.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Image side in pixels.
    #[arg(long)]
    pub size: Option<usize>,
    /// Linear probe: freeze the pretrained encoder, train only the head (or the decoder).
    #[arg(long)]
    pub freeze_encoder: bool,
}

impl Overrides {
    /// Writes the given values into `cfg`.
    fn apply(&self, cfg: &mut FinetuneConfig) {
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = &self.$field {
                    cfg.$field = v.clone();
                }
            )*};
        }
        set!(task, init, data, dim, device, seed, labels, epochs, batch, lr, patience, size);
        cfg.freeze_encoder |= self.freeze_encoder;
    }
}

/// Resolves a run: the preset of the task (`--task`, else the file's `task`, else classify),
/// the file's keys over it, the flags over both.
pub fn resolve(file: Option<&Path>, cli: &Overrides) -> anyhow::Result<FinetuneConfig> {
    let (table, path) = config_table(file)?;
    let file_task =
        table.get("task").map(|v| v.clone().try_into::<Task>()).transpose().with_context(|| {
            format!("{}: `task` must be \"classify\" or \"segment\"", path.display())
        })?;
    let task = cli.task.or(file_task).unwrap_or(Task::Classify);
    let mut cfg = over_preset(FinetuneConfig::preset(task), table, path, "docs/finetuning.md")?;
    cli.apply(&mut cfg);
    cfg.validate()?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pretrain::config::write;

    #[test]
    fn flags_override_the_file_which_overrides_the_defaults() {
        let dir = std::env::temp_dir().join(format!("genesis-ft-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ft.toml");
        std::fs::write(&file, "task = \"segment\"\nbatch = 3\nlr = 0.5\noptimizer = \"sgd\"\n")
            .unwrap();
        let cli = Overrides { lr: Some(0.25), freeze_encoder: true, ..Overrides::default() };
        let cfg = resolve(Some(&file), &cli).unwrap();
        assert_eq!(
            (cfg.task, cfg.batch, cfg.lr, cfg.optimizer, cfg.freeze_encoder),
            (Task::Segment, 3, 0.25, Optimizer::Sgd, true)
        );
        let seg = resolve(None, &Overrides { task: Some(Task::Segment), ..Overrides::default() });
        assert_eq!(seg.unwrap().lr, 1e-2, "segmentation's preset rate");
        std::fs::write(&file, "bacth = 3\n").unwrap();
        let err = resolve(Some(&file), &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("bacth"), "{err:#}");
        std::fs::write(&file, "test-fraction = 0.6\nval-fraction = 0.4\n").unwrap();
        assert!(resolve(Some(&file), &Overrides::default()).is_err());
        write(&cfg, &file).unwrap();
        assert_eq!(resolve(Some(&file), &Overrides::default()).unwrap(), cfg);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

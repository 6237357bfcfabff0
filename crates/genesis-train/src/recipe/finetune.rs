//! The fine-tuning recipe: task defaults, then the TOML file, then the flags.

use std::path::Path;

use anyhow::bail;
use genesis_io::Preprocess;
use genesis_nn::BnMode;
use serde::{Deserialize, Serialize};

use super::{
    Dim, Optimizer, config_table, defaults, key, layered, require_counts_and_lr, require_levels,
    require_preprocess,
};
use crate::schedule::LrSchedule;

/// The downstream task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
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

    /// The metric that picks the best epoch.
    pub fn metric(self) -> &'static str {
        match self {
            Task::Classify => "AUC",
            Task::Segment => "Dice",
        }
    }
}

/// How the classifier pools the bottleneck feature map before its linear layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Pool {
    /// Global average pooling (the Semantic Genesis head): every position counts alike.
    #[default]
    Avg,
    /// Global max pooling: the strongest response anywhere, so a small local finding (a
    /// nodule) is not averaged away.
    Max,
}

/// The segmentation loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum SegLoss {
    /// Soft Dice over the batch (the Models Genesis recipe). From a fresh output layer every
    /// pixel starts at 0.5, where the Dice gradient on the background is tiny: small runs can
    /// sit on that plateau for many epochs.
    #[default]
    Dice,
    /// Soft Dice plus binary cross-entropy (the nnU-Net practice): the cross-entropy pulls the
    /// background down from the first step.
    DiceBce,
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
    /// Learning rate.
    pub lr: f64,
    /// SGD momentum (ignored by Adam).
    pub momentum: f64,
    /// The learning-rate schedule: `constant`, `cosine` or `step` (every `lr-step-epochs`).
    #[serde(default = "LrSchedule::constant")]
    pub lr_schedule: LrSchedule,
    /// StepLR period in epochs (with `lr-schedule = "step"`; 0 = never).
    #[serde(default)]
    pub lr_step_epochs: usize,
    /// StepLR factor.
    #[serde(default = "half")]
    pub lr_gamma: f64,
    /// Linear learning-rate warm-up over this many optimiser steps (0 = none).
    #[serde(default)]
    pub warmup_steps: usize,
    /// Clip the gradients' global L2 norm to this value (0 = off).
    #[serde(default)]
    pub clip_grad_norm: f64,
    /// Batches accumulated into one optimiser step (effective batch = batch × accumulate).
    #[serde(default = "defaults::one")]
    pub accumulate: usize,
    /// Stop after this many epochs without a better validation metric (at least 1).
    pub patience: usize,
    /// Learning rate of the pretrained layers as a fraction of `lr` (the new ones — the output
    /// convolution, the classifier — train at `lr`); 1 = one rate for all. No effect from
    /// scratch.
    #[serde(default = "defaults::unit")]
    pub pretrained_lr_scale: f64,
    /// Epochs at the start of a pretrained run in which only the new layers train (the
    /// pretrained ones at learning rate 0).
    #[serde(default)]
    pub head_warmup_epochs: usize,
    /// The segmentation loss: `dice` or `dice-bce`.
    #[serde(default)]
    pub seg_loss: SegLoss,
    /// The classifier's pooling of the bottleneck: `avg` or `max`.
    #[serde(default)]
    pub pool: Pool,
    /// Rescale every image to [0, 1] by its own minimum and maximum (removes exposure and
    /// brightness differences between images).
    #[serde(default)]
    pub normalize: bool,
    /// Batch-norm statistics at evaluation: `batch` (each batch's own, like the released
    /// models' `ContBatchNorm`) or `running` (the stored running statistics, PyTorch `eval()`).
    #[serde(default)]
    pub bn: BnMode,
    /// Samples per epoch at least: a small labelled set is cycled to this many, so every label
    /// budget gets the same optimiser steps and validations per epoch (0 = one pass).
    #[serde(default)]
    pub epoch_samples: usize,
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
    /// How scans of a data folder are read: volume of a 4-D NIfTI file, DICOM series, HU
    /// window or min–max, target spacing (the `[preprocess]` table; docs/io.md).
    #[serde(default)]
    pub preprocess: Preprocess,
}

fn half() -> f64 {
    0.5
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
            lr_schedule: LrSchedule::Constant,
            lr_step_epochs: 0,
            lr_gamma: 0.5,
            warmup_steps: 0,
            clip_grad_norm: 0.0,
            accumulate: 1,
            patience: 10,
            freeze_encoder: false,
            pretrained_lr_scale: 1.0,
            head_warmup_epochs: 0,
            seg_loss: SegLoss::Dice,
            pool: Pool::Avg,
            normalize: false,
            bn: BnMode::Batch,
            epoch_samples: 0,
            flip: true,
            size: 64,
            depth: 16,
            base: 8,
            levels: 3,
            patients: 192,
            preprocess: Preprocess::default(),
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
            ("patience", self.patience),
        ];
        require_counts_and_lr(&positive, self.lr)?;
        if !(self.pretrained_lr_scale.is_finite() && self.pretrained_lr_scale >= 0.0) {
            bail!(
                "pretrained-lr-scale must be a number ≥ 0 (a fraction of lr), got {}",
                self.pretrained_lr_scale
            );
        }
        self.optimization().validate()?;
        require_preprocess(&self.preprocess)?;
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

    /// Resolves a run: the preset of the task (flags, else the file's `task`, else classify),
    /// the file's keys over it, the `flags` (kebab-case keys) over both.
    pub fn resolve(file: Option<&Path>, flags: &toml::Table) -> anyhow::Result<Self> {
        let (table, path) = config_table(file)?;
        let task = key(flags, &table, "task", path)?.unwrap_or(Task::Classify);
        let cfg = layered(Self::preset(task), table, flags, path, "docs/finetuning.md")?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_the_defaults() {
        let dir = std::env::temp_dir().join(format!("genesis-ft-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ft.toml");
        std::fs::write(&file, "task = \"segment\"\nbatch = 3\nlr = 0.5\noptimizer = \"sgd\"\n")
            .unwrap();
        let flags: toml::Table =
            [("lr".to_string(), 0.25.into()), ("freeze-encoder".to_string(), true.into())]
                .into_iter()
                .collect();
        let cfg = FinetuneConfig::resolve(Some(&file), &flags).unwrap();
        assert_eq!(
            (cfg.task, cfg.batch, cfg.lr, cfg.optimizer, cfg.freeze_encoder),
            (Task::Segment, 3, 0.25, Optimizer::Sgd, true)
        );
        let segment: toml::Table = [("task".to_string(), "segment".into())].into_iter().collect();
        assert_eq!(FinetuneConfig::resolve(None, &segment).unwrap().lr, 1e-2);
        std::fs::write(&file, "bacth = 3\n").unwrap();
        let err = FinetuneConfig::resolve(Some(&file), &toml::Table::new()).unwrap_err();
        assert!(format!("{err:#}").contains("bacth"), "{err:#}");
        std::fs::write(&file, "test-fraction = 0.6\nval-fraction = 0.4\n").unwrap();
        assert!(FinetuneConfig::resolve(Some(&file), &toml::Table::new()).is_err());
        std::fs::write(&file, "patience = 0\n").unwrap();
        let err = FinetuneConfig::resolve(Some(&file), &toml::Table::new()).unwrap_err();
        assert!(err.to_string().contains("patience must be at least 1"), "{err}");
        super::super::write(&cfg, &file).unwrap();
        assert_eq!(FinetuneConfig::resolve(Some(&file), &toml::Table::new()).unwrap(), cfg);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

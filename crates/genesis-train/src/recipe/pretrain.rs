//! The pretraining recipe: a method preset (spec §6), then the TOML file, then the flags.

use std::path::Path;

use anyhow::{Context, bail};
use genesis_core::Preset;
use genesis_io::Preprocess;
use genesis_nn::{Arch, ArchSpec, BnMode};
use serde::{Deserialize, Serialize};

use super::{
    Dim, Optimizer, config_table, defaults, key, layered, read_table, require_counts_and_lr,
    require_levels, require_preprocess,
};
use crate::schedule::{LrSchedule, Schedule};

/// A pretraining recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Models Genesis: composed transforms, MSE, SGD lr 1.0 momentum 0.9 (spec §6.1).
    ModelsGenesis,
    /// Semantic Genesis: restoration + pseudo-class classification, Adam 1e-3 (spec §6.3/6.4).
    SemanticGenesis,
    /// Classification of the pseudo-classes only (the `--exp en` variant of spec §6.4).
    Classification,
    /// Restoration only, on the Semantic Genesis pipeline with Adam (no head).
    Restoration,
}

impl Method {
    /// Whether the model carries a classification head and the data needs class labels.
    pub fn has_head(self) -> bool {
        matches!(self, Method::SemanticGenesis | Method::Classification)
    }

    /// The kebab-case name used in files and folders.
    pub fn name(self) -> &'static str {
        match self {
            Method::ModelsGenesis => "models-genesis",
            Method::SemanticGenesis => "semantic-genesis",
            Method::Classification => "classification",
            Method::Restoration => "restoration",
        }
    }
}

/// Everything a pretraining run depends on; written to the run folder as `run.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RunConfig {
    /// The recipe.
    pub method: Method,
    /// 2-D or 3-D.
    pub dim: Dim,
    /// `phantom` (built-in synthetic chests) or a folder.
    pub data: String,
    /// `cpu`, `wgpu[:N]` or `cuda[:N]`.
    pub device: String,
    /// Seed of every random draw (model init, data, transforms).
    pub seed: u64,
    /// Epochs to train (at most; early stopping may end sooner).
    pub epochs: usize,
    /// Optimiser steps per epoch.
    pub steps_per_epoch: usize,
    /// Fixed validation batches evaluated after each epoch.
    pub val_batches: usize,
    /// Samples per batch.
    pub batch: usize,
    /// The transform pipeline producing (input, target) pairs.
    pub pipeline: Preset,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Initial learning rate.
    pub lr: f64,
    /// SGD momentum (ignored by Adam).
    pub momentum: f64,
    /// The learning-rate schedule: `step` (StepLR), `cosine` (to 0 at the last step) or
    /// `constant`.
    #[serde(default = "LrSchedule::step")]
    pub lr_schedule: LrSchedule,
    /// StepLR: multiply the learning rate by `lr-gamma` every this many epochs (0 = constant).
    pub lr_step_epochs: usize,
    /// StepLR factor.
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
    /// Weight of the restoration MSE.
    pub lambda_rec: f64,
    /// Weight of the classification cross-entropy (methods with a head).
    pub lambda_cls: f64,
    /// Stop after this many epochs without a lower validation loss (at least 1).
    pub patience: usize,
    /// Crop side in pixels (2-D) or in-plane voxels (3-D).
    pub size: usize,
    /// Crop depth in slices (3-D only).
    pub depth: usize,
    /// Width of the first U-Net block (32 in the released models).
    pub base: usize,
    /// Encoder levels of the 2-D U-Net (the 3-D U-Net always has 4).
    pub levels: usize,
    /// Pseudo-classes for `data = "phantom"` (a manifest brings its own).
    pub classes: usize,
    /// Phantom patients rendered for `data = "phantom"`.
    pub patients: usize,
    /// Threads generating batches ahead of the model.
    pub workers: usize,
    /// Batches each worker may hold ready.
    pub prefetch: usize,
    /// Validation samples shown in each epoch's restoration grid.
    pub grid_samples: usize,
    /// How scans of a data folder are read: volume of a 4-D NIfTI file, DICOM series, HU
    /// window or min–max, target spacing (the `[preprocess]` table; docs/io.md).
    #[serde(default)]
    pub preprocess: Preprocess,
}

/// Keys a resumed run may change; every other key would change the run's meaning.
const RESUMABLE: [&str; 4] = ["epochs", "patience", "device", "workers"];

impl RunConfig {
    /// The preset of `method` in `dim`: the spec §6 recipe, with a small model and crop so that
    /// the built-in default trains in minutes on a CPU.
    pub fn preset(method: Method, dim: Dim) -> Self {
        let (optimizer, lr, batch, pipeline) = match method {
            Method::ModelsGenesis => (Optimizer::Sgd, 1.0, 6, Preset::ModelsGenesis),
            _ => (Optimizer::Adam, 1e-3, 8, Preset::SemanticGenesis),
        };
        let (lambda_rec, lambda_cls) = match method {
            Method::ModelsGenesis | Method::Restoration => (1.0, 0.0),
            Method::SemanticGenesis => (1.0, 0.01),
            Method::Classification => (0.0, 1.0),
        };
        let (size, patients) = match dim {
            Dim::D2 => (64, 32),
            Dim::D3 => (32, 32),
        };
        Self {
            method,
            dim,
            data: "phantom".into(),
            device: "cpu".into(),
            seed: 0,
            epochs: 8,
            steps_per_epoch: 40,
            val_batches: 4,
            batch,
            pipeline,
            optimizer,
            lr,
            momentum: 0.9,
            lr_schedule: LrSchedule::Step,
            lr_step_epochs: 40,
            lr_gamma: 0.5,
            warmup_steps: 0,
            clip_grad_norm: 0.0,
            accumulate: 1,
            lambda_rec,
            lambda_cls,
            patience: 50,
            size,
            depth: 16,
            base: 8,
            levels: 3,
            classes: 10,
            patients,
            workers: 2,
            prefetch: 2,
            grid_samples: 4,
            preprocess: Preprocess::default(),
        }
    }

    /// The network this recipe trains, for `classes` pseudo-classes: a U-Net, with a head for
    /// the methods that classify.
    pub fn arch(&self, classes: usize) -> ArchSpec {
        let arch = match (self.dim, self.method.has_head()) {
            (Dim::D2, false) => Arch::Unet2d,
            (Dim::D2, true) => Arch::Semantic2d,
            (Dim::D3, false) => Arch::Unet3d,
            (Dim::D3, true) => Arch::Semantic3d,
        };
        ArchSpec { arch, base: self.base, depth: self.levels, classes, bn_mode: BnMode::Batch }
    }

    /// The learning-rate schedule over the whole run.
    pub fn schedule(&self) -> Schedule {
        Schedule::over(self.optimization(), self.steps_per_epoch, self.epochs)
    }

    /// Spatial shape `[X, Y, Z]` of one sample (`[size, size, 1]` in 2-D).
    pub fn sample_shape(&self) -> [usize; 3] {
        self.dim.shape(self.size, self.depth)
    }

    /// Checks values a run cannot work with, naming the key to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        let positive = [
            ("epochs", self.epochs),
            ("steps-per-epoch", self.steps_per_epoch),
            ("val-batches", self.val_batches),
            ("batch", self.batch),
            ("base", self.base),
            ("workers", self.workers),
            ("prefetch", self.prefetch),
            ("patients", self.patients),
            ("patience", self.patience),
        ];
        require_counts_and_lr(&positive, self.lr)?;
        self.optimization().validate()?;
        require_preprocess(&self.preprocess)?;
        let divisor = match self.dim {
            Dim::D2 => 1 << self.levels.saturating_sub(1),
            Dim::D3 => 8,
        };
        require_levels(self.dim, self.levels)?;
        let spatial = match self.dim {
            Dim::D2 => vec![self.size],
            Dim::D3 => vec![self.size, self.depth],
        };
        if spatial.iter().any(|s| *s == 0 || s % divisor != 0) {
            bail!("size (and depth in 3d) must be positive multiples of {divisor} for this U-Net");
        }
        if self.method.has_head() && self.data == "phantom" && self.classes < 2 {
            bail!("classes must be at least 2 for {:?}", self.method);
        }
        Ok(())
    }

    /// Resolves a new run: the preset of the method and dim (flags, else the file, else
    /// Semantic Genesis in 2-D), the file's keys over it, the `flags` (kebab-case keys) over
    /// both.
    pub fn resolve(file: Option<&Path>, flags: &toml::Table) -> anyhow::Result<Self> {
        let (table, path) = config_table(file)?;
        let method = key(flags, &table, "method", path)?.unwrap_or(Method::SemanticGenesis);
        let dim = key(flags, &table, "dim", path)?.unwrap_or(Dim::D2);
        let cfg = layered(Self::preset(method, dim), table, flags, path, "docs/pretraining.md")?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The configuration of the run in `run_dir` (its `run.toml`) with the `flags` that may
    /// change on resume (epochs, patience, device, workers); other flags are refused.
    pub fn resume(run_dir: &Path, flags: &toml::Table) -> anyhow::Result<Self> {
        let refused: Vec<&str> =
            flags.keys().map(String::as_str).filter(|k| !RESUMABLE.contains(k)).collect();
        if !refused.is_empty() {
            bail!(
                "--resume continues {} with its own run.toml; --{} cannot change on resume (only --{} can)",
                run_dir.display(),
                refused.join(", --"),
                RESUMABLE.join(", --")
            );
        }
        let path = run_dir.join("run.toml");
        let table = read_table(&path)?;
        let mut cfg: Self = toml::Value::Table(table)
            .try_into()
            .with_context(|| format!("{}: not a genesis run config", path.display()))?;
        if !flags.is_empty() {
            cfg = layered(cfg, toml::Table::new(), flags, &path, "docs/pretraining.md")?;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(pairs: &[(&str, toml::Value)]) -> toml::Table {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn presets_follow_the_spec() {
        let mg = RunConfig::preset(Method::ModelsGenesis, Dim::D3);
        assert_eq!((mg.optimizer, mg.lr, mg.momentum, mg.batch), (Optimizer::Sgd, 1.0, 0.9, 6));
        let sg = RunConfig::preset(Method::SemanticGenesis, Dim::D2);
        assert_eq!(
            (sg.optimizer, sg.lr, sg.batch, sg.lambda_rec, sg.lambda_cls),
            (Optimizer::Adam, 1e-3, 8, 1.0, 0.01)
        );
    }

    #[test]
    fn flags_override_the_file_which_overrides_the_preset() {
        let dir = std::env::temp_dir().join(format!("genesis-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("run.toml");
        std::fs::write(&file, "method = \"models-genesis\"\nbatch = 3\nlr = 0.5\n").unwrap();
        let cfg = RunConfig::resolve(Some(&file), &flags(&[("lr", 0.25.into())])).unwrap();
        assert_eq!(
            (cfg.method, cfg.batch, cfg.lr, cfg.optimizer),
            (Method::ModelsGenesis, 3, 0.25, Optimizer::Sgd)
        );
        std::fs::write(&file, "bacth = 3\n").unwrap();
        let err = RunConfig::resolve(Some(&file), &toml::Table::new()).unwrap_err();
        assert!(format!("{err:#}").contains("bacth"), "{err:#}");
        super::super::write(&cfg, &file).unwrap();
        assert_eq!(RunConfig::resume(&dir, &toml::Table::new()).unwrap(), cfg);
        let longer = RunConfig::resume(&dir, &flags(&[("epochs", 20.into())])).unwrap();
        assert_eq!(longer.epochs, 20);
        let err = RunConfig::resume(&dir, &flags(&[("seed", 1.into())])).unwrap_err();
        assert!(err.to_string().contains("--seed cannot change"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn preprocess_flags_change_one_key_of_the_files_table() {
        let dir = std::env::temp_dir().join(format!("genesis-pre-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("run.toml");
        std::fs::write(&file, "[preprocess]\nhu-min = -500.0\nspacing = [1.0, 1.0, 2.0]\n")
            .unwrap();
        let over: toml::Table = toml::from_str("preprocess = { hu-max = 400.0 }").unwrap();
        let cfg = RunConfig::resolve(Some(&file), &over).unwrap();
        let p = &cfg.preprocess;
        assert_eq!((p.hu_min, p.hu_max, p.spacing), (-500.0, 400.0, Some([1.0, 1.0, 2.0])));
        super::super::write(&cfg, &file).unwrap();
        assert_eq!(RunConfig::resolve(Some(&file), &toml::Table::new()).unwrap(), cfg);
        let empty: toml::Table = toml::from_str("preprocess = { hu-max = -600.0 }").unwrap();
        let err = RunConfig::resolve(Some(&file), &empty).unwrap_err();
        assert!(err.to_string().contains("hu-min/hu-max"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn patience_zero_and_bad_knobs_are_refused_by_name() {
        let bad = |f: &[(&str, toml::Value)]| {
            RunConfig::resolve(None, &flags(f)).unwrap_err().to_string()
        };
        assert!(bad(&[("patience", 0.into())]).contains("patience must be at least 1"));
        assert!(bad(&[("accumulate", 0.into())]).contains("accumulate"));
        assert!(bad(&[("clip-grad-norm", (-1.0).into())]).contains("clip-grad-norm"));
    }

    #[test]
    fn run_files_written_before_the_new_keys_still_read() {
        let mut table =
            toml::Table::try_from(RunConfig::preset(Method::Restoration, Dim::D2)).unwrap();
        for k in ["lr-schedule", "warmup-steps", "clip-grad-norm", "accumulate", "preprocess"] {
            table.remove(k);
        }
        let cfg: RunConfig = toml::Value::Table(table).try_into().unwrap();
        assert_eq!(cfg, RunConfig::preset(Method::Restoration, Dim::D2));
    }
}

//! Recipes: the serde configurations of pretraining ([`RunConfig`]) and fine-tuning
//! ([`FinetuneConfig`](crate::recipe::FinetuneConfig)), their presets (spec §6, §7), the checks
//! that name the key to change, and how layers of TOML (preset ← file ← flags) resolve into one.

mod finetune;
mod pretrain;

/// `optimization()` of a recipe whose keys include the optimisation knobs (serde cannot flatten
/// them into one struct beside `deny_unknown_fields`).
macro_rules! optimization_knobs {
    ($recipe:ty) => {
        impl $recipe {
            /// The optimisation knobs: schedule, clipping, accumulation.
            pub fn optimization(&self) -> $crate::schedule::Optimization {
                $crate::schedule::Optimization {
                    lr: self.lr,
                    schedule: self.lr_schedule,
                    warmup_steps: self.warmup_steps,
                    step_epochs: self.lr_step_epochs,
                    gamma: self.lr_gamma,
                    clip_grad_norm: self.clip_grad_norm,
                    accumulate: self.accumulate,
                }
            }
        }
    };
}

optimization_knobs!(RunConfig);
optimization_knobs!(FinetuneConfig);

use std::path::Path;

use anyhow::{Context, bail};
use genesis_nn::burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig, momentum::MomentumConfig};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub use crate::schedule::Optimization;
pub use finetune::{FinetuneConfig, Pool, SegLoss, Task};
pub use pretrain::{Method, RunConfig};

/// 2-D images or 3-D volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Dim {
    /// Radiographs, `[N, 1, H, W]`.
    #[serde(rename = "2d")]
    #[cfg_attr(feature = "cli", value(name = "2d"))]
    D2,
    /// CT volumes, `[N, 1, X, Y, Z]`.
    #[serde(rename = "3d")]
    #[cfg_attr(feature = "cli", value(name = "3d"))]
    D3,
}

impl Dim {
    /// Spatial shape `[X, Y, Z]` of a crop of side `size` (`[size, size, 1]` in 2-D).
    pub fn shape(self, size: usize, depth: usize) -> [usize; 3] {
        match self {
            Dim::D2 => [size, size, 1],
            Dim::D3 => [size, size, depth],
        }
    }

    /// `2d` or `3d`.
    pub fn name(self) -> &'static str {
        match self {
            Dim::D2 => "2d",
            Dim::D3 => "3d",
        }
    }
}

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Optimizer {
    /// SGD with (PyTorch-style, undampened) momentum.
    Sgd,
    /// Adam, β = (0.9, 0.999), ε = 1e-7 (Keras', as in the released recipes).
    Adam,
}

impl Optimizer {
    /// Builds the optimiser: SGD with undampened momentum `momentum` like PyTorch, or Adam
    /// with Keras' ε. Every workflow of the engine (and the page) builds it here.
    pub fn build(self, momentum: f64) -> ModuleOptimizer {
        match self {
            Optimizer::Sgd => SgdConfig::new()
                .with_momentum(Some(
                    MomentumConfig::new().with_momentum(momentum).with_dampening(0.0),
                ))
                .init(),
            Optimizer::Adam => AdamConfig::new().with_epsilon(1e-7).init(),
        }
    }
}

/// Fails naming the first key of `counts` that is 0, or `lr` when it is not a positive number.
pub fn require_counts_and_lr(counts: &[(&str, usize)], lr: f64) -> anyhow::Result<()> {
    if let Some((key, _)) = counts.iter().find(|(_, v)| *v == 0) {
        if *key == "patience" {
            bail!(
                "patience must be at least 1 (epochs without improvement before stopping); to never stop early, set it to the number of epochs"
            );
        }
        bail!("{key} must be at least 1");
    }
    if !(lr.is_finite() && lr > 0.0) {
        bail!("lr must be a positive number, got {lr}");
    }
    Ok(())
}

/// Fails unless a 2-D U-Net's `levels` is between 2 and 6 (3-D U-Nets have fixed depth).
pub fn require_levels(dim: Dim, levels: usize) -> anyhow::Result<()> {
    if dim == Dim::D2 && !(2..=6).contains(&levels) {
        bail!("levels must be between 2 and 6, got {levels}");
    }
    Ok(())
}

/// Reads a TOML table from `path`.
pub fn read_table(path: &Path) -> anyhow::Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))
}

/// The table of the config `file` (empty without one) and the path to name in messages.
pub fn config_table(file: Option<&Path>) -> anyhow::Result<(toml::Table, &Path)> {
    match file {
        Some(path) => Ok((read_table(path)?, path)),
        None => Ok((toml::Table::new(), Path::new("(no config file)"))),
    }
}

/// One key of the flags table, else of the file's table, if present.
pub fn key<T: DeserializeOwned>(
    flags: &toml::Table,
    file: &toml::Table,
    name: &str,
    path: &Path,
) -> anyhow::Result<Option<T>> {
    let (value, source) = match (flags.get(name), file.get(name)) {
        (Some(v), _) => (v, "the command line".to_string()),
        (None, Some(v)) => (v, path.display().to_string()),
        (None, None) => return Ok(None),
    };
    let value = value.clone().try_into::<T>();
    Ok(Some(value.with_context(|| format!("{source}: bad value for `{name}`"))?))
}

/// `preset` with the keys of `file` (read from `path`) over it and the `flags` over both;
/// unknown keys and bad values fail, pointing at the guide `doc`.
pub fn layered<T: Serialize + DeserializeOwned>(
    preset: T,
    file: toml::Table,
    flags: &toml::Table,
    path: &Path,
    doc: &str,
) -> anyhow::Result<T> {
    let mut merged = toml::Table::try_from(preset).context("encoding the preset")?;
    merge(&mut merged, file);
    let from_file: T = toml::Value::Table(merged.clone())
        .try_into()
        .with_context(|| format!("{}: unknown key or bad value (see {doc})", path.display()))?;
    if flags.is_empty() {
        return Ok(from_file);
    }
    merge(&mut merged, flags.clone());
    toml::Value::Table(merged).try_into().context("a command-line value is out of range")
}

/// Puts the keys of `over` into `base`; a sub-table (e.g. `[preprocess]`) is merged key by key,
/// so a flag changes one of its keys and keeps the others.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Checks the `[preprocess]` keys of a recipe, naming the one to change.
pub fn require_preprocess(pre: &genesis_io::Preprocess) -> anyhow::Result<()> {
    pre.validate().map_err(|e| anyhow::anyhow!("preprocess: {e}"))
}

/// Encodes a resolved configuration as TOML (what `run.toml` holds).
pub fn to_toml<T: Serialize>(cfg: &T) -> anyhow::Result<String> {
    toml::to_string_pretty(cfg).context("encoding run.toml")
}

/// Writes a resolved configuration as TOML to `path` (via a temporary file).
#[cfg(not(target_family = "wasm"))]
pub fn write<T: Serialize>(cfg: &T, path: &Path) -> anyhow::Result<()> {
    Ok(genesis_io::fsutil::write_atomic(path, to_toml(cfg)?.as_bytes())?)
}

/// Serde defaults of the optimisation keys, so that configurations written before they existed
/// still read.
pub(crate) mod defaults {
    /// One batch per step.
    pub fn one() -> usize {
        1
    }

    /// A factor of one.
    pub fn unit() -> f64 {
        1.0
    }
}

//! The resolved run configuration: a method preset (spec §6), then the TOML file, then the
//! command-line flags, each overriding the one before.

use std::path::Path;

use anyhow::{Context, bail};
use genesis_core::Preset;
use genesis_nn::burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig, momentum::MomentumConfig};
use serde::{Deserialize, Serialize};

/// A pretraining recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
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
}

/// 2-D images or 3-D volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Dim {
    /// Radiographs, `[N, 1, H, W]`.
    #[serde(rename = "2d")]
    #[value(name = "2d")]
    D2,
    /// CT volumes, `[N, 1, X, Y, Z]`.
    #[serde(rename = "3d")]
    #[value(name = "3d")]
    D3,
}

/// Fails naming the first key of `counts` that is 0, or `lr` when it is not a positive number.
pub fn require_counts_and_lr(counts: &[(&str, usize)], lr: f64) -> anyhow::Result<()> {
    if let Some((key, _)) = counts.iter().find(|(_, v)| *v == 0) {
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

impl Optimizer {
    /// Builds the optimiser: SGD with undampened momentum `momentum` like PyTorch, or Adam
    /// with Keras' ε.
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

impl Dim {
    /// Spatial shape `[X, Y, Z]` of a crop of side `size` (`[size, size, 1]` in 2-D).
    pub fn shape(self, size: usize, depth: usize) -> [usize; 3] {
        match self {
            Dim::D2 => [size, size, 1],
            Dim::D3 => [size, size, depth],
        }
    }
}

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Optimizer {
    /// SGD with (PyTorch-style, undampened) momentum.
    Sgd,
    /// Adam, β = (0.9, 0.999).
    Adam,
}

/// Everything a run depends on; written to the run folder as `run.toml`.
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
    /// Training batches per epoch.
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
    /// StepLR: multiply the learning rate by `lr-gamma` every this many epochs (0 = constant).
    pub lr_step_epochs: usize,
    /// StepLR factor.
    pub lr_gamma: f64,
    /// Weight of the restoration MSE.
    pub lambda_rec: f64,
    /// Weight of the classification cross-entropy (methods with a head).
    pub lambda_cls: f64,
    /// Stop after this many epochs without a lower validation loss.
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
}

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
            Dim::D3 => (32, 8),
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
            lr_step_epochs: 40,
            lr_gamma: 0.5,
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
        }
    }

    /// Learning rate of `epoch` (1-based) under StepLR.
    pub fn lr_at(&self, epoch: usize) -> f64 {
        match self.lr_step_epochs {
            0 => self.lr,
            step => self.lr * self.lr_gamma.powi(((epoch.saturating_sub(1)) / step) as i32),
        }
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
        ];
        require_counts_and_lr(&positive, self.lr)?;
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
    /// Training batches per epoch.
    #[arg(long)]
    pub steps_per_epoch: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Batch size.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Initial learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Early-stopping patience in epochs.
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
    /// Writes the given values into `cfg`.
    fn apply(&self, cfg: &mut RunConfig) {
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = &self.$field {
                    cfg.$field = v.clone();
                }
            )*};
        }
        set!(
            method,
            dim,
            data,
            device,
            epochs,
            steps_per_epoch,
            seed,
            batch,
            lr,
            patience,
            size,
            workers
        );
    }

    /// Names of the flags given, for checks on resume.
    fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("method", self.method.is_some()),
            ("dim", self.dim.is_some()),
            ("data", self.data.is_some()),
            ("steps-per-epoch", self.steps_per_epoch.is_some()),
            ("seed", self.seed.is_some()),
            ("batch", self.batch.is_some()),
            ("lr", self.lr.is_some()),
            ("size", self.size.is_some()),
        ];
        flags.iter().filter(|(_, given)| *given).map(|(name, _)| *name).collect()
    }
}

/// Reads a TOML table from `path`.
fn read_table(path: &Path) -> anyhow::Result<toml::Table> {
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

/// `preset` with the keys of `table` (read from `path`) over it; unknown keys and bad values
/// fail, pointing at the guide `doc`.
pub fn over_preset<T: Serialize + serde::de::DeserializeOwned>(
    preset: T,
    table: toml::Table,
    path: &Path,
    doc: &str,
) -> anyhow::Result<T> {
    let mut merged = toml::Table::try_from(preset).context("encoding the preset")?;
    merged.extend(table);
    toml::Value::Table(merged)
        .try_into()
        .with_context(|| format!("{}: unknown key or bad value (see {doc})", path.display()))
}

/// Writes a resolved configuration as TOML to `path` (via a temporary file).
pub fn write<T: Serialize>(cfg: &T, path: &Path) -> anyhow::Result<()> {
    let text = toml::to_string_pretty(cfg).context("encoding run.toml")?;
    super::checkpoint::write_atomic(path, text.as_bytes())
}

/// Reads one enum key of a config table, if present.
fn key<T: serde::de::DeserializeOwned>(
    table: &toml::Table,
    name: &str,
    path: &Path,
) -> anyhow::Result<Option<T>> {
    table
        .get(name)
        .map(|v| {
            v.clone()
                .try_into::<T>()
                .with_context(|| format!("{}: bad value for `{name}`", path.display()))
        })
        .transpose()
}

/// Resolves a new run: the preset of the chosen method and dim, the file's keys over it, the
/// flags over both.
pub fn resolve(file: Option<&Path>, cli: &Overrides) -> anyhow::Result<RunConfig> {
    let (table, path) = config_table(file)?;
    let method = cli.method.or(key(&table, "method", path)?).unwrap_or(Method::SemanticGenesis);
    let dim = cli.dim.or(key(&table, "dim", path)?).unwrap_or(Dim::D2);
    let mut cfg = over_preset(RunConfig::preset(method, dim), table, path, "docs/pretraining.md")?;
    cli.apply(&mut cfg);
    cfg.validate()?;
    Ok(cfg)
}

/// The configuration of an existing run (its `run.toml`), with the flags that may change on
/// resume (epochs, patience, device, workers) applied; flags that would change the run's
/// meaning are refused.
pub fn resume(run_dir: &Path, cli: &Overrides) -> anyhow::Result<RunConfig> {
    let given = cli.given();
    if !given.is_empty() {
        bail!(
            "--resume continues {} with its own run.toml; --{} cannot change on resume (only --epochs, --patience, --device, --workers can)",
            run_dir.display(),
            given.join(", --")
        );
    }
    let path = run_dir.join("run.toml");
    let mut cfg: RunConfig = toml::Value::Table(read_table(&path)?)
        .try_into()
        .with_context(|| format!("{}: not a genesis run config", path.display()))?;
    cli.apply(&mut cfg);
    cfg.validate()?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_follow_the_spec() {
        let mg = RunConfig::preset(Method::ModelsGenesis, Dim::D3);
        assert_eq!((mg.optimizer, mg.lr, mg.momentum, mg.batch), (Optimizer::Sgd, 1.0, 0.9, 6));
        assert_eq!((mg.lr_at(40), mg.lr_at(41), mg.lr_at(81)), (1.0, 0.5, 0.25));
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
        let cli = Overrides { lr: Some(0.25), ..Overrides::default() };
        let cfg = resolve(Some(&file), &cli).unwrap();
        assert_eq!(
            (cfg.method, cfg.batch, cfg.lr, cfg.optimizer),
            (Method::ModelsGenesis, 3, 0.25, Optimizer::Sgd)
        );
        std::fs::write(&file, "bacth = 3\n").unwrap();
        assert!(resolve(Some(&file), &Overrides::default()).is_err());
        write(&cfg, &file).unwrap();
        assert_eq!(resume(&dir, &Overrides::default()).unwrap(), cfg);
        assert!(resume(&dir, &Overrides { seed: Some(1), ..Overrides::default() }).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

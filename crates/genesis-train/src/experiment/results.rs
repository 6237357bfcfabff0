//! What the transfer experiment runs and finds: the plan, every run, the summary cells.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::probe::Probe;
use crate::finetune::Report;
use crate::metrics::Scores;
use crate::recipe::{Dim, FinetuneConfig, Task};
use crate::stats::Interval;

/// What `genesis experiment transfer` runs.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Output folder: the pretraining runs, one fine-tuning run per task, budget, init and
    /// seed, and the results.
    pub out: PathBuf,
    /// Models Genesis weights to reuse instead of pretraining.
    pub models_genesis: Option<PathBuf>,
    /// Semantic Genesis weights to reuse instead of pretraining.
    pub semantic_genesis: Option<PathBuf>,
    /// 2-D (radiograph windows) or 3-D (CT cubes) phantom benchmark and pretraining.
    pub dim: Dim,
    /// A pretraining TOML configuration for both methods (over `genesis pretrain`'s presets).
    pub pretrain_config: Option<PathBuf>,
    /// Epochs of each pretraining run.
    pub pretrain_epochs: usize,
    /// Fine-tuning seeds per task, budget and initialisation (seed `k` draws the same labelled
    /// images for every initialisation, so runs pair by seed).
    pub seeds: u64,
    /// Label budgets: labelled training images per run.
    pub labels: Vec<usize>,
    /// Seed of the train / validation / test split, the same for every run.
    pub split_seed: u64,
    /// Tasks to run.
    pub tasks: Vec<Task>,
    /// A fine-tuning TOML configuration shared by every run (over [`benchmark_defaults`]).
    pub config: Option<PathBuf>,
    /// Fine-tuning keys over the configuration (kebab-case, as the flags).
    pub flags: toml::Table,
    /// Device for pretraining and fine-tuning (`None`: each recipe's default).
    pub device: Option<String>,
}

/// The initialisations compared, as (table name, folder name).
pub const INITS: [(&str, &str); 3] = [
    ("Scratch", "scratch"),
    ("Models Genesis", "models-genesis"),
    ("Semantic Genesis", "semantic-genesis"),
];

/// One fine-tuning run of the experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// The task.
    pub task: Task,
    /// Labelled training images.
    pub labels: usize,
    /// Index into [`INITS`].
    pub init: usize,
    /// The run's report (`metrics.json`).
    pub report: Report,
}

impl Run {
    /// The primary test metric (AUC or Dice).
    pub fn primary(&self) -> f64 {
        metrics(self.task, &self.report.test)[0].1
    }
}

/// The summary of one (task, budget, initialisation): the primary test metric over seeds and,
/// for pretrained starts, its paired difference to scratch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// The task.
    pub task: Task,
    /// Labelled training images.
    pub labels: usize,
    /// Index into [`INITS`].
    pub init: usize,
    /// Mean, sample standard deviation and 95% interval of the mean over seeds.
    pub metric: Interval,
    /// Mean and 95% interval of the primary metric at epoch 0 (before any fine-tuning) on
    /// validation.
    pub initial_val: Interval,
    /// The difference to scratch paired by seed (`None` for scratch).
    pub vs_scratch: Option<Paired>,
}

/// A paired difference to scratch over seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Paired {
    /// Mean, std and 95% interval of (this − scratch) per seed.
    pub difference: Interval,
    /// Two-sided p-value of the paired t-test (mean difference = 0).
    pub p_value: f64,
}

/// Everything the experiment found: the setup, the sanity checks, every run and the summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// The fine-tuning configuration of each task (init, seed and labels vary per run).
    pub configs: Vec<FinetuneConfig>,
    /// The pretraining runs' summaries, one line each (empty when weights were given).
    pub pretraining: Vec<String>,
    /// Validation restoration loss of each pretraining run here against its epoch (method,
    /// `(epoch, loss)` at epoch 0, 1 and every tenth): it should fall with pretraining time.
    pub restoration: Vec<(String, Vec<(usize, f64)>)>,
    /// Body-type k-NN accuracy of each initialisation's encoder features.
    pub probes: Vec<Probe>,
    /// Every run.
    pub runs: Vec<Run>,
    /// The summary per task, budget and initialisation.
    pub cells: Vec<Cell>,
}

/// The test metrics of a task: (name, value) pairs, the primary first.
pub fn metrics(task: Task, scores: &Scores) -> [(&'static str, f64); 2] {
    match task {
        Task::Classify => [
            ("AUC", scores.auc.unwrap_or(f64::NAN)),
            ("accuracy", scores.accuracy.unwrap_or(f64::NAN)),
        ],
        Task::Segment => {
            [("Dice", scores.dice.unwrap_or(f64::NAN)), ("IoU", scores.iou.unwrap_or(f64::NAN))]
        }
    }
}

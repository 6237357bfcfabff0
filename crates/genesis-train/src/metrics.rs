//! The records of a run: one per pretraining step and epoch (`metrics.jsonl`, appended as they
//! happen; native), one per fine-tuning epoch, and the scores of a model on a split.

use serde::{Deserialize, Serialize};

/// Losses of one batch or averaged over several.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Losses {
    /// The weighted total `λ_rec·rec + λ_cls·cls`.
    pub loss: f64,
    /// Restoration MSE.
    pub rec: f64,
    /// Classification cross-entropy (0 without a head).
    pub cls: f64,
}

impl Losses {
    /// Element-wise mean of `items` (zero when empty).
    pub fn mean(items: &[Losses]) -> Self {
        let n = items.len().max(1) as f64;
        let sum = |f: fn(&Losses) -> f64| items.iter().map(f).sum::<f64>() / n;
        Self { loss: sum(|l| l.loss), rec: sum(|l| l.rec), cls: sum(|l| l.cls) }
    }
}

/// One line of a pretraining run's `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A training step.
    Step {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within the epoch (0-based).
        step: usize,
        /// Steps taken so far in the run, this one included.
        global_step: u64,
        /// The batch's losses.
        #[serde(flatten)]
        losses: Losses,
        /// Learning rate used.
        lr: f64,
        /// Throughput of this step, data waiting included.
        samples_per_s: f64,
    },
    /// The end of an epoch (epoch 0: the untrained model's validation).
    Epoch {
        /// Epoch (0 = before training).
        epoch: usize,
        /// Mean training losses (absent for epoch 0).
        train: Option<Losses>,
        /// Validation losses.
        val: Losses,
        /// Validation pseudo-class accuracy (methods with a head).
        val_acc: Option<f64>,
        /// Learning rate of the epoch's last step.
        lr: f64,
        /// Mean training throughput.
        samples_per_s: f64,
        /// Wall time of the epoch, validation included.
        seconds: f64,
        /// Whether this epoch set a new best validation loss.
        improved: bool,
    },
}

impl Record {
    /// The epoch a record belongs to.
    pub fn epoch(&self) -> usize {
        match self {
            Record::Step { epoch, .. } | Record::Epoch { epoch, .. } => *epoch,
        }
    }
}

/// Loss and metrics of a fine-tuned model on one split.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Scores {
    /// Mean cross-entropy, or the soft Dice loss pooled over the split.
    pub loss: f64,
    /// ROC AUC (binary; mean one-vs-rest otherwise), when the split has two classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
    /// Fraction of images whose most probable class is right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Dice of the masks thresholded at 0.5, pooled over the split (1 when both are empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dice: Option<f64>,
    /// IoU likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iou: Option<f64>,
}

impl Scores {
    /// The metric that picks the best epoch: AUC (accuracy without one), or Dice.
    pub fn primary(&self) -> f64 {
        self.auc.or(self.accuracy).or(self.dice).unwrap_or(0.0)
    }

    /// `AUC 0.812 · acc 0.750` style text.
    pub fn describe(&self) -> String {
        let parts =
            [("AUC", self.auc), ("acc", self.accuracy), ("Dice", self.dice), ("IoU", self.iou)];
        parts
            .iter()
            .filter_map(|(name, v)| v.map(|v| format!("{name} {v:.3}")))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// One line of a fine-tuning run's `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneRecord {
    /// Epoch (0 = before training).
    pub epoch: usize,
    /// Mean training loss (absent for epoch 0).
    pub train_loss: Option<f64>,
    /// Validation loss and metrics.
    pub val: Scores,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
    /// Whether this epoch set a new best validation metric.
    pub improved: bool,
}

#[cfg(not(target_family = "wasm"))]
pub use log::{MetricsLog, read};

#[cfg(not(target_family = "wasm"))]
mod log {
    use std::fs::{File, OpenOptions};
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use anyhow::Context;
    use genesis_io::fsutil::write_atomic;

    use super::Record;

    /// The metrics file of a pretraining run, open for appending.
    pub struct MetricsLog {
        path: PathBuf,
        file: File,
        records: Vec<Record>,
    }

    impl MetricsLog {
        /// Opens `run/metrics.jsonl`, keeping only records of epochs up to `through` (what the
        /// checkpoint being resumed covers) and dropping any torn last line.
        pub fn open(run: &Path, through: usize) -> anyhow::Result<Self> {
            let path = run.join("metrics.jsonl");
            let records: Vec<Record> =
                read(&path)?.into_iter().filter(|r| r.epoch() <= through).collect();
            let mut text = String::new();
            for r in &records {
                text.push_str(&serde_json::to_string(r)?);
                text.push('\n');
            }
            write_atomic(&path, text.as_bytes())?;
            let file = OpenOptions::new()
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            Ok(Self { path, file, records })
        }

        /// Appends one record (flushed at once).
        pub fn push(&mut self, record: Record) -> anyhow::Result<()> {
            let line = serde_json::to_string(&record)?;
            writeln!(self.file, "{line}")
                .with_context(|| format!("cannot write {}", self.path.display()))?;
            self.records.push(record);
            Ok(())
        }

        /// Every record so far.
        pub fn records(&self) -> &[Record] {
            &self.records
        }
    }

    /// Reads a metrics file (missing = empty); lines that do not parse (a write cut by a
    /// kill) are skipped.
    pub fn read(path: &Path) -> anyhow::Result<Vec<Record>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

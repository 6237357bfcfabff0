//! `metrics.jsonl`: one JSON object per training step and per epoch, appended as they happen.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
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

/// One line of `metrics.jsonl`.
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
        /// Learning rate of the epoch.
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

/// The metrics file of a run, open for appending.
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
        super::checkpoint::write_atomic(&path, text.as_bytes())?;
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

/// Reads a metrics file (missing = empty); lines that do not parse (a write cut by a kill)
/// are skipped.
pub fn read(path: &Path) -> anyhow::Result<Vec<Record>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

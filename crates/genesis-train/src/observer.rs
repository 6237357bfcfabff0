//! How the engine tells a front end what is happening: progress of phases, lines for people,
//! and the records a front end may draw (plots, grids, contact sheets). The engine itself
//! never prints or draws.

use std::path::Path;

use genesis_core::discovery::Crop;

use crate::batch::Batch;
use crate::metrics::{FinetuneRecord, Record};

/// A pretraining epoch that just ended (epoch 0: the untrained model's validation).
pub struct PretrainEpoch<'a> {
    /// The run folder.
    pub dir: &'a Path,
    /// This epoch's record (a [`Record::Epoch`]).
    pub record: &'a Record,
    /// Every record of the run so far, this one included.
    pub records: &'a [Record],
    /// The first validation batch.
    pub validation: &'a Batch,
    /// The model's restoration of `validation`, same layout as its inputs.
    pub restored: &'a [f32],
    /// Validation samples the front end is asked to show.
    pub grid_samples: usize,
}

/// Receives the engine's progress. Every method has a default that ignores it.
pub trait Observer {
    /// A line for people: what is starting, a result.
    fn note(&mut self, _line: &str) {}

    /// Something the user should know (a value capped, a fallback taken).
    fn warn(&mut self, _line: &str) {}

    /// A phase of `total` units begins (`done` of them are already done, e.g. on resume).
    fn begin(&mut self, _phase: &str, _total: u64, _done: u64) {}

    /// One unit of the current phase is done; `status` says how it went (e.g. the loss).
    fn advance(&mut self, _status: &str) {}

    /// The current phase is over.
    fn end(&mut self) {}

    /// A pretraining epoch ended; a front end may draw its restoration grid and loss plot.
    fn pretrain_epoch(&mut self, _epoch: &PretrainEpoch<'_>) -> anyhow::Result<()> {
        Ok(())
    }

    /// A fine-tuning epoch ended.
    fn finetune_epoch(&mut self, _record: &FinetuneRecord) {}

    /// A fine-tuning run finished in `dir`; `metric` names the metric of its records.
    fn finetune_done(
        &mut self,
        _dir: &Path,
        _records: &[FinetuneRecord],
        _metric: &str,
    ) -> anyhow::Result<()> {
        Ok(())
    }

    /// Self-discovery cut a crop.
    fn crop(&mut self, _crop: &Crop) {}

    /// Self-discovery finished writing the folder `dir`; `title` describes it.
    fn discovery_done(&mut self, _dir: &Path, _title: &str) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Warns `obs` when `loaded` (the file or series `name`) held more than what was read (a 4-D
/// file cut to one volume).
pub fn tell(obs: &mut dyn Observer, name: &str, loaded: &genesis_io::Loaded) {
    if let Some(line) = crate::source::notice(name, loaded) {
        obs.warn(&line);
    }
}

/// An observer that ignores everything (tests, library users who only want results).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}

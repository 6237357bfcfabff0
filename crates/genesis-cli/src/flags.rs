//! Flags given on the command line, as the TOML keys they override (the engine layers them
//! over the preset and the config file).

use genesis_train::schedule::LrSchedule;
use serde::Serialize;

/// A table of kebab-case keys, filled from `Option` flags that were given.
#[derive(Default)]
pub struct Flags(pub toml::Table);

impl Flags {
    /// Sets `key` when `value` was given.
    pub fn set<T: Serialize>(mut self, key: &str, value: Option<&T>) -> anyhow::Result<Self> {
        if let Some(v) = value {
            self.0.insert(key.into(), toml::Value::try_from(v)?);
        }
        Ok(self)
    }
}

/// The optimisation flags pretraining and fine-tuning share.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Knobs {
    /// Learning-rate schedule after warm-up: step (StepLR; pretraining's default), cosine (to 0
    /// at the last step) or constant (fine-tuning's default).
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrSchedule>,
    /// Linear learning-rate warm-up over this many optimiser steps.
    #[arg(long)]
    pub warmup_steps: Option<usize>,
    /// Clip the gradients' global L2 norm to this value (0 = off).
    #[arg(long)]
    pub clip_grad_norm: Option<f64>,
    /// Batches accumulated per optimiser step (effective batch = batch × accumulate).
    #[arg(long)]
    pub accumulate: Option<usize>,
}

impl Knobs {
    /// Adds the knobs given to `flags`.
    pub fn add(&self, flags: Flags) -> anyhow::Result<Flags> {
        flags
            .set("lr-schedule", self.lr_schedule.as_ref())?
            .set("warmup-steps", self.warmup_steps.as_ref())?
            .set("clip-grad-norm", self.clip_grad_norm.as_ref())?
            .set("accumulate", self.accumulate.as_ref())
    }
}

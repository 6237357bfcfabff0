//! Checkpoints: `checkpoints/{last,best}/` each holding `model.bpk`, `optim.bpk` and
//! `state.json`, committed as a whole by renaming a finished temporary folder into place, so a
//! kill at any moment leaves either the previous or the new checkpoint, never a mix.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use genesis_io::fsutil::write_atomic;
use genesis_nn::burn::module::Module;
use genesis_nn::burn::optim::ModuleOptimizer;
use genesis_nn::burn::tensor::Bytes;
use genesis_nn::weights::{from_burnpack, to_burnpack};
use serde::{Deserialize, Serialize};

use crate::fit::{EarlyStopping, Goal, Validation};

/// Where training stands after a completed epoch; everything else (data, transforms, the
/// learning-rate schedule) is derived from the seed and these numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub global_step: u64,
    /// Learning rate of the last completed step.
    pub lr: f64,
    /// Lowest validation loss so far.
    pub best_loss: Option<f64>,
    /// Epoch of `best_loss`.
    pub best_epoch: usize,
    /// Epochs since the validation loss last improved.
    pub bad_epochs: usize,
    /// True once early stopping ended the run.
    pub stopped_early: bool,
}

impl TrainState {
    /// The early-stopping monitor of this state (validation loss, lower is better).
    pub fn stopping(&self, patience: usize) -> anyhow::Result<EarlyStopping> {
        let best = self.best_loss.map(|value| Validation { value, tie_break: 0.0 });
        EarlyStopping::resume(Goal::Minimize, patience, best, self.best_epoch, self.bad_epochs)
    }

    /// Takes over the monitor's state after an epoch.
    pub fn record(&mut self, stopping: &EarlyStopping) {
        self.best_loss = stopping.best.map(|b| b.value);
        (self.best_epoch, self.bad_epochs) = (stopping.best_epoch, stopping.bad_epochs);
        self.stopped_early = stopping.stopped();
    }

    /// The state before the first epoch.
    pub fn fresh(lr: f64) -> Self {
        Self {
            epoch: 0,
            global_step: 0,
            lr,
            best_loss: None,
            best_epoch: 0,
            bad_epochs: 0,
            stopped_early: false,
        }
    }
}

/// The folder of checkpoint `name` (`last` or `best`) in a run folder.
pub fn dir(run: &Path, name: &str) -> PathBuf {
    run.join("checkpoints").join(name)
}

/// Saves model, optimiser and state as checkpoint `name` of `run`.
pub fn save<M: Module>(
    run: &Path,
    name: &str,
    model: &M,
    optim: &ModuleOptimizer,
    state: &TrainState,
) -> anyhow::Result<()> {
    let target = dir(run, name);
    let parent = target.parent().unwrap_or(run);
    let tmp = parent.join(format!(".{name}.tmp"));
    let old = parent.join(format!(".{name}.old"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| format!("cannot clear {}", tmp.display()))?;
    }
    fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    write_atomic(&tmp.join("model.bpk"), &to_burnpack(model)?)?;
    let optim_bytes =
        optim.into_bytes().map_err(|e| anyhow!("cannot encode the optimiser state: {e:?}"))?;
    write_atomic(&tmp.join("optim.bpk"), &optim_bytes)?;
    write_atomic(&tmp.join("state.json"), &serde_json::to_vec_pretty(state)?)?;
    if old.exists() {
        fs::remove_dir_all(&old).with_context(|| format!("cannot clear {}", old.display()))?;
    }
    if target.exists() {
        fs::rename(&target, &old)
            .with_context(|| format!("cannot move {} aside", target.display()))?;
    }
    fs::rename(&tmp, &target).with_context(|| format!("cannot commit {}", target.display()))?;
    if old.exists() {
        fs::remove_dir_all(&old).with_context(|| format!("cannot remove {}", old.display()))?;
    }
    Ok(())
}

/// The committed folder of checkpoint `name`: the current one, or the previous one when a kill
/// came between moving it aside and committing the new one.
fn committed(run: &Path, name: &str) -> Option<PathBuf> {
    let target = dir(run, name);
    let old = target.with_file_name(format!(".{name}.old"));
    [target, old].into_iter().find(|d| d.join("state.json").is_file())
}

/// Reads the state of checkpoint `name`, if any.
pub fn state(run: &Path, name: &str) -> anyhow::Result<Option<TrainState>> {
    let Some(folder) = committed(run, name) else { return Ok(None) };
    let path = folder.join("state.json");
    let text = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(
        serde_json::from_slice(&text).with_context(|| format!("{} is corrupt", path.display()))?,
    ))
}

/// Loads checkpoint `name` into `model` and `optim` (built as for a new run).
pub fn load<M: Module>(
    run: &Path,
    name: &str,
    model: M,
    optim: ModuleOptimizer,
) -> anyhow::Result<(M, ModuleOptimizer, TrainState)> {
    let folder = committed(run, name)
        .with_context(|| format!("{} has no `{name}` checkpoint to resume from", run.display()))?;
    let state =
        state(run, name)?.with_context(|| format!("{}: no state.json", folder.display()))?;
    let read = |file: &str| {
        let path = folder.join(file);
        fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let (model, _) = from_burnpack(model, read("model.bpk")?, false)
        .with_context(|| format!("{}: the model does not match run.toml", folder.display()))?;
    let optim = optim
        .from_bytes(Bytes::from_bytes_vec(read("optim.bpk")?))
        .map_err(|e| anyhow!("{}: bad optimiser state: {e:?}", folder.display()))?;
    Ok((model, optim, state))
}

//! The epoch driver every workflow shares: train an epoch, validate, update early stopping,
//! let the workflow record and checkpoint, until the epochs run out or patience does.

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// Whether a larger or a smaller validation value is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Goal {
    /// A loss.
    Minimize,
    /// A metric (AUC, Dice).
    Maximize,
}

/// A validation result: the monitored value and, for ties, a loss (lower wins).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Validation {
    /// The monitored value.
    pub value: f64,
    /// Breaks exact ties in `value`: lower is better (0 when unused).
    pub tie_break: f64,
}

/// Early stopping: the best validation so far and the epochs since it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    goal: Goal,
    patience: usize,
    /// The best validation so far.
    pub best: Option<Validation>,
    /// Its epoch (0 before any).
    pub best_epoch: usize,
    /// Epochs since the last improvement.
    pub bad_epochs: usize,
}

impl EarlyStopping {
    /// A fresh monitor stopping after `patience` epochs without improvement; 0 is refused.
    pub fn new(goal: Goal, patience: usize) -> anyhow::Result<Self> {
        Self::resume(goal, patience, None, 0, 0)
    }

    /// A monitor continuing from a saved state; a larger `patience` than the run was stopped
    /// with revives it.
    pub fn resume(
        goal: Goal,
        patience: usize,
        best: Option<Validation>,
        best_epoch: usize,
        bad_epochs: usize,
    ) -> anyhow::Result<Self> {
        if patience == 0 {
            bail!("patience must be at least 1 (epochs without improvement before stopping)");
        }
        Ok(Self { goal, patience, best, best_epoch, bad_epochs })
    }

    /// Records epoch `epoch`'s validation; true when it is the best so far.
    pub fn update(&mut self, epoch: usize, now: Validation) -> bool {
        let improved = self.best.is_none_or(|best| {
            let better = match self.goal {
                Goal::Minimize => now.value < best.value,
                Goal::Maximize => now.value > best.value,
            };
            better || (now.value == best.value && now.tie_break < best.tie_break)
        });
        if improved {
            (self.best, self.best_epoch, self.bad_epochs) = (Some(now), epoch, 0);
        } else {
            self.bad_epochs += 1;
        }
        improved
    }

    /// Whether patience has run out.
    pub fn stopped(&self) -> bool {
        self.bad_epochs >= self.patience
    }
}

/// A workflow's epochs, driven by [`fit`].
pub trait Epochs {
    /// Trains epoch `epoch` (1-based) and validates the result.
    fn epoch(&mut self, epoch: usize) -> anyhow::Result<Validation>;
    /// Records the epoch (metrics, checkpoints) once early stopping has seen it.
    fn after(
        &mut self,
        epoch: usize,
        improved: bool,
        stopping: &EarlyStopping,
    ) -> anyhow::Result<()>;
}

/// Runs epochs `done + 1 ..= max_epochs` of `work` until early stopping ends them; returns the
/// number of epochs completed.
pub fn fit(
    work: &mut impl Epochs,
    stopping: &mut EarlyStopping,
    done: usize,
    max_epochs: usize,
) -> anyhow::Result<usize> {
    let mut epoch = done;
    while epoch < max_epochs && !stopping.stopped() {
        epoch += 1;
        let validation = work.epoch(epoch)?;
        let improved = stopping.update(epoch, validation);
        work.after(epoch, improved, stopping)?;
    }
    Ok(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Epochs whose validation values are scripted.
    struct Script(Vec<f64>, Vec<(usize, bool)>);

    impl Epochs for Script {
        fn epoch(&mut self, epoch: usize) -> anyhow::Result<Validation> {
            Ok(Validation { value: self.0[epoch - 1], tie_break: 0.0 })
        }
        fn after(&mut self, epoch: usize, improved: bool, _: &EarlyStopping) -> anyhow::Result<()> {
            self.1.push((epoch, improved));
            Ok(())
        }
    }

    #[test]
    fn stops_after_patience_epochs_without_a_lower_loss() {
        let mut work = Script(vec![3.0, 2.0, 2.5, 2.0, 2.1, 1.0], Vec::new());
        let mut stopping = EarlyStopping::new(Goal::Minimize, 3).unwrap();
        assert_eq!(fit(&mut work, &mut stopping, 0, 6).unwrap(), 5);
        let improved: Vec<bool> = work.1.iter().map(|(_, i)| *i).collect();
        assert_eq!(improved, [true, true, false, false, false], "a tie is no improvement");
        assert_eq!((stopping.best_epoch, stopping.stopped()), (2, true));
        let mut revived = EarlyStopping::resume(Goal::Minimize, 5, stopping.best, 2, 3).unwrap();
        assert_eq!(fit(&mut work, &mut revived, 5, 6).unwrap(), 6, "more patience revives");
        assert_eq!(revived.best_epoch, 6);
    }

    #[test]
    fn metrics_rise_and_ties_go_to_the_lower_loss() {
        let mut s = EarlyStopping::new(Goal::Maximize, 2).unwrap();
        assert!(s.update(1, Validation { value: 0.7, tie_break: 0.5 }));
        assert!(!s.update(2, Validation { value: 0.6, tie_break: 0.1 }));
        assert!(s.update(3, Validation { value: 0.7, tie_break: 0.4 }));
        assert_eq!((s.best_epoch, s.bad_epochs), (3, 0));
    }

    #[test]
    fn zero_patience_is_refused() {
        let err = EarlyStopping::new(Goal::Minimize, 0).unwrap_err();
        assert!(err.to_string().contains("patience must be at least 1"));
    }
}

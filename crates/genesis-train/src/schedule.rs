//! Learning-rate schedules as pure functions of the optimiser step, so that a resumed run (or
//! the page after a reload) continues exactly where it stopped without any scheduler state:
//! an optional linear warm-up, then constant, StepLR (×γ every N epochs, the Models Genesis
//! recipe) or a half-cosine to zero over the run; and the other optimisation knobs a recipe
//! carries (gradient clipping, accumulation).

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// The shape of the schedule after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// The base rate throughout.
    Constant,
    /// The base rate × γ^⌊(epoch − 1) / N⌋ (PyTorch's StepLR stepped per epoch).
    Step,
    /// A half-cosine from the base rate after warm-up to 0 at the last step.
    Cosine,
}

impl LrSchedule {
    /// `Constant` (a serde default).
    pub fn constant() -> Self {
        LrSchedule::Constant
    }

    /// `Step` (a serde default).
    pub fn step() -> Self {
        LrSchedule::Step
    }
}

/// The optimisation knobs shared by pretraining and fine-tuning: the schedule of the learning
/// rate, gradient clipping and accumulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Optimization {
    /// Base learning rate.
    pub lr: f64,
    /// The schedule's shape.
    pub schedule: LrSchedule,
    /// Linear warm-up steps from 0 to the scheduled rate (0 = none).
    pub warmup_steps: usize,
    /// StepLR: multiply by `gamma` every this many epochs (0 = never).
    pub step_epochs: usize,
    /// StepLR factor.
    pub gamma: f64,
    /// Rescale the gradients so that their global L2 norm is at most this (0 = no clipping).
    pub clip_grad_norm: f64,
    /// Batches whose gradients are summed (losses averaged) into one optimiser step.
    pub accumulate: usize,
}

impl Optimization {
    /// Checks values that cannot work, naming the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.accumulate == 0 {
            bail!("accumulate must be at least 1 (batches per optimiser step)");
        }
        if !(self.clip_grad_norm.is_finite() && self.clip_grad_norm >= 0.0) {
            bail!(
                "clip-grad-norm must be 0 (off) or a positive number, got {}",
                self.clip_grad_norm
            );
        }
        if !(self.gamma.is_finite() && self.gamma > 0.0) {
            bail!("lr-gamma must be a positive number, got {}", self.gamma);
        }
        Ok(())
    }
}

/// A schedule over a run of known length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// The optimisation knobs.
    pub knobs: Optimization,
    /// Optimiser steps per epoch.
    pub steps_per_epoch: usize,
    /// Optimiser steps in the whole run.
    pub total_steps: usize,
}

impl Schedule {
    /// The schedule of `knobs` over `epochs` epochs of `steps_per_epoch` optimiser steps.
    pub fn over(knobs: Optimization, steps_per_epoch: usize, epochs: usize) -> Self {
        Self { knobs, steps_per_epoch, total_steps: steps_per_epoch * epochs }
    }

    /// The learning rate of optimiser step `step` (0-based over the whole run).
    pub fn lr(&self, step: usize) -> f64 {
        let k = &self.knobs;
        let epoch = step / self.steps_per_epoch.max(1) + 1;
        let shaped = match k.schedule {
            LrSchedule::Constant => k.lr,
            LrSchedule::Step if k.step_epochs == 0 => k.lr,
            LrSchedule::Step => k.lr * k.gamma.powi(((epoch - 1) / k.step_epochs) as i32),
            LrSchedule::Cosine => {
                let span = self.total_steps.saturating_sub(k.warmup_steps).max(1);
                let done = step.saturating_sub(k.warmup_steps).min(span) as f64 / span as f64;
                k.lr * 0.5 * (1.0 + (std::f64::consts::PI * done).cos())
            }
        };
        if step < k.warmup_steps {
            shaped * (step + 1) as f64 / k.warmup_steps as f64
        } else {
            shaped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(kind: LrSchedule, warmup_steps: usize) -> Schedule {
        let knobs = Optimization {
            lr: 1.0,
            schedule: kind,
            warmup_steps,
            step_epochs: 2,
            gamma: 0.5,
            clip_grad_norm: 0.0,
            accumulate: 1,
        };
        Schedule { knobs, steps_per_epoch: 10, total_steps: 100 }
    }

    #[test]
    fn step_halves_every_two_epochs() {
        let s = schedule(LrSchedule::Step, 0);
        let at = |step| s.lr(step);
        assert_eq!((at(0), at(19), at(20), at(39), at(40)), (1.0, 1.0, 0.5, 0.5, 0.25));
    }

    #[test]
    fn warmup_then_cosine_reaches_zero_at_the_end() {
        let s = schedule(LrSchedule::Cosine, 10);
        assert!((s.lr(0) - 0.1).abs() < 1e-12, "warm-up starts at base/warmup");
        assert!((s.lr(4) - 0.5).abs() < 1e-12);
        assert!((s.lr(10) - 1.0).abs() < 1e-12, "cosine starts at the base rate");
        assert!((s.lr(55) - 0.5).abs() < 1e-12, "half-way down at the middle");
        assert!(s.lr(99) < 1e-3 && s.lr(99) > 0.0);
        let rates: Vec<f64> = (10..100).map(|k| s.lr(k)).collect();
        assert!(rates.windows(2).all(|w| w[1] <= w[0]), "cosine never rises");
    }

    #[test]
    fn constant_ignores_epochs_and_warms_up() {
        let s = schedule(LrSchedule::Constant, 4);
        assert_eq!((s.lr(1), s.lr(3), s.lr(50)), (0.5, 1.0, 1.0));
    }
}

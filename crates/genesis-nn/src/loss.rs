//! Losses of the Genesis recipes (spec §6, §7.1).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Mean squared error over all elements (PyTorch `MSELoss`).
pub fn mse<const D: usize>(prediction: Tensor<D>, target: Tensor<D>) -> Tensor<1> {
    (prediction - target).square().mean()
}

/// Cross-entropy of class logits `[N, C]` against labels `[N]`, averaged over the batch.
/// (The original PyTorch trainer applied it to log-probabilities, spec §12.13; this is the
/// intended loss on logits.)
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [n] = labels.dims();
    let picked = log_softmax(logits, 1).gather(1, labels.reshape([n, 1]));
    picked.mean().neg()
}

/// Soft Dice loss `1 − (2|X∩Y| + 1) / (|X| + |Y| + 1)` over the whole batch (smooth 1).
pub fn dice<const D: usize>(prediction: Tensor<D>, target: Tensor<D>) -> Tensor<1> {
    let intersection = (prediction.clone() * target.clone()).sum();
    let total = prediction.sum() + target.sum();
    (intersection.mul_scalar(2.0).add_scalar(1.0) / total.add_scalar(1.0)).neg().add_scalar(1.0)
}

/// Binary cross-entropy of probabilities `prediction` (a sigmoid's output, clamped away from 0
/// and 1) against targets in {0, 1}, averaged over all elements (PyTorch `BCELoss`).
pub fn binary_cross_entropy<const D: usize>(prediction: Tensor<D>, target: Tensor<D>) -> Tensor<1> {
    let p = prediction.clamp(1e-6, 1.0 - 1e-6);
    let positive = target.clone() * p.clone().log();
    let negative = target.neg().add_scalar(1.0) * p.neg().add_scalar(1.0).log();
    (positive + negative).mean().neg()
}

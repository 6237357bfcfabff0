//! Batch normalisation with the two inference behaviours of the Genesis models.

use burn::nn::BatchNorm;
use burn::tensor::Tensor;
use burn::tensor::module::batch_norm_train;
use serde::{Deserialize, Serialize};

/// Which statistics a batch-norm layer normalises with outside training.
///
/// In training (an autodiff device) both modes use the batch statistics and update the running
/// ones, like PyTorch's `BatchNorm3d.train()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BnMode {
    /// Statistics of the current batch, always (the original `ContBatchNorm3d`): reproduces the
    /// released models' outputs, but an output depends on the rest of its batch.
    #[default]
    Batch,
    /// The stored running statistics at inference (PyTorch `eval()` semantics).
    Running,
}

impl BnMode {
    /// Parses `batch` or `running`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "batch" => Some(Self::Batch),
            "running" => Some(Self::Running),
            _ => None,
        }
    }
}

/// Applies `bn` to `x` with the statistics `mode` selects.
pub fn batch_norm<const D: usize>(bn: &BatchNorm, x: Tensor<D>, mode: BnMode) -> Tensor<D> {
    let training = x.device().is_autodiff() && bn.training.is_enabled();
    match (mode, training) {
        (BnMode::Batch, false) => {
            batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon).output
        }
        _ => bn.forward(x),
    }
}

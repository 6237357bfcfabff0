//! The bare training step (forward, loss, backward, optimiser step) for benchmarks and tests
//! of the networks; training itself goes through genesis-train's engine (schedules, clipping,
//! accumulation).

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

use crate::loss::mse;
use crate::model::GenesisModel;

/// Runs one step on a model living on an autodiff device: computes `loss_of(&model)`,
/// back-propagates, applies `optim` with learning rate `lr`. Returns the updated model and the
/// (detached) loss.
pub fn train_step<M: Module>(
    model: M,
    optim: &mut ModuleOptimizer,
    lr: f64,
    loss_of: impl FnOnce(&M) -> Tensor<1>,
) -> (M, Tensor<1>) {
    let loss = loss_of(&model);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optim.step(lr, model, grads), loss.detach())
}

/// One self-restoration step: MSE between `model.forward(input)` and `target`.
pub fn restoration_step<M: Module + GenesisModel<D>, const D: usize>(
    model: M,
    optim: &mut ModuleOptimizer,
    lr: f64,
    input: Tensor<D>,
    target: Tensor<D>,
) -> (M, Tensor<1>) {
    train_step(model, optim, lr, |m| mse(m.forward(input), target))
}

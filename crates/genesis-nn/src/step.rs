//! A training step without burn-train (native and wasm): forward, loss, backward, optimiser
//! step.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor};

use crate::blocks::Spatial;
use crate::loss::{cross_entropy, mse};
use crate::model::GenesisModel;
use crate::semantic::SemanticGenesis;

/// Runs one step on a model living on an autodiff device: computes `loss_of(&model)`,
/// back-propagates, applies `optim` with learning rate `lr`. Returns the updated model and the
/// (detached) loss; read the loss sparingly on the web (it syncs the device).
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

/// One Semantic Genesis step: `MSE(restoration) + lambda_cls · CE(logits, labels)`
/// (spec §6.3: λ_cls = 0.01).
pub fn semantic_step<M, C, const D: usize>(
    model: SemanticGenesis<M, C>,
    optim: &mut ModuleOptimizer,
    lr: f64,
    batch: (Tensor<D>, Tensor<D>, Tensor<1, Int>),
    lambda_cls: f64,
) -> (SemanticGenesis<M, C>, Tensor<1>)
where
    M: GenesisModel<D>,
    C: Spatial<D>,
    SemanticGenesis<M, C>: Module,
{
    let (input, target, labels) = batch;
    train_step(model, optim, lr, |m| {
        let out = m.forward_all(input);
        mse(out.restoration, target) + cross_entropy(out.logits, labels).mul_scalar(lambda_cls)
    })
}

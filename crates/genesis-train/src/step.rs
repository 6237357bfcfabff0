//! One optimiser step, the only one the engine takes (pretraining, fine-tuning, the discovery
//! autoencoder and the page's session alike): the losses of one or more micro-batches are
//! back-propagated, their gradients summed (each loss divided by the number of micro-batches,
//! so the step follows the mean over the effective batch), the global gradient norm clipped,
//! and the optimiser applied with the scheduled learning rate. Nothing here reads a tensor
//! back, so the page can run it on WebGPU.

use genesis_nn::burn::module::{Module, ModuleVisitor, Param};
use genesis_nn::burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use genesis_nn::burn::tensor::Tensor;

/// A model with its optimiser state and clipping threshold.
pub struct Stepper<M> {
    model: Option<M>,
    optim: ModuleOptimizer,
    clip_grad_norm: f64,
}

impl<M: Module> Stepper<M> {
    /// Trains `model` (on an autodiff device) with `optim`, clipping the global gradient norm
    /// to `clip_grad_norm` (0 = no clipping).
    pub fn new(model: M, optim: ModuleOptimizer, clip_grad_norm: f64) -> Self {
        Self { model: Some(model), optim, clip_grad_norm }
    }

    /// The model as trained so far.
    pub fn model(&self) -> &M {
        self.model.as_ref().expect("the model is only taken during a step")
    }

    /// The optimiser (its state is what a checkpoint saves).
    pub fn optim(&self) -> &ModuleOptimizer {
        &self.optim
    }

    /// Hands back the model and the optimiser.
    pub fn into_parts(self) -> (M, ModuleOptimizer) {
        (self.model.expect("the model is only taken during a step"), self.optim)
    }

    /// One optimiser step at learning rate `lr` over the micro-batches `parts`: `loss_of`
    /// gives each part's mean loss. Returns the detached loss of each part (not divided).
    pub fn step<T>(
        &mut self,
        lr: f64,
        parts: Vec<T>,
        mut loss_of: impl FnMut(&M, T) -> Tensor<1>,
    ) -> Vec<Tensor<1>> {
        let model = self.model.take().expect("the model is only taken during a step");
        let count = parts.len();
        let mut losses = Vec::with_capacity(count);
        let grads = if count == 1 {
            let part = parts.into_iter().next().expect("one part");
            let loss = loss_of(&model, part);
            losses.push(loss.clone().detach());
            GradientsParams::from_grads(loss.backward(), &model)
        } else {
            let mut sum = GradientsAccumulator::new();
            for part in parts {
                let loss = loss_of(&model, part);
                losses.push(loss.clone().detach());
                let scaled = loss.div_scalar(count as f64);
                sum.accumulate(&model, GradientsParams::from_grads(scaled.backward(), &model));
            }
            sum.grads()
        };
        let grads = if self.clip_grad_norm > 0.0 {
            clip_global_norm(&model, grads, self.clip_grad_norm)
        } else {
            grads
        };
        self.model = Some(self.optim.step(lr, model, grads));
        losses
    }
}

/// Rescales `grads` so that their global L2 norm (over every parameter of `model`) is at most
/// `max_norm`, like PyTorch's `clip_grad_norm_`. burn's own `GradientClipping::Norm` clips
/// each parameter tensor separately, which is a different rule.
pub fn clip_global_norm<M: Module>(
    model: &M,
    grads: GradientsParams,
    max_norm: f64,
) -> GradientsParams {
    let Some(norm) = global_norm(model, &grads) else { return grads };
    let coef = norm.add_scalar(1e-6).recip().mul_scalar(max_norm).clamp_max(1.0);
    let mut scale = Scale { grads, coef };
    model.visit(&mut scale);
    scale.grads
}

/// The global norm of `grads` over the parameters of `model` (a `[1]` tensor).
pub fn global_norm<M: Module>(model: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    let mut squares = SumSquares { grads, total: None };
    model.visit(&mut squares);
    squares.total.map(Tensor::sqrt)
}

/// Sums the squares of every gradient.
struct SumSquares<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SumSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.powi_scalar(2).sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

/// Multiplies every gradient by `coef`.
struct Scale {
    grads: GradientsParams,
    coef: Tensor<1>,
}

impl ModuleVisitor for Scale {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let scaled = g.mul(self.coef.clone().reshape([1usize; D]));
            self.grads.register::<D>(param.id, scaled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genesis_nn::burn::nn::{Linear, LinearConfig};
    use genesis_nn::burn::optim::SgdConfig;
    use genesis_nn::burn::tensor::{Device, Distribution};
    use genesis_nn::host::{read, scalar};
    use genesis_nn::loss::mse;

    fn layer(seed: u64) -> (Linear, Device) {
        let device = Device::flex().autodiff();
        device.seed(seed);
        (LinearConfig::new(6, 3).init(&device), device)
    }

    fn weights(model: &Linear) -> Vec<f32> {
        read(model.weight.val()).unwrap()
    }

    #[test]
    fn two_accumulated_halves_step_like_the_whole_batch() {
        let (model, device) = layer(1);
        let x = Tensor::<2>::random([8, 6], Distribution::Default, &device);
        let y = Tensor::<2>::random([8, 3], Distribution::Default, &device);
        let loss = |m: &Linear, (x, y): (Tensor<2>, Tensor<2>)| mse(m.forward(x), y);
        let mut whole = Stepper::new(model.clone(), SgdConfig::new().init(), 0.0);
        whole.step(0.5, vec![(x.clone(), y.clone())], loss);
        let mut halves = Stepper::new(model.clone(), SgdConfig::new().init(), 0.0);
        let parts = vec![
            (x.clone().narrow(0, 0, 4), y.clone().narrow(0, 0, 4)),
            (x.narrow(0, 4, 4), y.narrow(0, 4, 4)),
        ];
        let losses = halves.step(0.5, parts, loss);
        assert_eq!(losses.len(), 2);
        let (a, b, start) = (weights(whole.model()), weights(halves.model()), weights(&model));
        assert!(a.iter().zip(&start).any(|(p, q)| (p - q).abs() > 1e-4), "the step moved");
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-6, "{p} vs {q}");
        }
    }

    #[test]
    fn clipping_bounds_the_global_norm_and_spares_small_gradients() {
        let (model, device) = layer(2);
        let x = Tensor::<2>::random([4, 6], Distribution::Default, &device).mul_scalar(100.0);
        let grads =
            |m: &Linear| GradientsParams::from_grads(m.forward(x.clone()).sum().backward(), m);
        let norm = |g: &GradientsParams| scalar(global_norm(&model, g).unwrap());
        let raw = norm(&grads(&model));
        assert!(raw > 10.0, "{raw}");
        let clipped = norm(&clip_global_norm(&model, grads(&model), 1.0));
        assert!((clipped - 1.0).abs() < 1e-3, "{clipped}");
        let kept = norm(&clip_global_norm(&model, grads(&model), 2.0 * raw));
        assert!((kept - raw).abs() < 1e-3 * raw, "{kept} vs {raw}");
    }
}

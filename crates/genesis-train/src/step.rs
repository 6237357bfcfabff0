//! One optimiser step, the only one the engine takes (pretraining, fine-tuning, the discovery
//! autoencoder and the page's session alike): the losses of one or more micro-batches are
//! back-propagated, their gradients summed (each loss weighted by its share of the effective
//! batch, so the step follows the mean over it), the global gradient norm clipped, and the
//! optimiser applied with the scheduled learning rate. Nothing here reads a tensor back, so the
//! page can run it on WebGPU.
//!
//! Data-parallel training over several devices ([`Stepper::on_devices`]) splits every
//! micro-batch into one shard per device; each device runs a copy of the model (burn's
//! `fork`) on its shard, and the gradients are moved to the main device (burn's
//! `GradientsParams::to_device`) and summed there — what burn-train's multi-device strategy
//! does, without collectives (which burn 0.22.1 has only on CUDA). Batch norm uses each
//! shard's own statistics, as PyTorch's DDP does without SyncBatchNorm; the running statistics
//! are those of the main device's shards.

use genesis_nn::burn::module::{Module, ModuleVisitor, Param};
use genesis_nn::burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use genesis_nn::burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use genesis_nn::burn::tensor::{Device, Tensor};

/// A micro-batch that can be split into consecutive shards, one per device.
pub trait Shard: Sized {
    /// Samples in it.
    fn samples(&self) -> usize;
    /// `pieces` consecutive shards of near-equal size (fewer when there are fewer samples).
    fn split(self, pieces: usize) -> Vec<Self>;
}

/// The `(start, length)` of `pieces` consecutive near-equal shards of `n` samples, empty
/// shards left out.
pub fn shard_ranges(n: usize, pieces: usize) -> Vec<(usize, usize)> {
    let pieces = pieces.clamp(1, n.max(1));
    (0..pieces)
        .map(|k| (k * n / pieces, (k + 1) * n / pieces - k * n / pieces))
        .filter(|&(_, len)| len > 0)
        .collect()
}

/// Samples `start..start + n` of `values`, `per_sample` values each (empty when `values` is).
pub fn sample_rows<T: Clone>(
    values: &[T],
    (start, n): (usize, usize),
    per_sample: usize,
) -> Vec<T> {
    values.get(start * per_sample..(start + n) * per_sample).map_or_else(Vec::new, <[T]>::to_vec)
}

impl<const D: usize> Shard for Tensor<D> {
    fn samples(&self) -> usize {
        self.dims()[0]
    }
    fn split(self, pieces: usize) -> Vec<Self> {
        shard_ranges(self.samples(), pieces)
            .into_iter()
            .map(|(start, len)| self.clone().narrow(0, start, len))
            .collect()
    }
}

impl<A: Shard, B: Shard> Shard for (A, B) {
    fn samples(&self) -> usize {
        self.0.samples()
    }
    fn split(self, pieces: usize) -> Vec<Self> {
        self.0.split(pieces).into_iter().zip(self.1.split(pieces)).collect()
    }
}

/// A model with its optimiser state, clipping threshold and data-parallel devices.
pub struct Stepper<M> {
    model: Option<M>,
    optim: ModuleOptimizer,
    clip_grad_norm: f64,
    devices: Vec<Device>,
}

impl<M: Module> Stepper<M> {
    /// Trains `model` (on an autodiff device) with `optim`, clipping the global gradient norm
    /// to `clip_grad_norm` (0 = no clipping).
    pub fn new(model: M, optim: ModuleOptimizer, clip_grad_norm: f64) -> Self {
        Self { model: Some(model), optim, clip_grad_norm, devices: Vec::new() }
    }

    /// Trains data-parallel over `devices` (autodiff devices of one backend; the first is the
    /// model's own, the main device).
    pub fn on_devices(mut self, devices: Vec<Device>) -> Self {
        self.devices = devices;
        self
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

    /// The model on its own (main) device, then a copy on each further data-parallel device.
    fn replicas(&self, model: &M) -> Vec<(M, Device)> {
        let main = model.devices().into_iter().next().expect("a model with parameters");
        let others = self.devices.iter().skip(1).map(|d| (model.clone().fork(d), d.clone()));
        std::iter::once((model.clone(), main)).chain(others).collect()
    }

    /// One optimiser step at learning rate `lr` (one rate, or one per parameter group) over the
    /// micro-batches `parts`. `loss_of` runs
    /// a model copy on one part (or one device's shard of it), uploading it to the device it is
    /// given, and returns the mean loss to minimise followed by any terms to report. Returns,
    /// per part, those tensors detached and combined over its shards on the main device.
    pub fn step<T: Shard>(
        &mut self,
        lr: impl Into<ModuleLearningRate>,
        parts: Vec<T>,
        mut loss_of: impl FnMut(&M, T, &Device) -> Vec<Tensor<1>>,
    ) -> Vec<Vec<Tensor<1>>> {
        let model = self.model.take().expect("the model is only taken during a step");
        let replicas = self.replicas(&model);
        let main = &replicas[0].1;
        let count = parts.len();
        let mut reported = Vec::with_capacity(count);
        let mut sum = GradientsAccumulator::new();
        for part in parts {
            let n = part.samples().max(1) as f64;
            let shards = if replicas.len() > 1 { part.split(replicas.len()) } else { vec![part] };
            let mut combined: Vec<Tensor<1>> = Vec::new();
            for (shard, (replica, device)) in shards.into_iter().zip(&replicas) {
                let share = shard.samples() as f64 / n;
                let losses = loss_of(replica, shard, device);
                let total = losses.first().cloned().expect("a loss to minimise");
                let scaled = total.mul_scalar(share).div_scalar(count as f64);
                let grads = GradientsParams::from_grads(scaled.backward(), replica);
                sum.accumulate(&model, grads.to_device(main, replica));
                for (i, term) in losses.into_iter().enumerate() {
                    let term = term.detach().to_device(main).mul_scalar(share);
                    match combined.get_mut(i) {
                        Some(c) => *c = c.clone() + term,
                        None => combined.push(term),
                    }
                }
            }
            reported.push(combined);
        }
        let grads = sum.grads();
        let grads = if self.clip_grad_norm > 0.0 {
            clip_global_norm(&model, grads, self.clip_grad_norm)
        } else {
            grads
        };
        self.model = Some(self.optim.step(lr, model, grads));
        reported
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
        let loss = |m: &Linear, (x, y): (Tensor<2>, Tensor<2>), d: &Device| {
            vec![mse(m.forward(x.to_device(d)), y.to_device(d))]
        };
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

    /// The weights and reported loss after one SGD step of `model` over `x`, `y`, split across
    /// `devices` (empty: one device, the whole batch).
    fn one_step(model: &Linear, devices: Vec<Device>, x: Tensor<2>, y: Tensor<2>) -> Vec<f32> {
        let loss = |m: &Linear, (x, y): (Tensor<2>, Tensor<2>), d: &Device| {
            vec![mse(m.forward(x.to_device(d)), y.to_device(d))]
        };
        let mut stepper =
            Stepper::new(model.clone(), SgdConfig::new().init(), 0.0).on_devices(devices);
        let mut losses = stepper.step(0.5, vec![(x, y)], loss);
        let mut out = weights(stepper.model());
        out.push(scalar(losses.remove(0).remove(0)) as f32);
        out
    }

    /// One step over `devices` (the model's first) equals one step on the first alone.
    fn two_devices_step_like_one(devices: Vec<Device>, tolerance: f32) {
        let (model, _) = layer(3);
        let model = model.fork(&devices[0]);
        // Five samples split 3 + 2: each shard's mean loss is weighted by its share.
        let x = Tensor::<2>::random([5, 6], Distribution::Default, &devices[0]);
        let y = Tensor::<2>::random([5, 3], Distribution::Default, &devices[0]);
        let whole = one_step(&model, vec![], x.clone(), y.clone());
        let split = one_step(&model, devices, x, y);
        assert!(whole.iter().zip(weights(&model)).any(|(p, q)| (p - q).abs() > 1e-4));
        for (p, q) in whole.iter().zip(&split) {
            assert!((p - q).abs() <= tolerance, "{p} vs {q}");
        }
    }

    #[test]
    fn a_step_over_two_devices_equals_one_device_on_the_whole_batch() {
        two_devices_step_like_one(vec![Device::flex().autodiff(), Device::flex().autodiff()], 1e-6);
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn a_step_over_two_wgpu_devices_equals_one_device_on_the_whole_batch() {
        use genesis_nn::burn::tensor::DeviceKind;
        let gpu = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
        two_devices_step_like_one(vec![gpu.clone(), gpu], 1e-5);
    }

    #[test]
    fn shards_are_consecutive_and_cover_every_sample() {
        assert_eq!(shard_ranges(5, 2), vec![(0, 2), (2, 3)]);
        assert_eq!(shard_ranges(2, 4), vec![(0, 1), (1, 1)]);
        assert_eq!(shard_ranges(6, 3), vec![(0, 2), (2, 2), (4, 2)]);
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

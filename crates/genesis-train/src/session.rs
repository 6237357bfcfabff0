//! A step-at-a-time pretraining session: what the web page drives (one call per step, loss
//! tensors read back when the page chooses, so it works on WebGPU). It runs the very code of a
//! `genesis pretrain` run — the same recipe, batch stream, objective, step and schedule — on
//! images held in memory, so the same seed and configuration give the same losses on the CPU.

use genesis_core::{Pipeline, Quirks, Sample, Volume};
use genesis_nn::burn::tensor::{Device, Tensor};
use genesis_nn::host::upload_volumes;
use genesis_nn::weights::{LoadReport, from_burnpack, to_burnpack};
use genesis_nn::{Network, UNet2d, UNet2dConfig, init_device, materialize};

use crate::batch::Generator;
use crate::objective::pretrain_step;
use crate::recipe::{Dim, RunConfig};
use crate::source::Source;
use crate::step::Stepper;

/// Most images a session keeps (the oldest is dropped beyond).
pub const MAX_IMAGES: usize = 16;

/// A damaged crop, its restoration by the current model and the original.
pub struct Preview {
    /// The sample: damaged input, target and the transforms applied.
    pub sample: Sample,
    /// The model's restoration of `sample.input`, `[1, 1, H, W]`.
    pub restored: Tensor<4>,
}

/// A 2-D restoration model in training on images held in memory.
pub struct Session<M> {
    cfg: RunConfig,
    device: Device,
    build: fn(&RunConfig, &Device) -> M,
    stepper: Stepper<M>,
    images: Vec<Volume>,
    generator: Option<Generator>,
    steps: usize,
}

impl Session<UNet2d> {
    /// A session training the 2-D U-Net of `cfg` (restoration, no head) on `device` (without
    /// autodiff); the model is initialised from `cfg.seed` like a `genesis pretrain` run.
    pub fn unet2d(cfg: RunConfig, device: &Device) -> anyhow::Result<Self> {
        Self::new(cfg, device, |cfg, device| {
            UNet2dConfig::new().with_base(cfg.base).with_depth(cfg.levels).init(device)
        })
    }
}

impl<M: Network<4>> Session<M> {
    /// A session training the model `build` makes for `cfg` on `device`.
    pub fn new(
        cfg: RunConfig,
        device: &Device,
        build: fn(&RunConfig, &Device) -> M,
    ) -> anyhow::Result<Self> {
        cfg.validate()?;
        anyhow::ensure!(
            cfg.dim == Dim::D2 && !cfg.method.has_head(),
            "a session trains 2-D restoration (no pseudo-class head)"
        );
        let device = device.clone().autodiff();
        let stepper = fresh(&cfg, &device, build);
        Ok(Self { cfg, device, build, stepper, images: Vec::new(), generator: None, steps: 0 })
    }

    /// The recipe.
    pub fn config(&self) -> &RunConfig {
        &self.cfg
    }

    /// Optimiser steps taken since creation or the last reset.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The images trained on.
    pub fn images(&self) -> &[Volume] {
        &self.images
    }

    /// Adds an image (intensities in [0, 1]) to the training set; the oldest is dropped beyond
    /// [`MAX_IMAGES`].
    pub fn add_image(&mut self, image: Volume) -> anyhow::Result<()> {
        image.check_finite()?;
        anyhow::ensure!(image.is_2d(), "the session trains on 2-D images");
        if self.images.len() == MAX_IMAGES {
            self.images.remove(0);
        }
        self.images.push(image);
        let source = Source::random(self.images.clone(), self.cfg.sample_shape())?;
        self.generator = Some(Generator {
            source,
            pipeline: Pipeline::preset(self.cfg.pipeline, &Quirks::default()),
            seed: self.cfg.seed,
            batch: self.cfg.batch,
            accumulate: self.cfg.accumulate,
            shape: self.cfg.sample_shape(),
        });
        Ok(())
    }

    fn generator(&self) -> anyhow::Result<&Generator> {
        self.generator.as_ref().ok_or_else(|| anyhow::anyhow!("add an image before training"))
    }

    /// One optimiser step: batch `k` of the run's stream (epoch `k / steps-per-epoch + 1`),
    /// at the scheduled learning rate. Returns the step's loss (mean over micro-batches),
    /// detached and not read back.
    pub fn step(&mut self) -> anyhow::Result<Tensor<1>> {
        let per_epoch = self.cfg.steps_per_epoch;
        let parts = self.generator()?.train(self.steps / per_epoch + 1, self.steps % per_epoch)?;
        let lr = self.cfg.schedule().lr(self.steps);
        let weights = (self.cfg.lambda_rec, self.cfg.lambda_cls);
        let losses = pretrain_step(&mut self.stepper, lr, parts, weights);
        self.steps += 1;
        let count = losses.len();
        let total = losses.into_iter().map(|l| l.total).reduce(|a, b| a + b);
        let total = total.ok_or_else(|| anyhow::anyhow!("a step without batches"))?;
        Ok(if count == 1 { total } else { total.div_scalar(count as f64) })
    }

    /// The current model on the first sample of validation batch `index` (fixed crops the
    /// model never trains on).
    pub fn preview(&self, index: usize) -> anyhow::Result<Preview> {
        let sample = self.generator()?.validation_sample(index)?;
        let restored = self.restore(&sample.input);
        Ok(Preview { sample, restored })
    }

    /// The current model's restoration of `image` (spatial sizes divisible by the model's
    /// poolings), `[1, 1, H, W]`.
    pub fn restore(&self, image: &Volume) -> Tensor<4> {
        let inner = self.device.clone().inner();
        self.stepper.model().valid().forward(upload_volumes::<4>(&[image], &inner))
    }

    /// The current model's embedding (pooled bottleneck) of `image`, `[1, C]`.
    pub fn embed(&self, image: &Volume) -> Tensor<2> {
        let inner = self.device.clone().inner();
        self.stepper.model().valid().embed(upload_volumes::<4>(&[image], &inner))
    }

    /// The model's weights as Burnpack (`.bpk`) bytes, as `genesis pretrain` writes them.
    pub fn weights(&self) -> anyhow::Result<Vec<u8>> {
        Ok(to_burnpack(self.stepper.model())?)
    }

    /// Replaces the model's weights (a fresh optimiser; the step count is kept).
    pub fn load_weights(&mut self, bytes: Vec<u8>) -> anyhow::Result<LoadReport> {
        let (model, report) = from_burnpack((self.build)(&self.cfg, &self.device), bytes, false)?;
        let optim = self.cfg.optimizer.build(self.cfg.momentum);
        self.stepper = Stepper::new(model, optim, self.cfg.clip_grad_norm);
        Ok(report)
    }

    /// A fresh model and optimiser (initialised from the seed again); the images are kept.
    pub fn reset(&mut self) {
        self.stepper = fresh(&self.cfg, &self.device, self.build);
        self.steps = 0;
    }
}

/// The model of `cfg` initialised from its seed, with its optimiser.
fn fresh<M: Network<4>>(
    cfg: &RunConfig,
    device: &Device,
    build: fn(&RunConfig, &Device) -> M,
) -> Stepper<M> {
    genesis_nn::seed(device, cfg.seed);
    let model = build(cfg, &init_device(device));
    materialize(&model);
    Stepper::new(model.fork(device), cfg.optimizer.build(cfg.momentum), cfg.clip_grad_norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::Method;
    use genesis_nn::host::scalar;

    fn cfg() -> RunConfig {
        RunConfig {
            batch: 2,
            size: 16,
            base: 2,
            levels: 2,
            ..RunConfig::preset(Method::Restoration, Dim::D2)
        }
    }

    #[test]
    fn steps_need_an_image_and_a_reset_replays_the_same_losses() {
        let mut session = Session::unet2d(cfg(), &Device::flex()).unwrap();
        let err = session.step().unwrap_err().to_string();
        assert!(err.contains("add an image"), "{err}");
        let image = Volume::image(24, 20, (0..480).map(|p| (p % 17) as f32 / 17.0).collect());
        session.add_image(image.unwrap()).unwrap();
        let losses =
            |s: &mut Session<UNet2d>| (0..3).map(|_| scalar(s.step().unwrap())).collect::<Vec<_>>();
        let first = losses(&mut session);
        session.reset();
        assert_eq!(session.steps(), 0);
        assert_eq!(losses(&mut session), first);
        let preview = session.preview(0).unwrap();
        assert_eq!(preview.restored.dims(), [1, 1, 16, 16]);
        let weights = session.weights().unwrap();
        session.load_weights(weights).unwrap();
        assert!(session.load_weights(vec![1, 2, 3]).is_err());
        let semantic = RunConfig { method: Method::SemanticGenesis, ..cfg() };
        assert!(Session::unet2d(semantic, &Device::flex()).is_err(), "a session has no head");
    }
}

//! The networks a run trains, chosen at run time, and their losses.

use genesis_nn::blocks::Spatial;
use genesis_nn::burn::module::Module;
use genesis_nn::burn::tensor::{Device, Int, Tensor, TensorData};
use genesis_nn::loss::{cross_entropy, mse};
use genesis_nn::{
    GenesisModel, HeadConfig, SemanticGenesis, SemanticGenesis2d, SemanticGenesis3d, UNet2d,
    UNet2dConfig, UNet3d, UNet3dConfig,
};

use super::config::{Dim, RunConfig};
use super::data::Batch;

/// A network `genesis pretrain` can train: restoration output plus, with a head, class logits.
pub trait Pretrainable<const D: usize>: Module + GenesisModel<D> {
    /// Restoration and (with a head) logits from one pass.
    fn outputs(&self, x: Tensor<D>) -> (Tensor<D>, Option<Tensor<2>>);
}

impl Pretrainable<4> for UNet2d {
    fn outputs(&self, x: Tensor<4>) -> (Tensor<4>, Option<Tensor<2>>) {
        (self.forward(x), None)
    }
}

impl Pretrainable<5> for UNet3d {
    fn outputs(&self, x: Tensor<5>) -> (Tensor<5>, Option<Tensor<2>>) {
        (self.forward(x), None)
    }
}

impl<M: GenesisModel<D>, C: Spatial<D>, const D: usize> Pretrainable<D> for SemanticGenesis<M, C>
where
    SemanticGenesis<M, C>: Module,
{
    fn outputs(&self, x: Tensor<D>) -> (Tensor<D>, Option<Tensor<2>>) {
        let out = self.forward_all(x);
        (out.restoration, Some(out.logits))
    }
}

/// A batch as tensors on a device.
pub struct Tensors<const D: usize> {
    /// Inputs `[n, 1, spatial…]`.
    pub input: Tensor<D>,
    /// Targets, same shape.
    pub target: Tensor<D>,
    /// Labels `[n]`.
    pub labels: Tensor<1, Int>,
}

impl<const D: usize> Tensors<D> {
    /// Uploads `batch` to `device`.
    pub fn new(batch: &Batch, device: &Device) -> Self {
        let tensor = |v: &[f32]| host_tensor(v, batch.n, batch.shape, device);
        let labels = label_tensor(&batch.labels, device);
        Self { input: tensor(&batch.input), target: tensor(&batch.target), labels }
    }
}

/// Uploads `n` single-channel samples of spatial `shape` (x-major) as `[n, 1, spatial…]`.
pub fn host_tensor<const D: usize>(
    values: &[f32],
    n: usize,
    shape: [usize; 3],
    device: &Device,
) -> Tensor<D> {
    let mut dims = vec![n, 1];
    dims.extend_from_slice(&shape[..D - 2]);
    Tensor::from_data(TensorData::new(values.to_vec(), dims), device)
}

/// Uploads class labels as `[n]`.
pub fn label_tensor(labels: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(labels.to_vec(), [labels.len()]), device)
}

/// Loss terms of one pass, as tensors (so the total can be back-propagated).
pub struct LossTerms<const D: usize> {
    /// `λ_rec·rec + λ_cls·cls`.
    pub total: Tensor<1>,
    /// Restoration MSE.
    pub rec: Tensor<1>,
    /// Cross-entropy, with a head.
    pub cls: Option<Tensor<1>>,
    /// Logits, with a head.
    pub logits: Option<Tensor<2>>,
    /// The restoration output.
    pub output: Tensor<D>,
}

/// Computes the loss terms of `model` on `batch`, with weights `(λ_rec, λ_cls)`.
pub fn loss_terms<M: Pretrainable<D>, const D: usize>(
    model: &M,
    batch: Tensors<D>,
    weights: (f64, f64),
) -> LossTerms<D> {
    let (output, logits) = model.outputs(batch.input);
    let rec = mse(output.clone(), batch.target);
    let cls = logits.clone().map(|l| cross_entropy(l, batch.labels));
    let mut total = rec.clone().mul_scalar(weights.0);
    if let Some(c) = &cls {
        total = total + c.clone().mul_scalar(weights.1);
    }
    LossTerms { total, rec, cls, logits, output }
}

/// Runs `task` with the model `cfg` asks for, built on `device` for `classes` pseudo-classes.
pub fn with_model<T: Task>(cfg: &RunConfig, classes: usize, task: T) -> T::Output {
    let unet2d = UNet2dConfig::new().with_base(cfg.base).with_depth(cfg.levels);
    let unet3d = UNet3dConfig::new().with_base(cfg.base);
    let head = HeadConfig::new(0, classes);
    match (cfg.dim, cfg.method.has_head()) {
        (Dim::D2, false) => task.run(move |d: &Device| unet2d.init(d)),
        (Dim::D2, true) => task.run(move |d: &Device| SemanticGenesis2d::new2d(&unet2d, &head, d)),
        (Dim::D3, false) => task.run(move |d: &Device| unet3d.init(d)),
        (Dim::D3, true) => task.run(move |d: &Device| SemanticGenesis3d::new3d(&unet3d, &head, d)),
    }
}

/// Work on a model type chosen at run time; `build` makes a fresh model on a device.
pub trait Task {
    /// What the work returns.
    type Output;
    /// Does the work.
    fn run<M: Pretrainable<D>, const D: usize>(self, build: impl Fn(&Device) -> M) -> Self::Output;
}

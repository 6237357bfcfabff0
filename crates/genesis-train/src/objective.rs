//! The pretraining objective of every method: restoration MSE weighted by `λ_rec` plus, with a
//! head, pseudo-class cross-entropy weighted by `λ_cls` (spec §6; Models Genesis and
//! restoration-only runs have λ_cls = 0 and no head, classification-only λ_rec = 0).

use genesis_nn::burn::tensor::{Device, Int, Tensor};
use genesis_nn::host::{upload, upload_labels};
use genesis_nn::loss::{cross_entropy, mse};
use genesis_nn::{GenesisModel, Network};

use crate::batch::Batch;
use crate::step::Stepper;

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
        let tensor = |v: &[f32]| upload(v.to_vec(), batch.n, batch.shape, device);
        let labels = upload_labels(&batch.labels, device);
        Self { input: tensor(&batch.input), target: tensor(&batch.target), labels }
    }
}

/// The loss weights `(λ_rec, λ_cls)`.
pub type Weights = (f64, f64);

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

/// Computes the loss terms of `model` on `batch` with `weights`.
pub fn loss_terms<M: GenesisModel<D>, const D: usize>(
    model: &M,
    batch: Tensors<D>,
    weights: Weights,
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

/// The detached losses of one micro-batch.
pub struct StepLosses {
    /// The weighted total.
    pub total: Tensor<1>,
    /// Restoration MSE.
    pub rec: Tensor<1>,
    /// Cross-entropy, with a head.
    pub cls: Option<Tensor<1>>,
}

/// One pretraining step of `stepper` at learning rate `lr` over the micro-batches `parts`
/// (each uploaded to the device that runs it): what the CLI's epochs and the page's session
/// both run.
pub fn pretrain_step<M: Network<D>, const D: usize>(
    stepper: &mut Stepper<M>,
    lr: f64,
    parts: Vec<Batch>,
    weights: Weights,
) -> Vec<StepLosses> {
    let reported = stepper.step(lr, parts, |model, batch, device| {
        let terms = loss_terms(model, Tensors::<D>::new(&batch, device), weights);
        [Some(terms.total), Some(terms.rec), terms.cls].into_iter().flatten().collect()
    });
    reported
        .into_iter()
        .map(|terms| {
            let mut terms = terms.into_iter();
            StepLosses {
                total: terms.next().expect("the total loss"),
                rec: terms.next().expect("the restoration loss"),
                cls: terms.next(),
            }
        })
        .collect()
}

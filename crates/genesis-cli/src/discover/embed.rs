//! Patient embeddings (spec §4.1–4.2): every patient resized to a thumbnail, a no-skip
//! autoencoder trained on the thumbnails by MSE with Adam, and the globally average-pooled
//! bottleneck of each thumbnail as its embedding.

use std::path::Path;

use anyhow::Context;
use genesis_core::Volume;
use genesis_core::resize::{Filter, resize};
use genesis_core::rng::{RngExt, stream};
use genesis_nn::burn::module::Module;
use genesis_nn::burn::optim::AdamConfig;
use genesis_nn::burn::tensor::{Device, Tensor};
use genesis_nn::loss::mse;
use genesis_nn::step::train_step;
use genesis_nn::{AutoencoderConfig, BnMode, GenesisModel, UNet2dConfig, UNet3dConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::patients::Patients;
use crate::pretrain::config::Dim;
use crate::pretrain::model::host_tensor;

/// The network whose bottleneck embeds the patients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EmbedArch {
    /// The no-skip autoencoder (a true autoencoder; the author's recommendation).
    Autoencoder,
    /// The U-Net (the released code's later default; skips let it copy details past the
    /// bottleneck).
    Unet,
}

/// How patients are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EmbedSettings {
    /// The network.
    pub arch: EmbedArch,
    /// Thumbnail side (2-D: side × side; 3-D: side × side × side/2).
    pub size: usize,
    /// Autoencoder training steps.
    pub steps: usize,
    /// Thumbnails per step.
    pub batch: usize,
    /// Adam learning rate (1e-3 in the original).
    pub lr: f64,
    /// Width of the first autoencoder block (32 in the original).
    pub base: usize,
    /// Encoder levels (4 in the original).
    pub levels: usize,
}

impl Default for EmbedSettings {
    fn default() -> Self {
        Self {
            arch: EmbedArch::Autoencoder,
            size: 64,
            steps: 150,
            batch: 8,
            lr: 1e-3,
            base: 16,
            levels: 4,
        }
    }
}

impl EmbedSettings {
    /// The thumbnail shape in `dim`.
    pub fn shape(&self, dim: Dim) -> [usize; 3] {
        match dim {
            Dim::D2 => [self.size, self.size, 1],
            Dim::D3 => [self.size, self.size, (self.size / 2).max(1)],
        }
    }
}

/// Embeddings of every patient, row-major `[patients, dim]`, and the autoencoder's losses.
pub struct Embedded {
    /// The vectors.
    pub vectors: Vec<f32>,
    /// Length of one vector.
    pub dim: usize,
    /// Training loss before the first and after the last step.
    pub loss: (f64, f64),
}

/// Loads and shrinks every patient to the thumbnail shape.
pub fn thumbnails(patients: &Patients, shape: [usize; 3]) -> anyhow::Result<Vec<Volume>> {
    (0..patients.len())
        .map(|i| {
            let v = patients.load(i)?;
            resize(&v, shape, Filter::Area)
                .with_context(|| format!("cannot resize {}", patients.names()[i]))
        })
        .collect()
}

/// Trains the autoencoder on `thumbs` and embeds them; the weights go to `weights`.
pub fn embed(
    thumbs: &[Volume],
    dim: Dim,
    settings: &EmbedSettings,
    seed: u64,
    device: &Device,
    weights: &Path,
) -> anyhow::Result<Embedded> {
    let (base, levels) = (settings.base, settings.levels);
    let ae =
        AutoencoderConfig::new().with_base(base).with_depth(levels).with_bn_mode(BnMode::Running);
    let unet2d =
        UNet2dConfig::new().with_base(base).with_depth(levels).with_bn_mode(BnMode::Running);
    let unet3d = UNet3dConfig::new().with_base(base).with_bn_mode(BnMode::Running);
    let job: Job<'_> = (thumbs, settings, seed, device, weights);
    match (dim, settings.arch) {
        (Dim::D2, EmbedArch::Autoencoder) => train_and_embed(job, |d| ae.init2d(d)),
        (Dim::D3, EmbedArch::Autoencoder) => train_and_embed(job, |d| ae.init3d(d)),
        (Dim::D2, EmbedArch::Unet) => train_and_embed(job, |d| unet2d.init(d)),
        (Dim::D3, EmbedArch::Unet) => train_and_embed(job, |d| unet3d.init(d)),
    }
}

/// Stacks `items` into a `[n, 1, spatial…]` tensor.
fn stack<const D: usize>(items: &[&Volume], device: &Device) -> Tensor<D> {
    let data: Vec<f32> = items.iter().flat_map(|v| v.data().iter().copied()).collect();
    host_tensor(&data, items.len(), items[0].shape(), device)
}

/// What [`train_and_embed`] works on: thumbnails, settings, seed, device, weights file.
type Job<'a> = (&'a [Volume], &'a EmbedSettings, u64, &'a Device, &'a Path);

fn train_and_embed<M: Module + GenesisModel<D>, const D: usize>(
    (thumbs, settings, seed, device, weights): Job<'_>,
    build: impl Fn(&Device) -> M,
) -> anyhow::Result<Embedded> {
    device.seed(seed);
    let train_device = device.clone().autodiff();
    let mut model = build(&train_device);
    let mut optim = AdamConfig::new().with_epsilon(1e-7).init();
    let bar = ProgressBar::new(settings.steps as u64).with_prefix("autoencoder");
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")?
            .progress_chars("=> "),
    );
    let (mut first, mut last) = (f64::NAN, f64::NAN);
    for step in 0..settings.steps {
        let mut rng = stream(seed, "discovery-autoencoder", &[step as u64]);
        let picks: Vec<&Volume> = (0..settings.batch.min(thumbs.len()))
            .map(|_| &thumbs[rng.random_range(0..thumbs.len())])
            .collect();
        let x = stack::<D>(&picks, &train_device);
        let loss;
        (model, loss) =
            train_step(model, &mut optim, settings.lr, |m| mse(m.forward(x.clone()), x));
        last = f64::from(loss.into_scalar::<f32>());
        if step == 0 {
            first = last;
        }
        if !last.is_finite() {
            anyhow::bail!("the autoencoder loss became {last} at step {step}; lower --ae-lr");
        }
        bar.set_message(format!("mse {last:.5}"));
        bar.inc(1);
    }
    bar.finish();
    let model = model.valid();
    genesis_nn::weights::save_file(&model, weights)?;
    let mut vectors = Vec::new();
    for chunk in thumbs.chunks(16) {
        let refs: Vec<&Volume> = chunk.iter().collect();
        let e = model.embed(stack::<D>(&refs, device));
        vectors.extend(
            e.into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("reading embeddings: {e:?}"))?,
        );
    }
    let dim = vectors.len() / thumbs.len().max(1);
    Ok(Embedded { vectors, dim, loss: (first, last) })
}

//! The fine-tuned networks (spec §7.1): a classifier on the U-Net's encoder (bottleneck →
//! global average pooling → linear layer) and the whole U-Net as a one-channel segmenter; the
//! pretrained weights they start from; and the run-time choice of 2-D or 3-D.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_nn::blocks::global_avg_pool;
use genesis_nn::burn;
use genesis_nn::burn::module::ParamId;
use genesis_nn::burn::module::{Module, ModuleDisplay};
use genesis_nn::burn::nn::{Linear, LinearConfig};
use genesis_nn::burn::tensor::activation::softmax;
use genesis_nn::burn::tensor::{Device, Int, Tensor};
use genesis_nn::host::{upload, upload_labels};
use genesis_nn::loss::{binary_cross_entropy, cross_entropy, dice};
use genesis_nn::weights::{find_unet, from_burnpack};
use genesis_nn::{ArchSpec, BnMode, Network, init_device, materialize, param_ids};

use super::data::Batch;
use crate::recipe::{Dim, Pool, SegLoss};

/// Classification: the U-Net's bottleneck, globally average- or max-pooled, into a linear
/// layer (the decoder is carried along unused so that the weights keep their U-Net names).
#[derive(Module, Debug)]
pub struct Classifier<M> {
    /// The pretrained (or fresh) U-Net.
    pub unet: M,
    /// Logits from the pooled bottleneck.
    pub fc: Linear,
    /// How the bottleneck is pooled.
    #[module(skip)]
    pub pool: Pool,
}

/// Segmentation: the whole U-Net, one sigmoid channel. The field name matches Semantic
/// Genesis' `unet.` prefix, so a Semantic Genesis file loads its U-Net part into this.
#[derive(Module, Debug)]
pub struct Segmenter<M> {
    /// The pretrained (or fresh) U-Net.
    pub unet: M,
    /// The training loss.
    #[module(skip)]
    pub loss: SegLoss,
}

/// A batch as tensors on a device.
pub struct Tensors<const D: usize> {
    /// Images `[n, 1, spatial…]`.
    pub images: Tensor<D>,
    /// Labels `[n]`.
    pub labels: Tensor<1, Int>,
    /// Masks, like the images (segmentation).
    pub masks: Option<Tensor<D>>,
}

impl<const D: usize> Tensors<D> {
    /// Uploads `batch` to `device`.
    pub fn new(batch: &Batch, device: &Device) -> Self {
        let tensor = |v: &[f32]| upload(v.to_vec(), batch.n, batch.shape, device);
        let labels = upload_labels(&batch.labels, device);
        let masks = (!batch.masks.is_empty()).then(|| tensor(&batch.masks));
        Self { images: tensor(&batch.images), labels, masks }
    }
}

/// A network `genesis finetune` trains.
pub trait Downstream<const D: usize>: Module {
    /// The training loss of a batch: cross-entropy, or soft Dice.
    fn loss(&self, batch: Tensors<D>) -> Tensor<1>;
    /// Per-sample scores `[n, k]`: class probabilities, or foreground probabilities per voxel.
    fn scores(&self, images: Tensor<D>) -> Tensor<2>;
    /// The layers every run starts afresh (the output convolution, the classifier).
    fn new_layers(&self) -> Vec<ParamId>;
}

/// Class logits of `model` for `images`.
fn logits<M: Network<D>, const D: usize>(model: &Classifier<M>, images: Tensor<D>) -> Tensor<2> {
    let features = model.unet.features(images);
    let pooled = match model.pool {
        Pool::Avg => global_avg_pool(features),
        Pool::Max => {
            let [n, c] = [features.dims()[0], features.dims()[1]];
            features.reshape([n as i64, c as i64, -1]).max_dim(2).reshape([n, c])
        }
    };
    model.fc.forward(pooled)
}

impl<M: Network<D>, const D: usize> Downstream<D> for Classifier<M> {
    fn loss(&self, batch: Tensors<D>) -> Tensor<1> {
        cross_entropy(logits(self, batch.images), batch.labels)
    }

    fn scores(&self, images: Tensor<D>) -> Tensor<2> {
        softmax(logits(self, images), 1)
    }

    fn new_layers(&self) -> Vec<ParamId> {
        let mut ids = self.unet.output_layer();
        ids.extend(param_ids(&self.fc));
        ids
    }
}

impl<M: Network<D>, const D: usize> Downstream<D> for Segmenter<M> {
    fn loss(&self, batch: Tensors<D>) -> Tensor<1> {
        let output = self.unet.forward(batch.images.clone());
        // Segmentation batches always carry masks; one without would count as all background.
        let masks = batch.masks.unwrap_or_else(|| batch.images.zeros_like());
        match self.loss {
            SegLoss::Dice => dice(output, masks),
            SegLoss::DiceBce => {
                dice(output.clone(), masks.clone()) + binary_cross_entropy(output, masks)
            }
        }
    }

    fn scores(&self, images: Tensor<D>) -> Tensor<2> {
        let n = images.dims()[0];
        self.unet.forward(images).reshape([n as i64, -1])
    }

    fn new_layers(&self) -> Vec<ParamId> {
        self.unet.output_layer()
    }
}

/// The U-Net shape of a run: from the config for `scratch`, from the file otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arch {
    /// 2-D or 3-D.
    pub dim: Dim,
    /// Width of the first block.
    pub base: usize,
    /// Encoder levels (always 4 in 3-D).
    pub depth: usize,
}

/// Pretrained weights, read and inspected.
pub struct Weights {
    /// The file read.
    pub path: PathBuf,
    /// The U-Net they hold.
    pub arch: Arch,
    /// Whether the U-Net sits under `unet.` (a Semantic Genesis model or a fine-tuned one).
    prefixed: bool,
    bytes: Vec<u8>,
}

impl Weights {
    /// Reads `init`: a `.bpk` file, or a pretrain run folder (its best checkpoint).
    pub fn read(init: &str) -> anyhow::Result<Self> {
        let given = Path::new(init);
        let path = if given.is_dir() {
            given.join("checkpoints").join("best").join("model.bpk")
        } else {
            given.to_path_buf()
        };
        if !path.is_file() {
            bail!(
                "--init {init}: no such weights file (pass `scratch`, a model.bpk written by genesis pretrain, or its run folder)"
            );
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let (arch, prefixed) = inspect(&bytes, &path)?;
        Ok(Self { path, arch, prefixed, bytes })
    }

    /// Loads the U-Net part, output layer included, into `model` (built with `self.arch`).
    pub(crate) fn load<M: Module + ModuleDisplay>(&self, model: M) -> anyhow::Result<M> {
        let context = || format!("{}: cannot load the U-Net", self.path.display());
        if self.prefixed {
            let (wrapped, _) = from_burnpack(
                Segmenter { unet: model, loss: SegLoss::Dice },
                self.bytes.clone(),
                false,
            )
            .with_context(context)?;
            return Ok(wrapped.unet);
        }
        Ok(from_burnpack(model, self.bytes.clone(), false).with_context(context)?.0)
    }
}

/// Finds the U-Net in a Burnpack file: its prefix, dimension, width and depth.
fn inspect(bytes: &[u8], path: &Path) -> anyhow::Result<(Arch, bool)> {
    let found = find_unet(bytes).map_err(|e| {
        anyhow::anyhow!("{}: {e}; pass a model.bpk written by genesis pretrain", path.display())
    })?;
    if !found.skips {
        bail!(
            "{}: an autoencoder without skip connections; fine-tuning needs a U-Net (pretrain one with genesis pretrain)",
            path.display()
        );
    }
    let dim = if found.dims == 3 { Dim::D3 } else { Dim::D2 };
    if dim == Dim::D3 && !found.models_genesis_3d {
        bail!("{}: a 3-D encoder–decoder that is not the Genesis 3-D U-Net", path.display());
    }
    Ok((Arch { dim, base: found.base, depth: found.depth }, found.prefixed))
}

impl Arch {
    /// The U-Net as the engine's one model dispatch names it, with batch-norm mode `bn_mode`.
    pub fn spec(&self, bn_mode: BnMode) -> ArchSpec {
        let arch = match self.dim {
            Dim::D2 => genesis_nn::Arch::Unet2d,
            Dim::D3 => genesis_nn::Arch::Unet3d,
        };
        ArchSpec { arch, base: self.base, depth: self.depth, classes: 0, bn_mode }
    }

    /// Channels of the bottleneck (the classifier's input).
    pub fn bottleneck(&self) -> usize {
        self.base << self.depth
    }
}

/// The fresh U-Net `fresh` with `weights` loaded, except the output convolution (it maps to
/// restored intensities, a pretext-task layer; the Models Genesis Keras recipe also starts the
/// target task with a new one), and the encoder frozen when `freeze` is set.
pub fn backbone<M: Network<D>, const D: usize>(
    fresh: M,
    weights: Option<&Weights>,
    freeze: bool,
) -> anyhow::Result<M> {
    let unet = match weights {
        Some(w) => w.load(fresh.clone())?.with_output_of(fresh),
        None => fresh,
    };
    Ok(if freeze { unet.freeze_encoder() } else { unet })
}

/// The classifier on `unet` with a fresh linear layer from `bottleneck` channels to `classes`,
/// pooling as `pool` says.
pub fn classifier<M: Network<D>, const D: usize>(
    unet: M,
    (bottleneck, classes, pool): (usize, usize, Pool),
    device: &Device,
) -> Classifier<M> {
    // Initialised where every model is (the CPU), then moved: the same seed, the same head.
    let fc = LinearConfig::new(bottleneck, classes).init(&init_device(device));
    materialize(&fc);
    Classifier { unet, fc: fc.fork(device), pool }
}

//! How well a pretrained 2-D U-Net restores damaged images: PSNR of the damaged input and of
//! the restoration against the original, per transform, over seeded draws. It measures the
//! page's restorer (`genesis restore`), with the page's draws.

use anyhow::{Context, bail};
use genesis_core::Volume;
use genesis_core::metrics::psnr;
use genesis_core::pipeline::{Applied, Pipeline, Preset, Quirks};
use genesis_core::showcase::{apply_alone, transforms_alone};
use genesis_nn::burn::module::Module;
use genesis_nn::burn::tensor::Device;
use genesis_nn::host::{read, upload_volumes};
use genesis_nn::{GenesisModel, UNet2d, UNet2dConfig, init_device};

use crate::finetune::Weights;
use crate::recipe::Dim;

/// The rows of a report: each transform alone, then the whole pipeline.
pub const ROWS: [&str; 5] = ["shuffle", "bezier", "inpaint", "outpaint", "pipeline"];

/// PSNR of damaged inputs and of their restorations, averaged over samples.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Quality {
    /// A transform alone (`shuffle`, `bezier`, `inpaint`, `outpaint`) or `pipeline`.
    pub transform: String,
    /// Samples averaged.
    pub samples: usize,
    /// Mean PSNR (dB) of the damaged inputs.
    pub input_psnr: f64,
    /// Mean PSNR (dB) of the restorations.
    pub restored_psnr: f64,
}

impl Quality {
    /// Mean PSNR gained by restoring (dB).
    pub fn gain(&self) -> f64 {
        self.restored_psnr - self.input_psnr
    }
}

/// The U-Net of `weights` (a 2-D one, as `genesis pretrain --dim 2d` writes) on `device`.
pub fn load_unet2d(weights: &Weights, device: &Device) -> anyhow::Result<UNet2d> {
    if weights.arch.dim != Dim::D2 {
        bail!("{}: a 3-D U-Net; `genesis restore` measures 2-D ones", weights.path.display());
    }
    let fresh = UNet2dConfig::new()
        .with_base(weights.arch.base)
        .with_depth(weights.arch.depth)
        .init(&init_device(device));
    Ok(weights.load(fresh)?.to_device(device))
}

/// Restores `draws` damaged copies of every image (draw seeds 0, 1, …: the page's first
/// draws) with `model`: the Models Genesis pipeline, and each of its four transforms alone.
pub fn measure(
    model: &UNet2d,
    images: &[(String, Volume)],
    draws: u64,
    device: &Device,
) -> anyhow::Result<Vec<Quality>> {
    let pipeline = Pipeline::preset(Preset::ModelsGenesis, &Quirks::default());
    let mut sums = [(0usize, 0.0f64, 0.0f64); ROWS.len()];
    for (name, image) in images {
        model.check_input(&[1, 1, image.shape()[0], image.shape()[1]]).with_context(|| {
            format!("{name}: the image size does not suit the U-Net (use --size)")
        })?;
        for seed in 0..draws {
            let alone = transforms_alone(Preset::ModelsGenesis, seed, image.shape());
            for step in
                alone.iter().filter(|s| !matches!(s, Applied::Flip(_) | Applied::Elastic(_)))
            {
                let row = ROWS.iter().position(|r| *r == step.name()).unwrap_or(ROWS.len() - 1);
                let damaged = apply_alone(image, step)?;
                add(&mut sums[row], model, &damaged, image, device)?;
            }
            let sample = pipeline.generate_damaging(seed, image)?;
            add(&mut sums[ROWS.len() - 1], model, &sample.input, &sample.target, device)?;
        }
    }
    Ok(ROWS
        .iter()
        .zip(sums)
        .map(|(row, (n, input, restored))| Quality {
            transform: row.to_string(),
            samples: n,
            input_psnr: input / n.max(1) as f64,
            restored_psnr: restored / n.max(1) as f64,
        })
        .collect())
}

/// Restores `damaged` and adds both PSNRs against `original` to `sum`.
fn add(
    sum: &mut (usize, f64, f64),
    model: &UNet2d,
    damaged: &Volume,
    original: &Volume,
    device: &Device,
) -> anyhow::Result<()> {
    let restored = restore(model, damaged, device)?;
    sum.0 += 1;
    sum.1 += psnr(damaged.data(), original.data());
    sum.2 += psnr(restored.data(), original.data());
    Ok(())
}

/// The model's restoration of one image.
fn restore(model: &UNet2d, damaged: &Volume, device: &Device) -> anyhow::Result<Volume> {
    let output = model.forward(upload_volumes(&[damaged], device));
    let values = read(output)?;
    let [h, w, _] = damaged.shape();
    Ok(Volume::image(h, w, values)?)
}

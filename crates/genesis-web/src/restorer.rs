//! Inference with pretrained weights — the shipped restorers or a visitor's own file: restore
//! a damaged image (2-D U-Net) or cube (3-D U-Net), embed an image or a cube.

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Device, Tensor};
use genesis_core::Volume;
use genesis_core::pipeline::{Applied, Pipeline, Preset, Quirks};
use genesis_nn::host::{read_async, upload_volumes};
use genesis_nn::weights::{self, FoundUnet, LoadReport};
use genesis_nn::{GenesisModel, UNet2d, UNet2dConfig, UNet3d, UNet3dConfig};
use wasm_bindgen::prelude::*;

use crate::backend::{Backend, BackendPreference};
use crate::image::GrayImage;
use crate::model::Triptych;
use crate::scan::Scan;

/// A Semantic Genesis (or fine-tuned) model's U-Net sits under `unet.`; its head is not used.
#[derive(Module, Debug)]
struct Prefixed<M> {
    unet: M,
}

/// The network of a [`Restorer`].
enum Net {
    /// A 2-D U-Net, `[N, 1, H, W]`.
    Flat(Box<UNet2d>),
    /// The Models Genesis 3-D U-Net, `[N, 1, X, Y, Z]`.
    Volume(Box<UNet3d>),
}

/// A pretrained U-Net ready for inference.
#[wasm_bindgen]
pub struct Restorer {
    backend: Backend,
    device: Device,
    net: Net,
    summary: String,
    report: LoadReport,
}

/// Voxels of the largest input the page gives a network: a 224² image, a 64×64×32 cube.
const LARGEST_INPUT: [usize; 2] = [224 * 224, 64 * 64 * 32];

/// Loads `bytes` (Burnpack, or PyTorch-named safetensors) into `fresh`, under `unet.` when
/// `found.prefixed`.
fn load<M: Module + ModuleDisplay>(
    fresh: M,
    bytes: Vec<u8>,
    safetensors: bool,
    found: &FoundUnet,
) -> Result<(M, LoadReport), JsError> {
    if found.prefixed {
        let (wrapped, report) = read(Prefixed { unet: fresh }, bytes, safetensors)?;
        return Ok((wrapped.unet, report));
    }
    Ok(read(fresh, bytes, safetensors)?)
}

/// Loads `bytes` into `model`, every parameter required.
fn read<M: Module + ModuleDisplay>(
    model: M,
    bytes: Vec<u8>,
    safetensors: bool,
) -> Result<(M, LoadReport), weights::WeightsError> {
    match safetensors {
        true => weights::from_safetensors(model, bytes, false),
        false => weights::from_burnpack(model, bytes, false),
    }
}

#[wasm_bindgen]
impl Restorer {
    /// Loads weights named `name` — a `.bpk` written by `genesis pretrain` (2-D or 3-D, any
    /// width and depth, a Semantic Genesis model's U-Net included) or PyTorch-named
    /// `.safetensors` (`genesis export`, or a released model converted by `genesis import`) —
    /// onto the preferred backend.
    pub async fn create(preference: &str, name: &str, bytes: Vec<u8>) -> Result<Restorer, JsError> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".pt") || lower.ends_with(".pth") {
            return Err(JsError::new(
                "PyTorch checkpoints can only be read from a file, not in a browser: convert it with `genesis import MODEL.pt --arch unet3d --out model.bpk` and drop the .bpk",
            ));
        }
        let safetensors = lower.ends_with(".safetensors");
        let found = match safetensors {
            true => weights::find_unet_safetensors(&bytes),
            false => weights::find_unet(&bytes),
        }
        .map_err(|e| JsError::new(&format!("{name}: {e}")))?;
        if !found.skips || (found.dims == 3 && !found.models_genesis_3d) {
            return Err(JsError::new(&format!(
                "{name}: an encoder–decoder without skip connections; the page restores with U-Nets"
            )));
        }
        let preference = BackendPreference::parse(preference).map_err(|e| JsError::new(&e))?;
        let backend = Backend::init(preference).await.holding(largest_buffer(&found), name);
        let device = backend.device().clone();
        let (net, report) = if found.dims == 3 {
            let fresh = UNet3dConfig::new().with_base(found.base).init(&device);
            let (model, report) = load(fresh, bytes, safetensors, &found)?;
            (Net::Volume(Box::new(model)), report)
        } else {
            let fresh =
                UNet2dConfig::new().with_base(found.base).with_depth(found.depth).init(&device);
            let (model, report) = load(fresh, bytes, safetensors, &found)?;
            (Net::Flat(Box::new(model)), report)
        };
        let params = match &net {
            Net::Flat(m) => m.num_params(),
            Net::Volume(m) => m.num_params(),
        };
        let summary = format!(
            "{}-D U-Net, base {}, {} levels, {:.2} M parameters ({} tensors loaded{})",
            found.dims,
            found.base,
            found.depth,
            params as f64 / 1e6,
            report.loaded.len(),
            if report.unused.is_empty() {
                String::new()
            } else {
                format!(", {} unused", report.unused.len())
            }
        );
        Ok(Restorer { backend, device, net, summary, report })
    }

    /// Why the backend is not the one asked for (e.g. a buffer over the WebGPU limit), if so.
    #[wasm_bindgen(getter)]
    pub fn notice(&self) -> Option<String> {
        self.backend.notice().map(str::to_owned)
    }

    /// The names of the tensors loaded into the network.
    #[wasm_bindgen(getter)]
    pub fn loaded(&self) -> Vec<String> {
        self.report.loaded.clone()
    }

    /// The names of the file's tensors the network does not use (a Semantic Genesis head…).
    #[wasm_bindgen(getter)]
    pub fn unused(&self) -> Vec<String> {
        self.report.unused.clone()
    }

    /// The backend label.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.label()
    }

    /// 2 or 3: what the network takes.
    #[wasm_bindgen(getter)]
    pub fn dims(&self) -> usize {
        match self.net {
            Net::Flat(_) => 2,
            Net::Volume(_) => 3,
        }
    }

    /// What was loaded: dimension, width, depth, parameters, the tensors' report.
    #[wasm_bindgen(getter)]
    pub fn summary(&self) -> String {
        self.summary.clone()
    }

    /// Damages `image` with one Models Genesis pipeline draw (seeded by `seed`) and restores it
    /// (2-D networks).
    pub async fn restore(&self, image: &GrayImage, seed: u64) -> Result<Triptych, JsError> {
        let Net::Flat(model) = &self.net else { return Err(wrong_dims(3, "an image")) };
        restore_with(model.as_ref(), image.volume(), seed, &self.device).await
    }

    /// Damages the 64×64×32 `cube` with one Models Genesis pipeline draw in 3-D and restores it
    /// (3-D networks).
    #[wasm_bindgen(js_name = restoreCube)]
    pub async fn restore_cube(&self, cube: &Scan, seed: u64) -> Result<Triptych, JsError> {
        let Net::Volume(model) = &self.net else { return Err(wrong_dims(2, "a cube")) };
        restore_with(model.as_ref(), cube.volume(), seed, &self.device).await
    }

    /// The pooled bottleneck features of `image` (2-D networks).
    pub async fn embed(&self, image: &GrayImage) -> Result<Vec<f32>, JsError> {
        let Net::Flat(model) = &self.net else { return Err(wrong_dims(3, "an image")) };
        embed_with(model.as_ref(), image.volume(), &self.device).await
    }

    /// The pooled bottleneck features of `cube` (3-D networks).
    #[wasm_bindgen(js_name = embedCube)]
    pub async fn embed_cube(&self, cube: &Scan) -> Result<Vec<f32>, JsError> {
        let Net::Volume(model) = &self.net else { return Err(wrong_dims(2, "a cube")) };
        embed_with(model.as_ref(), cube.volume(), &self.device).await
    }
}

/// Bytes of the largest buffer `found` needs on a GPU: its largest weight tensor, or an
/// estimate of its largest activation — the last decoder level's concatenation (4 × base
/// upsampled + 2 × base skipped channels) over the page's largest input, in f32.
fn largest_buffer(found: &FoundUnet) -> u64 {
    let activation = 6 * found.base * LARGEST_INPUT[found.dims.clamp(2, 3) - 2];
    4 * found.largest_tensor.max(activation) as u64
}

/// The error for a call that does not suit the network's dimension.
fn wrong_dims(dims: usize, what: &str) -> JsError {
    JsError::new(&format!("this is a {dims}-D network; it cannot take {what}"))
}

/// The `[1, 1, …]` dims of `volume` as a network of rank `D` takes it.
fn input_dims<const D: usize>(volume: &Volume) -> Vec<usize> {
    let shape = volume.shape();
    let spatial = if D == 4 { &shape[..2] } else { &shape[..] };
    [1, 1].iter().chain(spatial).copied().collect()
}

/// One pipeline draw on `original`, restored by `model`.
async fn restore_with<M: GenesisModel<D>, const D: usize>(
    model: &M,
    original: &Volume,
    seed: u64,
    device: &Device,
) -> Result<Triptych, JsError> {
    let pipeline = Pipeline::preset(Preset::ModelsGenesis, &Quirks::default());
    let sample = pipeline.generate_damaging(seed, original)?;
    model.check_input(&input_dims::<D>(original))?;
    let output: Tensor<D> = model.forward(upload_volumes(&[&sample.input], device));
    let restored = Volume::new(sample.input.shape(), read_async(output).await?)?;
    let names: Vec<&str> = sample.applied.iter().map(Applied::name).collect();
    Ok(Triptych::new(sample.input, restored, sample.target, names.join(" → ")))
}

/// The pooled bottleneck features of `volume`.
async fn embed_with<M: GenesisModel<D>, const D: usize>(
    model: &M,
    volume: &Volume,
    device: &Device,
) -> Result<Vec<f32>, JsError> {
    model.check_input(&input_dims::<D>(volume))?;
    Ok(read_async(model.embed(upload_volumes(&[volume], device))).await?)
}

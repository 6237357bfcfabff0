//! Small-scale 2D self-restoration training on the visitor's images (run it in a worker).

use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use genesis_core::Volume;
use genesis_core::pipeline::{Applied, Pipeline, Preset, Quirks};
use genesis_core::rng::{RngExt, stream};
use genesis_nn::step::restoration_step;
use genesis_nn::{GenesisModel, UNet2d, weights};
use wasm_bindgen::prelude::*;

use crate::backend::{Backend, BackendPreference};
use crate::model::{Triptych, batch_tensor, read_image, web_unet};

/// Side of the training crops.
pub const CROP: usize = 64;
/// Crops per step.
pub const BATCH: usize = 4;
/// Adam learning rate (the Semantic Genesis recipe, spec §6.3).
const LEARNING_RATE: f64 = 1e-3;
/// Most images kept for training.
const MAX_IMAGES: usize = 16;

/// A U-Net, its optimiser and the images it learns to restore.
#[wasm_bindgen]
pub struct Trainer {
    backend: Backend,
    device: Device,
    model: UNet2d,
    optim: ModuleOptimizer,
    pipeline: Pipeline,
    images: Vec<Volume>,
    seed: u64,
    step: u64,
}

/// A random `CROP`×`CROP` crop of `image` (the whole image, resized, when it is smaller).
fn random_crop(image: &Volume, seed: u64, step: u64, slot: u64) -> Result<Volume, JsError> {
    let [h, w, _] = image.shape();
    let mut rng = stream(seed, "web-crop", &[step, slot]);
    if h < CROP || w < CROP {
        let shape = [CROP, CROP, 1];
        return Ok(genesis_core::resize::resize(image, shape, genesis_core::resize::Filter::Area)?);
    }
    let (top, left) = (rng.random_range(0..=h - CROP), rng.random_range(0..=w - CROP));
    let pixels = (0..CROP * CROP).map(|i| image.get(top + i / CROP, left + i % CROP, 0)).collect();
    Ok(Volume::image(CROP, CROP, pixels)?)
}

#[wasm_bindgen]
impl Trainer {
    /// A fresh model on the preferred backend (`auto`, `webgpu` or `flex`), seeded by `seed`.
    pub async fn create(preference: &str, seed: u64) -> Result<Trainer, JsError> {
        let preference = BackendPreference::parse(preference).map_err(|e| JsError::new(&e))?;
        let backend = Backend::init(preference).await;
        let device = backend.device().clone().autodiff();
        device.seed(seed);
        Ok(Trainer {
            model: web_unet(&device),
            optim: AdamConfig::new().init(),
            pipeline: Pipeline::preset(Preset::ModelsGenesis, &Quirks::default()),
            backend,
            device,
            images: Vec::new(),
            seed,
            step: 0,
        })
    }

    /// The backend label (`WebGPU: <adapter>` or `CPU (Flex)`).
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.label()
    }

    /// Why the backend differs from the one asked for, or an empty string.
    #[wasm_bindgen(getter)]
    pub fn notice(&self) -> String {
        self.backend.notice().unwrap_or_default().to_string()
    }

    /// Steps taken since creation or the last reset.
    #[wasm_bindgen(getter)]
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Adds a `height`×`width` image (row-major pixels in [0, 1]) to the training set; the
    /// oldest is dropped beyond 16 images.
    #[wasm_bindgen(js_name = addImage)]
    pub fn add_image(
        &mut self,
        width: usize,
        height: usize,
        pixels: Vec<f32>,
    ) -> Result<(), JsError> {
        let image = Volume::image(height, width, pixels)?;
        image.check_finite()?;
        if self.images.len() == MAX_IMAGES {
            self.images.remove(0);
        }
        self.images.push(image);
        Ok(())
    }

    /// Takes `steps` optimisation steps and returns the loss of each (read once at the end).
    pub async fn train(&mut self, steps: u32) -> Result<Vec<f32>, JsError> {
        if self.images.is_empty() {
            return Err(JsError::new("add an image before training"));
        }
        let mut losses = Vec::with_capacity(steps as usize);
        for _ in 0..steps {
            let (input, target, _) = self.batch(self.step)?;
            let model = self.model.clone();
            let (model, loss) =
                restoration_step(model, &mut self.optim, LEARNING_RATE, input, target);
            self.model = model;
            losses.push(loss);
            self.step += 1;
        }
        let all = Tensor::cat(losses, 0);
        let data = all.into_data_async().await.map_err(|e| JsError::new(&format!("{e:?}")))?;
        data.try_to_vec::<f32>().map_err(|e| JsError::new(&format!("{e:?}")))
    }

    /// The current model on a fixed held-out crop: damaged input | restoration | original.
    pub async fn preview(&self) -> Result<Triptych, JsError> {
        let (input, target, applied) = self.batch(u64::MAX)?;
        let model = self.model.valid();
        let output = model.forward(input.clone().without_autodiff());
        let names: Vec<&str> = applied.iter().map(Applied::name).collect();
        Ok(Triptych::new(
            read_image(input.without_autodiff(), 0).await?,
            read_image(output, 0).await?,
            read_image(target.without_autodiff(), 0).await?,
            names.join(" → "),
        ))
    }

    /// The model's weights as Burnpack (`.bpk`) bytes.
    pub async fn weights(&self) -> Result<Vec<u8>, JsError> {
        Ok(weights::to_burnpack(&self.model)?)
    }

    /// Replaces the model's weights with Burnpack bytes saved by [`Trainer::weights`] or by
    /// `genesis pretrain` with the same architecture.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&mut self, bytes: Vec<u8>) -> Result<(), JsError> {
        let (model, _report) = weights::from_burnpack(web_unet(&self.device), bytes, false)?;
        self.model = model;
        self.optim = AdamConfig::new().init();
        Ok(())
    }

    /// A fresh model and optimiser; the images are kept.
    pub fn reset(&mut self) {
        self.model = web_unet(&self.device);
        self.optim = AdamConfig::new().init();
        self.step = 0;
    }
}

impl Trainer {
    /// The batch of `step`: crops of the images, damaged by the Models Genesis pipeline.
    fn batch(&self, step: u64) -> Result<(Tensor<4>, Tensor<4>, Vec<Applied>), JsError> {
        let mut inputs = Vec::with_capacity(BATCH);
        let mut targets = Vec::with_capacity(BATCH);
        let mut first_applied = Vec::new();
        for slot in 0..BATCH as u64 {
            let pick =
                stream(self.seed, "web-image", &[step, slot]).random_range(0..self.images.len());
            let crop = random_crop(&self.images[pick], self.seed, step, slot)?;
            let sample = self.pipeline.generate_seeded(self.seed, step, slot, &crop)?;
            if slot == 0 {
                first_applied = sample.applied.clone();
            }
            inputs.push(sample.input);
            targets.push(sample.target);
        }
        let input = batch_tensor(&inputs.iter().collect::<Vec<_>>(), &self.device);
        let target = batch_tensor(&targets.iter().collect::<Vec<_>>(), &self.device);
        Ok((input, target, first_applied))
    }
}

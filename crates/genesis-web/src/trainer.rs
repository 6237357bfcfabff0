//! Small-scale 2D self-restoration training on the visitor's images (run it in a worker): glue
//! over genesis-train's [`Session`], so the page trains with the very code of `genesis
//! pretrain`.

use burn::tensor::Tensor;
use genesis_core::{Applied, Preset, Volume};
use genesis_nn::UNet2d;
use genesis_nn::host::read_async;
use genesis_train::recipe::{Dim, Method, Optimizer, RunConfig};
use genesis_train::schedule::LrSchedule;
use genesis_train::session::Session;
use wasm_bindgen::prelude::*;

use crate::backend::{Backend, BackendPreference};
use crate::model::{BASE, DEPTH, Triptych, js, read_image};

/// Side of the training crops.
pub const CROP: usize = 64;

/// The page's recipe: 2-D restoration of 64×64 crops damaged by the Models Genesis pipeline,
/// batches of 4, Adam at 1e-3 (spec §6.3), the page's small U-Net. `genesis pretrain` with
/// these keys and the same images trains identically.
pub fn recipe(seed: u64) -> RunConfig {
    RunConfig {
        seed,
        batch: 4,
        size: CROP,
        base: BASE,
        levels: DEPTH,
        pipeline: Preset::ModelsGenesis,
        optimizer: Optimizer::Adam,
        lr: 1e-3,
        lr_schedule: LrSchedule::Constant,
        ..RunConfig::preset(Method::Restoration, Dim::D2)
    }
}

/// A U-Net in training on the images the visitor added.
#[wasm_bindgen]
pub struct Trainer {
    backend: Backend,
    session: Session<UNet2d>,
}

#[wasm_bindgen]
impl Trainer {
    /// A fresh model on the preferred backend (`auto`, `webgpu` or `flex`), seeded by `seed`.
    pub async fn create(preference: &str, seed: u64) -> Result<Trainer, JsError> {
        let preference = BackendPreference::parse(preference).map_err(|e| JsError::new(&e))?;
        let backend = Backend::init(preference).await;
        let session = Session::unet2d(recipe(seed), backend.device()).map_err(js)?;
        Ok(Trainer { backend, session })
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
        self.session.steps() as u64
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
        self.session.add_image(Volume::image(height, width, pixels)?).map_err(js)
    }

    /// Takes `steps` optimisation steps and returns the loss of each (read once at the end).
    pub async fn train(&mut self, steps: u32) -> Result<Vec<f32>, JsError> {
        let mut losses = Vec::with_capacity(steps as usize);
        for _ in 0..steps {
            losses.push(self.session.step().map_err(js)?);
        }
        if losses.is_empty() {
            return Ok(Vec::new());
        }
        Ok(read_async(Tensor::cat(losses, 0)).await?)
    }

    /// The current model on a fixed held-out crop: damaged input | restoration | original.
    pub async fn preview(&self) -> Result<Triptych, JsError> {
        let preview = self.session.preview(0).map_err(js)?;
        let names: Vec<&str> = preview.sample.applied.iter().map(Applied::name).collect();
        Ok(Triptych::new(
            preview.sample.input,
            read_image(preview.restored).await?,
            preview.sample.target,
            names.join(" → "),
        ))
    }

    /// The model's weights as Burnpack (`.bpk`) bytes.
    pub async fn weights(&self) -> Result<Vec<u8>, JsError> {
        self.session.weights().map_err(js)
    }

    /// Replaces the model's weights with Burnpack bytes saved by [`Trainer::weights`] or by
    /// `genesis pretrain` with the same architecture.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&mut self, bytes: Vec<u8>) -> Result<(), JsError> {
        self.session.load_weights(bytes).map(drop).map_err(js)
    }

    /// A fresh model and optimiser; the images are kept.
    pub fn reset(&mut self) {
        self.session.reset();
    }
}

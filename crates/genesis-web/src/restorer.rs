//! Inference with shipped pretrained weights: restore a damaged image, embed an image.

use burn::tensor::Device;
use genesis_core::pipeline::{Applied, Pipeline, Preset, Quirks};
use genesis_nn::host::{read_async, upload_volumes};
use genesis_nn::{GenesisModel, UNet2d, UNet2dConfig, weights};
use wasm_bindgen::prelude::*;

use crate::backend::{Backend, BackendPreference};
use crate::image::GrayImage;
use crate::model::{Triptych, read_image};

/// A pretrained U-Net ready for inference.
#[wasm_bindgen]
pub struct Restorer {
    backend: Backend,
    device: Device,
    model: UNet2d,
}

#[wasm_bindgen]
impl Restorer {
    /// Loads Burnpack weights of a 2-D U-Net (`genesis pretrain --dim 2d`, any width and depth)
    /// onto the preferred backend and warms it up.
    pub async fn create(preference: &str, weights: Vec<u8>) -> Result<Restorer, JsError> {
        let preference = BackendPreference::parse(preference).map_err(|e| JsError::new(&e))?;
        let backend = Backend::init(preference).await;
        let device = backend.device().clone();
        let found = weights::find_unet(&weights).map_err(|e| JsError::new(&e))?;
        if found.dims != 2 || !found.skips || found.prefixed {
            return Err(JsError::new(
                "these weights are not a 2-D Genesis U-Net (write one with genesis pretrain --dim 2d)",
            ));
        }
        let fresh = UNet2dConfig::new().with_base(found.base).with_depth(found.depth).init(&device);
        let (model, _report) = weights::from_burnpack(fresh, weights, false)?;
        let restorer = Restorer { backend, device, model };
        let warm_up = GrayImage::phantom(0, 64)?;
        restorer.embed(&warm_up).await?;
        Ok(restorer)
    }

    /// The backend label.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.label()
    }

    /// Damages `image` with one Models Genesis pipeline draw (seeded by `seed`) and restores it.
    pub async fn restore(&self, image: &GrayImage, seed: u64) -> Result<Triptych, JsError> {
        let pipeline = Pipeline::preset(Preset::ModelsGenesis, &Quirks::default());
        let sample = pipeline.generate_damaging(seed, image.volume())?;
        self.model.check_input(&[1, 1, image.height(), image.width()])?;
        let input = upload_volumes(&[&sample.input], &self.device);
        let output = self.model.forward(input);
        let names: Vec<&str> = sample.applied.iter().map(Applied::name).collect();
        Ok(Triptych::new(sample.input, read_image(output).await?, sample.target, names.join(" → ")))
    }

    /// The pooled bottleneck features of `image`.
    pub async fn embed(&self, image: &GrayImage) -> Result<Vec<f32>, JsError> {
        self.model.check_input(&[1, 1, image.height(), image.width()])?;
        let input = upload_volumes(&[image.volume()], &self.device);
        Ok(read_async(self.model.embed(input)).await?)
    }
}

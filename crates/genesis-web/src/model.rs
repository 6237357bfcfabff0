//! The size of the small 2-D U-Net the page trains, and how its outputs become images.

use burn::tensor::Tensor;
use genesis_core::{Volume, metrics};
use genesis_nn::host::read_async;
use wasm_bindgen::prelude::*;

use genesis_core::showcase::rgba;

use crate::scan::{plane_rgba, plane_size};

/// Width of the first block of the U-Net the page trains (`genesis pretrain` with `base = 8`).
pub const BASE: usize = 8;
/// Encoder levels of the page's U-Net (2 poolings: inputs divisible by 4).
pub const DEPTH: usize = 3;

/// Reads the first image of a `[N, 1, H, W]` tensor back into a volume (asynchronously, so it
/// works on WebGPU).
pub async fn read_image(tensor: Tensor<4>) -> Result<Volume, JsError> {
    let [_, _, h, w] = tensor.dims();
    let pixels = read_async(tensor.narrow(0, 0, 1)).await?;
    Ok(Volume::image(h, w, pixels)?)
}

/// An engine error as a JavaScript error, with its whole chain of causes.
pub fn js(error: anyhow::Error) -> JsError {
    JsError::new(&format!("{error:#}"))
}

/// Three images shown side by side (damaged input, restoration, original) with how far the
/// input and the restoration are from the original.
#[wasm_bindgen]
pub struct Triptych {
    images: [Volume; 3],
    mse: f64,
    psnr: [f64; 2],
    damage: String,
}

impl Triptych {
    /// Builds a triptych; errors are measured against the original.
    pub fn new(input: Volume, output: Volume, original: Volume, damage: String) -> Self {
        let mse = metrics::mse(output.data(), original.data());
        let psnr = [&input, &output].map(|v| metrics::psnr(v.data(), original.data()));
        Self { images: [input, output, original], mse, psnr, damage }
    }
}

#[wasm_bindgen]
impl Triptych {
    /// Width in pixels.
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> usize {
        self.images[0].shape()[1]
    }

    /// Height in pixels.
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> usize {
        self.images[0].shape()[0]
    }

    /// Mean squared error between the restoration and the original.
    #[wasm_bindgen(getter)]
    pub fn mse(&self) -> f64 {
        self.mse
    }

    /// PSNR (dB, peak 1) of the damaged input against the original.
    #[wasm_bindgen(getter, js_name = inputPsnr)]
    pub fn input_psnr(&self) -> f64 {
        self.psnr[0]
    }

    /// PSNR (dB, peak 1) of the restoration against the original.
    #[wasm_bindgen(getter)]
    pub fn psnr(&self) -> f64 {
        self.psnr[1]
    }

    /// The transforms that damaged the input.
    #[wasm_bindgen(getter)]
    pub fn damage(&self) -> String {
        self.damage.clone()
    }

    /// `[width, height]` of the planes of `axis` of a 3-D triptych.
    #[wasm_bindgen(js_name = planeSize)]
    pub fn plane_size(&self, axis: usize) -> Vec<usize> {
        plane_size(&self.images[0], axis)
    }

    /// RGBA bytes of plane `index` of `axis` of image 0, 1 or 2 (empty when out of range).
    #[wasm_bindgen(js_name = planeRgba)]
    pub fn plane_rgba(&self, image: usize, axis: usize, index: usize) -> Vec<u8> {
        self.images.get(image).map(|v| plane_rgba(v, axis, index)).unwrap_or_default()
    }

    /// RGBA bytes of image 0 (input), 1 (restoration) or 2 (original).
    pub fn rgba(&self, index: usize) -> Vec<u8> {
        self.images.get(index).map(rgba).unwrap_or_default()
    }
}

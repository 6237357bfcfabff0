//! The small 2D U-Net the page trains and runs, and how images become its tensors.

use burn::tensor::{Device, Tensor};
use genesis_core::Volume;
use genesis_nn::host::read_async;
use genesis_nn::{UNet2d, UNet2dConfig};
use wasm_bindgen::prelude::*;

use genesis_core::showcase::rgba;

/// Width of the first block of the page's U-Net.
pub const BASE: usize = 8;
/// Encoder levels of the page's U-Net (2 poolings: inputs divisible by 4).
pub const DEPTH: usize = 3;

/// The page's U-Net (what `genesis pretrain` trains with `base = 8`, `levels = 3`).
pub fn web_unet(device: &Device) -> UNet2d {
    UNet2dConfig::new().with_base(BASE).with_depth(DEPTH).init(device)
}

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

/// Three images shown side by side (damaged input, restoration, original) with the
/// restoration's mean squared error.
#[wasm_bindgen]
pub struct Triptych {
    images: [Volume; 3],
    mse: f32,
    damage: String,
}

impl Triptych {
    /// Builds a triptych; the MSE is computed between the restoration and the original.
    pub fn new(input: Volume, output: Volume, original: Volume, damage: String) -> Self {
        let n = output.data().len().max(1) as f32;
        let mse =
            output.data().iter().zip(original.data()).map(|(a, b)| (a - b) * (a - b)).sum::<f32>()
                / n;
        Self { images: [input, output, original], mse, damage }
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
    pub fn mse(&self) -> f32 {
        self.mse
    }

    /// The transforms that damaged the input.
    #[wasm_bindgen(getter)]
    pub fn damage(&self) -> String {
        self.damage.clone()
    }

    /// RGBA bytes of image 0 (input), 1 (restoration) or 2 (original).
    pub fn rgba(&self, index: usize) -> Vec<u8> {
        self.images.get(index).map(rgba).unwrap_or_default()
    }
}

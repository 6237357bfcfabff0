//! The small 2D U-Net the page trains and runs, and how images become its tensors.

use burn::tensor::{Device, Tensor, TensorData};
use genesis_core::Volume;
use genesis_nn::{UNet2d, UNet2dConfig};
use wasm_bindgen::prelude::*;

use crate::image::rgba;

/// Width of the first block of the page's U-Net.
pub const BASE: usize = 8;
/// Encoder levels of the page's U-Net (2 poolings: inputs divisible by 4).
pub const DEPTH: usize = 3;

/// The page's U-Net (also what `genesis pretrain --unet-base 8 --unet-depth 3` trains).
pub fn web_unet(device: &Device) -> UNet2d {
    UNet2dConfig::new().with_base(BASE).with_depth(DEPTH).init(device)
}

/// Stacks equally sized 2D volumes into a `[N, 1, H, W]` tensor.
pub fn batch_tensor(images: &[&Volume], device: &Device) -> Tensor<4> {
    let [h, w, _] = images[0].shape();
    let data: Vec<f32> = images.iter().flat_map(|v| v.data().iter().copied()).collect();
    Tensor::from_data(TensorData::new(data, [images.len(), 1, h, w]), device)
}

/// Reads image `index` of a `[N, 1, H, W]` tensor back into a volume (asynchronously, so it
/// works on WebGPU).
pub async fn read_image(tensor: Tensor<4>, index: usize) -> Result<Volume, JsError> {
    let [_, _, h, w] = tensor.dims();
    let one = tensor.narrow(0, index, 1);
    let data = one.into_data_async().await.map_err(|e| JsError::new(&format!("{e:?}")))?;
    let pixels = data.try_to_vec::<f32>().map_err(|e| JsError::new(&format!("{e:?}")))?;
    Ok(Volume::image(h, w, pixels)?)
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

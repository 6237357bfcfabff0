//! Grey-level images for the page: decoding dropped files, phantoms, pixels for canvases.

use genesis_core::Volume;
use genesis_core::phantom::{PhantomConfig, chest_xray};
use genesis_core::resize::{Filter, resize};
use genesis_core::showcase::rgba;
use genesis_io::Conventions;
use wasm_bindgen::prelude::*;

/// Largest side accepted for the working size of an image.
const MAX_SIZE: usize = 1024;

/// A 2D grey-level image with values in [0, 1].
#[wasm_bindgen]
pub struct GrayImage {
    volume: Volume,
}

fn check_size(size: usize) -> Result<(), JsError> {
    if (8..=MAX_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(JsError::new(&format!("image size {size} is outside 8..={MAX_SIZE}")))
    }
}

/// The middle z-slice of a volume (a 2D image is its own middle slice).
fn middle_slice(volume: &Volume) -> Result<Volume, JsError> {
    let [x, y, z] = volume.shape();
    if z == 1 {
        return Ok(volume.clone());
    }
    let mid = z / 2;
    let pixels = (0..x * y).map(|i| volume.get(i / y, i % y, mid)).collect();
    Ok(Volume::image(x, y, pixels)?.with_meta(volume.meta.clone()))
}

#[wasm_bindgen]
impl GrayImage {
    /// Decodes a PNG, JPEG or DICOM file (or NIfTI/NPY/MetaImage: their middle slice), maps
    /// intensities into [0, 1] by the modality's convention and resizes to `size`×`size`.
    pub fn decode(name: &str, bytes: &[u8], size: usize) -> Result<GrayImage, JsError> {
        check_size(size)?;
        let mut volume = middle_slice(&genesis_io::from_bytes(name, bytes)?)?;
        Conventions::default().normalize(&mut volume);
        Ok(GrayImage { volume: resize(&volume, [size, size, 1], Filter::Area)? })
    }

    /// Synthetic chest radiograph number `index` (deterministic), `size`×`size`.
    pub fn phantom(index: u64, size: usize) -> Result<GrayImage, JsError> {
        check_size(size)?;
        let config = PhantomConfig { size_2d: size, ..PhantomConfig::default() };
        Ok(GrayImage { volume: chest_xray(0, index, &config)?.volume })
    }

    /// An image from row-major pixels in [0, 1] (e.g. sent to a worker and back).
    #[wasm_bindgen(js_name = fromPixels)]
    pub fn from_pixels(
        width: usize,
        height: usize,
        pixels: Vec<f32>,
    ) -> Result<GrayImage, JsError> {
        let volume = Volume::image(height, width, pixels)?;
        volume.check_finite()?;
        Ok(GrayImage { volume })
    }

    /// Width in pixels.
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> usize {
        self.volume.shape()[1]
    }

    /// Height in pixels.
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> usize {
        self.volume.shape()[0]
    }

    /// Row-major pixels in [0, 1].
    pub fn pixels(&self) -> Vec<f32> {
        self.volume.data().to_vec()
    }

    /// RGBA bytes for a canvas.
    pub fn rgba(&self) -> Vec<u8> {
        rgba(&self.volume)
    }
}

impl GrayImage {
    /// The image as a volume.
    pub fn volume(&self) -> &Volume {
        &self.volume
    }
}

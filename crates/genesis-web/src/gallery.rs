//! The transforms gallery: the image, each transform alone and pipeline samples.

use genesis_core::showcase::{Shown, gallery, rgba};
use genesis_core::{Preset, Volume};
use wasm_bindgen::prelude::*;

use crate::image::GrayImage;
use crate::scan::{Scan, plane_rgba, plane_size};

/// Pipeline samples shown under the single transforms.
const PIPELINE_SAMPLES: u64 = 4;

/// The tiles of one gallery draw; read by index from JS.
#[wasm_bindgen]
pub struct Gallery {
    tiles: Vec<Shown>,
    width: usize,
    height: usize,
}

/// The original, each transform alone (with its drawn parameters) and pipeline samples of
/// `preset` (`models-genesis` or `semantic-genesis`), all drawn from `seed`.
#[wasm_bindgen(js_name = transformGallery)]
pub fn transform_gallery(image: &GrayImage, preset: &str, seed: u64) -> Result<Gallery, JsError> {
    gallery_of(image.volume(), preset, seed)
}

/// The same gallery in 3-D on a cube (see [`Scan::cube`]): every transform and pipeline
/// sample runs on the whole volume; read the tiles as planes.
#[wasm_bindgen(js_name = transformGallery3d)]
pub fn transform_gallery_3d(cube: &Scan, preset: &str, seed: u64) -> Result<Gallery, JsError> {
    gallery_of(cube.volume(), preset, seed)
}

/// The gallery of `volume`, a 2-D image or a 3-D cube, for `preset` (by name) and `seed`.
fn gallery_of(volume: &Volume, preset: &str, seed: u64) -> Result<Gallery, JsError> {
    let preset: Preset = preset.parse().map_err(|e: String| JsError::new(&e))?;
    let tiles = gallery(volume, preset, seed, PIPELINE_SAMPLES)?;
    let [height, width, _] = volume.shape();
    Ok(Gallery { tiles, width, height })
}

#[wasm_bindgen]
impl Gallery {
    /// `[width, height]` of the planes of `axis` of a 3-D gallery's tiles.
    #[wasm_bindgen(js_name = planeSize)]
    pub fn plane_size(&self, axis: usize) -> Vec<usize> {
        self.tiles.first().map(|t| plane_size(&t.image, axis)).unwrap_or_default()
    }

    /// RGBA bytes of plane `index` of `axis` of tile `tile` (empty when out of range).
    #[wasm_bindgen(js_name = planeRgba)]
    pub fn plane_rgba(&self, tile: usize, axis: usize, index: usize) -> Vec<u8> {
        self.tiles.get(tile).map(|t| plane_rgba(&t.image, axis, index)).unwrap_or_default()
    }

    /// Number of tiles.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.tiles.len()
    }

    /// Tile width in pixels.
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Tile height in pixels.
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> usize {
        self.height
    }

    /// `original`, `shuffle`, `bezier`, `inpaint`, `outpaint`, `elastic` or `pipeline`.
    pub fn kind(&self, index: usize) -> String {
        self.tiles.get(index).map(|t| t.kind.to_string()).unwrap_or_default()
    }

    /// Caption title of tile `index`.
    pub fn title(&self, index: usize) -> String {
        self.tiles.get(index).map(|t| t.title.clone()).unwrap_or_default()
    }

    /// The drawn parameters (or the applied transforms) of tile `index`.
    pub fn params(&self, index: usize) -> String {
        self.tiles.get(index).map(|t| t.params.clone()).unwrap_or_default()
    }

    /// RGBA bytes of tile `index` (empty when out of range).
    pub fn rgba(&self, index: usize) -> Vec<u8> {
        self.tiles.get(index).map(|t| rgba(&t.image)).unwrap_or_default()
    }
}

//! The transforms gallery: the image, each transform alone and pipeline samples.

use genesis_core::Volume;
use genesis_core::pipeline::{Applied, Pipeline, Preset, Quirks};
use genesis_core::showcase::{apply_alone, describe, transforms_alone};
use wasm_bindgen::prelude::*;

use crate::image::{GrayImage, rgba};

/// Pipeline samples shown under the single transforms.
const PIPELINE_SAMPLES: u64 = 4;

/// One tile of the gallery.
struct Tile {
    kind: &'static str,
    title: String,
    params: String,
    image: Volume,
}

/// The tiles of one gallery draw; read by index from JS.
#[wasm_bindgen]
pub struct Gallery {
    tiles: Vec<Tile>,
    width: usize,
    height: usize,
}

/// The original, each transform alone (with its drawn parameters) and pipeline samples of
/// `preset` (`models-genesis` or `semantic-genesis`), all drawn from `seed`.
#[wasm_bindgen(js_name = transformGallery)]
pub fn transform_gallery(image: &GrayImage, preset: &str, seed: u64) -> Result<Gallery, JsError> {
    let preset: Preset = preset.parse().map_err(|e: String| JsError::new(&e))?;
    let original = image.volume();
    let mut tiles = vec![Tile {
        kind: "original",
        title: "Original".into(),
        params: String::new(),
        image: original.clone(),
    }];
    for step in transforms_alone(preset, seed, original.shape()) {
        if matches!(step, Applied::Flip(_)) {
            continue; // flips are augmentation, not one of the four transforms
        }
        if matches!(step, Applied::Elastic(_)) && preset == Preset::ModelsGenesis {
            continue;
        }
        tiles.push(Tile {
            kind: step.name(),
            title: title(step.name()).into(),
            params: describe(&step),
            image: apply_alone(original, &step)?,
        });
    }
    let pipeline = Pipeline::preset(preset, &Quirks::default());
    for index in 0..PIPELINE_SAMPLES {
        let sample = pipeline.generate_seeded(seed, 0, index, original)?;
        let names: Vec<&str> = sample.applied.iter().map(Applied::name).collect();
        tiles.push(Tile {
            kind: "pipeline",
            title: format!("{preset} sample {}", index + 1),
            params: if names.is_empty() { "identity".into() } else { names.join(" → ") },
            image: sample.input,
        });
    }
    let [height, width, _] = original.shape();
    Ok(Gallery { tiles, width, height })
}

fn title(name: &str) -> &'static str {
    match name {
        "bezier" => "Non-linear intensity (Bezier)",
        "shuffle" => "Local pixel shuffling",
        "inpaint" => "In-painting",
        "outpaint" => "Out-painting",
        "elastic" => "Elastic warp",
        _ => "Flip",
    }
}

#[wasm_bindgen]
impl Gallery {
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

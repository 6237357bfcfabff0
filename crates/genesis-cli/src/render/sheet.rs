//! The contact sheet of a discovery run: one row per class, the fixed-resolution crops of its
//! nearest neighbours left to right (the reference first); 3-D crops show their middle slice.

use std::collections::BTreeMap;
use std::path::Path;

use genesis_core::Volume;
use genesis_core::discovery::Crop;
use genesis_core::resize::{Filter, resize};

use super::grid::{self, Row, Section, Tile};

/// Crops kept for the sheet, at most `columns` per class for the first `rows` classes.
pub struct Sheet {
    rows: usize,
    columns: usize,
    tile: usize,
    kept: BTreeMap<usize, Vec<Tile>>,
}

impl Sheet {
    /// A sheet of `rows` classes × `columns` crops, each drawn `tile` pixels wide.
    pub fn new(rows: usize, columns: usize, tile: usize) -> Self {
        Self { rows, columns, tile, kept: BTreeMap::new() }
    }

    /// Keeps `crop` if its row still has room.
    pub fn offer(&mut self, crop: &Crop) {
        if crop.resolution != 0 || crop.class >= self.rows {
            return;
        }
        let row = self.kept.entry(crop.class).or_default();
        if row.len() >= self.columns {
            return;
        }
        if let Some(tile) = thumbnail(&crop.volume, self.tile) {
            let caption = if crop.rank == 0 { "ref".into() } else { format!("#{}", crop.rank) };
            row.push(Tile { caption: vec![caption], ..tile });
        }
    }

    /// Writes the sheet to `path` under `title`.
    pub fn save(&self, title: &str, path: &Path) -> anyhow::Result<()> {
        let rows = self
            .kept
            .iter()
            .map(|(class, tiles)| Row { label: format!("class {class}"), tiles: tiles.clone() })
            .collect();
        grid::save(&[Section { title: title.into(), rows }], path)
    }
}

/// The middle slice of `v`, shrunk so that its longer side is at most `side` pixels.
fn thumbnail(v: &Volume, side: usize) -> Option<Tile> {
    let [x, y, z] = v.shape();
    let slice: Vec<f32> = (0..x * y).map(|p| v.get(p / y, p % y, z / 2)).collect();
    let image = Volume::image(x, y, slice).ok()?;
    let scale = (side as f64 / x.max(y) as f64).min(1.0);
    let (h, w) = (
        ((x as f64 * scale).round() as usize).max(1),
        ((y as f64 * scale).round() as usize).max(1),
    );
    let small = resize(&image, [h, w, 1], Filter::Area).ok()?;
    Some(Tile { width: w, height: h, gray: small.into_data(), caption: Vec::new() })
}

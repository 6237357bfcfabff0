//! Pictures the command line draws from the engine's results: image grids, loss curves,
//! fine-tuning curves, the experiment's bar chart and discovery contact sheets, in a built-in
//! bitmap font. Every PNG is written through genesis-io's one atomic writer.

pub mod curves;
pub mod efficiency;
pub mod font;
pub mod grid;
pub mod loss;
pub mod sheet;

use std::io::Cursor;
use std::path::Path;

use anyhow::Context;
use image::{Rgb, RgbImage};

/// Plot background.
pub const BACKGROUND: Rgb<u8> = Rgb([24, 26, 30]);
/// Axes, ticks and labels.
pub const AXIS: Rgb<u8> = Rgb([170, 176, 186]);
/// Training series.
pub const TRAIN: Rgb<u8> = Rgb([92, 170, 250]);
/// Validation series.
pub const VAL: Rgb<u8> = Rgb([250, 170, 60]);

/// Writes `s` at pixel `(x, y)` (top left) in the built-in font, clipped to the image.
pub fn text(img: &mut RgbImage, s: &str, x: usize, y: usize, color: Rgb<u8>) {
    font::render(s, 1, |dx, dy| {
        let (px, py) = ((x + dx) as u32, (y + dy) as u32);
        if px < img.width() && py < img.height() {
            img.put_pixel(px, py, color);
        }
    });
}

/// Draws a one-pixel line from `(x0, y0)` to `(x1, y1)`, clipped to the image.
pub fn line(img: &mut RgbImage, (x0, y0): (f64, f64), (x1, y1): (f64, f64), color: Rgb<u8>) {
    let n = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as usize;
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
        if x >= 0.0 && y >= 0.0 && (x as u32) < img.width() && (y as u32) < img.height() {
            img.put_pixel(x as u32, y as u32, color);
        }
    }
}

/// Encodes `img` as PNG and writes it to `path` atomically (creating the folder).
pub fn save_png(img: &RgbImage, path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut bytes = Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .with_context(|| format!("cannot encode {}", path.display()))?;
    Ok(genesis_io::fsutil::write_atomic(path, bytes.get_ref())?)
}

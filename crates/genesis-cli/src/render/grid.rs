//! Labelled image grids written as PNG: sections with a title, rows of grey-level tiles, a
//! caption under each tile and an optional label left of each row.

use std::path::Path;

use image::{Rgb, RgbImage};

use super::font;

const BACKGROUND: Rgb<u8> = Rgb([24, 26, 30]);
const TITLE: Rgb<u8> = Rgb([240, 240, 240]);
const CAPTION: Rgb<u8> = Rgb([250, 204, 92]);
const DETAIL: Rgb<u8> = Rgb([170, 176, 186]);
const MARGIN: usize = 16;
const GAP: usize = 10;
const LINE_GAP: usize = 4;

/// A grey-level picture with values in [0, 1] (clamped when drawn) and a caption: the first
/// line is drawn large, further lines small.
#[derive(Debug, Clone)]
pub struct Tile {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major grey levels.
    pub gray: Vec<f32>,
    /// Caption lines.
    pub caption: Vec<String>,
}

/// One row of tiles with an optional label on its left.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// Label drawn left of the row (may be empty).
    pub label: String,
    /// The tiles, left to right.
    pub tiles: Vec<Tile>,
}

/// A titled block of rows.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Title drawn above the rows.
    pub title: String,
    /// The rows, top to bottom.
    pub rows: Vec<Row>,
}

/// Sizes shared by every tile of a grid.
struct Layout {
    tile_w: usize,
    tile_h: usize,
    caption_h: usize,
    label_w: usize,
    columns: usize,
}

impl Layout {
    fn new(sections: &[Section]) -> Self {
        let tiles = || sections.iter().flat_map(|s| &s.rows).flat_map(|r| &r.tiles);
        let lines = tiles().map(|t| t.caption.len()).max().unwrap_or(0);
        let label_w = sections
            .iter()
            .flat_map(|s| &s.rows)
            .map(|r| font::text_width(&r.label, 2))
            .max()
            .unwrap_or(0);
        Self {
            tile_w: tiles().map(|t| t.width).max().unwrap_or(1),
            tile_h: tiles().map(|t| t.height).max().unwrap_or(1),
            caption_h: if lines == 0 {
                0
            } else {
                font::text_height(2)
                    + (lines - 1) * (font::text_height(1) + LINE_GAP)
                    + 2 * LINE_GAP
            },
            label_w: if label_w == 0 { 0 } else { label_w + GAP },
            columns: sections
                .iter()
                .flat_map(|s| &s.rows)
                .map(|r| r.tiles.len())
                .max()
                .unwrap_or(0),
        }
    }

    fn row_h(&self) -> usize {
        self.tile_h + self.caption_h + GAP
    }

    fn title_h() -> usize {
        font::text_height(3) + 2 * GAP
    }

    fn width(&self) -> usize {
        2 * MARGIN + self.label_w + self.columns * (self.tile_w + GAP)
    }

    fn height(&self, sections: &[Section]) -> usize {
        2 * MARGIN
            + sections.iter().map(|s| Self::title_h() + s.rows.len() * self.row_h()).sum::<usize>()
    }
}

/// Draws `text` with its top-left corner at (x, y), cut at `max_w` pixels.
fn draw_text(
    img: &mut RgbImage,
    text: &str,
    x: usize,
    y: usize,
    scale: usize,
    color: Rgb<u8>,
    max_w: usize,
) {
    let fits = (max_w / scale + 1) / font::ADVANCE;
    let shown: String = if text.chars().count() > fits {
        let keep = fits.saturating_sub(1);
        text.chars().take(keep).chain(std::iter::once('.')).collect()
    } else {
        text.to_owned()
    };
    font::render(&shown, scale, |dx, dy| {
        let (px, py) = ((x + dx) as u32, (y + dy) as u32);
        if px < img.width() && py < img.height() {
            img.put_pixel(px, py, color);
        }
    });
}

/// Draws a tile's pixels centred in a `w × h` cell at (x, y).
fn draw_tile(img: &mut RgbImage, tile: &Tile, x: usize, y: usize, w: usize, h: usize) {
    let (ox, oy) = (x + (w - tile.width.min(w)) / 2, y + (h - tile.height.min(h)) / 2);
    for (i, row) in tile.gray.chunks_exact(tile.width.max(1)).enumerate().take(h) {
        for (j, &v) in row.iter().enumerate().take(w) {
            let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            img.put_pixel((ox + j) as u32, (oy + i) as u32, Rgb([g, g, g]));
        }
    }
}

/// Renders `sections` into one picture.
pub fn compose(sections: &[Section]) -> RgbImage {
    let layout = Layout::new(sections);
    let mut img =
        RgbImage::from_pixel(layout.width() as u32, layout.height(sections) as u32, BACKGROUND);
    let full_w = layout.width() - 2 * MARGIN;
    let mut y = MARGIN;
    for section in sections {
        draw_text(&mut img, &section.title, MARGIN, y + GAP, 3, TITLE, full_w);
        y += Layout::title_h();
        for row in &section.rows {
            let label_y = y + layout.tile_h / 2 - font::text_height(2) / 2;
            draw_text(&mut img, &row.label, MARGIN, label_y, 2, DETAIL, layout.label_w);
            for (c, tile) in row.tiles.iter().enumerate() {
                let x = MARGIN + layout.label_w + c * (layout.tile_w + GAP);
                draw_tile(&mut img, tile, x, y, layout.tile_w, layout.tile_h);
                let mut ty = y + layout.tile_h + LINE_GAP;
                for (k, line) in tile.caption.iter().enumerate() {
                    let (scale, color) = if k == 0 { (2, CAPTION) } else { (1, DETAIL) };
                    draw_text(&mut img, line, x, ty, scale, color, layout.tile_w);
                    ty += font::text_height(scale) + LINE_GAP;
                }
            }
            y += layout.row_h();
        }
    }
    img
}

/// Renders `sections` and writes them as a PNG file.
pub fn save(sections: &[Section], path: &Path) -> anyhow::Result<()> {
    super::save_png(&compose(sections), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(w: usize, h: usize, v: f32) -> Tile {
        Tile { width: w, height: h, gray: vec![v; w * h], caption: vec!["a".into(), "b".into()] }
    }

    #[test]
    fn layout_fits_every_tile_and_draws_captions() {
        let sections = vec![
            Section {
                title: "one".into(),
                rows: vec![Row {
                    label: "z=1".into(),
                    tiles: vec![tile(10, 8, 1.0), tile(10, 8, 0.0)],
                }],
            },
            Section {
                title: "two".into(),
                rows: vec![Row { label: String::new(), tiles: vec![tile(6, 4, 0.5)] }],
            },
        ];
        let img = compose(&sections);
        let layout = Layout::new(&sections);
        assert_eq!(
            (img.width() as usize, img.height() as usize),
            (layout.width(), layout.height(&sections))
        );
        // The first tile is white where it was drawn; captions are drawn in their colour.
        let x0 = (MARGIN + layout.label_w) as u32;
        let y0 = (MARGIN + Layout::title_h()) as u32;
        assert_eq!(*img.get_pixel(x0 + 2, y0 + 2), Rgb([255, 255, 255]));
        assert!(img.pixels().any(|p| *p == CAPTION));
        assert!(img.pixels().any(|p| *p == TITLE));
    }
}

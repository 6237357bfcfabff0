//! `results.png` of the transfer experiment: the label-efficiency plot, one panel per task,
//! the primary test metric against the label budget (log scale), one line per initialisation
//! with its 95% confidence band.

use genesis_train::experiment::{Cell, INITS, Results};
use image::{Rgb, RgbImage};

use super::{AXIS, BACKGROUND, line, text};

/// Line colours of scratch, Models Genesis and Semantic Genesis.
const COLORS: [Rgb<u8>; 3] = [Rgb([170, 176, 186]), Rgb([92, 170, 250]), Rgb([250, 170, 60])];
const PANEL_W: usize = 420;
const H: usize = 380;
const LEFT: usize = 56;
const TOP: usize = 44;
const BOTTOM: usize = 52;

/// The plot of `results`: one panel per task, side by side.
pub fn efficiency(results: &Results) -> RgbImage {
    let panels = results.configs.len().max(1);
    let mut img = RgbImage::from_pixel((PANEL_W * panels) as u32, H as u32, BACKGROUND);
    // The legend, one name after another (it fits one panel's width).
    let mut x = LEFT;
    for ((name, _), &color) in INITS.iter().zip(&COLORS) {
        text(&mut img, name, x, 8, color);
        x += super::font::text_width(name, 1) + 24;
    }
    for (p, cfg) in results.configs.iter().enumerate() {
        let cells: Vec<&Cell> = results.cells.iter().filter(|c| c.task == cfg.task).collect();
        panel(
            &mut img,
            p * PANEL_W,
            &cells,
            &format!("{} (test {})", cfg.task.name(), cfg.task.metric()),
        );
    }
    img
}

/// One task's panel at horizontal offset `x0`.
fn panel(img: &mut RgbImage, x0: usize, cells: &[&Cell], title: &str) {
    let mut budgets: Vec<usize> = cells.iter().map(|c| c.labels).collect();
    budgets.sort_unstable();
    budgets.dedup();
    let (lo, hi) = cells.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
        (lo.min(c.metric.low), hi.max(c.metric.high))
    });
    let (lo, hi) = axis_range(lo, hi);
    let (left, right) = ((x0 + LEFT) as f64, (x0 + PANEL_W - 16) as f64);
    let (top, bottom) = (TOP as f64, (H - BOTTOM) as f64);
    let log = |n: usize| (n.max(1) as f64).log2();
    let (first, last) = (log(budgets[0]), log(*budgets.last().unwrap_or(&budgets[0])));
    let x_of = |n: usize| left + (log(n) - first) / (last - first).max(1e-9) * (right - left);
    let y_of = |v: f64| bottom - (v.clamp(lo, hi) - lo) / (hi - lo) * (bottom - top);
    line(img, (left, top), (left, bottom), AXIS);
    line(img, (left, bottom), (right, bottom), AXIS);
    text(img, title, x0 + LEFT, TOP - 18, AXIS);
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        text(img, &format!("{v:.2}"), x0 + 8, y_of(v) as usize - 4, AXIS);
    }
    for &n in &budgets {
        text(img, &n.to_string(), x_of(n) as usize - 4, H - BOTTOM + 8, AXIS);
    }
    text(img, "labelled images", x0 + PANEL_W / 2 - 50, H - BOTTOM + 26, AXIS);
    for (init, &color) in COLORS.iter().enumerate() {
        let mut points: Vec<&Cell> = cells.iter().copied().filter(|c| c.init == init).collect();
        points.sort_by_key(|c| c.labels);
        let band = blend(color, 0.28);
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (xa, xb) = (x_of(a.labels), x_of(b.labels));
            for x in xa as usize..=xb as usize {
                let t = ((x as f64 - xa) / (xb - xa).max(1e-9)).clamp(0.0, 1.0);
                let lerp = |u: f64, v: f64| u + (v - u) * t;
                let (l, h) = (lerp(a.metric.low, b.metric.low), lerp(a.metric.high, b.metric.high));
                shade(img, x, (y_of(h), y_of(l)), band);
            }
        }
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (pa, pb) =
                ((x_of(a.labels), y_of(a.metric.mean)), (x_of(b.labels), y_of(b.metric.mean)));
            line(img, pa, pb, color);
            line(img, (pa.0, pa.1 + 1.0), (pb.0, pb.1 + 1.0), color);
        }
        for c in &points {
            let (x, y) = (x_of(c.labels), y_of(c.metric.mean));
            line(img, (x - 3.0, y), (x + 3.0, y), color);
            line(img, (x, y - 3.0), (x, y + 3.0), color);
        }
    }
}

/// A readable value range around `[lo, hi]`, snapped to tenths.
fn axis_range(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let lo = ((lo * 10.0).floor() / 10.0).max(0.0);
    let hi = ((hi * 10.0).ceil() / 10.0).min(1.0);
    if hi - lo < 0.1 { (lo, (lo + 0.1).min(1.0)) } else { (lo, hi) }
}

/// `color` mixed with the background at `alpha`.
fn blend(color: Rgb<u8>, alpha: f64) -> Rgb<u8> {
    let mix = |c: u8, b: u8| (f64::from(b) + (f64::from(c) - f64::from(b)) * alpha) as u8;
    Rgb([0, 1, 2].map(|i| mix(color.0[i], BACKGROUND.0[i])))
}

/// Lightens column `x` between rows `y0..y1` towards `band` (bands that overlap stay visible).
fn shade(img: &mut RgbImage, x: usize, (y0, y1): (f64, f64), band: Rgb<u8>) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if x >= w {
        return;
    }
    for y in (y0.max(0.0) as usize)..=(y1.min(h as f64 - 1.0) as usize) {
        let p = img.get_pixel_mut(x as u32, y as u32);
        *p = Rgb([0, 1, 2].map(|i| p.0[i].max(band.0[i])));
    }
}

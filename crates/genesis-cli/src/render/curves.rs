//! `curves.png`: training and validation loss and the validation metric against epochs.

use std::path::Path;

use genesis_train::metrics::FinetuneRecord as Record;
use image::{Rgb, RgbImage};

use super::{AXIS, BACKGROUND, TRAIN, VAL, line, save_png, text};

const W: usize = 720;
const PANEL: usize = 220;
const LEFT: usize = 70;
const RIGHT: usize = 20;
const TOP: usize = 40;
const GAP: usize = 60;
const METRIC: Rgb<u8> = Rgb([120, 220, 140]);

/// A named series of `(epoch, value)` points.
struct Series<'a> {
    name: &'a str,
    points: Vec<(f64, f64)>,
    color: Rgb<u8>,
}

/// Draws one panel at vertical offset `top`: axes, ticks, legend and the series, y from
/// `range` (autoscaled when `None`).
fn panel(img: &mut RgbImage, top: usize, series: &[Series], range: Option<(f64, f64)>, x_max: f64) {
    let all = || series.iter().flat_map(|s| s.points.iter()).filter(|p| p.1.is_finite());
    let (lo, hi) = range.unwrap_or_else(|| {
        let (lo, hi) = all().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
        let pad = 0.05 * (hi - lo).max(1e-3);
        if lo > hi { (0.0, 1.0) } else { (lo - pad, hi + pad) }
    });
    let (pw, ph) = ((W - LEFT - RIGHT) as f64, PANEL as f64);
    let bottom = (top + PANEL) as f64;
    let to_px =
        |(x, y): (f64, f64)| (LEFT as f64 + x / x_max * pw, bottom - (y - lo) / (hi - lo) * ph);
    line(img, (LEFT as f64, top as f64), (LEFT as f64, bottom), AXIS);
    line(img, (LEFT as f64, bottom), ((W - RIGHT) as f64, bottom), AXIS);
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        text(img, &format!("{v:.3}"), 8, (bottom - ph * k as f64 / 4.0) as usize, AXIS);
        let x = LEFT as f64 + pw * k as f64 / 4.0;
        text(img, &format!("{:.0}", x_max * k as f64 / 4.0), x as usize, bottom as usize + 8, AXIS);
    }
    let mut legend = LEFT;
    for s in series {
        text(img, s.name, legend, top - 16, s.color);
        legend += 10 * s.name.len() + 30;
        for pair in s.points.windows(2) {
            line(img, to_px(pair[0]), to_px(pair[1]), s.color);
        }
        for p in &s.points {
            let (x, y) = to_px(*p);
            line(img, (x - 2.0, y), (x + 2.0, y), s.color);
            line(img, (x, y - 2.0), (x, y + 2.0), s.color);
        }
    }
}

/// Draws the loss curves (top) and the validation metric in [0, 1] (bottom) to `path`;
/// `metric` names the metric plotted ("AUC" or "Dice").
pub fn curves(records: &[Record], metric: &str, path: &Path) -> anyhow::Result<()> {
    let x_max = records.iter().map(|r| r.epoch as f64).fold(1.0, f64::max);
    let losses = [
        Series {
            name: "train loss",
            points: records.iter().filter_map(|r| Some((r.epoch as f64, r.train_loss?))).collect(),
            color: TRAIN,
        },
        Series {
            name: "validation loss",
            points: records.iter().map(|r| (r.epoch as f64, r.val.loss)).collect(),
            color: VAL,
        },
    ];
    let metric_series = [Series {
        name: &format!("validation {metric}"),
        points: records.iter().map(|r| (r.epoch as f64, r.val.primary())).collect(),
        color: METRIC,
    }];
    let h = TOP + 2 * PANEL + GAP + 40;
    let mut img = RgbImage::from_pixel(W as u32, h as u32, BACKGROUND);
    panel(&mut img, TOP, &losses, None, x_max);
    panel(&mut img, TOP + PANEL + GAP, &metric_series, Some((0.0, 1.0)), x_max);
    text(&mut img, "epoch", W / 2, h - 16, AXIS);
    save_png(&img, path)
}

//! Pictures of a pretraining run: the loss curve (`loss.png`) and each epoch's restoration
//! grid.

use std::path::Path;

use genesis_train::batch::Batch;
use genesis_train::metrics::Record;
use image::{Rgb, RgbImage};

use super::grid::{self, Row, Section, Tile};
use super::{AXIS, BACKGROUND, TRAIN, VAL, line, save_png, text};

const W: usize = 720;
const H: usize = 420;
const LEFT: usize = 70;
const RIGHT: usize = 20;
const TOP: usize = 40;
const BOTTOM: usize = 50;
const STEP: Rgb<u8> = Rgb([90, 96, 110]);

/// A series: points `(x in epochs, y)` and a colour.
type Series = (Vec<(f64, f64)>, Rgb<u8>);

/// Draws the per-step training loss, the per-epoch mean training loss and the validation loss
/// against epochs, on a log scale, and writes it to `path`.
pub fn loss_curve(records: &[Record], path: &Path) -> anyhow::Result<()> {
    let mut steps_per_epoch = 1usize;
    for r in records {
        if let Record::Step { step, .. } = r {
            steps_per_epoch = steps_per_epoch.max(step + 1);
        }
    }
    let (mut step, mut train, mut val): (Vec<_>, Vec<_>, Vec<_>) = (vec![], vec![], vec![]);
    for r in records {
        match r {
            Record::Step { epoch, step: s, losses, .. } => {
                step.push((
                    (epoch - 1) as f64 + (s + 1) as f64 / steps_per_epoch as f64,
                    losses.loss,
                ));
            }
            Record::Epoch { epoch, train: t, val: v, .. } => {
                if let Some(t) = t {
                    train.push((*epoch as f64, t.loss));
                }
                val.push((*epoch as f64, v.loss));
            }
        }
    }
    let series: [Series; 3] = [(step, STEP), (train, TRAIN), (val, VAL)];
    let points =
        || series.iter().flat_map(|(p, _)| p.iter()).filter(|p| p.1 > 0.0 && p.1.is_finite());
    let (lo, hi) = points().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo, hi) =
        if lo > hi { (0.01, 1.0) } else { (lo.log10(), hi.log10().max(lo.log10() + 1e-3)) };
    let x_max = points().map(|p| p.0).fold(1.0, f64::max);
    let (pw, ph) = ((W - LEFT - RIGHT) as f64, (H - TOP - BOTTOM) as f64);
    let to_px = |(x, y): (f64, f64)| {
        (LEFT as f64 + x / x_max * pw, TOP as f64 + (hi - y.max(1e-12).log10()) / (hi - lo) * ph)
    };
    let mut img = RgbImage::from_pixel(W as u32, H as u32, BACKGROUND);
    line(&mut img, (LEFT as f64, TOP as f64), (LEFT as f64, (H - BOTTOM) as f64), AXIS);
    line(
        &mut img,
        (LEFT as f64, (H - BOTTOM) as f64),
        ((W - RIGHT) as f64, (H - BOTTOM) as f64),
        AXIS,
    );
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let y = TOP as f64 + (hi - v) / (hi - lo) * ph;
        text(&mut img, &format!("{:.2e}", 10f64.powf(v)), 4, y as usize, AXIS);
        let x = LEFT as f64 + pw * k as f64 / 4.0;
        text(&mut img, &format!("{:.1}", x_max * k as f64 / 4.0), x as usize, H - BOTTOM + 8, AXIS);
    }
    text(&mut img, "epoch", W / 2, H - 20, AXIS);
    text(&mut img, "loss (log): steps", LEFT, 14, STEP);
    text(&mut img, "train mean", LEFT + 120, 14, TRAIN);
    text(&mut img, "validation", LEFT + 200, 14, VAL);
    for (pts, color) in &series {
        for pair in pts.windows(2) {
            line(&mut img, to_px(pair[0]), to_px(pair[1]), *color);
        }
        for p in pts.iter().filter(|_| *color != STEP) {
            let (x, y) = to_px(*p);
            line(&mut img, (x - 2.0, y), (x + 2.0, y), *color);
            line(&mut img, (x, y - 2.0), (x, y + 2.0), *color);
        }
    }
    save_png(&img, path)
}

/// A tile of sample `i` of a `[n, 1, X, Y, Z]` array: the image in 2-D, the middle slice in 3-D,
/// enlarged to at least 128 pixels.
fn tile(values: &[f32], shape: [usize; 3], i: usize, caption: Vec<String>) -> Tile {
    let [nx, ny, nz] = shape;
    let sample = &values[i * nx * ny * nz..(i + 1) * nx * ny * nz];
    let zoom = 128usize.div_ceil(nx.max(ny)).max(1);
    let (height, width) = (nx * zoom, ny * zoom);
    let gray = (0..height * width)
        .map(|p| {
            let (x, y) = (p / width / zoom, p % width / zoom);
            sample[(x * ny + y) * nz + nz / 2]
        })
        .collect();
    Tile { width, height, gray, caption }
}

/// Writes the restoration grid of `epoch`: for the first `samples` of `batch`, input | output |
/// target, with the output's MSE.
pub fn restoration_grid(
    epoch: usize,
    batch: &Batch,
    output: &[f32],
    samples: usize,
    path: &Path,
) -> anyhow::Result<()> {
    let voxels: usize = batch.shape.iter().product();
    let rows = (0..samples.min(batch.n))
        .map(|i| {
            let range = i * voxels..(i + 1) * voxels;
            let mse = output[range.clone()]
                .iter()
                .zip(&batch.target[range])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                / voxels as f32;
            Row {
                label: format!("#{i}"),
                tiles: vec![
                    tile(&batch.input, batch.shape, i, vec!["input".into()]),
                    tile(output, batch.shape, i, vec!["output".into(), format!("mse {mse:.5}")]),
                    tile(&batch.target, batch.shape, i, vec!["target".into()]),
                ],
            }
        })
        .collect();
    let title = format!("epoch {epoch}");
    grid::save(&[Section { title, rows }], path)
}

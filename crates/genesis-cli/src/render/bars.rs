//! `results.png` of the transfer experiment: the primary test metric per task and
//! initialisation.

use genesis_train::experiment::{INITS, TransferResult, mean_std, values};
use genesis_train::recipe::Task;
use image::{Rgb, RgbImage};

use super::{AXIS, BACKGROUND, line, text};

/// A bar chart of the primary metric: one group per task, one bar per initialisation, with
/// ±1 std whiskers and the seeds' values as dots.
pub fn bars(results: &[TransferResult], tasks: &[Task]) -> RgbImage {
    const W: usize = 720;
    const H: usize = 420;
    const LEFT: usize = 60;
    const TOP: usize = 40;
    const BOTTOM: usize = 60;
    const COLORS: [Rgb<u8>; 3] = [Rgb([150, 156, 170]), Rgb([92, 170, 250]), Rgb([250, 170, 60])];
    let mut img = RgbImage::from_pixel(W as u32, H as u32, BACKGROUND);
    let ph = (H - TOP - BOTTOM) as f64;
    let y_of = |v: f64| (H - BOTTOM) as f64 - v.clamp(0.0, 1.0) * ph;
    line(&mut img, (LEFT as f64, TOP as f64), (LEFT as f64, (H - BOTTOM) as f64), AXIS);
    line(&mut img, (LEFT as f64, y_of(0.0)), ((W - 10) as f64, y_of(0.0)), AXIS);
    for k in 0..=4 {
        let v = k as f64 / 4.0;
        text(&mut img, &format!("{v:.2}"), 10, y_of(v) as usize - 4, AXIS);
    }
    for (i, ((name, _), &color)) in INITS.iter().zip(&COLORS).enumerate() {
        text(&mut img, name, LEFT + 10 + i * 170, 12, color);
    }
    let group = (W - LEFT - 20) / tasks.len().max(1);
    for (g, &task) in tasks.iter().enumerate() {
        let x0 = LEFT + 20 + g * group;
        let bar = group / 4;
        let label = match task {
            Task::Classify => "classify (AUC)",
            Task::Segment => "segment (Dice)",
        };
        text(&mut img, label, x0 + bar / 2, H - BOTTOM + 14, AXIS);
        for (i, &color) in COLORS.iter().enumerate() {
            let vals = values(results, task, i, 0);
            let (mean, std) = mean_std(&vals);
            let left = x0 + i * bar;
            for x in left + 2..left + bar - 2 {
                line(&mut img, (x as f64, y_of(0.0)), (x as f64, y_of(mean)), color);
            }
            let centre = (left + bar / 2) as f64;
            line(&mut img, (centre, y_of(mean - std)), (centre, y_of(mean + std)), AXIS);
            for v in [mean - std, mean + std] {
                line(&mut img, (centre - 6.0, y_of(v)), (centre + 6.0, y_of(v)), AXIS);
            }
            for v in vals {
                let (x, y) = (centre + 10.0, y_of(v));
                line(&mut img, (x - 2.0, y), (x + 2.0, y), Rgb([255, 255, 255]));
                line(&mut img, (x, y - 2.0), (x, y + 2.0), Rgb([255, 255, 255]));
            }
            text(&mut img, &format!("{mean:.2}"), left + 4, y_of(mean) as usize - 14, AXIS);
        }
    }
    img
}

//! Separable resampling of images and volumes to a new shape.
//!
//! Each axis whose size changes is resampled with precomputed 1-D weights: `Area` averages the
//! exact overlap of each output cell with the input cells (the right choice for shrinking,
//! e.g. 1024² radiographs to 224²); `Linear` is a triangle filter on pixel centres, widened by
//! the scale when shrinking so that it also anti-aliases (like PIL and skimage).

use serde::{Deserialize, Serialize};

use crate::volume::{Volume, VolumeError, voxel_count};

/// Resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    /// Box filter by exact area overlap.
    #[default]
    Area,
    /// (Bi/tri)linear, anti-aliased when shrinking.
    Linear,
}

/// Weights of one output sample: first input index and the weights from there on.
type Taps = (usize, Vec<f32>);

/// 1-D weights mapping `n` input samples to `m` outputs (both ≥ 1).
fn taps(n: usize, m: usize, filter: Filter) -> Vec<Taps> {
    let scale = n as f64 / m as f64;
    (0..m)
        .map(|j| {
            let (lo, hi, weight): (f64, f64, Box<dyn Fn(f64) -> f64>) = match filter {
                Filter::Area => {
                    let (a, b) = (j as f64 * scale, (j + 1) as f64 * scale);
                    (a, b, Box::new(move |i: f64| (b.min(i + 1.0) - a.max(i)).max(0.0)))
                }
                Filter::Linear => {
                    let centre = (j as f64 + 0.5) * scale - 0.5;
                    let support = scale.max(1.0);
                    let w = move |i: f64| (1.0 - (i - centre).abs() / support).max(0.0);
                    (centre - support, centre + support + 1.0, Box::new(w))
                }
            };
            let first = lo.floor().max(0.0) as usize;
            let last = (hi.ceil() as usize).min(n);
            let mut w: Vec<f64> = (first..last).map(|i| weight(i as f64)).collect();
            if w.iter().sum::<f64>() <= 0.0 {
                // Degenerate window (can only happen at an edge): take the nearest sample.
                let nearest = ((j as f64 + 0.5) * scale).floor().min((n - 1) as f64) as usize;
                return (nearest, vec![1.0]);
            }
            let total: f64 = w.iter().sum();
            w.iter_mut().for_each(|v| *v /= total);
            (first, w.into_iter().map(|v| v as f32).collect())
        })
        .collect()
}

/// Resamples `data` of `shape` along `axis` to `m` samples.
fn along_axis(data: &[f32], shape: [usize; 3], axis: usize, m: usize, filter: Filter) -> Vec<f32> {
    let n = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let taps = taps(n, m, filter);
    let mut out = vec![0.0; outer * m * inner];
    for o in 0..outer {
        for (j, (first, w)) in taps.iter().enumerate() {
            let dst = &mut out[(o * m + j) * inner..(o * m + j + 1) * inner];
            for (k, &wk) in w.iter().enumerate() {
                let src = &data[(o * n + first + k) * inner..(o * n + first + k + 1) * inner];
                dst.iter_mut().zip(src).for_each(|(d, s)| *d += wk * s);
            }
        }
    }
    out
}

/// Resamples `volume` to `shape` (metadata kept, spacing scaled to cover the same extent).
pub fn resize(volume: &Volume, shape: [usize; 3], filter: Filter) -> Result<Volume, VolumeError> {
    voxel_count(shape)?;
    let mut current = volume.shape();
    let mut data = volume.data().to_vec();
    let mut meta = volume.meta.clone();
    for axis in 0..3 {
        if current[axis] != shape[axis] {
            data = along_axis(&data, current, axis, shape[axis], filter);
            meta.spacing[axis] *= current[axis] as f64 / shape[axis] as f64;
            current[axis] = shape[axis];
        }
    }
    Volume::new(shape, data).map(|v| v.with_meta(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_halving_averages_pairs() {
        let v = Volume::image(2, 4, vec![0.0, 2.0, 4.0, 6.0, 1.0, 1.0, 1.0, 1.0]).unwrap();
        let r = resize(&v, [1, 2, 1], Filter::Area).unwrap();
        assert_eq!(r.data(), &[1.0, 3.0]);
        assert_eq!(r.meta.spacing, [2.0, 2.0, 1.0]);
    }

    #[test]
    fn constant_stays_constant_and_identity_is_exact() {
        for filter in [Filter::Area, Filter::Linear] {
            let v = Volume::filled([7, 5, 3], 0.25).unwrap();
            let r = resize(&v, [3, 11, 2], filter).unwrap();
            assert!(r.data().iter().all(|x| (x - 0.25).abs() < 1e-6), "{filter:?}");
            let w = Volume::new([2, 3, 1], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
            assert_eq!(resize(&w, [2, 3, 1], filter).unwrap(), w);
        }
    }

    #[test]
    fn linear_upsampling_interpolates_between_centres() {
        let v = Volume::new([2, 1, 1], vec![0.0, 1.0]).unwrap();
        let r = resize(&v, [4, 1, 1], Filter::Linear).unwrap();
        // Output centres at input positions -0.25, 0.25, 0.75, 1.25 (clamped at the edges).
        let expected = [0.0, 0.25, 0.75, 1.0];
        assert!(r.data().iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{:?}", r.data());
    }

    #[test]
    fn shrinking_a_checkerboard_averages_instead_of_aliasing() {
        let data = (0..64 * 64).map(|i| ((i / 64 + i % 64) % 2) as f32).collect();
        let v = Volume::image(64, 64, data).unwrap();
        for filter in [Filter::Area, Filter::Linear] {
            let r = resize(&v, [16, 16, 1], filter).unwrap();
            assert!(r.data().iter().all(|x| (x - 0.5).abs() < 0.05), "{filter:?}");
        }
    }
}

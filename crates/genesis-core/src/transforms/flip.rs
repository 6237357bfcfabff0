//! Flip augmentation (spec §2.5): up to three random flips applied to the input and the
//! restoration target alike (the pipeline applies the same [`FlipParams`] to both).
//!
//! The released Models Genesis code picks the axis from (channel, X, Y) of a `(1, X, Y, Z)`
//! sample: a third of its flips do nothing and Z is never flipped. That is a plain bug (the
//! later `competition/utils.py` fixes it), so the default [`FlipAxes::Spatial`] picks among the
//! spatial axes that have more than one voxel (X, Y, Z; X and Y for 2D images);
//! [`FlipAxes::Released`] reproduces the original.

use serde::{Deserialize, Serialize};

use super::{Apply, Transform, TransformError, chance, check, draw};
use crate::rng::GenesisRng;
use crate::volume::Volume;

/// Which axes a flip may pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlipAxes {
    /// Uniformly among the spatial axes longer than one voxel (the fix; default).
    #[default]
    Spatial,
    /// Uniformly among (channel, X, Y) as released: channel flips are no-ops, Z never flips.
    Released,
}

/// One flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlipAxis {
    /// The single channel: no change (only drawn with [`FlipAxes::Released`]).
    Channel,
    /// Reverse along X (rows of a 2D image).
    X,
    /// Reverse along Y (columns of a 2D image).
    Y,
    /// Reverse along Z (slices).
    Z,
}

impl FlipAxis {
    /// Index of the spatial axis this flip reverses, if any.
    fn axis(self) -> Option<usize> {
        match self {
            FlipAxis::Channel => None,
            FlipAxis::X => Some(0),
            FlipAxis::Y => Some(1),
            FlipAxis::Z => Some(2),
        }
    }
}

/// The flip transform; its fields are its config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Flip {
    /// Probability of each further flip (`flip_rate`, 0.4).
    pub prob: f64,
    /// Most flips per sample (3).
    pub max_flips: u32,
    /// Axis set to pick from.
    pub axes: FlipAxes,
}

impl Default for Flip {
    fn default() -> Self {
        Self { prob: 0.4, max_flips: 3, axes: FlipAxes::Spatial }
    }
}

/// The drawn flips, applied in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlipParams {
    /// Flips in the order they are applied.
    pub flips: Vec<FlipAxis>,
}

impl Transform for Flip {
    type Params = FlipParams;

    fn sample(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> FlipParams {
        let choices: Vec<FlipAxis> = match self.axes {
            FlipAxes::Released => vec![FlipAxis::Channel, FlipAxis::X, FlipAxis::Y],
            FlipAxes::Spatial => [FlipAxis::X, FlipAxis::Y, FlipAxis::Z]
                .into_iter()
                .zip(shape)
                .filter_map(|(axis, d)| (d > 1).then_some(axis))
                .collect(),
        };
        let mut flips = Vec::new();
        while (flips.len() as u32) < self.max_flips && chance(rng, self.prob) {
            if !choices.is_empty() {
                flips.push(choices[draw::inclusive(rng, 0, choices.len() - 1)]);
            }
        }
        FlipParams { flips }
    }
}

/// Reverses `data` (x-major, `shape`) along `axis`.
fn reverse_axis(data: &mut [f32], shape: [usize; 3], axis: usize) {
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    for block in data.chunks_exact_mut(n * inner) {
        if inner == 1 {
            block.reverse();
            continue;
        }
        for i in 0..n / 2 {
            let (head, tail) = block.split_at_mut((n - 1 - i) * inner);
            head[i * inner..(i + 1) * inner].swap_with_slice(&mut tail[..inner]);
        }
    }
}

impl FlipParams {
    /// Flips checked voxels.
    pub(crate) fn apply_valid(&self, volume: &mut Volume) {
        let shape = volume.shape();
        for axis in self.flips.iter().filter_map(|f| f.axis()) {
            reverse_axis(volume.data_mut(), shape, axis);
        }
    }
}

impl Apply for FlipParams {
    fn apply(&self, volume: &mut Volume) -> Result<(), TransformError> {
        check(volume, None)?;
        self.apply_valid(volume);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn each_axis_reverses_the_right_coordinate() {
        let shape = [2, 3, 4];
        let v = Volume::new(shape, (0..24).map(|i| i as f32).collect()).unwrap();
        for (axis, flip) in [(0, FlipAxis::X), (1, FlipAxis::Y), (2, FlipAxis::Z)] {
            let mut w = v.clone();
            FlipParams { flips: vec![flip] }.apply(&mut w).unwrap();
            for (x, y, z) in
                (0..2).flat_map(|x| (0..3).flat_map(move |y| (0..4).map(move |z| (x, y, z))))
            {
                let mut src = [x, y, z];
                src[axis] = shape[axis] - 1 - src[axis];
                assert_eq!(w.get(x, y, z), v.get(src[0], src[1], src[2]));
            }
        }
        let mut w = v.clone();
        FlipParams { flips: vec![FlipAxis::Channel] }.apply(&mut w).unwrap();
        assert_eq!(w, v);
    }

    #[test]
    fn flip_count_is_truncated_geometric_and_axes_follow_the_switch() {
        let mut rng = stream(31, "flip-test", &[]);
        let n = 20_000;
        let mut counts = [0usize; 4];
        let mut z = 0;
        for _ in 0..n {
            let p = Flip::default().sample(&mut rng, [64, 64, 32]);
            counts[p.flips.len()] += 1;
            z += p.flips.iter().filter(|&&f| f == FlipAxis::Z).count();
            let q =
                Flip { axes: FlipAxes::Released, ..Flip::default() }.sample(&mut rng, [8, 8, 8]);
            assert!(!q.flips.contains(&FlipAxis::Z));
        }
        // P(K=0) = 0.6, P(K=3) = 0.4^3 = 0.064.
        let p0 = counts[0] as f64 / n as f64;
        let p3 = counts[3] as f64 / n as f64;
        assert!((p0 - 0.6).abs() < 0.015 && (p3 - 0.064).abs() < 0.01, "{counts:?}");
        assert!(z > 0);
        // 2D images never get a (no-op) depth flip.
        let p = Flip { prob: 1.0, ..Flip::default() }.sample(&mut rng, [9, 9, 1]);
        assert_eq!(p.flips.len(), 3);
        assert!(!p.flips.contains(&FlipAxis::Z));
    }
}

//! LUNA16 cube extraction for Models Genesis, exactly as spec §3.1.
//!
//! From a CT volume already normalized to [0, 1] (HU [-1000, 1000]), up to `scale` cubes of
//! 64×64×32 are drawn: corners uniform in the interior (100 voxels from the x/y edges, 30
//! slices from the z edges, bounds inclusive like Python's `random.randint`), a 64×64×35
//! crop taken, and the cube kept only when the lung/air test passes; at most `50·scale`
//! tries. Volumes with fewer than 96 slices (or too small in x/y for the border) give none.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::rng::GenesisRng;
use crate::volume::Volume;

/// Parameters of the cube sampler; defaults reproduce `infinite_generator_3D.py`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CubeConfig {
    /// Cube size along x and y (`crop_rows`, `crop_cols`): 64.
    pub rows: usize,
    /// Cube depth kept (`input_deps`): 32.
    pub deps: usize,
    /// Extra slices looked at by the lung/air test (`len_depth`): 3.
    pub len_depth: usize,
    /// Border excluded in x and y (`len_border`): 100.
    pub border: usize,
    /// Border excluded in z (`len_border_z`): 30.
    pub border_z: usize,
    /// Normalized density threshold (`HU_thred` = (-150 + 1000) / 2000): 0.425.
    pub dense_threshold: f32,
    /// Largest accepted dense fraction (`lung_max`, set to 0.15 at the call site).
    pub lung_max: f32,
    /// Cubes per scan (`scale`): 32.
    pub scale: usize,
    /// Tries per requested cube: 50.
    pub tries_per_cube: usize,
}

impl Default for CubeConfig {
    fn default() -> Self {
        Self {
            rows: 64,
            deps: 32,
            len_depth: 3,
            border: 100,
            border_z: 30,
            dense_threshold: 0.425,
            lung_max: 0.15,
            scale: 32,
            tries_per_cube: 50,
        }
    }
}

impl CubeConfig {
    /// Inclusive corner ranges `[(lo, hi); 3]`, or `None` when the volume is too small
    /// (z: `size_z - deps - len_depth - 1 - border_z < border_z`; x/y: an empty range).
    pub fn corner_ranges(&self, shape: [usize; 3]) -> Option<[(usize, usize); 3]> {
        let hi_xy = |size: usize| size.checked_sub(self.rows + 1 + self.border);
        let hi_z = shape[2].checked_sub(self.deps + self.len_depth + 1 + self.border_z)?;
        let (hx, hy) = (hi_xy(shape[0])?, hi_xy(shape[1])?);
        let ranges = [(self.border, hx), (self.border, hy), (self.border_z, hi_z)];
        ranges.iter().all(|(lo, hi)| lo <= hi).then_some(ranges)
    }

    /// The lung/air score of the crop with corner `c`: Σ over voxels (i, j, d < deps) of
    /// `1 - k/2`, where k ∈ {0, 1, 2} is the first offset with `v[i, j, d + k] ≥ threshold`
    /// (2 when none). Needs `deps + len_depth - 1` slices from `c[2]`.
    pub fn dense_score(&self, volume: &Volume, c: [usize; 3]) -> f32 {
        let look = self.len_depth.saturating_sub(1).max(1);
        let mut score = 0.0;
        for i in c[0]..c[0] + self.rows {
            for j in c[1]..c[1] + self.rows {
                let base = volume.index(i, j, c[2]);
                let column = &volume.data()[base..base + self.deps + look];
                for d in 0..self.deps {
                    let k =
                        (0..look).find(|&k| column[d + k] >= self.dense_threshold).unwrap_or(look);
                    score += 1.0 - k as f32 / look as f32;
                }
            }
        }
        score
    }

    /// True when the crop at corner `c` passes the lung/air test.
    pub fn accepts(&self, volume: &Volume, c: [usize; 3]) -> bool {
        self.dense_score(volume, c) <= self.lung_max * (self.rows * self.rows * self.deps) as f32
    }
}

/// Copies the `size` block at corner `c` out of `volume` (`None` when it does not fit).
pub fn crop(volume: &Volume, c: [usize; 3], size: [usize; 3]) -> Option<Volume> {
    let shape = volume.shape();
    if (0..3).any(|a| c[a].checked_add(size[a]).is_none_or(|end| end > shape[a])) {
        return None;
    }
    let mut data = Vec::with_capacity(size.iter().product());
    for x in c[0]..c[0] + size[0] {
        for y in c[1]..c[1] + size[1] {
            let base = volume.index(x, y, c[2]);
            data.extend_from_slice(&volume.data()[base..base + size[2]]);
        }
    }
    Volume::new(size, data).ok().map(|v| v.with_meta(volume.meta.clone()))
}

/// The `size` cube centred on voxel `center` (clamped so the cube stays inside the volume
/// where the volume is large enough); voxels outside a smaller volume are 0. Returns the cube
/// and its first voxel's position in the volume (negative where it starts outside).
pub fn crop_around(
    volume: &Volume,
    center: [usize; 3],
    size: [usize; 3],
) -> Result<(Volume, [isize; 3]), crate::VolumeError> {
    let shape = volume.shape();
    let start: [isize; 3] = std::array::from_fn(|a| {
        let (n, s) = (shape[a] as isize, size[a] as isize);
        if n >= s { (center[a] as isize - s / 2).clamp(0, n - s) } else { -(s - n) / 2 }
    });
    let mut cube = Volume::filled(size, 0.0)?;
    for x in 0..size[0] {
        for y in 0..size[1] {
            for z in 0..size[2] {
                let at = [x, y, z].map(|v| v as isize);
                let p: [isize; 3] = std::array::from_fn(|a| start[a] + at[a]);
                if (0..3).all(|a| p[a] >= 0 && p[a] < shape[a] as isize) {
                    cube.set(x, y, z, volume.get(p[0] as usize, p[1] as usize, p[2] as usize));
                }
            }
        }
    }
    Ok((cube.with_meta(volume.meta.clone()), start))
}

/// Draws up to `cfg.scale` accepted cubes (`[rows, rows, deps]`) from a normalized volume.
pub fn extract_cubes(volume: &Volume, cfg: &CubeConfig, rng: &mut GenesisRng) -> Vec<Volume> {
    let Some([rx, ry, rz]) = cfg.corner_ranges(volume.shape()) else {
        return Vec::new();
    };
    let mut cubes = Vec::new();
    for _ in 0..cfg.tries_per_cube * cfg.scale {
        if cubes.len() >= cfg.scale {
            break;
        }
        let c = [
            rng.random_range(rx.0..=rx.1),
            rng.random_range(ry.0..=ry.1),
            rng.random_range(rz.0..=rz.1),
        ];
        if cfg.accepts(volume, c)
            && let Some(cube) = crop(volume, c, [cfg.rows, cfg.rows, cfg.deps])
        {
            cubes.push(cube);
        }
    }
    cubes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn crops_around_a_point_stay_inside_or_pad_a_small_volume() {
        let data = (0..6 * 4 * 2).map(|v| v as f32).collect();
        let v = Volume::new([6, 4, 2], data).unwrap();
        let (cube, start) = crop_around(&v, [5, 0, 1], [4, 2, 2]).unwrap();
        assert_eq!(start, [2, 0, 0]);
        assert_eq!(cube, crop(&v, [2, 0, 0], [4, 2, 2]).unwrap());
        // Larger than the volume along z: centred, zero outside.
        let (cube, start) = crop_around(&v, [0, 0, 0], [2, 2, 4]).unwrap();
        assert_eq!(start, [0, 0, -1]);
        assert_eq!((cube.get(0, 0, 0), cube.get(0, 0, 1), cube.get(1, 1, 2)), (0.0, 0.0, 11.0));
        assert_eq!(cube.get(0, 0, 3), 0.0);
    }

    #[test]
    fn corner_ranges_follow_the_original_bounds() {
        let cfg = CubeConfig::default();
        assert_eq!(cfg.corner_ranges([512, 512, 96]), Some([(100, 347), (100, 347), (30, 30)]));
        assert_eq!(cfg.corner_ranges([512, 512, 95]), None);
        assert_eq!(cfg.corner_ranges([264, 512, 200]), None);
        assert_eq!(cfg.corner_ranges([265, 265, 200]), Some([(100, 100), (100, 100), (30, 134)]));
    }

    #[test]
    fn dense_score_counts_1_half_and_0() {
        let cfg = CubeConfig { rows: 1, deps: 3, ..CubeConfig::default() };
        // One column: dense at z = 2 only. d=0: k=2 → 0; d=1: k=1 → 0.5; d=2: k=0 → 1.
        let v = Volume::new([1, 1, 5], vec![0.0, 0.0, 0.9, 0.0, 0.0]).unwrap();
        assert_eq!(cfg.dense_score(&v, [0, 0, 0]), 1.5);
    }

    #[test]
    fn air_volume_yields_scale_cubes_and_dense_volume_none() {
        let cfg = CubeConfig { scale: 4, ..CubeConfig::default() };
        let air = Volume::filled([265, 265, 96], 0.1).unwrap();
        let cubes = extract_cubes(&air, &cfg, &mut stream(1, "cubes", &[0]));
        assert_eq!(cubes.len(), 4);
        assert!(cubes.iter().all(|c| c.shape() == [64, 64, 32]));
        let bone = Volume::filled([265, 265, 96], 0.9).unwrap();
        assert!(extract_cubes(&bone, &cfg, &mut stream(1, "cubes", &[0])).is_empty());
    }

    #[test]
    fn crop_copies_the_right_block() {
        let v = Volume::new([3, 3, 3], (0..27).map(|i| i as f32).collect()).unwrap();
        let c = crop(&v, [1, 1, 1], [2, 2, 2]).unwrap();
        assert_eq!(c.data(), &[13.0, 14.0, 16.0, 17.0, 22.0, 23.0, 25.0, 26.0]);
        assert!(crop(&v, [2, 2, 2], [2, 2, 2]).is_none());
    }
}

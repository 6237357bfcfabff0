//! Local pixel shuffling (spec §2.2): many small boxes, each read from the untouched input,
//! permuted uniformly and written back at the same place (the last write wins on overlaps).
//!
//! Models Genesis uses 10,000 boxes (≈82% of a 64×64×32 cube touched); the released Semantic
//! Genesis code uses 5 (≈0.1%: almost an identity), see `pipeline::Quirks`. The box geometry
//! and the permutations come from two streams derived from the drawn sub-seed, so
//! [`ShuffleParams::regions`] can list the boxes without doing the shuffling. Applying reuses
//! one scratch buffer for every box: no per-box allocation.

use serde::{Deserialize, Serialize};

use super::region::Region;
use super::{Apply, Transform, TransformError, check, draw};
use crate::rng::{GenesisRng, Rng, stream};
use crate::scratch;
use crate::volume::Volume;

/// The local shuffling transform; its fields are its config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalShuffle {
    /// Number of boxes (Models Genesis 10,000; released Semantic Genesis 5).
    pub blocks: u32,
    /// Box sides are drawn from `[1, d / block_divisor]` on an axis of extent `d` (10).
    pub block_divisor: usize,
}

impl Default for LocalShuffle {
    fn default() -> Self {
        Self { blocks: 10_000, block_divisor: 10 }
    }
}

/// One drawn shuffle: everything needed to replay it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShuffleParams {
    /// Shape the draw is for.
    pub shape: [usize; 3],
    /// Number of boxes.
    pub blocks: u32,
    /// Box sides are drawn from `[1, d / block_divisor]`.
    pub block_divisor: usize,
    /// Sub-seed of the box and permutation streams.
    pub seed: u64,
}

impl Transform for LocalShuffle {
    type Params = ShuffleParams;

    fn sample(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> ShuffleParams {
        ShuffleParams {
            shape,
            blocks: self.blocks,
            block_divisor: self.block_divisor,
            seed: rng.next_u64(),
        }
    }
}

impl ShuffleParams {
    /// Largest box side on each axis.
    fn max_side(&self) -> [usize; 3] {
        self.shape.map(|d| (d / self.block_divisor.max(1)).clamp(1, d))
    }

    /// The boxes, in the order they are written.
    pub fn regions(&self) -> impl Iterator<Item = Region> + use<> {
        let shape = self.shape;
        let max = self.max_side();
        let mut rng = stream(self.seed, "local-shuffle/boxes", &[]);
        (0..self.blocks).map(move |_| {
            let mut size = [0u64; 3];
            draw::batch(&mut rng, &max.map(|m| m as u64), &mut size);
            let size = size.map(|s| s as usize + 1);
            let mut corner = [0u64; 3];
            let room = [0, 1, 2].map(|a| (shape[a] - size[a] + 1) as u64);
            draw::batch(&mut rng, &room, &mut corner);
            Region { corner: corner.map(|c| c as usize), size }
        })
    }

    /// Shuffles checked voxels. Each box's values and flat positions are gathered in x-major
    /// order; each Fisher–Yates swap then writes the item it settles straight to the output.
    pub(crate) fn apply_valid(&self, volume: &mut Volume) {
        let orig = scratch::copy(volume.data());
        let out = volume.data_mut();
        let mut perms = stream(self.seed, "local-shuffle/permutations", &[]);
        let layout = SliceLayout::new(self.shape, self.max_side());
        // One value and one position per voxel of the largest box, reused for every box.
        let capacity = self.max_side().iter().product();
        let (mut values, mut at) = (vec![0.0f32; capacity], vec![0usize; capacity]);
        let shuffler = draw::Shuffler::new(capacity);
        for region in self.regions() {
            let n = region.voxels();
            let (values, at) = (&mut values[..n], &mut at[..n]);
            let (bases, offsets) = layout.slices(region);
            let chunks =
                values.chunks_exact_mut(offsets.len()).zip(at.chunks_exact_mut(offsets.len()));
            for (base, (values, at)) in bases.zip(chunks) {
                for ((v, a), &o) in values.iter_mut().zip(at.iter_mut()).zip(offsets) {
                    *a = base + o;
                    *v = orig[*a];
                }
            }
            shuffler.swaps(&mut perms, n, |i, j| {
                out[at[i]] = values[j];
                values[j] = values[i];
            });
            out[at[0]] = values[0];
        }
        scratch::recycle(orig);
    }
}

/// Where the voxels of a box lie, one x-slice at a time, so that gathering and scattering a
/// box runs one flat loop per x-slice instead of one tiny loop per z-run (z-sides are only
/// 1–3 voxels in a 64×64×32 cube).
struct SliceLayout {
    shape: [usize; 3],
    /// Indexed by z-side − 1: the flat offsets, relative to the slice's first voxel, of the
    /// voxels of an x-slice of the largest y-side (y-major, z innermost). A box of y-side `sy`
    /// uses the first `sy·sz` entries.
    by_depth: Vec<Vec<usize>>,
}

impl SliceLayout {
    fn new(shape: [usize; 3], max_side: [usize; 3]) -> Self {
        let nz = shape[2];
        let by_depth = (1..=max_side[2])
            .map(|sz| (0..max_side[1]).flat_map(|y| (0..sz).map(move |z| y * nz + z)).collect())
            .collect();
        Self { shape, by_depth }
    }

    /// The flat index of the first voxel of each x-slice of `region`, and the offsets of a
    /// slice's voxels from it (x-major order overall, like the region's values).
    fn slices(&self, region: Region) -> (impl Iterator<Item = usize>, &[usize]) {
        let ([cx, cy, cz], [sx, sy, sz]) = (region.corner, region.size);
        let [_, ny, nz] = self.shape;
        let first = (cx * ny + cy) * nz + cz;
        let stride = ny * nz;
        ((0..sx).map(move |x| first + x * stride), &self.by_depth[sz - 1][..sy * sz])
    }
}

impl Apply for ShuffleParams {
    fn apply(&self, volume: &mut Volume) -> Result<(), TransformError> {
        check(volume, Some(self.shape))?;
        self.apply_valid(volume);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::region::coverage;

    const CUBE: [usize; 3] = [64, 64, 32];

    fn mean_coverage(t: LocalShuffle, draws: u64) -> f64 {
        let mut rng = stream(21, "shuffle-test", &[]);
        (0..draws).map(|_| coverage(CUBE, t.sample(&mut rng, CUBE).regions())).sum::<f64>()
            / draws as f64
    }

    #[test]
    fn models_genesis_coverage_matches_reference() {
        let c = mean_coverage(LocalShuffle::default(), 20);
        assert!((c - 0.818).abs() < 0.005, "coverage {c}");
    }

    #[test]
    fn semantic_genesis_five_blocks_cover_a_tenth_of_a_percent() {
        let c = mean_coverage(LocalShuffle { blocks: 5, ..LocalShuffle::default() }, 4000);
        assert!((c - 0.00096).abs() < 0.0001, "coverage {c}");
    }

    #[test]
    fn boxes_fit_and_respect_the_side_ranges() {
        let p = LocalShuffle::default().sample(&mut stream(1, "t", &[]), CUBE);
        for r in p.regions() {
            assert!(r.fits(CUBE));
            assert!(r.size[0] <= 6 && r.size[1] <= 6 && r.size[2] <= 3, "{r:?}");
        }
    }

    #[test]
    fn shuffling_permutes_values_within_boxes_only() {
        let n: usize = CUBE.iter().product();
        let mut v = Volume::new(CUBE, (0..n).map(|i| i as f32).collect()).unwrap();
        let p = LocalShuffle { blocks: 50, ..LocalShuffle::default() }
            .sample(&mut stream(2, "t", &[]), CUBE);
        p.apply(&mut v).unwrap();
        // Overlaps may duplicate values, but each output voxel holds a value from inside a
        // box that covers it, and voxels outside all boxes keep theirs.
        let covered = coverage(CUBE, p.regions());
        assert!(covered > 0.0);
        let changed = v.data().iter().enumerate().filter(|&(i, &x)| x != i as f32).count();
        assert!(changed > 0 && changed as f64 <= covered * n as f64);
    }
}

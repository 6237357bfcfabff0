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

    /// Average number of boxes covering a voxel: ≈ 1.9 for Models Genesis on a 64×64×32 cube,
    /// ≈ 26 on a 224×224 image (larger boxes relative to the image).
    fn mean_cover(&self) -> f64 {
        let box_voxels: f64 = self.max_side().iter().map(|&m| (m as f64 + 1.0) / 2.0).product();
        let voxels: f64 = self.shape.iter().map(|&d| d as f64).product();
        f64::from(self.blocks) * box_voxels / voxels
    }

    /// Shuffles checked voxels.
    pub(crate) fn apply_valid(&self, volume: &mut Volume) {
        let orig = scratch::copy(volume.data());
        self.shuffle(&orig, volume.data_mut());
        scratch::recycle(orig);
    }

    /// Writes the shuffled boxes of `orig` (voxels of the drawn shape) into `out`, which holds
    /// a copy of `orig`. Where boxes overlap a lot, most moves would be overwritten, so the
    /// boxes are then visited last-written first, writing only what survives (that path lists
    /// the boxes in memory, so absurd box counts take the in-order path).
    pub(crate) fn shuffle(&self, orig: &[f32], out: &mut [f32]) {
        const MOST_LISTED_BOXES: u32 = 1 << 20;
        let mut boxes = Boxes::new(self);
        if self.mean_cover() > 4.0 && self.blocks <= MOST_LISTED_BOXES {
            boxes.last_writer_first(self, orig, out);
        } else {
            boxes.in_order(self, orig, out);
        }
    }
}

/// The reusable state of shuffling boxes: where their voxels lie, the permutation stream,
/// and one buffer slot per voxel of the largest box (no per-box allocation).
struct Boxes {
    layout: BoxLayout,
    perms: GenesisRng,
    shuffler: draw::Shuffler,
    partners: Vec<usize>,
    values: Vec<f32>,
    targets: Vec<usize>,
}

impl Boxes {
    fn new(params: &ShuffleParams) -> Self {
        let capacity = params.max_side().iter().product();
        Self {
            layout: BoxLayout::new(params.shape, params.max_side()),
            perms: stream(params.seed, "local-shuffle/permutations", &[]),
            shuffler: draw::Shuffler::new(capacity),
            partners: vec![0; capacity],
            values: vec![0.0; capacity],
            targets: vec![0; capacity],
        }
    }

    /// Each box in turn: its values are gathered in x-major order, then each Fisher–Yates
    /// step writes the item it settles straight to the output.
    fn in_order(&mut self, params: &ShuffleParams, orig: &[f32], out: &mut [f32]) {
        let Self { layout, perms, shuffler, partners, values, .. } = self;
        for region in params.regions() {
            let (first, offsets) = layout.offsets(region);
            let n = offsets.len();
            let values = &mut values[..n];
            for (v, &o) in values.iter_mut().zip(offsets) {
                *v = orig[first + o as usize];
            }
            shuffler.partners(perms, n, n, partners);
            for (i, (&o, &j)) in offsets.iter().zip(&partners[..n]).enumerate().rev() {
                out[first + o as usize] = values[j];
                values[j] = values[i];
            }
        }
    }

    /// The boxes last-written first, each voxel written once, by the last box covering it:
    /// a box draws only the items of the voxels no later box overwrites (the first steps of
    /// a Fisher–Yates shuffle: a uniform ordered sample, the restriction of a uniform
    /// permutation). Only the drawn slots are tracked, so a box's other items are never read.
    fn last_writer_first(&mut self, params: &ShuffleParams, orig: &[f32], out: &mut [f32]) {
        let Self { layout, perms, shuffler, partners, targets, .. } = self;
        let mut written = Claims::new(out.len());
        // Which item a drawn slot holds now, valid where its stamp is the current box's.
        let mut moved = vec![(0u32, 0usize); targets.len()];
        let regions: Vec<Region> = params.regions().collect();
        for (stamp, &region) in (1u32..).zip(regions.iter().rev()) {
            let mut k = 0;
            region.for_each_span(params.shape, |start, len| {
                written.claim(start, len, |at| {
                    targets[k] = at;
                    k += 1;
                });
            });
            let (first, offsets) = layout.offsets(region);
            let last = offsets.len() - 1;
            let item = |slot: usize, moved: &[(u32, usize)]| match moved[slot] {
                (s, item) if s == stamp => item,
                _ => slot,
            };
            shuffler.partners(perms, offsets.len(), k, partners);
            for i in (offsets.len() - k..offsets.len()).rev() {
                let j = partners[i];
                out[targets[last - i]] = orig[first + offsets[item(j, &moved)] as usize];
                moved[j] = (stamp, item(i, &moved));
            }
        }
    }
}

/// Which voxels are written already, one bit each.
struct Claims {
    words: Vec<u64>,
}

impl Claims {
    fn new(len: usize) -> Self {
        Self { words: vec![0; len.div_ceil(64)] }
    }

    /// Marks the voxels `start..start + len` written and calls `fresh` for each of them that
    /// was not, a 64-voxel word at a time (most voxels of a heavily overlapped box are taken).
    #[inline]
    fn claim(&mut self, start: usize, len: usize, mut fresh: impl FnMut(usize)) {
        let (mut at, end) = (start, start + len);
        while at < end {
            let (word, bit) = (at / 64, at % 64);
            let n = (64 - bit).min(end - at);
            let mask = (u64::MAX >> (64 - n)) << bit;
            let mut free = !self.words[word] & mask;
            self.words[word] |= mask;
            while free != 0 {
                fresh(word * 64 + free.trailing_zeros() as usize);
                free &= free - 1;
            }
            at += n;
        }
    }
}

/// Where the voxels of a box lie: flat offsets from its first voxel, in x-major order.
///
/// The offsets of a box of y-side `sy` and z-side `sz` spanning the largest x-side, x-major,
/// begin with those of every narrower box of the same `sy` and `sz`, so one list per (`sy`,
/// `sz`) serves every box, tabulated once when the table is small (always for the cubes and
/// images that are pretrained on); otherwise each box's offsets are listed in turn.
struct BoxLayout {
    shape: [usize; 3],
    max_side: [usize; 3],
    /// The lists one after the other, (`sy`, `sz`) in row-major order, when tabulated.
    table: Vec<u32>,
    /// Where each list starts in `table`, when tabulated.
    starts: Vec<usize>,
    /// The current box's offsets, when not tabulated.
    scratch: Vec<u32>,
}

impl BoxLayout {
    /// Most offsets tabulated (4 MiB).
    const MOST_TABULATED: usize = 1 << 20;

    fn new(shape: [usize; 3], max_side: [usize; 3]) -> Self {
        let [mx, my, mz] = max_side;
        let tabulated = mx * (my * (my + 1) / 2) * (mz * (mz + 1) / 2);
        let mut layout =
            Self { shape, max_side, table: Vec::new(), starts: Vec::new(), scratch: Vec::new() };
        if tabulated <= Self::MOST_TABULATED {
            let mut table = Vec::with_capacity(tabulated);
            for sy in 1..=my {
                for sz in 1..=mz {
                    layout.starts.push(table.len());
                    layout.list([mx, sy, sz], &mut table);
                }
            }
            layout.table = table;
        }
        layout
    }

    /// Appends the offsets of the voxels of a box of `size` to `out`, x-major.
    fn list(&self, [sx, sy, sz]: [usize; 3], out: &mut Vec<u32>) {
        let [_, ny, nz] = self.shape;
        for x in 0..sx {
            for y in 0..sy {
                // Offsets stay below the voxel count, at most 2³¹ (`MAX_VOXELS`).
                out.extend((0..sz).map(|z| ((x * ny + y) * nz + z) as u32));
            }
        }
    }

    /// The flat index of the first voxel of `region` and the offsets of all its voxels.
    #[inline]
    fn offsets(&mut self, region: Region) -> (usize, &[u32]) {
        let ([cx, cy, cz], [sx, sy, sz]) = (region.corner, region.size);
        let [_, ny, nz] = self.shape;
        let first = (cx * ny + cy) * nz + cz;
        let n = sx * sy * sz;
        if self.starts.is_empty() {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            self.list(region.size, &mut scratch);
            self.scratch = scratch;
            return (first, &self.scratch);
        }
        let start = self.starts[(sy - 1) * self.max_side[2] + sz - 1];
        (first, &self.table[start..start + n])
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

    /// Each voxel takes a value from inside the last box covering it, and the voxels a box
    /// writes hold distinct values of that box (an injective draw), on both paths: in order
    /// (the cube, ≈ 1.9 boxes per voxel) and last-writer-first (the image and the small
    /// volume, ≈ 26 and ≈ 5.6), with tabulated box offsets and, for boxes up to the whole
    /// volume (too many sizes to tabulate), listed per box (≈ 0.7 and ≈ 8.5 boxes per voxel).
    #[test]
    fn the_last_covering_box_writes_distinct_values_of_its_own() {
        let whole = |blocks| LocalShuffle { blocks, block_divisor: 1 };
        let cases = [
            (CUBE, LocalShuffle::default(), false),
            ([224, 224, 1], LocalShuffle::default(), false),
            ([20, 20, 10], LocalShuffle::default(), false),
            ([24, 24, 24], whole(5), true),
            ([24, 24, 24], whole(60), true),
        ];
        for (shape, shuffle, listed) in cases {
            let n: usize = shape.iter().product();
            let mut v = Volume::new(shape, (0..n).map(|i| i as f32).collect()).unwrap();
            let p = shuffle.sample(&mut stream(5, "t", &[]), shape);
            assert_eq!(BoxLayout::new(shape, p.max_side()).starts.is_empty(), listed);
            p.apply(&mut v).unwrap();
            let mut last = vec![usize::MAX; n];
            let regions: Vec<Region> = p.regions().collect();
            for (b, r) in regions.iter().enumerate() {
                r.for_each_run(shape, |start, len| last[start..start + len].fill(b));
            }
            let mut seen = std::collections::HashSet::new();
            for (at, &b) in last.iter().enumerate() {
                let value = v.data()[at] as usize;
                if b == usize::MAX {
                    assert_eq!(value, at);
                    continue;
                }
                let mut inside = false;
                regions[b].for_each_run(shape, |s, l| inside |= (s..s + l).contains(&value));
                assert!(inside, "{shape:?}: voxel {at} got {value} from outside its box");
                assert!(seen.insert((b, value)), "{shape:?}: box {b} wrote {value} twice");
            }
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

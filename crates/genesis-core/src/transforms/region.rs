//! Axis-aligned boxes and the per-axis size and corner ranges the transforms draw from, with
//! the clamping that keeps every range non-empty on tiny or 2D shapes.

use serde::{Deserialize, Serialize};

use super::draw;
use crate::rng::GenesisRng;

/// An axis-aligned box of voxels: `corner` is its lowest voxel, `size` its extent per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Lowest voxel `(x, y, z)`.
    pub corner: [usize; 3],
    /// Extent along x, y, z (each ≥ 1).
    pub size: [usize; 3],
}

impl Region {
    /// Number of voxels inside.
    pub fn voxels(&self) -> usize {
        self.size.iter().product()
    }

    /// True when the box lies inside `shape`.
    pub fn fits(&self, shape: [usize; 3]) -> bool {
        (0..3).all(|a| self.size[a] >= 1 && self.corner[a] + self.size[a] <= shape[a])
    }

    /// Calls `f(start, len)` for each contiguous z-run of the box in a volume of `shape`
    /// (flat index of the run's first voxel and its length).
    #[inline]
    pub fn for_each_run(&self, shape: [usize; 3], mut f: impl FnMut(usize, usize)) {
        let [cx, cy, cz] = self.corner;
        for x in cx..cx + self.size[0] {
            for y in cy..cy + self.size[1] {
                f((x * shape[1] + y) * shape[2] + cz, self.size[2]);
            }
        }
    }

    /// Like [`Self::for_each_run`], but a box spanning the whole z extent gives one run per
    /// x-slice (in 2D images, z has one voxel: the runs are then rows, not single pixels).
    #[inline]
    pub fn for_each_span(&self, shape: [usize; 3], mut f: impl FnMut(usize, usize)) {
        if self.size[2] < shape[2] {
            return self.for_each_run(shape, f);
        }
        let [cx, cy, _] = self.corner;
        for x in cx..cx + self.size[0] {
            f((x * shape[1] + cy) * shape[2], self.size[1] * shape[2]);
        }
    }
}

/// A length along one axis given relative to that axis' extent `d`: a fraction `d·num/den`
/// (integer division, as the original's `d//k`) or a fixed number of voxels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Extent {
    /// `d * num / den`, rounded down.
    Fraction {
        /// Numerator.
        num: usize,
        /// Denominator (0 is read as 1).
        den: usize,
    },
    /// A fixed number of voxels, whatever the extent.
    Voxels(usize),
}

impl Extent {
    /// The length for an axis of extent `d`.
    pub fn of(&self, d: usize) -> usize {
        match *self {
            Extent::Fraction { num, den } => d.saturating_mul(num) / den.max(1),
            Extent::Voxels(n) => n,
        }
    }
}

/// An inclusive range of lengths `[lo, hi]`, each an [`Extent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Smallest length.
    pub lo: Extent,
    /// Largest length.
    pub hi: Extent,
}

impl Span {
    /// `[d·lo_num/lo_den, d·hi_num/hi_den]`.
    pub const fn fractions(lo: (usize, usize), hi: (usize, usize)) -> Self {
        Self {
            lo: Extent::Fraction { num: lo.0, den: lo.1 },
            hi: Extent::Fraction { num: hi.0, den: hi.1 },
        }
    }

    /// `[lo, hi]` voxels whatever the extent.
    pub const fn voxels(lo: usize, hi: usize) -> Self {
        Self { lo: Extent::Voxels(lo), hi: Extent::Voxels(hi) }
    }

    /// The range for an axis of extent `d`, clamped into `[min, max]` and made non-empty.
    pub fn clamped(&self, d: usize, min: usize, max: usize) -> (usize, usize) {
        let lo = self.lo.of(d).clamp(min, max);
        (lo, self.hi.of(d).clamp(lo, max))
    }
}

/// Draws a corner for a box of `size` in `shape`, keeping `margin` voxels from each face where
/// the axis leaves room for it (the margin shrinks on small axes; `randint[m, d-b-m]`).
pub fn draw_corner(
    rng: &mut GenesisRng,
    shape: [usize; 3],
    size: [usize; 3],
    margin: usize,
) -> [usize; 3] {
    let mut corner = [0; 3];
    for a in 0..3 {
        let room = shape[a] - size[a];
        let m = margin.min(room / 2);
        corner[a] = draw::inclusive(rng, m, room - m);
    }
    corner
}

/// Fraction of voxels of `shape` covered by at least one of `regions`.
pub fn coverage(shape: [usize; 3], regions: impl IntoIterator<Item = Region>) -> f64 {
    let n: usize = shape.iter().product();
    let mut mask = vec![false; n];
    for r in regions {
        r.for_each_run(shape, |start, len| mask[start..start + len].fill(true));
    }
    mask.iter().filter(|&&m| m).count() as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_follow_the_original_integer_division_and_clamp() {
        let inpaint = Span::fractions((1, 6), (1, 3));
        assert_eq!(inpaint.clamped(64, 1, 64), (10, 21));
        assert_eq!(inpaint.clamped(32, 1, 32), (5, 10));
        assert_eq!(inpaint.clamped(224, 1, 224), (37, 74));
        // A depth-1 axis (2D) gets the whole axis instead of an empty range.
        assert_eq!(inpaint.clamped(1, 1, 1), (1, 1));
        assert_eq!(Span::voxels(10, 20).clamped(4, 1, 4), (4, 4));
    }

    #[test]
    fn corners_keep_margins_when_possible_and_always_fit() {
        let mut rng = crate::rng::stream(0, "region", &[]);
        for _ in 0..200 {
            let c = draw_corner(&mut rng, [64, 5, 1], [21, 3, 1], 3);
            assert!((3..=40).contains(&c[0]));
            assert!(c[1] <= 2 && c[2] == 0);
            assert!(Region { corner: c, size: [21, 3, 1] }.fits([64, 5, 1]));
        }
    }
}

//! Portable random draws used by the transforms: uniform floats, exact bounded integers and
//! batches of bounded integers from one 64-bit word.
//!
//! Everything here is built on `next_u64`/`next_u32` and plain integer or IEEE arithmetic, so
//! the same generator state gives the same values on every platform (native and wasm32,
//! whatever `usize` is).

use crate::rng::{GenesisRng, Rng};

/// A float uniform in [0, 1) with 53 random bits (Python's `random.random()`).
#[inline]
pub fn unit_f64(rng: &mut GenesisRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A float uniform in [0, 1) with 24 random bits (`np.random.rand` as `f32`).
#[inline]
pub fn unit_f32(rng: &mut GenesisRng) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// Fills `out` with i.i.d. U[0, 1) values with 24 random bits each (the generator's byte
/// stream read in blocks: several times faster than one call per value).
pub fn fill_unit(rng: &mut GenesisRng, out: &mut [f32]) {
    let mut bytes = [0u8; 256];
    for chunk in out.chunks_mut(64) {
        let bytes = &mut bytes[..4 * chunk.len()];
        rng.fill_bytes(bytes);
        for (v, b) in chunk.iter_mut().zip(bytes.chunks_exact(4)) {
            let u = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            *v = (u >> 8) as f32 * (1.0 / (1u32 << 24) as f32);
        }
    }
}

/// Fills `out` with i.i.d. values uniform on the 256 midpoints `(k + ½)/128 − 1` of [−1, 1):
/// 8 random bits each, symmetric around 0, variance (1 − 2⁻¹⁶)/3 (U[−1,1): 1/3). Used for the
/// elastic fields, where a Gaussian averages thousands of values and finer resolution would
/// change nothing measurable.
pub fn fill_symmetric(rng: &mut GenesisRng, out: &mut [f32]) {
    let mut bytes = [0u8; 256];
    for chunk in out.chunks_mut(256) {
        let bytes = &mut bytes[..chunk.len()];
        rng.fill_bytes(bytes);
        for (v, &k) in chunk.iter_mut().zip(bytes.iter()) {
            *v = (f32::from(k) + 0.5) * (1.0 / 128.0) - 1.0;
        }
    }
}

/// An integer uniform in `[lo, hi]` (inclusive, like Python's `randint`); `lo` when `hi < lo`.
#[inline]
pub fn inclusive(rng: &mut GenesisRng, lo: usize, hi: usize) -> usize {
    if hi <= lo {
        return lo;
    }
    let mut out = [0u64];
    batch(rng, &[(hi - lo) as u64 + 1], &mut out);
    lo + out[0] as usize
}

/// Splits the 64-bit word `r` into one index below each bound (most significant first) by
/// repeated widening multiplication, returning the leftover low bits. With `bits < 64` the
/// word is treated as `bits` wide (used to check exactness exhaustively in tests).
#[inline]
fn split(mut r: u64, bounds: impl Iterator<Item = u64>, out: &mut [u64], bits: u32) -> u64 {
    let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    for (o, b) in out.iter_mut().zip(bounds) {
        let m = u128::from(r) * u128::from(b);
        *o = (m >> bits) as u64;
        r = (m as u64) & mask;
    }
    r
}

/// `2^bits mod product`, the rejection threshold of the batched method.
fn threshold(product: u64, bits: u32) -> u64 {
    ((1u128 << bits) % u128::from(product)) as u64
}

/// [`batch`] over an arbitrary word source of width `bits`; `product` is that of the bounds.
#[inline]
fn batch_with(
    mut word: impl FnMut() -> u64,
    bounds: impl Iterator<Item = u64> + Clone,
    product: u64,
    out: &mut [u64],
    bits: u32,
) {
    let mut left = split(word(), bounds.clone(), out, bits);
    if left < product {
        let t = threshold(product, bits);
        while left < t {
            left = split(word(), bounds.clone(), out, bits);
        }
    }
}

/// Draws one uniform index below each of `bounds` (every bound ≥ 1, product ≤ 2^64) from a
/// single 64-bit word where possible: Lemire's nearly divisionless method generalised to a
/// batch (Brackett-Rozinsky & Lemire 2024). Exact: rejection removes all bias.
#[inline]
pub fn batch(rng: &mut GenesisRng, bounds: &[u64], out: &mut [u64]) {
    let product = bounds.iter().fold(1u64, |p, &b| p.saturating_mul(b));
    batch_with(|| rng.next_u64(), bounds.iter().copied(), product, out, 64);
}

/// Uniform shuffles (Fisher–Yates) of slices up to a given length, drawing several swap
/// indices per 64-bit word. The grouping of the bounds `i, i−1, …` into words depends only on
/// `i`, so it is computed once here and reused for every slice.
///
/// The draws are those of [`batch`], computed without its serial dependency: after `k`
/// widening multiplications the leftover word is `r·(b₀⋯b_{k−1}) mod 2⁶⁴`, so with the prefix
/// products tabulated every index is one wrapping and one widening multiplication of the
/// word itself, all independent of each other (the same values, no serial chain).
pub struct Shuffler {
    /// For each top bound `i`: how many bounds `i, i−1, …` share one word, and their product.
    groups: Vec<(usize, u64)>,
    /// For each top bound `i`, [`Self::MAX_GROUP`] prefix products: entry `k` is
    /// `i·(i−1)⋯(i−k+1)` (1 for `k = 0`).
    prefixes: Vec<[u64; Self::MAX_GROUP]>,
}

impl Shuffler {
    /// Most bounds drawn from one word.
    const MAX_GROUP: usize = 16;

    /// A shuffler for slices of up to `len` items.
    pub fn new(len: usize) -> Self {
        let mut groups = Vec::with_capacity(len + 1);
        let mut prefixes = Vec::with_capacity(len + 1);
        for i in 0..=len {
            let (mut n, mut product) = (0, 1u64);
            let mut prefix = [1u64; Self::MAX_GROUP];
            while n < Self::MAX_GROUP && i > n + 1 {
                prefix[n] = product;
                match product.checked_mul((i - n) as u64) {
                    Some(p) => product = p,
                    None => break,
                }
                n += 1;
            }
            groups.push((n, product));
            prefixes.push(prefix);
        }
        Self { groups, prefixes }
    }

    /// Draws the `n` swap indices below `top, top−1, …` that [`batch`] would draw.
    #[inline]
    fn picks(&self, rng: &mut GenesisRng, top: usize, picks: &mut [u64; Self::MAX_GROUP]) {
        let (n, product) = self.groups[top];
        let prefix = &self.prefixes[top];
        let mut fill = |r: u64| {
            for (k, (pick, &p)) in picks.iter_mut().zip(prefix).enumerate().take(n) {
                let left = r.wrapping_mul(p);
                *pick = ((u128::from(left) * (top - k) as u128) >> 64) as u64;
            }
            r.wrapping_mul(product)
        };
        let left = fill(rng.next_u64());
        if left < product {
            let t = threshold(product, 64);
            let mut left = left;
            while left < t {
                left = fill(rng.next_u64());
            }
        }
    }

    /// Shuffles `items` uniformly; slices longer than the shuffler was built for fall back to
    /// computing the grouping on the fly.
    pub fn shuffle<T>(&self, rng: &mut GenesisRng, items: &mut [T]) {
        self.settle(rng, items.len(), items.len(), |i, j| items.swap(i, j));
    }

    /// The first `count` steps of a Fisher–Yates shuffle of `len` items: `settle(i, j)` for
    /// `i = len − 1, …, len − count` with `j ≤ i` uniform. Swapping items `i` and `j` there
    /// gives position `i` its final item, so a caller can consume it right away, and stopping
    /// after `count` steps draws a uniform ordered sample of `count` distinct items.
    pub fn settle(
        &self,
        rng: &mut GenesisRng,
        len: usize,
        count: usize,
        mut settle: impl FnMut(usize, usize),
    ) {
        if len >= self.groups.len() {
            return Shuffler::new(len).settle(rng, len, count, settle);
        }
        let stop = len - count.min(len);
        let mut picks = [0u64; Self::MAX_GROUP];
        let mut i = len;
        while i > stop.max(1) {
            let n = self.groups[i].0;
            self.picks(rng, i, &mut picks);
            for &j in &picks[..n] {
                if i == stop {
                    break;
                }
                settle(i - 1, j as usize);
                i -= 1;
            }
        }
        if stop == 0 && len > 0 {
            settle(0, 0); // one item left: it stays
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    /// Exhaustively runs the batched method over every `bits`-wide word and checks that each
    /// outcome is reached by the same number of accepted words: exact uniformity.
    #[test]
    fn batched_draws_are_exactly_uniform() {
        let bits = 12;
        for bounds in [&[3u64, 5][..], &[7, 6, 5], &[10], &[4095]] {
            let product: u64 = bounds.iter().product();
            let mut counts = vec![0u32; product as usize];
            let t = threshold(product, bits);
            for w in 0..(1u64 << bits) {
                let mut out = [0u64; 3];
                let left = split(w, bounds.iter().copied(), &mut out[..bounds.len()], bits);
                if left < t {
                    continue; // rejected
                }
                let code = out[..bounds.len()].iter().zip(bounds).fold(0, |c, (&o, &b)| c * b + o);
                counts[code as usize] += 1;
            }
            let first = counts[0];
            assert!(first > 0 && counts.iter().all(|&c| c == first), "{bounds:?}: {counts:?}");
        }
    }

    #[test]
    fn shuffler_draws_match_batched_draws() {
        let shuffler = Shuffler::new(600);
        let (mut a, mut b) = (stream(4, "draw", &[]), stream(4, "draw", &[]));
        for top in (2..=600).chain([2, 3, 17, 20, 21]).cycle().take(3000) {
            let n = shuffler.groups[top].0;
            let mut fast = [0u64; Shuffler::MAX_GROUP];
            shuffler.picks(&mut a, top, &mut fast);
            let bounds: Vec<u64> = (0..n).map(|k| (top - k) as u64).collect();
            let mut want = [0u64; Shuffler::MAX_GROUP];
            batch(&mut b, &bounds, &mut want[..n]);
            assert_eq!(fast[..n], want[..n], "top {top}");
        }
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn inclusive_covers_its_range_and_handles_empty_ranges() {
        let mut rng = stream(1, "draw", &[]);
        let mut seen = [false; 4];
        for _ in 0..200 {
            seen[inclusive(&mut rng, 3, 6) - 3] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(inclusive(&mut rng, 5, 2), 5);
    }

    #[test]
    fn shuffle_is_a_permutation_with_uniform_positions() {
        let mut rng = stream(2, "draw", &[]);
        let n = 20;
        let mut first = vec![0u32; n];
        // Built for shorter slices, so the fallback path is exercised too.
        let shuffler = Shuffler::new(12);
        for _ in 0..20_000 {
            let mut v: Vec<usize> = (0..n).collect();
            shuffler.shuffle(&mut rng, &mut v);
            let mut sorted = v.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            first[v[0]] += 1;
        }
        // Each value lands first 1000 times on average; 5 standard deviations ≈ 150.
        assert!(first.iter().all(|&c| (850..1150).contains(&c)), "{first:?}");
    }

    #[test]
    fn partial_shuffles_draw_uniform_ordered_samples() {
        let mut rng = stream(6, "draw", &[]);
        let shuffler = Shuffler::new(8);
        let mut counts = [[0u32; 5]; 5];
        for _ in 0..40_000 {
            let mut items = [0, 1, 2, 3, 4];
            let mut sample = vec![];
            shuffler.settle(&mut rng, 5, 2, |i, j| {
                items.swap(i, j);
                sample.push(items[i]);
            });
            assert_eq!(sample.len(), 2);
            counts[sample[0]][sample[1]] += 1;
        }
        // 20 ordered pairs, 2000 each on average; 5 standard deviations ≈ 220.
        for (a, row) in counts.iter().enumerate() {
            for (b, &c) in row.iter().enumerate() {
                assert!(if a == b { c == 0 } else { (1780..2220).contains(&c) }, "{counts:?}");
            }
        }
    }

    #[test]
    fn unit_floats_stay_in_range() {
        let mut rng = stream(3, "draw", &[]);
        let mut buf = [0f32; 1000];
        fill_symmetric(&mut rng, &mut buf);
        assert!(buf.iter().all(|v| (-1.0..1.0).contains(v)));
        assert!((0..1000).all(|_| (0.0..1.0).contains(&unit_f64(&mut rng))));
    }
}

//! Portable random draws used by the transforms: uniform floats, exact bounded integers,
//! batches of bounded integers from one 64-bit word, Fisher–Yates swap partners and bulk
//! per-voxel noise.
//!
//! Everything here is built on `next_u64`/`next_u32` and plain integer or IEEE arithmetic, so
//! the same generator state gives the same values on every platform (native and wasm32,
//! whatever `usize` is).

use wide::{f32x8, i32x8, u32x8};

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

/// Per-voxel noise: eight interleaved xoshiro128++ generators (Blackman & Vigna), keyed from
/// a [`GenesisRng`]. Only 32-bit adds, shifts and xors on SIMD vectors (SSE2, wasm simd128),
/// so the values are the same on every platform: several times the throughput of drawing
/// every voxel from ChaCha8, which dominated the painting transforms and the elastic fields.
pub struct Noise {
    /// State words `s0..s3`, one vector lane per generator.
    state: [u32x8; 4],
}

impl Noise {
    /// Generators advanced together; each step yields one word per lane.
    pub const LANES: usize = 8;

    /// A generator keyed by 4 × [`Self::LANES`] words of `rng` (a lane whose key is all
    /// zeros, which xoshiro cannot leave, gets one set bit).
    pub fn new(rng: &mut GenesisRng) -> Self {
        let mut key = [[0u32; Self::LANES]; 4];
        for word in key.iter_mut().flatten() {
            *word = rng.next_u32();
        }
        for lane in 0..Self::LANES {
            if key.iter().all(|s| s[lane] == 0) {
                key[0][lane] = 1;
            }
        }
        Self { state: key.map(u32x8::new) }
    }

    /// One 32-bit word from each lane.
    #[inline(always)]
    fn next(&mut self) -> u32x8 {
        let rotl = |x: u32x8, k: u32| (x << k) | (x >> (32 - k));
        let [s0, s1, s2, s3] = &mut self.state;
        let out = rotl(*s0 + *s3, 7) + *s0;
        let t = *s1 << 9;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = rotl(*s3, 11);
        out
    }

    /// Fills `out` with `value(words, k)` for `k < per_step`: each step's words give
    /// `per_step` vectors of values. Each call starts with a fresh step.
    #[inline(always)]
    fn fill(&mut self, out: &mut [f32], per_step: u32, value: impl Fn(u32x8, u32) -> f32x8) {
        for chunk in out.chunks_mut(Self::LANES * per_step as usize) {
            let words = self.next();
            let whole = (chunk.len() / Self::LANES) as u32;
            let mut parts = chunk.chunks_exact_mut(Self::LANES);
            for (k, part) in (0..whole).zip(&mut parts) {
                part.copy_from_slice(&value(words, k).to_array());
            }
            // A last, partial vector (the final chunk only).
            let rest = parts.into_remainder();
            if !rest.is_empty() {
                rest.copy_from_slice(&value(words, whole).to_array()[..rest.len()]);
            }
        }
    }

    /// Fills `out` with i.i.d. U[0, 1) values with 24 random bits each (`np.random.rand` as
    /// `f32`).
    pub fn fill_unit(&mut self, out: &mut [f32]) {
        let scale = f32x8::splat(1.0 / (1u32 << 24) as f32);
        self.fill(out, 1, |words, _| small_to_float(words >> 8) * scale);
    }

    /// Fills `out` with i.i.d. values uniform on the 256 midpoints `(k + ½)/128 − 1` of
    /// [−1, 1): 8 random bits each, symmetric around 0, variance (1 − 2⁻¹⁶)/3 (U[−1,1): 1/3).
    /// Used for the elastic fields, where a Gaussian averages thousands of values and finer
    /// resolution would change nothing measurable.
    pub fn fill_symmetric(&mut self, out: &mut [f32]) {
        let (scale, shift) = (f32x8::splat(1.0 / 128.0), f32x8::splat(0.5 / 128.0 - 1.0));
        self.fill(out, 4, |words, k| {
            small_to_float((words >> (8 * k)) & u32x8::splat(0xff)) * scale + shift
        });
    }
}

/// Lanes below 2³¹ as floats (exact below 2²⁴).
#[inline(always)]
fn small_to_float(words: u32x8) -> f32x8 {
    f32x8::from_i32x8(wide::bytemuck::cast::<u32x8, i32x8>(words))
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
#[inline(always)]
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
#[inline(always)]
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
/// batch (Brackett-Rozinsky & Lemire 2024). Exact: rejection removes all bias. Always
/// inlined: small fixed-size batches then stay in registers (an out-of-line call returned
/// them through memory and stalled the loads that followed).
#[inline(always)]
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
    /// For each top bound `i`: how many bounds `i, i−1, …` share one word, their product and
    /// its rejection threshold.
    groups: Vec<Group>,
    /// For each top bound `i`, [`Self::MAX_GROUP`] prefix products: entry `k` is
    /// `i·(i−1)⋯(i−k+1)` (1 for `k = 0`).
    prefixes: Vec<[u64; Self::MAX_GROUP]>,
}

/// Bounds drawn from one word: how many, their product and its rejection threshold.
#[derive(Clone, Copy)]
struct Group {
    len: usize,
    product: u64,
    threshold: u64,
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
            groups.push(Group { len: n, product, threshold: threshold(product, 64) });
            prefixes.push(prefix);
        }
        Self { groups, prefixes }
    }

    /// Shuffles `items` uniformly.
    pub fn shuffle<T>(&self, rng: &mut GenesisRng, items: &mut [T]) {
        let mut partners = vec![0; items.len()];
        self.partners(rng, items.len(), items.len(), &mut partners);
        for (i, &j) in partners.iter().enumerate().rev() {
            items.swap(i, j);
        }
    }

    /// The swap partners of the first `count` steps of a Fisher–Yates shuffle of `len`
    /// items: `partners[i]` uniform in `0..=i`, for `i = len − 1` down to `len − count`
    /// (entries below are left as they are). Swapping items `i` and `partners[i]` in that
    /// order gives position `i` its final item, so a caller can consume it right away, and
    /// stopping after `count` steps draws a uniform ordered sample of `count` distinct items.
    /// Slices longer than the shuffler was built for compute the grouping on the fly.
    pub fn partners(&self, rng: &mut GenesisRng, len: usize, count: usize, partners: &mut [usize]) {
        if len >= self.groups.len() {
            return Shuffler::new(len).partners(rng, len, count, partners);
        }
        let stop = len - count.min(len);
        let mut i = len;
        while i > stop.max(1) {
            // One word draws the group of bounds `i, i − 1, …` (see the struct's comment);
            // the steps past `stop` are not needed but their bounds still decide rejection.
            let Group { len: group, product, threshold } = self.groups[i];
            let (prefix, used) = (&self.prefixes[i], group.min(i - stop));
            loop {
                let r = rng.next_u64();
                for (k, &p) in prefix.iter().enumerate().take(used) {
                    let left = u128::from(r.wrapping_mul(p));
                    partners[i - 1 - k] = ((left * (i - k) as u128) >> 64) as usize;
                }
                if r.wrapping_mul(product) >= threshold {
                    break;
                }
            }
            i -= used;
        }
        if stop == 0 && len > 0 {
            partners[0] = 0; // one item left: it stays
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
            // The first group of a shuffle of `top` items: one word, `n` steps.
            let n = shuffler.groups[top].len;
            let mut partners = vec![0; top];
            shuffler.partners(&mut a, top, n, &mut partners);
            let fast: Vec<u64> = (0..n).map(|k| partners[top - 1 - k] as u64).collect();
            let bounds: Vec<u64> = (0..n).map(|k| (top - k) as u64).collect();
            let mut want = [0u64; Shuffler::MAX_GROUP];
            batch(&mut b, &bounds, &mut want[..n]);
            assert_eq!(fast, want[..n], "top {top}");
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
            let mut partners = [usize::MAX; 5];
            shuffler.partners(&mut rng, 5, 2, &mut partners);
            for i in [4, 3] {
                items.swap(i, partners[i]);
                sample.push(items[i]);
            }
            assert_eq!(partners[..3], [usize::MAX; 3]);
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
    fn noise_is_uniform_and_uncorrelated_across_lanes_and_steps() {
        let mut v = vec![0f32; 1 << 18];
        Noise::new(&mut stream(7, "draw", &[])).fill_unit(&mut v);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
        // Standard errors: 0.00056 for the mean, 0.00015 for the variance.
        assert!((mean - 0.5).abs() < 0.003 && (var - 1.0 / 12.0).abs() < 0.001, "{mean} {var}");
        let mut bins = [0u32; 64];
        for &x in &v {
            assert!((0.0..1.0).contains(&x));
            bins[(x * 64.0) as usize] += 1;
        }
        let expected = n / 64.0;
        let chi2: f64 = bins.iter().map(|&c| (f64::from(c) - expected).powi(2) / expected).sum();
        // 63 degrees of freedom: mean 63, standard deviation 11.2.
        assert!(chi2 < 120.0, "chi² {chi2}");
        // Lag 1: the next lane; lag 8: the same lane one step on. Standard error 0.002.
        for lag in [1, 8, 9] {
            let c = v.windows(lag + 1).map(|w| f64::from(w[0] - 0.5) * f64::from(w[lag] - 0.5));
            let corr = c.sum::<f64>() / (n * var);
            assert!(corr.abs() < 0.01, "lag {lag}: correlation {corr}");
        }
    }

    #[test]
    fn symmetric_noise_takes_every_level_around_zero() {
        let mut v = vec![0f32; 100_003];
        Noise::new(&mut stream(8, "draw", &[])).fill_symmetric(&mut v);
        let mut seen = [false; 256];
        for &x in &v {
            let k = (x + 1.0) * 128.0 - 0.5;
            assert!(k == k.round() && (0.0..256.0).contains(&k), "{x}");
            seen[k as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn unit_floats_stay_in_range() {
        let mut rng = stream(3, "draw", &[]);
        let mut buf = [0f32; 1000];
        Noise::new(&mut rng).fill_symmetric(&mut buf);
        assert!(buf.iter().all(|v| (-1.0..1.0).contains(v)));
        assert!((0..1000).all(|_| (0.0..1.0).contains(&unit_f64(&mut rng))));
    }
}

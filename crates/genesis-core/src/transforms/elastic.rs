//! Elastic deformation (spec §2.6, Semantic Genesis only): two U[−1,1) fields smoothed by a
//! zero-padded Gaussian (σ = 8, truncated at 4σ), scaled by α = 991, displace every voxel
//! in-plane (x and y; slices never move in z). The warped volume is resampled bilinearly with
//! half-sample-symmetric reflection at the borders (`map_coordinates(order=1,
//! mode="reflect")`). The pipeline keeps the restoration target un-warped.
//!
//! Speed: the smoothing is evaluated on a grid 4× coarser per axis and interpolated back
//! (`decimation`, see the `smooth` module); set `decimation = 1` for the exact filter. The
//! tests bound the displacement difference between the two.
//!
//! 2D images (depth 1): the original has no 2D code. The fields are smoothed in-plane only and
//! scaled by `alpha_2d`, chosen so that the displacement has the same spread as in 3D
//! (α·√(Σw²) of the missing z pass: 991 · 0.1878 ≈ 186).

use serde::{Deserialize, Serialize};

use super::float::{exact_index, floor_small};
use super::smooth::{gaussian_kernel, smooth};
use super::{Apply, Transform, TransformError, check, draw};
use crate::rng::{GenesisRng, Rng, stream};
use crate::scratch;
use crate::volume::Volume;

/// Largest kernel radius accepted (voxels).
const MAX_RADIUS: f64 = 1024.0;

/// The elastic warp; its fields are its config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Elastic {
    /// Displacement scale for 3D volumes (991).
    pub alpha: f64,
    /// Displacement scale for 2D images (≈186, same spread as 3D).
    pub alpha_2d: f64,
    /// Gaussian standard deviation in voxels (8).
    pub sigma: f64,
    /// Kernel radius in standard deviations (4, SciPy's default).
    pub truncate: f64,
    /// Coarse-grid factor of the smoothing (4; 1 = exact).
    pub decimation: usize,
}

impl Default for Elastic {
    fn default() -> Self {
        let (alpha, sigma, truncate) = (991.0, 8.0, 4.0);
        let energy: f64 = gaussian_kernel(sigma, truncate).iter().map(|w| w * w).sum();
        Self { alpha, alpha_2d: alpha * energy.sqrt(), sigma, truncate, decimation: 4 }
    }
}

/// One drawn warp.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ElasticParams {
    /// Shape the draw is for.
    pub shape: [usize; 3],
    /// Displacement scale used (α or α₂D).
    pub alpha: f64,
    /// Gaussian standard deviation.
    pub sigma: f64,
    /// Kernel radius in standard deviations.
    pub truncate: f64,
    /// Coarse-grid factor (1 = exact).
    pub decimation: usize,
    /// Sub-seed of the random fields.
    pub seed: u64,
}

impl Transform for Elastic {
    type Params = ElasticParams;

    fn sample(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> ElasticParams {
        ElasticParams {
            shape,
            alpha: if shape[2] == 1 { self.alpha_2d } else { self.alpha },
            sigma: self.sigma,
            truncate: self.truncate,
            decimation: self.decimation,
            seed: rng.next_u64(),
        }
    }
}

/// Index of integer position `i` after half-sample-symmetric reflection into `0..n`.
#[inline]
fn reflect(i: i32, n: usize) -> usize {
    if (i as u32 as usize) < n {
        return i as usize;
    }
    let period = 2 * n as i64;
    let m = i64::from(i).rem_euclid(period) as usize;
    if m >= n { 2 * n - 1 - m } else { m }
}

#[inline]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + t * (b - a)
}

/// The two lower sample indices and weight of continuous position `c` on an axis of `n`.
#[inline]
fn taps(c: f32, n: usize) -> (usize, usize, f32) {
    // `floor` is a libm call on baseline x86-64; truncate and correct instead.
    let t = c as i32;
    let i = if (t as f32) > c { t - 1 } else { t };
    (reflect(i, n), reflect(i + 1, n), c - i as f32)
}

impl ElasticParams {
    fn validate(&self) -> Result<(), TransformError> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if !ok(self.alpha) || !ok(self.sigma) || !ok(self.truncate) {
            return Err(TransformError::Config(format!(
                "elastic alpha, sigma and truncate must be finite and ≥ 0 (got {}, {}, {})",
                self.alpha, self.sigma, self.truncate
            )));
        }
        if self.sigma * self.truncate > MAX_RADIUS || self.decimation == 0 {
            return Err(TransformError::Config(format!(
                "elastic kernel radius σ·truncate must be ≤ {MAX_RADIUS} and decimation ≥ 1"
            )));
        }
        Ok(())
    }

    /// The in-plane displacement fields `[d_x, d_y]` (voxels, x-major like the volume).
    pub fn displacement(&self) -> Result<[Vec<f32>; 2], TransformError> {
        self.validate()?;
        let n: usize = crate::volume::voxel_count(self.shape)?;
        let kernel = gaussian_kernel(self.sigma, self.truncate);
        let planar = self.shape[2] == 1;
        let mut noise = draw::Noise::new(&mut stream(self.seed, "elastic/field", &[]));
        let mut field = scratch::zeroed(n);
        let fields = [0, 1].map(|_| {
            noise.fill_symmetric(&mut field);
            smooth(&field, self.shape, planar, &kernel, self.alpha, self.decimation)
        });
        scratch::recycle(field);
        Ok(fields)
    }

    /// Warps checked voxels.
    pub(crate) fn apply_valid(&self, volume: &mut Volume) -> Result<(), TransformError> {
        let src = Volume::new(volume.shape(), scratch::copy(volume.data()))?;
        self.warp(&src, volume)?;
        scratch::recycle(src.into_data());
        Ok(())
    }

    /// Writes `src` (checked voxels of the drawn shape) warped into `out` (the same shape).
    pub(crate) fn warp(&self, src: &Volume, out: &mut Volume) -> Result<(), TransformError> {
        let [dx, dy] = self.displacement()?;
        // Rounding may overshoot an interpolated pair by an ulp: clamp to the input's range.
        let (lo, hi) = src.min_max();
        let (src, out) = (src.data(), out.data_mut());
        let [nx, ny, nz] = self.shape;
        let plane = ny * nz;
        let coords = PlaneCoords::new(ny, nz);
        // The branch-free path computes flat indices exactly in f32.
        let small = out.len() <= 1 << 23;
        for x in 0..nx {
            for k0 in (0..plane).step_by(CHUNK) {
                let run = Run { x, k0, len: CHUNK.min(plane - k0) };
                let at = x * plane + k0;
                let d = [&dx[at..at + run.len], &dy[at..at + run.len]];
                let dst = &mut out[at..at + run.len];
                if !(small && warp_once_reflected(src, self.shape, &coords, run, d, dst)) {
                    warp_reflected(src, self.shape, &coords, run, d, dst);
                }
                for v in dst {
                    *v = v.clamp(lo, hi);
                }
            }
        }
        for buffer in [dx, dy] {
            scratch::recycle(buffer);
        }
        Ok(())
    }
}

/// Voxels of an x-plane processed together by the warp.
const CHUNK: usize = 64;

/// `len` consecutive voxels of the x-plane `x`, from in-plane flat index `k0 = y·nz + z`.
#[derive(Clone, Copy)]
struct Run {
    x: usize,
    k0: usize,
    len: usize,
}

/// The y and z coordinates of every in-plane flat index `y·nz + z`, so that a run can span
/// several z-columns (2D images have columns of one voxel).
struct PlaneCoords {
    y: Vec<f32>,
    z: Vec<f32>,
}

impl PlaneCoords {
    fn new(ny: usize, nz: usize) -> Self {
        let y = (0..ny * nz).map(|k| (k / nz) as f32).collect();
        let z = (0..ny * nz).map(|k| (k % nz) as f32).collect();
        Self { y, z }
    }
}

/// Bilinear warp of a run whose sample positions need at most one reflection at the borders
/// (displacements shorter than the axis), in a volume of at most 2²³ voxels. Index and weight
/// arithmetic, the gathers and the interpolation run as separate loops, and the indices are
/// computed exactly in f32 (SSE2 has no 32-bit integer multiply), so the arithmetic
/// vectorises. Runs whose taps all lie inside the volume (most of them) compute one index per
/// voxel and reach the other three taps by the axis strides. Returns false (writing nothing)
/// when a position lies further out. Same values as [`warp_reflected`].
fn warp_once_reflected(
    src: &[f32],
    shape: [usize; 3],
    coords: &PlaneCoords,
    run: Run,
    d: [&[f32]; 2],
    out: &mut [f32],
) -> bool {
    let [nx, ny, nz] = shape.map(|n| n as f32);
    let plane = ny * nz;
    let (cx, cy) = (&mut [0f32; CHUNK], &mut [0f32; CHUNK]);
    let (ys, zs) = (&coords.y[run.k0..][..run.len], &coords.z[run.k0..][..run.len]);
    let (mut once, mut inside) = (true, true);
    for k in 0..run.len {
        (cx[k], cy[k]) = (run.x as f32 + d[0][k], ys[k] + d[1][k]);
        once &= within_one_reflection(cx[k], nx) & within_one_reflection(cy[k], ny);
        inside &= (cx[k] >= 0.0) & (cx[k] < nx - 1.0) & (cy[k] >= 0.0) & (cy[k] < ny - 1.0);
    }
    if !once {
        return false;
    }
    // Each branch computes the floors and weights in its own index loop: hoisting them into
    // the loop above measured 6–8 % slower (more arrays stored and reloaded).
    let (tx, ty) = (&mut [0f32; CHUNK], &mut [0f32; CHUNK]);
    let values = &mut [[0f32; CHUNK]; 4];
    if inside {
        let first = &mut [0u32; CHUNK];
        for k in 0..run.len {
            let (fx, fy) = (floor_small(cx[k]), floor_small(cy[k]));
            (tx[k], ty[k]) = (cx[k] - fx, cy[k] - fy);
            first[k] = exact_index(fx * plane + fy * nz + zs[k]);
        }
        let [_, step_y, step_x] = [0, shape[2], shape[1] * shape[2]];
        let [v00, v01, v10, v11] = values;
        for k in 0..run.len {
            let at = first[k] as usize;
            (v00[k], v01[k]) = (src[at], src[at + step_y]);
            (v10[k], v11[k]) = (src[at + step_x], src[at + step_x + step_y]);
        }
    } else {
        let corners = &mut [[0u32; CHUNK]; 4];
        for k in 0..run.len {
            let (fx, fy) = (floor_small(cx[k]), floor_small(cy[k]));
            (tx[k], ty[k]) = (cx[k] - fx, cy[k] - fy);
            let (x0, x1) = (mirror(fx, nx) * plane, mirror(fx + 1.0, nx) * plane);
            let (y0, y1) = (mirror(fy, ny) * nz + zs[k], mirror(fy + 1.0, ny) * nz + zs[k]);
            for (c, at) in corners.iter_mut().zip([x0 + y0, x0 + y1, x1 + y0, x1 + y1]) {
                c[k] = exact_index(at);
            }
        }
        for (v, c) in values.iter_mut().zip(corners.iter()) {
            for k in 0..run.len {
                v[k] = src[c[k] as usize];
            }
        }
    }
    for (k, o) in out.iter_mut().enumerate().take(run.len) {
        let v0 = lerp(values[0][k], values[1][k], ty[k]);
        let v1 = lerp(values[2][k], values[3][k], ty[k]);
        *o = lerp(v0, v1, tx[k]);
    }
    true
}

/// True when position `c` has both bilinear taps in `[−n, 2n)`.
#[inline]
fn within_one_reflection(c: f32, n: f32) -> bool {
    c >= -n && c < 2.0 * n - 1.0
}

/// [`reflect`] of an integer-valued `i ∈ [−n, 2n)`, exactly in f32 and branch-free:
/// `h − ||i + ½| − ½ − h|` with `h = n − ½` folds first the negative side, then the far side.
#[inline]
fn mirror(i: f32, n: f32) -> f32 {
    let h = n - 0.5;
    h - (((i + 0.5).abs() - 0.5) - h).abs()
}

/// Bilinear warp of a run with half-sample-symmetric reflection at the borders.
fn warp_reflected(
    src: &[f32],
    shape: [usize; 3],
    coords: &PlaneCoords,
    run: Run,
    d: [&[f32]; 2],
    out: &mut [f32],
) {
    let [nx, ny, nz] = shape;
    for (k, o) in out.iter_mut().enumerate().take(run.len) {
        let (y, z) = (coords.y[run.k0 + k], coords.z[run.k0 + k] as usize);
        let (x0, x1, tx) = taps(run.x as f32 + d[0][k], nx);
        let (y0, y1, ty) = taps(y + d[1][k], ny);
        let at = |a: usize, b: usize| src[(a * ny + b) * nz + z];
        *o = lerp(lerp(at(x0, y0), at(x0, y1), ty), lerp(at(x1, y0), at(x1, y1), ty), tx);
    }
}

impl Apply for ElasticParams {
    fn apply(&self, volume: &mut Volume) -> Result<(), TransformError> {
        check(volume, Some(self.shape))?;
        self.apply_valid(volume)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUBE: [usize; 3] = [64, 64, 32];

    fn draw(seed: u64, shape: [usize; 3]) -> ElasticParams {
        Elastic::default().sample(&mut stream(seed, "elastic-test", &[]), shape)
    }

    #[test]
    fn coarse_smoothing_matches_the_exact_filter() {
        for shape in [CUBE, [37, 50, 9], [224, 224, 1]] {
            let p = draw(1, shape);
            let fast = p.displacement().unwrap();
            let exact = ElasticParams { decimation: 1, ..p }.displacement().unwrap();
            for (f, e) in fast.iter().zip(&exact) {
                let worst = f.iter().zip(e).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                let scale = e.iter().map(|v| v.abs()).fold(0.0, f32::max);
                // Displacements reach ~10 voxels; the approximation stays within 0.025.
                assert!(
                    worst < 0.025,
                    "{shape:?}: max difference {worst} voxels (max |d| {scale})"
                );
            }
        }
    }

    /// Spec §2.10 quotes a central std of ≈2.7 voxels and a mean max |d| of ≈8.7. The std of
    /// a zero-padded Gaussian-smoothed U[−1,1) field far from the borders is analytic,
    /// α·√(Σw³ᴰ²/3) ≈ 3.79 voxels, which this implementation meets; the spec's 2.7 is that
    /// value over √2, so its measurement must have pooled differently (see docs/transforms.md).
    /// The max is checked against the spec with a tolerance.
    #[test]
    fn displacement_statistics_match_reference() {
        let (mut central_var, mut central_n, mut max_sum) = (0.0f64, 0usize, 0.0f64);
        let draws = 150;
        for seed in 0..draws {
            let [dx, dy] = draw(seed, CUBE).displacement().unwrap();
            for d in [&dx, &dy] {
                max_sum += f64::from(d.iter().fold(0.0f32, |m, v| m.max(v.abs())));
                // The central 16×16×8 block, where zero padding barely matters.
                for x in 24..40 {
                    for y in 24..40 {
                        for z in 12..20 {
                            central_var += f64::from(d[(x * 64 + y) * 32 + z]).powi(2);
                            central_n += 1;
                        }
                    }
                }
            }
        }
        let std = (central_var / central_n as f64).sqrt();
        let w = gaussian_kernel(8.0, 4.0);
        let energy: f64 = w.iter().map(|v| v * v).sum();
        let analytic = 991.0 * (energy.powi(3) / 3.0).sqrt();
        assert!((std / analytic - 1.0).abs() < 0.1, "central std {std}, analytic {analytic}");
        let mean_max = max_sum / (2 * draws) as f64;
        assert!((mean_max / 8.7 - 1.0).abs() < 0.15, "mean max |d| {mean_max}");
    }

    #[test]
    fn warp_is_in_plane_and_keeps_values_in_range() {
        let n: usize = CUBE.iter().product();
        // Constant along x and y: an in-plane warp cannot change it.
        let data: Vec<f32> = (0..n).map(|i| (i % 32) as f32 / 31.0).collect();
        let mut v = Volume::new(CUBE, data.clone()).unwrap();
        draw(3, CUBE).apply(&mut v).unwrap();
        assert!(v.data().iter().zip(&data).all(|(a, b)| (a - b).abs() < 1e-6));
        let noise: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 999.0).collect();
        let mut w = Volume::new(CUBE, noise.clone()).unwrap();
        draw(4, CUBE).apply(&mut w).unwrap();
        assert!(w.data().iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(w.data() != &noise[..]);
    }

    #[test]
    fn branch_free_warp_matches_the_general_one() {
        let shape = [40, 36, 9];
        let plane = 36 * 9;
        let [dx, dy] = draw(6, shape).displacement().unwrap();
        let src: Vec<f32> = (0..40 * plane).map(|i| ((i * 7919) % 1000) as f32 / 999.0).collect();
        let coords = PlaneCoords::new(36, 9);
        // Runs compared whose taps all lie inside (one index per voxel) and the others.
        let (mut inside, mut reflected) = (0, 0);
        for x in 0..40 {
            for k0 in (0..plane).step_by(CHUNK) {
                let run = Run { x, k0, len: CHUNK.min(plane - k0) };
                let at = x * plane + k0;
                let d = [&dx[at..at + run.len], &dy[at..at + run.len]];
                let (mut fast, mut general) = (vec![0.0; run.len], vec![0.0; run.len]);
                if warp_once_reflected(&src, shape, &coords, run, d, &mut fast) {
                    warp_reflected(&src, shape, &coords, run, d, &mut general);
                    assert_eq!(fast, general, "run {x}, {k0}");
                    let all_inside = (0..run.len).all(|k| {
                        let (cx, cy) = (x as f32 + d[0][k], coords.y[k0 + k] + d[1][k]);
                        (0.0..39.0).contains(&cx) && (0.0..35.0).contains(&cy)
                    });
                    *if all_inside { &mut inside } else { &mut reflected } += 1;
                }
            }
        }
        assert!(inside > 50 && reflected > 50, "{inside} inside, {reflected} reflected");
    }

    #[test]
    fn single_reflection_matches_the_general_one() {
        for n in [1, 2, 5, 64] {
            for i in -n..2 * n {
                let r = mirror(i as f32, n as f32);
                assert_eq!(r as usize, reflect(i, n as usize), "{i} on {n}");
            }
        }
    }

    #[test]
    fn reflection_is_half_sample_symmetric() {
        let n = 4;
        let got: Vec<usize> = (-9..13).map(|i| reflect(i, n)).collect();
        // ... 3 2 1 0 | 0 1 2 3 | 3 2 1 0 | 0 1 2 3 ...
        let want = [0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3];
        assert_eq!(got, want);
        assert_eq!(reflect(0, 1), 0);
        assert_eq!(reflect(-5, 1), 0);
    }

    #[test]
    fn bad_settings_fail_clearly() {
        let p = ElasticParams { sigma: f64::NAN, ..draw(5, [8, 8, 8]) };
        assert!(matches!(p.displacement(), Err(TransformError::Config(_))));
        let q = ElasticParams { decimation: 0, ..draw(5, [8, 8, 8]) };
        assert!(matches!(q.displacement(), Err(TransformError::Config(_))));
    }
}

//! 3×3×3 and 3×3 convolutions (stride 1, padding 1, bias) on the CPU as shifted matrix
//! products.
//!
//! The batch is copied once into a zero-padded, channels-last buffer: one row of `C` values per
//! padded voxel, volumes one after another. In that layout the tap `(a, b, c)` of every output
//! voxel is the row at a fixed distance from it, and the three taps of one kernel column
//! `(a, b)` are three consecutive rows, one contiguous run of `3·C` values. So the convolution
//! is one matrix product per kernel column (rows × 3·C_in by 3·C_in × C_out), nine for a 3-D
//! kernel and three for a 2-D one, accumulated, with no im2col copy. The rows between volumes
//! are padding: results there are never read, and the taps of an interior voxel never leave
//! its own volume. The input and weight gradients are the same products with the roles
//! exchanged; the weight gradient splits the rows into parts run in parallel (one product with a
//! very long inner dimension runs mostly on one core), fixed by the shape so that results do not
//! depend on the thread count. Images are volumes of depth 1 with a kernel of depth 1 (no
//! padding along that axis).

use crate::parallel;

/// The shape of one convolution: `[batch, c_in, X, Y, Z]` in, `[batch, c_out, X, Y, Z]` out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Volumes in the batch.
    pub batch: usize,
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Spatial size `[X, Y, Z]`; an image `[H, W]` is `[1, H, W]`.
    pub dims: [usize; 3],
    /// The kernel's extent along X: 3 for volumes, 1 for images.
    pub depth: usize,
}

impl ConvShape {
    /// Taps per kernel: 27 or 9, in PyTorch's weight order (the last axis fastest).
    fn taps(&self) -> usize {
        9 * self.depth
    }

    /// Kernel columns: the kernel positions but the last axis, each holding three taps.
    fn columns(&self) -> usize {
        3 * self.depth
    }

    /// Voxels per volume.
    fn voxels(&self) -> usize {
        self.dims.iter().product()
    }
}

/// The gradients of one convolution; `None` where they were not asked for.
pub struct ConvGrads {
    /// `[batch, c_in, X, Y, Z]`.
    pub input: Option<Vec<f32>>,
    /// `[c_out, c_in, 3(, 3), 3]`.
    pub weight: Option<Vec<f32>>,
    /// `[c_out]`.
    pub bias: Vec<f32>,
}

/// The padded, channels-last row geometry of a batch.
#[derive(Clone, Copy)]
struct Grid {
    shape: ConvShape,
    /// Zero planes before and after each volume along X: 1 for volumes, 0 for images.
    margin: usize,
    /// Rows per padded x-plane: `(Y + 2)(Z + 2)`.
    plane: usize,
    /// Rows per padded y-line: `Z + 2`.
    line: usize,
    /// Rows per padded volume.
    volume: usize,
}

impl Grid {
    fn new(shape: ConvShape) -> Self {
        let [x, y, z] = shape.dims;
        let margin = shape.depth / 2;
        let line = z + 2;
        let plane = (y + 2) * line;
        Self { shape, margin, plane, line, volume: (x + 2 * margin) * plane }
    }

    /// Rows of the whole padded batch.
    fn rows(&self) -> usize {
        self.shape.batch * self.volume
    }

    /// The first row whose every tap lies inside the buffer; the computed range is
    /// `first..rows - first`.
    fn first(&self) -> usize {
        self.margin * self.plane + self.line + 1
    }

    /// Rows computed: `rows - 2·first`.
    fn len(&self) -> usize {
        self.rows() - 2 * self.first()
    }

    /// Row offset of `tap` from the voxel it serves, plus `first` (so it is never negative).
    fn tap_row(&self, tap: usize) -> usize {
        (tap / 9) * self.plane + (tap / 3 % 3) * self.line + tap % 3
    }

    /// The padded row of interior voxel `(n, x, y, 0)`.
    fn row_start(&self, n: usize, x: usize, y: usize) -> usize {
        n * self.volume + (x + self.margin) * self.plane + (y + 1) * self.line + 1
    }

    /// Channels-first `[batch, C, X, Y, Z]` → zero-padded channels-last rows; one padded
    /// x-plane per task.
    fn pad(&self, src: &[f32], channels: usize) -> Vec<f32> {
        let [sx, sy, sz] = self.shape.dims;
        let voxels = self.shape.voxels();
        assert_eq!(src.len(), self.shape.batch * channels * voxels, "shift conv: input size");
        let mut dst = vec![0.0; self.rows() * channels];
        let planes: Vec<&mut [f32]> = dst.chunks_mut(self.plane * channels).collect();
        let per_volume = sx + 2 * self.margin;
        parallel::for_each(planes, |q, plane| {
            let (n, x) = (q / per_volume, q % per_volume);
            if x < self.margin || x >= sx + self.margin {
                return;
            }
            let x = x - self.margin;
            for y in 0..sy {
                let row = (y + 1) * self.line + 1;
                let line = &mut plane[row * channels..(row + sz) * channels];
                for c in 0..channels {
                    let from = ((n * channels + c) * sx + x) * sy * sz + y * sz;
                    for (z, &v) in src[from..from + sz].iter().enumerate() {
                        line[z * channels + c] = v;
                    }
                }
            }
        });
        dst
    }

    /// Padded channels-last rows → channels-first `[batch, C, X, Y, Z]` (interior only), plus
    /// `bias[c]` when given; one `(n, x)` plane (all channels) per task.
    fn crop(&self, src: &[f32], channels: usize, bias: Option<&[f32]>) -> Vec<f32> {
        let [sx, sy, sz] = self.shape.dims;
        let mut dst = vec![0.0; self.shape.batch * channels * self.shape.voxels()];
        let mut groups: Vec<Vec<&mut [f32]>> =
            (0..self.shape.batch * sx).map(|_| Vec::with_capacity(channels)).collect();
        for (k, plane) in dst.chunks_mut(sy * sz).enumerate() {
            // `k = (n·C + c)·X + x`.
            groups[k / (channels * sx) * sx + k % sx].push(plane);
        }
        parallel::for_each(groups, |g, mut planes| {
            let (n, x) = (g / sx, g % sx);
            for y in 0..sy {
                let row = self.row_start(n, x, y);
                let line = &src[row * channels..(row + sz) * channels];
                for (c, plane) in planes.iter_mut().enumerate() {
                    let add = bias.map_or(0.0, |b| b[c]);
                    for (z, v) in plane[y * sz..(y + 1) * sz].iter_mut().enumerate() {
                        *v = line[z * channels + c] + add;
                    }
                }
            }
        });
        dst
    }
}

/// A strided matrix inside a slice: element `(i, j)` is `data[offset + i·rows + j·cols]`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    offset: usize,
    rows: usize,
    cols: usize,
}

/// `dst[offset..] (m × n, row-major, row stride dst_rows) (+)= lhs (m × k) · rhs (k × n)`.
///
/// Every index the product touches is checked against the slices first, so the unchecked
/// kernel call stays in bounds.
#[allow(clippy::too_many_arguments)]
fn product(
    dst: &mut [f32],
    offset: usize,
    dst_rows: usize,
    accumulate: bool,
    [m, n, k]: [usize; 3],
    lhs: View,
    rhs: View,
    parallel: bool,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let last = |v: View, r: usize, c: usize| v.offset + (r - 1) * v.rows + (c - 1) * v.cols;
    assert!(last(lhs, m, k) < lhs.data.len(), "shift conv: lhs out of bounds");
    assert!(last(rhs, k, n) < rhs.data.len(), "shift conv: rhs out of bounds");
    assert!(n <= dst_rows, "shift conv: dst rows overlap");
    assert!(offset + (m - 1) * dst_rows + n <= dst.len(), "shift conv: dst out of bounds");
    let parallelism = if parallel { parallel::gemm_parallelism() } else { gemm::Parallelism::None };
    // SAFETY: the asserts above bound every element the product reads or writes; the
    // strides are positive and the slices do not overlap (`dst` is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr().add(offset),
            1,
            dst_rows as isize,
            accumulate,
            lhs.data.as_ptr().add(lhs.offset),
            lhs.cols as isize,
            lhs.rows as isize,
            rhs.data.as_ptr().add(rhs.offset),
            rhs.cols as isize,
            rhs.rows as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `[c_out, c_in, taps]` → a new order: `dest(tap, i, o)` is where weight `[o, i, tap]` goes.
fn rearrange(
    weight: &[f32],
    shape: ConvShape,
    dest: impl Fn(usize, usize, usize) -> usize,
) -> Vec<f32> {
    let ConvShape { c_in, c_out, .. } = shape;
    let taps = shape.taps();
    assert_eq!(weight.len(), c_out * c_in * taps, "shift conv: weight size");
    let mut out = vec![0.0; weight.len()];
    for i in 0..c_in {
        for o in 0..c_out {
            let from = (o * c_in + i) * taps;
            for (tap, &w) in weight[from..from + taps].iter().enumerate() {
                out[dest(tap, i, o)] = w;
            }
        }
    }
    out
}

/// The convolution: `x` `[batch, c_in, X, Y, Z]`, `weight` `[c_out, c_in, 3(, 3), 3]`, `bias`
/// `[c_out]` → `[batch, c_out, X, Y, Z]`.
pub fn forward(shape: ConvShape, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
    let ConvShape { c_in, c_out, .. } = shape;
    assert_eq!(bias.len(), c_out, "shift conv: bias size");
    let grid = Grid::new(shape);
    let padded = grid.pad(x, c_in);
    // `[taps, c_in, c_out]`: for each column, a `3·c_in × c_out` matrix.
    let taps = rearrange(weight, shape, |t, i, o| (t * c_in + i) * c_out + o);
    let mut out = vec![0.0; grid.rows() * c_out];
    let first = grid.first();
    for column in 0..shape.columns() {
        let lhs =
            View { data: &padded, offset: grid.tap_row(3 * column) * c_in, rows: c_in, cols: 1 };
        let rhs = View { data: &taps, offset: 3 * column * c_in * c_out, rows: c_out, cols: 1 };
        let dims = [grid.len(), c_out, 3 * c_in];
        product(&mut out, first * c_out, c_out, column > 0, dims, lhs, rhs, true);
    }
    grid.crop(&out, c_out, Some(bias))
}

/// The gradients of [`forward`] given the output gradient `out_grad` `[batch, c_out, X, Y, Z]`:
/// the input's when `input` is set, the weight's when `weight` is set, and always the bias's.
pub fn gradients(
    shape: ConvShape,
    x: &[f32],
    weight: &[f32],
    out_grad: &[f32],
    [input, weight_wanted]: [bool; 2],
) -> ConvGrads {
    let grid = Grid::new(shape);
    let padded_grad = grid.pad(out_grad, shape.c_out);
    let input = input.then(|| input_grad(&grid, &padded_grad, weight));
    let weight = weight_wanted.then(|| weight_grad(&grid, &grid.pad(x, shape.c_in), &padded_grad));
    let mut bias = vec![0.0; shape.c_out];
    for (i, plane) in out_grad.chunks_exact(shape.voxels()).enumerate() {
        bias[i % shape.c_out] += sum(plane);
    }
    ConvGrads { input, weight, bias }
}

/// The sum of `values` in eight independent lanes (a single running sum waits on every add).
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `dx[r] = Σ_tap dy[r − shift(tap)] · W_tapᵀ`, then cropped to channels-first. Per kernel
/// column the three last-axis taps read three consecutive rows of `dy`, last tap first.
fn input_grad(grid: &Grid, padded_grad: &[f32], weight: &[f32]) -> Vec<f32> {
    let ConvShape { c_in, c_out, .. } = grid.shape;
    // `[columns, 3 taps reversed, c_out, c_in]`.
    let taps =
        rearrange(weight, grid.shape, |t, i, o| ((t / 3 * 3 + 2 - t % 3) * c_out + o) * c_in + i);
    let first = grid.first();
    let mut dx = vec![0.0; grid.rows() * c_in];
    for column in 0..grid.shape.columns() {
        // dy row r − shift(tap) for output row `first + j` is row `2·first − tap_row + j`;
        // the column's last tap gives the lowest row.
        let from = 2 * first - grid.tap_row(3 * column + 2);
        let lhs = View { data: padded_grad, offset: from * c_out, rows: c_out, cols: 1 };
        let rhs = View { data: &taps, offset: 3 * column * c_out * c_in, rows: c_in, cols: 1 };
        let dims = [grid.len(), c_in, 3 * c_out];
        product(&mut dx, first * c_in, c_in, column > 0, dims, lhs, rhs, true);
    }
    grid.crop(&dx, c_in, None)
}

/// Rows per part of the weight gradient's split, and the most parts (each holds a copy of the
/// weight gradient).
const ROWS_PER_PART: usize = 1024;
const MAX_PARTS: usize = 8;

/// `dW_tap = Σ_r dy[r]ᵀ · x[r + shift(tap)]` (three taps per product), the rows split into
/// parts run in parallel, summed in order, and returned in PyTorch's `[c_out, c_in, 3(, 3), 3]` order.
fn weight_grad(grid: &Grid, padded_x: &[f32], padded_grad: &[f32]) -> Vec<f32> {
    let ConvShape { c_in, c_out, .. } = grid.shape;
    let (first, len, columns, taps) =
        (grid.first(), grid.len(), grid.shape.columns(), grid.shape.taps());
    // The split depends on the shape only, so the sums (and their rounding) are the same on
    // any number of threads.
    let parts = len.div_ceil(ROWS_PER_PART).clamp(1, MAX_PARTS);
    let per_column = c_out * 3 * c_in;
    // Each part: `[columns, c_out, 3 taps, c_in]`.
    let partial = parallel::map(parts, |part| {
        let (start, end) = (len * part / parts, len * (part + 1) / parts);
        let mut sums = vec![0.0; columns * per_column];
        for column in 0..columns {
            let lhs =
                View { data: padded_grad, offset: (first + start) * c_out, rows: 1, cols: c_out };
            let from = start + grid.tap_row(3 * column);
            let rhs = View { data: padded_x, offset: from * c_in, rows: c_in, cols: 1 };
            let dims = [c_out, 3 * c_in, end - start];
            product(&mut sums, column * per_column, 3 * c_in, false, dims, lhs, rhs, false);
        }
        sums
    });
    let mut partial = partial.into_iter();
    let mut total = partial.next().expect("shift conv: at least one part");
    for sums in partial {
        total.iter_mut().zip(&sums).for_each(|(t, v)| *t += v);
    }
    let mut weight = vec![0.0; taps * c_out * c_in];
    for (column, per_column) in total.chunks_exact(per_column).enumerate() {
        for (o, per_out) in per_column.chunks_exact(3 * c_in).enumerate() {
            for (z, per_tap) in per_out.chunks_exact(c_in).enumerate() {
                for (i, &v) in per_tap.iter().enumerate() {
                    weight[(o * c_in + i) * taps + 3 * column + z] = v;
                }
            }
        }
    }
    weight
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Calls `f(output index, input index, weight index)` for every product term of the
    /// convolution, skipping taps in the zero padding.
    fn naive_terms(shape: ConvShape, mut f: impl FnMut(usize, usize, usize)) {
        let ConvShape { batch, c_in, c_out, dims: [sx, sy, sz], depth } = shape;
        let v = shape.voxels();
        // The input coordinate that kernel offset `k` (of a kernel `width` wide, centred)
        // reads for output coordinate `at`, if inside.
        let source = |at: usize, k: usize, width: usize, size: usize| {
            (at + k).checked_sub(width / 2).filter(|&p| p < size)
        };
        for n in 0..batch {
            for (o, i) in (0..c_out).flat_map(|o| (0..c_in).map(move |i| (o, i))) {
                for (x, y, z) in (0..v).map(|k| (k / (sy * sz), k / sz % sy, k % sz)) {
                    for t in 0..shape.taps() {
                        let (Some(a), Some(b), Some(c)) = (
                            source(x, t / 9, depth, sx),
                            source(y, t / 3 % 3, 3, sy),
                            source(z, t % 3, 3, sz),
                        ) else {
                            continue;
                        };
                        let out = (n * c_out + o) * v + (x * sy + y) * sz + z;
                        let inp = (n * c_in + i) * v + (a * sy + b) * sz + c;
                        f(out, inp, (o * c_in + i) * shape.taps() + t);
                    }
                }
            }
        }
    }

    fn assert_close(got: &[f32], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!((g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()), "{what}[{i}]: {g} vs {w}");
        }
    }

    fn check(shape: ConvShape) {
        let ConvShape { batch, c_in, c_out, .. } = shape;
        let v = shape.voxels();
        let x = values(batch * c_in * v, 1);
        let w = values(c_out * c_in * shape.taps(), 2);
        let b = values(c_out, 3);
        let dy = values(batch * c_out * v, 4);
        let mut y: Vec<f64> = (0..batch * c_out * v).map(|i| b[i / v % c_out] as f64).collect();
        let mut dx = vec![0f64; x.len()];
        let mut dw = vec![0f64; w.len()];
        let mut db = vec![0f64; c_out];
        naive_terms(shape, |out, inp, wi| {
            y[out] += x[inp] as f64 * w[wi] as f64;
            dx[inp] += dy[out] as f64 * w[wi] as f64;
            dw[wi] += dy[out] as f64 * x[inp] as f64;
        });
        for (i, &g) in dy.iter().enumerate() {
            db[i / v % c_out] += g as f64;
        }
        assert_close(&forward(shape, &x, &w, &b), &y, "forward");
        let grads = gradients(shape, &x, &w, &dy, [true, true]);
        assert_close(&grads.input.unwrap(), &dx, "input grad");
        assert_close(&grads.weight.unwrap(), &dw, "weight grad");
        assert_close(&grads.bias, &db, "bias grad");
        let none = gradients(shape, &x, &w, &dy, [false, false]);
        assert!(none.input.is_none() && none.weight.is_none());
    }

    #[test]
    fn matches_a_naive_volume_convolution() {
        check(ConvShape { batch: 1, c_in: 3, c_out: 2, dims: [4, 5, 6], depth: 3 });
        check(ConvShape { batch: 2, c_in: 5, c_out: 7, dims: [3, 2, 4], depth: 3 });
        check(ConvShape { batch: 3, c_in: 1, c_out: 1, dims: [1, 1, 1], depth: 3 });
    }

    /// Same bytes on one thread and on three.
    #[cfg(not(target_family = "wasm"))]
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let shape = ConvShape { batch: 2, c_in: 16, c_out: 8, dims: [6, 20, 18], depth: 3 };
        let v = shape.voxels();
        let (x, w, b) = (values(2 * 16 * v, 5), values(8 * 16 * 27, 6), values(8, 7));
        let dy = values(2 * 8 * v, 8);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let g = gradients(shape, &x, &w, &dy, [true, true]);
                [forward(shape, &x, &w, &b), g.input.unwrap(), g.weight.unwrap(), g.bias]
            })
        };
        let bits = |r: [Vec<f32>; 4]| r.map(|v| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>());
        assert_eq!(bits(run(1)), bits(run(3)));
    }

    #[test]
    fn matches_a_naive_image_convolution() {
        check(ConvShape { batch: 1, c_in: 3, c_out: 2, dims: [1, 5, 6], depth: 1 });
        check(ConvShape { batch: 3, c_in: 4, c_out: 5, dims: [1, 3, 2], depth: 1 });
        check(ConvShape { batch: 2, c_in: 1, c_out: 1, dims: [1, 1, 1], depth: 1 });
    }
}

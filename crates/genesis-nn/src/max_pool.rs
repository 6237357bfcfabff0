//! 2× max pooling (kernel 2, stride 2) of `[N, C, X, Y, Z]` volumes or `[N, C, H, W]` images on
//! the CPU, remembering where each maximum was so the gradient goes straight back there (one
//! pass each way, where burn's composite of three `max_dim`s scatters three times).

use crate::parallel;

/// The geometry of one pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolShape {
    /// Planes pooled independently: `N·C`.
    pub planes: usize,
    /// The input's spatial size `[X, Y, Z]`, every pooled axis even; an image `[H, W]` is
    /// `[1, H, W]`.
    pub dims: [usize; 3],
    /// The window's extent along X: 2 for volumes, 1 for images.
    pub depth: usize,
}

impl PoolShape {
    /// The output's spatial size.
    pub fn out_dims(&self) -> [usize; 3] {
        let [x, y, z] = self.dims;
        [x / self.depth, y / 2, z / 2]
    }

    fn in_voxels(&self) -> usize {
        self.dims.iter().product()
    }

    fn out_voxels(&self) -> usize {
        self.out_dims().iter().product()
    }

    /// Input offsets (within a plane) of the window of output voxel `o`, in raster order.
    fn window(&self, o: usize) -> impl Iterator<Item = usize> {
        let [_, sy, sz] = self.dims;
        let [_, oy, oz] = self.out_dims();
        let (i, j, k) = (o / (oy * oz), o / oz % oy, o % oz);
        let corner = (i * self.depth * sy + 2 * j) * sz + 2 * k;
        (0..4 * self.depth).map(move |w| corner + ((w >> 2) * sy + (w >> 1 & 1)) * sz + (w & 1))
    }
}

/// The pooled values and, per output voxel, the index in its window (raster order) of the
/// first maximum; a NaN counts as the maximum, as in PyTorch.
pub fn forward(shape: PoolShape, x: &[f32]) -> (Vec<f32>, Vec<u8>) {
    let (in_voxels, out_voxels) = (shape.in_voxels(), shape.out_voxels());
    assert_eq!(x.len(), shape.planes * in_voxels, "max pool: input size");
    let mut out = vec![0.0; shape.planes * out_voxels];
    let mut argmax = vec![0u8; out.len()];
    let planes: Vec<_> =
        out.chunks_mut(out_voxels.max(1)).zip(argmax.chunks_mut(out_voxels.max(1))).collect();
    parallel::for_each(planes, |p, (out, argmax)| {
        let x = &x[p * in_voxels..(p + 1) * in_voxels];
        for (o, (value, at)) in out.iter_mut().zip(argmax.iter_mut()).enumerate() {
            let mut best = (f32::NEG_INFINITY, 0);
            for (w, offset) in shape.window(o).enumerate() {
                let v = x[offset];
                if w == 0 || v > best.0 || (v.is_nan() && !best.0.is_nan()) {
                    best = (v, w as u8);
                }
            }
            (*value, *at) = best;
        }
    });
    (out, argmax)
}

/// The input gradient: each output voxel's gradient goes to its window's maximum, zero
/// elsewhere.
pub fn backward(shape: PoolShape, argmax: &[u8], out_grad: &[f32]) -> Vec<f32> {
    let (in_voxels, out_voxels) = (shape.in_voxels(), shape.out_voxels());
    assert_eq!(argmax.len(), shape.planes * out_voxels, "max pool: argmax size");
    assert_eq!(out_grad.len(), argmax.len(), "max pool: gradient size");
    let mut dx = vec![0.0; shape.planes * in_voxels];
    let planes: Vec<_> = dx.chunks_mut(in_voxels.max(1)).collect();
    parallel::for_each(planes, |p, dx| {
        let range = p * out_voxels..(p + 1) * out_voxels;
        for (o, (&at, &g)) in argmax[range.clone()].iter().zip(&out_grad[range]).enumerate() {
            let offset = shape.window(o).nth(at as usize).expect("max pool: window index");
            dx[offset] = g;
        }
    });
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_volumes_and_routes_gradients_to_the_first_maximum() {
        let shape = PoolShape { planes: 2, dims: [2, 4, 2], depth: 2 };
        // Plane 0: values 0..16; plane 1: all equal (ties: the first position wins).
        let x: Vec<f32> = (0..16).map(|v| v as f32).chain([1.0; 16]).collect();
        let (out, argmax) = forward(shape, &x);
        // Windows of plane 0 (X, Y, Z = 2, 4, 2): the maximum is always the last (index 7).
        assert_eq!(out, [11.0, 15.0, 1.0, 1.0]);
        assert_eq!(argmax, [7, 7, 0, 0]);
        let dx = backward(shape, &argmax, &[1.0, 2.0, 3.0, 4.0]);
        let mut want = vec![0.0; 32];
        (want[11], want[15], want[16], want[20]) = (1.0, 2.0, 3.0, 4.0);
        assert_eq!(dx, want);
    }

    #[test]
    fn pools_images_and_prefers_nan() {
        let shape = PoolShape { planes: 1, dims: [1, 2, 4], depth: 1 };
        let x = [1.0, 5.0, 2.0, f32::NAN, 3.0, 0.0, 9.0, 4.0];
        let (out, argmax) = forward(shape, &x);
        assert_eq!(out[0], 5.0);
        assert!(out[1].is_nan());
        assert_eq!(argmax, [1, 1]);
        assert_eq!(backward(shape, &argmax, &[1.0, 2.0]), [0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0]);
    }
}

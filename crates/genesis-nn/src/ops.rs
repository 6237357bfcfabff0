//! Exact, fast replacements for layers burn lacks or runs slowly: 2× max pooling of 2-D and 3-D
//! maps, and the kernel-2/stride-2 transposed convolution (as a channel matmul plus a pixel
//! shuffle).

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Shape, Tensor};

/// `MaxPool3d(kernel 2, stride 2)` on `[N, C, X, Y, Z]` with even X, Y, Z.
pub fn max_pool3d_2(x: Tensor<5>) -> Tensor<5> {
    let [n, c, sx, sy, sz] = x.dims();
    x.reshape([n, c, sx / 2, 2, sy / 2, 2, sz / 2, 2]).max_dim(7).max_dim(5).max_dim(3).reshape([
        n,
        c,
        sx / 2,
        sy / 2,
        sz / 2,
    ])
}

/// `MaxPool2d(kernel 2, stride 2)` on `[N, C, H, W]` with even H, W.
pub fn max_pool2d_2(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h / 2, 2, w / 2, 2]).max_dim(5).max_dim(3).reshape([n, c, h / 2, w / 2])
}

/// Rearranges `[N, C·8, X·Y·Z]` (channel index `c·8 + a·4 + b·2 + d`) into `[N, C, 2X, 2Y, 2Z]`.
pub fn pixel_shuffle3d(x: Tensor<3>, spatial: [usize; 3]) -> Tensor<5> {
    let [n, c8, _] = x.dims();
    let c = c8 / 8;
    let [sx, sy, sz] = spatial;
    x.reshape([n, c, 2, 2, 2, sx, sy, sz]).permute([0, 1, 5, 2, 6, 3, 7, 4]).reshape([
        n,
        c,
        2 * sx,
        2 * sy,
        2 * sz,
    ])
}

/// Rearranges `[N, C·4, H·W]` (channel index `c·4 + a·2 + b`) into `[N, C, 2H, 2W]`.
pub fn pixel_shuffle2d(x: Tensor<3>, spatial: [usize; 2]) -> Tensor<4> {
    let [n, c4, _] = x.dims();
    let c = c4 / 4;
    let [h, w] = spatial;
    x.reshape([n, c, 2, 2, h, w]).permute([0, 1, 4, 2, 5, 3]).reshape([n, c, 2 * h, 2 * w])
}

/// Kernel-2, stride-2 transposed convolution over `D - 2` spatial axes (D = 5: 3-D, D = 4: 2-D).
///
/// The weight keeps PyTorch's `ConvTranspose{2,3}d` layout `[C_in, C_out, 2, 2(, 2)]`, so
/// PyTorch checkpoints load unchanged. Since the kernels do not overlap, the layer is exactly a
/// matmul over channels to `C_out·2^(D-2)` maps followed by a pixel shuffle.
#[derive(Module, Debug)]
pub struct UpConv<const D: usize> {
    /// `[C_in, C_out, 2, 2(, 2)]`, PyTorch's transposed-convolution layout.
    pub weight: Param<Tensor<D>>,
    /// `[C_out]`.
    pub bias: Param<Tensor<1>>,
}

impl<const D: usize> UpConv<D> {
    /// A layer from `c_in` to `c_out` channels with PyTorch's default initialisation
    /// (kaiming-uniform, a = √5, fan-in taken from the weight's second axis).
    pub fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        let taps = 1 << (D - 2);
        let mut dims = vec![2; D];
        dims[0] = c_in;
        dims[1] = c_out;
        let init = Initializer::KaimingUniform { gain: 1.0 / 3f64.sqrt(), fan_out_only: false };
        let fan_in = Some(c_out * taps);
        Self {
            weight: init.init_with(Shape::from(dims), fan_in, None, device),
            bias: init.init_with([c_out], fan_in, None, device),
        }
    }

    /// The channel mixing: `[N, C_in, S…]` → `[N, C_out·2^(D-2), ∏S]` (bias not added).
    fn mix(&self, x: Tensor<D>) -> Tensor<3> {
        let dims = x.dims();
        let [c_in, c_out] = [dims[1], self.weight.dims()[1]];
        let voxels: usize = dims[2..].iter().product();
        let taps = 1 << (D - 2);
        let w = self.weight.val().reshape([c_in, c_out * taps]).transpose();
        w.unsqueeze::<3>().matmul(x.reshape([dims[0], c_in, voxels]))
    }

    /// The bias broadcast over batch and space.
    fn bias_map(&self) -> Tensor<D> {
        let mut shape = [1; D];
        shape[1] = self.bias.dims()[0];
        self.bias.val().reshape(shape)
    }
}

impl UpConv<5> {
    /// `[N, C_in, X, Y, Z]` → `[N, C_out, 2X, 2Y, 2Z]`.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let [_, _, sx, sy, sz] = x.dims();
        pixel_shuffle3d(self.mix(x), [sx, sy, sz]) + self.bias_map()
    }
}

impl UpConv<4> {
    /// `[N, C_in, H, W]` → `[N, C_out, 2H, 2W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        pixel_shuffle2d(self.mix(x), [h, w]) + self.bias_map()
    }
}

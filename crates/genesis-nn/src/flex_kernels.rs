//! Faster CPU kernels for the U-Nets on Flex, forward and backward, as burn backend extensions
//! for `Flex` and `Autodiff<Flex>` with their own backward steps: the 3×3×3 and 3×3 "same"
//! convolutions ([`shift_conv`](crate::shift_conv)) and 2× max pooling
//! ([`max_pool`](crate::max_pool)). Every other device, and layers of another form, run burn's
//! own operations.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::nn::conv::{Conv2d, Conv3d};
use burn::nn::{PaddingConfig2d, PaddingConfig3d};
use burn::tensor::{DType, Tensor, TensorData};
use std::sync::Arc;

use crate::max_pool::{self, PoolShape};
use crate::shift_conv::{self, ConvShape};

/// Fewer input channels than this run burn's convolution: a product with a short inner
/// dimension is bound by memory, and a network's first layer (one channel) is cheap anyway.
const MIN_CHANNELS_IN: usize = 8;

/// Smaller volumes run burn's convolution: the zero border of the padded rows is a large share
/// of a small volume (16×16×8 computes 58 % more rows than voxels) and each product repacks its
/// weights. Measured per UNet3d layer, forward and backward: faster from 16×16×8 up (up to 2.6×
/// at 64×64×32), slower at 8×8×4; the same holds for UNet2d's layers at 28×28 and up.
const MIN_VOXELS: usize = 2048;

/// The "same" convolution — kernel 3 on every axis, stride 1, padding 1 — with bias, as a
/// backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait SameConv: Backend {
    /// `x` `[N, C_in, S…]`, `weight` `[C_out, C_in, 3…]`, `bias` `[C_out]` → `[N, C_out, S…]`,
    /// for two or three spatial axes `S`.
    fn same_conv(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// A burn convolution layer of rank `D` (5: `Conv3d`, 4: `Conv2d`).
pub trait ConvLayer<const D: usize> {
    /// Kernel 3, stride 1, padding 1, no dilation, no groups and a bias.
    fn is_same_3(&self) -> bool;
    /// The weight and bias tensors.
    fn parameters(&self) -> (Tensor<D>, Option<Tensor<1>>);
    /// burn's own forward pass.
    fn burn_forward(&self, x: Tensor<D>) -> Tensor<D>;
}

impl ConvLayer<5> for Conv3d {
    fn is_same_3(&self) -> bool {
        self.kernel_size == [3; 3]
            && self.stride == [1; 3]
            && self.dilation == [1; 3]
            && self.groups == 1
            && self.padding == PaddingConfig3d::Explicit(1, 1, 1)
            && self.bias.is_some()
    }
    fn parameters(&self) -> (Tensor<5>, Option<Tensor<1>>) {
        (self.weight.val(), self.bias.as_ref().map(|b| b.val()))
    }
    fn burn_forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.forward(x)
    }
}

impl ConvLayer<4> for Conv2d {
    fn is_same_3(&self) -> bool {
        self.kernel_size == [3; 2]
            && self.stride == [1; 2]
            && self.dilation == [1; 2]
            && self.groups == 1
            && self.padding == PaddingConfig2d::Explicit(1, 1, 1, 1)
            && self.bias.is_some()
    }
    fn parameters(&self) -> (Tensor<4>, Option<Tensor<1>>) {
        (self.weight.val(), self.bias.as_ref().map(|b| b.val()))
    }
    fn burn_forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward(x)
    }
}

/// Whether `x` is an f32 tensor on Flex (with or without autodiff).
fn on_flex<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// Whether [`conv`] runs `layer` on `x` through the shifted-product kernels: a "same" 3-wide
/// layer with bias, Flex, f32, at least [`MIN_CHANNELS_IN`] input channels and [`MIN_VOXELS`]
/// voxels (pixels) per sample.
pub fn uses_shift_kernels<const D: usize>(layer: &impl ConvLayer<D>, x: &Tensor<D>) -> bool {
    let dims = x.dims();
    layer.is_same_3()
        && dims[1] >= MIN_CHANNELS_IN
        && dims[2..].iter().product::<usize>() >= MIN_VOXELS
        && on_flex(x)
}

/// Applies `layer` to `x`: the shifted-product kernels where [`uses_shift_kernels`] says so,
/// burn's convolution otherwise.
pub fn conv<const D: usize>(layer: &impl ConvLayer<D>, x: Tensor<D>) -> Tensor<D> {
    match layer.parameters() {
        (weight, Some(bias)) if uses_shift_kernels(layer, &x) => {
            Tensor::from_dispatch(<Dispatch as SameConv>::same_conv(
                x.into_dispatch(),
                weight.into_dispatch(),
                bias.into_dispatch(),
            ))
        }
        _ => layer.burn_forward(x),
    }
}

/// The f32 values of a Flex tensor, contiguous.
fn values(tensor: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) => values.into(),
        None => tensor
            .to_contiguous()
            .as_slice::<f32>()
            .expect("flex kernels: f32 tensor")
            .to_vec()
            .into(),
    }
}

/// The convolution's shape from its input (`[N, C, X, Y, Z]` or `[N, C, H, W]`) and weight.
fn shape_of(x: &FlexTensor, weight: &FlexTensor) -> ConvShape {
    let (x, c_out) = (x.layout().shape(), weight.layout().shape()[0]);
    let (dims, depth) = match x.len() {
        5 => ([x[2], x[3], x[4]], 3),
        4 => ([1, x[2], x[3]], 1),
        rank => panic!("shift conv: rank {rank} input, expected 4 or 5"),
    };
    ConvShape { batch: x[0], c_in: x[1], c_out, dims, depth }
}

/// A Flex tensor of `shape` holding `values`.
fn flex(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

impl SameConv for Flex {
    fn same_conv(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let shape = shape_of(&x, &weight);
        let out = shift_conv::forward(shape, &values(&x), &values(&weight), &values(&bias));
        let mut out_shape = x.layout().shape().to_vec();
        out_shape[1] = shape.c_out;
        flex(out, out_shape)
    }
}

/// The backward step: input, weight and bias gradients from the saved input and weight.
#[derive(Debug)]
struct SameConvBackward;

impl Backward<Flex, 3> for SameConvBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let out_grad = grads.consume::<Flex>(&ops.node);
        let (x, weight) = ops.state;
        let shape = shape_of(&x, &weight);
        let wanted = [node_x.is_some(), node_weight.is_some()];
        let g =
            shift_conv::gradients(shape, &values(&x), &values(&weight), &values(&out_grad), wanted);
        if let (Some(node), Some(input)) = (node_x, g.input) {
            grads.register::<Flex>(node.id, flex(input, x.layout().shape().to_vec()));
        }
        if let (Some(node), Some(w)) = (node_weight, g.weight) {
            grads.register::<Flex>(node.id, flex(w, weight.layout().shape().to_vec()));
        }
        if let Some(node) = node_bias {
            grads.register::<Flex>(node.id, flex(g.bias, vec![shape.c_out]));
        }
    }
}

impl<C: CheckpointStrategy> SameConv for Autodiff<Flex, C> {
    fn same_conv(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match SameConvBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, weight) = (x.into_primitive(), weight.into_primitive());
                let out = Flex::same_conv(x.clone(), weight.clone(), bias.into_primitive());
                prep.finish((x, weight), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::same_conv(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
            )),
        }
    }
}

/// 2× max pooling (kernel 2, stride 2 on every spatial axis) as a backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait MaxPool2: Backend {
    /// `[N, C, S…]` → `[N, C, S/2…]` for two or three spatial axes `S`, each even.
    fn max_pool_2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Whether [`max_pool`] pools `x` with the one-pass kernel: f32 on Flex, every spatial side
/// even.
pub fn uses_pool_kernel<const D: usize>(x: &Tensor<D>) -> bool {
    on_flex(x) && x.dims()[2..].iter().all(|s| s % 2 == 0)
}

/// 2× max pooling of `x` (`[N, C, S…]`, every `S` even): the one-pass kernel on Flex,
/// `composite` (burn operations) elsewhere.
pub fn max_pool<const D: usize>(x: Tensor<D>, composite: fn(Tensor<D>) -> Tensor<D>) -> Tensor<D> {
    if uses_pool_kernel(&x) {
        Tensor::from_dispatch(<Dispatch as MaxPool2>::max_pool_2(x.into_dispatch()))
    } else {
        composite(x)
    }
}

/// The pooling geometry of an input of shape `x` and the output's shape.
fn pool_shape_of(x: &[usize]) -> (PoolShape, Vec<usize>) {
    let (dims, depth) = match x.len() {
        5 => ([x[2], x[3], x[4]], 2),
        4 => ([1, x[2], x[3]], 1),
        rank => panic!("max pool: rank {rank} input, expected 4 or 5"),
    };
    let shape = PoolShape { planes: x[0] * x[1], dims, depth };
    let out = shape.out_dims();
    let mut out_shape = x.to_vec();
    out_shape[2..].copy_from_slice(&out[3 - (x.len() - 2)..]);
    (shape, out_shape)
}

/// Pools a Flex tensor; also returns where the maxima were.
fn pool_flex(x: &FlexTensor) -> (FlexTensor, Vec<u8>) {
    let (shape, out_shape) = pool_shape_of(x.layout().shape());
    let (out, argmax) = max_pool::forward(shape, &values(x));
    (flex(out, out_shape), argmax)
}

impl MaxPool2 for Flex {
    fn max_pool_2(x: FlexTensor) -> FlexTensor {
        pool_flex(&x).0
    }
}

/// The backward step of pooling: each output gradient back to its window's maximum.
#[derive(Debug)]
struct MaxPool2Backward;

impl Backward<Flex, 1> for MaxPool2Backward {
    /// The input's shape and the maxima's window indices.
    type State = (Vec<usize>, Arc<[u8]>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let out_grad = grads.consume::<Flex>(&ops.node);
        let (in_shape, argmax) = ops.state;
        if let Some(node) = node_x {
            let (shape, _) = pool_shape_of(&in_shape);
            let dx = max_pool::backward(shape, &argmax, &values(&out_grad));
            grads.register::<Flex>(node.id, flex(dx, in_shape));
        }
    }
}

impl<C: CheckpointStrategy> MaxPool2 for Autodiff<Flex, C> {
    fn max_pool_2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match MaxPool2Backward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let (out, argmax) = pool_flex(&x);
                prep.finish((x.layout().shape().to_vec(), argmax.into()), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::max_pool_2(x.into_primitive())),
        }
    }
}

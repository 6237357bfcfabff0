//! The U-Nets' 3×3×3 convolutions on Flex, forward and backward, through
//! [`shift_conv`](crate::shift_conv): a burn backend extension for `Flex` and
//! `Autodiff<Flex>` with its own backward step. Every other device, and convolutions of another
//! form, run burn's `Conv3d`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, DispatchDevice, Flex, backend_extension};
use burn::nn::PaddingConfig3d;
use burn::nn::conv::Conv3d;
use burn::tensor::{DType, Tensor, TensorData};

use crate::shift_conv::{self, Conv3Shape};

/// Fewer input channels than this run burn's convolution: a product with a short inner
/// dimension is bound by memory, and the network's first layer (one channel) is cheap anyway.
const MIN_CHANNELS_IN: usize = 8;

/// Smaller volumes run burn's convolution: the zero border of the padded rows is a large share
/// of a small volume (16×16×8 computes 58 % more rows than voxels) and each of the nine
/// products repacks its weights. Measured per UNet3d layer (input grad included): faster from
/// 16×16×8 up, up to 2.6× at 64×64×32; slower at 8×8×4.
const MIN_VOXELS: usize = 2048;

/// The 3×3×3, stride-1, padding-1 convolution with bias, as a backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait SameConv3: Backend {
    /// `x` `[N, C_in, X, Y, Z]`, `weight` `[C_out, C_in, 3, 3, 3]`, `bias` `[C_out]` →
    /// `[N, C_out, X, Y, Z]`.
    fn same_conv3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// Whether [`conv3d`] runs `conv` on `x` through the shifted-product kernels: Flex, f32,
/// kernel 3, stride 1, padding 1, no dilation or groups, a bias, at least [`MIN_CHANNELS_IN`]
/// input channels and [`MIN_VOXELS`] voxels per volume.
pub fn uses_shift_kernels(conv: &Conv3d, x: &Tensor<5>) -> bool {
    conv.kernel_size == [3; 3]
        && conv.stride == [1; 3]
        && conv.dilation == [1; 3]
        && conv.groups == 1
        && conv.padding == PaddingConfig3d::Explicit(1, 1, 1)
        && conv.bias.is_some()
        && x.dtype() == DType::F32
        && x.dims()[1] >= MIN_CHANNELS_IN
        && x.dims()[2..].iter().product::<usize>() >= MIN_VOXELS
        && matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// Applies `conv` to `x`: the shifted-product kernels where [`uses_shift_kernels`] says so,
/// burn's convolution otherwise.
pub fn conv3d(conv: &Conv3d, x: Tensor<5>) -> Tensor<5> {
    match &conv.bias {
        Some(bias) if uses_shift_kernels(conv, &x) => {
            Tensor::from_dispatch(<burn::backend::Dispatch as SameConv3>::same_conv3(
                x.into_dispatch(),
                conv.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
            ))
        }
        _ => conv.forward(x),
    }
}

/// The f32 values of a Flex tensor, contiguous.
fn values(tensor: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) => values.into(),
        None => tensor
            .to_contiguous()
            .as_slice::<f32>()
            .expect("shift conv: f32 tensor")
            .to_vec()
            .into(),
    }
}

/// The convolution's shape from its input and weight.
fn shape_of(x: &FlexTensor, weight: &FlexTensor) -> Conv3Shape {
    let x = x.layout().shape();
    let w = weight.layout().shape();
    Conv3Shape { batch: x[0], c_in: x[1], c_out: w[0], dims: [x[2], x[3], x[4]] }
}

/// A Flex tensor of `shape` holding `values`.
fn flex(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

impl SameConv3 for Flex {
    fn same_conv3(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let shape = shape_of(&x, &weight);
        let out = shift_conv::forward(shape, &values(&x), &values(&weight), &values(&bias));
        let [x_dim, y_dim, z_dim] = shape.dims;
        flex(out, vec![shape.batch, shape.c_out, x_dim, y_dim, z_dim])
    }
}

/// The backward step: input, weight and bias gradients from the saved input and weight.
#[derive(Debug)]
struct SameConv3Backward;

impl Backward<Flex, 3> for SameConv3Backward {
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

impl<C: CheckpointStrategy> SameConv3 for Autodiff<Flex, C> {
    fn same_conv3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match SameConv3Backward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, weight) = (x.into_primitive(), weight.into_primitive());
                let out = Flex::same_conv3(x.clone(), weight.clone(), bias.into_primitive());
                prep.finish((x, weight), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::same_conv3(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
            )),
        }
    }
}

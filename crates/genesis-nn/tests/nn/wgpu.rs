//! burn's wgpu backend against Flex (built with `--features wgpu`; in CI on Mesa's software
//! Vulkan driver, lavapipe): forward passes, one training step's loss and every parameter
//! gradient, the Flex-only kernels staying on Flex, and the same initial weights everywhere.
//!
//! Tolerances: forward outputs agree within 1e-4 and gradients within 1e-2 of the largest
//! magnitude of the tensor compared (with a floor for gradients small through cancellation,
//! see `training_step_agrees`). Both backends compute in f32 but sum in different orders
//! (Flex's shifted products over gemm tiles, wgpu's convolution kernels with their own tiling),
//! so each sum of k terms rounds differently by up to about k·2⁻²⁴ of its size; batch
//! normalisation divides by per-channel deviations and a U-Net chains a dozen such layers, and
//! back-propagation runs the chain twice. What the tests measure is in their messages.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::conv::{Conv2dConfig, Conv3dConfig};
use burn::nn::{PaddingConfig2d, PaddingConfig3d};
use burn::optim::GradientsParams;
use burn::tensor::{Device, DeviceKind, Tensor};
use genesis_nn::flex_kernels::{uses_pool_kernel, uses_shift_kernels};
use genesis_nn::loss::mse;
use genesis_nn::{
    Arch, ArchSpec, GenesisModel, ModelTask, Network, UNet2dConfig, UNet3dConfig, materialize,
};

use super::common::{max_abs_diff, random, values};

/// The default wgpu adapter (lavapipe on a machine without a GPU).
fn wgpu() -> Device {
    Device::wgpu(DeviceKind::DefaultDevice)
}

/// Why `got` is not within `tolerance` of the largest magnitude of `want`, if it is not.
fn mismatch(want: &[f32], got: &[f32], tolerance: f32) -> Option<String> {
    let scale = want.iter().fold(1e-6f32, |m, x| m.max(x.abs()));
    let diff = max_abs_diff(want, got);
    (diff > tolerance * scale).then(|| format!("max |Δ| {diff:e} > {tolerance} × {scale:e}"))
}

/// Asserts `got` is within `tolerance` of the largest magnitude of `want`.
fn assert_close(what: &str, want: &[f32], got: &[f32], tolerance: f32) {
    if let Some(why) = mismatch(want, got, tolerance) {
        panic!("{what}: {why}");
    }
}

/// The model's restoration output on Flex and, after a move, on wgpu agree.
fn forward_agrees<M: Module + GenesisModel<D>, const D: usize>(name: &str, model: M, x: Tensor<D>) {
    materialize(&model);
    let want = values(&model.forward(x.clone()));
    let gpu = wgpu();
    let got = values(&model.to_device(&gpu).forward(x.to_device(&gpu)));
    assert_close(name, &want, &got, 1e-4);
}

#[test]
fn unets_forward_like_flex() {
    let flex = Device::flex();
    flex.seed(1);
    let unet2d = UNet2dConfig::new().with_base(8).with_depth(3).init(&flex);
    forward_agrees("unet2d", unet2d, random([2, 1, 64, 64], &flex));
    let unet3d = UNet3dConfig::new().with_base(8).init(&flex);
    forward_agrees("unet3d", unet3d, random([2, 1, 16, 16, 16], &flex));
}

/// The MSE loss (against half the input) and its gradients.
fn loss_and_grads<M: Module + GenesisModel<D>, const D: usize>(
    model: &M,
    x: Tensor<D>,
) -> (Vec<f32>, GradientsParams) {
    let loss = mse(model.forward(x.clone()), x.mul_scalar(0.5));
    (values(&loss), GradientsParams::from_grads(loss.backward(), model))
}

/// A parameter's gradient values on Flex and on wgpu (`None` where one backend has none).
type GradPair = Option<(Vec<f32>, Vec<f32>)>;

/// Every trained parameter's shape and gradients on Flex and on wgpu.
struct PairGrads {
    want: GradientsParams,
    got: GradientsParams,
    pairs: Vec<(Vec<usize>, GradPair)>,
}

impl ModuleVisitor for PairGrads {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let (want, got) = (self.want.get::<D>(param.id), self.got.get::<D>(param.id));
        if want.is_none() && got.is_none() {
            return; // not trained: batch-norm running statistics
        }
        let pair = want.zip(got).map(|(w, g)| (values(&w), values(&g)));
        self.pairs.push((param.val().dims().to_vec(), pair));
    }
}

/// One training step's loss and every gradient on Flex and on wgpu agree: each gradient within
/// 1e-2 of its largest magnitude, or of 3e-2 of the model's largest gradient where that is
/// more. A gradient small through cancellation carries the absolute rounding error of the large
/// sums it comes from, which scales with the model's gradients, not with its own: the
/// convolution biases ahead of batch norm have a true gradient of zero and get noise of about
/// 1e-9, and in the 3-D U-Net some deep weights (largest entry about 1e-4 of a model whose
/// largest gradient is about 0.09) differed by up to 5.3e-6 — 6e-5 of the largest — in one CI
/// run under load and less in others (the order of lavapipe's and Flex's threaded sums varies
/// between runs). The floor allows 3e-4 of the largest gradient, five times that; a wrong
/// kernel errs by the size of the gradients themselves.
fn training_step_agrees<M: Module + GenesisModel<D>, const D: usize>(
    name: &str,
    model: M,
    shape: [usize; D],
) {
    let flex = Device::flex().autodiff();
    materialize(&model);
    let x = random(shape, &flex).abs();
    let (loss, want) = loss_and_grads(&model, x.clone());
    let gpu = wgpu().autodiff();
    let (gpu_loss, got) = loss_and_grads(&model.clone().fork(&gpu), x.to_device(&gpu));
    assert_close(&format!("{name} loss"), &loss, &gpu_loss, 1e-4);
    let mut grads = PairGrads { want, got, pairs: Vec::new() };
    model.visit(&mut grads);
    let peak = |v: &[f32]| v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let largest = grads.pairs.iter().flat_map(|(_, p)| p.as_ref()).map(|(w, _)| peak(w));
    let floor = 3e-2 * largest.fold(0f32, f32::max);
    let mut failures = Vec::new();
    for (dims, pair) in &grads.pairs {
        let Some((want, got)) = pair else {
            failures.push(format!("{dims:?}: a gradient on one backend only"));
            continue;
        };
        let (diff, scale) = (max_abs_diff(want, got), peak(want).max(floor));
        if diff > 1e-2 * scale {
            failures.push(format!("{dims:?}: max |Δ| {diff:e} > 1e-2 × {scale:e}"));
        }
    }
    assert!(failures.is_empty(), "{name}: {failures:#?}");
    assert!(grads.pairs.len() > 10, "{name}: {} gradients compared", grads.pairs.len());
}

#[test]
fn a_training_step_gives_the_same_loss_and_gradients_as_flex() {
    let flex = Device::flex().autodiff();
    flex.seed(2);
    let unet2d = UNet2dConfig::new().with_base(8).with_depth(3).init(&flex);
    training_step_agrees("unet2d", unet2d, [2, 1, 64, 64]);
    let unet3d = UNet3dConfig::new().with_base(8).init(&flex);
    training_step_agrees("unet3d", unet3d, [2, 1, 32, 32, 16]);
}

#[test]
fn the_flex_kernels_are_not_taken_on_wgpu() {
    let flex = Device::flex();
    let conv3d = Conv3dConfig::new([8, 8], [3; 3])
        .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
        .init(&flex);
    let conv2d = Conv2dConfig::new([8, 8], [3; 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&flex);
    let (x3, x2) = (random([1, 8, 16, 16, 16], &flex), random([1, 8, 64, 64], &flex));
    assert!(uses_shift_kernels(&conv3d, &x3) && uses_pool_kernel(&x3), "Flex takes them");
    assert!(uses_shift_kernels(&conv2d, &x2) && uses_pool_kernel(&x2), "Flex takes them");
    let gpu = wgpu();
    let (conv3d, conv2d) = (conv3d.to_device(&gpu), conv2d.to_device(&gpu));
    let (x3, x2) = (x3.to_device(&gpu), x2.to_device(&gpu));
    assert!(!uses_shift_kernels(&conv3d, &x3) && !uses_pool_kernel(&x3));
    assert!(!uses_shift_kernels(&conv2d, &x2) && !uses_pool_kernel(&x2));
    let x3 = x3.to_device(&gpu.autodiff());
    assert!(!uses_shift_kernels(&conv3d, &x3) && !uses_pool_kernel(&x3), "nor with autodiff");
}

/// Every parameter value of a model, in visiting order.
struct AllWeights;

impl ModelTask for AllWeights {
    type Output = Vec<f32>;
    fn run<M: Network<D>, const D: usize>(self, model: M) -> Vec<f32> {
        struct Collect(Vec<f32>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0.extend(values(&param.val()));
            }
        }
        let mut all = Collect(Vec::new());
        model.visit(&mut all);
        all.0
    }
}

#[test]
fn a_seed_gives_the_same_initial_weights_on_every_device() {
    let spec = ArchSpec { base: 4, depth: 3, classes: 3, ..ArchSpec::new(Arch::Semantic2d) };
    let weights = |device: Device| {
        genesis_nn::seed(&device, 7);
        spec.with_model(&device, AllWeights)
    };
    let on_cpu = weights(Device::flex().autodiff());
    assert_eq!(on_cpu, weights(wgpu().autodiff()), "wgpu starts where the CPU starts");
    assert_eq!(on_cpu, weights(wgpu()), "and so does inference");
}

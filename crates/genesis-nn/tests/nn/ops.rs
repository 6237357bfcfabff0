//! MaxPool and up-convolution against naive references; the Flex kernels (shifted-product
//! convolutions, one-pass pooling) against burn's own layers.

use burn::module::Module;
use burn::nn::conv::{Conv2dConfig, Conv3dConfig};
use burn::nn::{PaddingConfig2d, PaddingConfig3d};
use burn::tensor::Tensor;
use genesis_nn::flex_kernels::{ConvLayer, conv, max_pool, uses_shift_kernels};
use genesis_nn::ops::{UpConv, max_pool2d_2, max_pool3d_2};

use super::common::{device, max_abs_diff, random, values};

/// Row-major offset of `idx` in `shape`.
fn at(shape: &[usize], idx: &[usize]) -> usize {
    shape.iter().zip(idx).fold(0, |acc, (s, i)| acc * s + i)
}

#[test]
fn max_pool3d_matches_naive() {
    let dev = device(1);
    let shape = [2, 3, 6, 4, 8];
    let x = random(shape, &dev);
    let xv = values(&x);
    let got = max_pool3d_2(x);
    assert_eq!(got.dims(), [2, 3, 3, 2, 4]);
    let mut want = Vec::new();
    for n in 0..2 {
        for c in 0..3 {
            for i in 0..3 {
                for j in 0..2 {
                    for k in 0..4 {
                        let mut m = f32::NEG_INFINITY;
                        for (a, b, d) in (0..8).map(|t| (t >> 2, (t >> 1) & 1, t & 1)) {
                            m = m.max(xv[at(&shape, &[n, c, 2 * i + a, 2 * j + b, 2 * k + d])]);
                        }
                        want.push(m);
                    }
                }
            }
        }
    }
    assert!(max_abs_diff(&values(&got), &want) <= 1e-5);
}

#[test]
fn max_pool2d_matches_naive() {
    let dev = device(2);
    let shape = [2, 3, 6, 10];
    let x = random(shape, &dev);
    let xv = values(&x);
    let got = max_pool2d_2(x);
    let mut want = Vec::new();
    for n in 0..2 {
        for c in 0..3 {
            for i in 0..3 {
                for j in 0..5 {
                    let m = (0..4)
                        .map(|t| xv[at(&shape, &[n, c, 2 * i + (t >> 1), 2 * j + (t & 1)])])
                        .fold(f32::NEG_INFINITY, f32::max);
                    want.push(m);
                }
            }
        }
    }
    assert!(max_abs_diff(&values(&got), &want) <= 1e-5);
}

#[test]
fn up_conv3d_matches_naive_transposed_convolution() {
    let dev = device(3);
    let (n, ci, co, s) = (2, 3, 5, [2, 3, 4]);
    let up = UpConv::<5>::new(ci, co, &dev);
    let x = random([n, ci, s[0], s[1], s[2]], &dev);
    let (xv, wv, bv) = (values(&x), values(&up.weight.val()), values(&up.bias.val()));
    let got = up.forward(x);
    let out = [n, co, 2 * s[0], 2 * s[1], 2 * s[2]];
    assert_eq!(got.dims(), out);
    let mut want = vec![0f32; out.iter().product()];
    for b in 0..n {
        for o in 0..co {
            for i in 0..out[2] {
                for j in 0..out[3] {
                    for k in 0..out[4] {
                        let mut acc = bv[o];
                        for c in 0..ci {
                            let xi =
                                xv[at(&[n, ci, s[0], s[1], s[2]], &[b, c, i / 2, j / 2, k / 2])];
                            acc += xi * wv[at(&[ci, co, 2, 2, 2], &[c, o, i % 2, j % 2, k % 2])];
                        }
                        want[at(&out, &[b, o, i, j, k])] = acc;
                    }
                }
            }
        }
    }
    assert!(max_abs_diff(&values(&got), &want) <= 1e-5);
}

#[test]
fn up_conv2d_matches_naive_transposed_convolution() {
    let dev = device(4);
    let (n, ci, co, s) = (2, 4, 3, [3, 5]);
    let up = UpConv::<4>::new(ci, co, &dev);
    let x = random([n, ci, s[0], s[1]], &dev);
    let (xv, wv, bv) = (values(&x), values(&up.weight.val()), values(&up.bias.val()));
    let got = up.forward(x);
    let out = [n, co, 2 * s[0], 2 * s[1]];
    let mut want = vec![0f32; out.iter().product()];
    for b in 0..n {
        for o in 0..co {
            for i in 0..out[2] {
                for j in 0..out[3] {
                    let mut acc = bv[o];
                    for c in 0..ci {
                        acc += xv[at(&[n, ci, s[0], s[1]], &[b, c, i / 2, j / 2])]
                            * wv[at(&[ci, co, 2, 2], &[c, o, i % 2, j % 2])];
                    }
                    want[at(&out, &[b, o, i, j])] = acc;
                }
            }
        }
    }
    assert!(max_abs_diff(&values(&got), &want) <= 1e-5);
}

/// `genesis_nn::flex_kernels::conv` (shifted products on Flex) gives burn's output and gradients
/// for the input, weight and bias, with and without autodiff.
fn assert_same_as_burn<const D: usize>(
    layer: &(impl ConvLayer<D> + Module),
    x: Tensor<D>,
    probe: Tensor<D>,
) {
    assert!(uses_shift_kernels(layer, &x));
    let run = |fast: bool| {
        let y = if fast { conv(layer, x.clone()) } else { layer.burn_forward(x.clone()) };
        let grads = (y.clone() * probe.clone()).sum().backward();
        let (weight, bias) = layer.parameters();
        let bias = bias.expect("a layer with bias");
        let dx = x.grad(&grads).expect("input grad");
        let dw = weight.grad(&grads).expect("weight grad");
        let db = bias.grad(&grads).expect("bias grad");
        [values(&y), values(&dx), values(&dw), values(&db)]
    };
    let (fast, burn) = (run(true), run(false));
    for (what, (a, b)) in
        ["output", "input grad", "weight grad", "bias grad"].iter().zip(fast.iter().zip(&burn))
    {
        // Gradients sum thousands of terms: allow f32 rounding relative to their size.
        let scale = 1.0 + b.iter().fold(0f32, |m, v| m.max(v.abs()));
        let err = max_abs_diff(a, b);
        assert!(err <= 1e-5 * scale, "{what}: max abs error {err} (largest value {scale})");
    }
    let (plain, x) = (layer.valid(), x.inner());
    let err = max_abs_diff(&values(&conv(&plain, x.clone())), &values(&plain.burn_forward(x)));
    assert!(err <= 1e-4, "forward without autodiff: max abs error {err}");
}

#[test]
fn shift_conv3d_matches_burn_conv3d_with_gradients() {
    let dev = device(9).autodiff();
    let layer = Conv3dConfig::new([8, 5], [3; 3])
        .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
        .init(&dev);
    let x = random([2, 8, 16, 16, 8], &dev).require_grad();
    assert!(!uses_shift_kernels(&layer, &x.clone().narrow(1, 0, 4)), "too few channels");
    assert!(!uses_shift_kernels(&layer, &x.clone().narrow(2, 0, 8)), "too few voxels");
    assert_same_as_burn(&layer, x, random([2, 5, 16, 16, 8], &dev));
}

#[test]
fn shift_conv2d_matches_burn_conv2d_with_gradients() {
    let dev = device(10).autodiff();
    let layer = Conv2dConfig::new([9, 4], [3; 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&dev);
    let x = random([3, 9, 40, 56], &dev).require_grad();
    let unpadded = Conv2dConfig::new([9, 4], [3; 2]).init(&dev);
    assert!(!uses_shift_kernels(&unpadded, &x), "no padding");
    assert_same_as_burn(&layer, x, random([3, 4, 40, 56], &dev));
}

/// The one-pass Flex pooling gives the burn composite's output and input gradient.
fn assert_pool_as_composite<const D: usize>(x: Tensor<D>, composite: fn(Tensor<D>) -> Tensor<D>) {
    let fast = max_pool(x.clone(), |_| unreachable!("Flex runs the pooling kernel"));
    let slow = composite(x.clone());
    let probe = random(fast.dims(), &x.device());
    let grad_of = |y: Tensor<D>| values(&x.grad(&(y * probe.clone()).sum().backward()).unwrap());
    assert_eq!(values(&fast), values(&slow));
    assert_eq!(grad_of(fast), grad_of(slow));
}

#[test]
fn flex_max_pool_matches_the_composite_with_gradients() {
    let dev = device(11).autodiff();
    assert_pool_as_composite(random([2, 3, 4, 6, 8], &dev).require_grad(), max_pool3d_2);
    assert_pool_as_composite(random([2, 3, 6, 10], &dev).require_grad(), max_pool2d_2);
    let plain = random([1, 2, 4, 4, 2], &device(12));
    assert_eq!(values(&max_pool(plain.clone(), |_| unreachable!())), values(&max_pool3d_2(plain)));
}

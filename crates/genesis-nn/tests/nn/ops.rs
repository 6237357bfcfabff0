//! MaxPool and up-convolution against naive references.

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

/// The shifted-product 3×3×3 convolution (Flex, autodiff) gives burn's `Conv3d` output and
/// gradients for the input, weight and bias.
#[test]
fn shift_conv3d_matches_burn_conv3d_with_gradients() {
    use burn::module::Module;
    use burn::nn::PaddingConfig3d;
    use burn::nn::conv::Conv3dConfig;

    let dev = device(9).autodiff();
    let conv = Conv3dConfig::new([8, 5], [3; 3])
        .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
        .init(&dev);
    let x = random([2, 8, 16, 16, 8], &dev).require_grad();
    let probe = random([2, 5, 16, 16, 8], &dev);
    assert!(genesis_nn::conv3::uses_shift_kernels(&conv, &x));
    assert!(!genesis_nn::conv3::uses_shift_kernels(&conv, &x.clone().narrow(1, 0, 4)));
    assert!(!genesis_nn::conv3::uses_shift_kernels(&conv, &x.clone().narrow(2, 0, 8)));
    let run = |fast: bool| {
        let y = if fast {
            genesis_nn::conv3::conv3d(&conv, x.clone())
        } else {
            conv.forward(x.clone())
        };
        let grads = (y.clone() * probe.clone()).sum().backward();
        let weight = conv.weight.val().grad(&grads).unwrap();
        let bias = conv.bias.as_ref().unwrap().val().grad(&grads).unwrap();
        [values(&y), values(&x.grad(&grads).unwrap()), values(&weight), values(&bias)]
    };
    let (fast, burn) = (run(true), run(false));
    for (what, (a, b)) in
        ["output", "input grad", "weight grad", "bias grad"].iter().zip(fast.iter().zip(&burn))
    {
        let err = max_abs_diff(a, b);
        assert!(err <= 1e-4, "{what}: max abs error {err}");
    }
    // Without autodiff the same kernels run forward only.
    let plain = conv.valid();
    let x = x.inner();
    assert!(
        max_abs_diff(
            &values(&genesis_nn::conv3::conv3d(&plain, x.clone())),
            &values(&plain.forward(x))
        ) <= 1e-4
    );
}

//! Topology, parameter counts and names, shapes and batch-norm modes.

use burn::module::Module;
use burn::store::ModuleSnapshot;
use genesis_nn::{
    AutoencoderConfig, BnMode, GenesisModel, HeadConfig, HeadKind, InputError, SemanticGenesis2d,
    SemanticGenesis3d, UNet2dConfig, UNet3dConfig, trainable_params,
};

use super::common::{device, max_abs_diff, random, values};

#[test]
fn unet3d_has_the_released_parameter_count() {
    let model = UNet3dConfig::new().init(&device(0));
    assert_eq!(trainable_params(&model), 19_073_665);
    // Plus the BN running mean and variance of 2,336 channels.
    assert_eq!(model.num_params(), 19_073_665 + 2 * 2_336);
}

#[test]
fn unet3d_parameter_paths_mirror_pytorch() {
    let model = UNet3dConfig::new().with_base(2).init(&device(0));
    let names: Vec<String> = model.collect(None, None, false).into_iter().map(|t| t.name).collect();
    for key in [
        "down_tr64.ops.0.conv1.weight",
        "down_tr64.ops.0.bn1.running_mean",
        "down_tr512.ops.1.bn1.running_var",
        "up_tr256.up_conv.weight",
        "up_tr64.ops.1.conv1.bias",
        "out_tr.final_conv.bias",
    ] {
        assert!(names.iter().any(|n| n == key), "missing {key} in {names:?}");
    }
    // PyTorch's ConvTranspose3d layout [C_in, C_out, 2, 2, 2].
    assert_eq!(model.up_tr256.up_conv.weight.dims(), [32, 32, 2, 2, 2]);
}

#[test]
fn head_variants_have_the_published_sizes() {
    let dev = device(0);
    let pytorch = HeadConfig::new(512, 44).init::<burn::nn::conv::Conv3d, 5>(&dev);
    let keras =
        HeadConfig::new(512, 44).with_kind(HeadKind::Keras).init::<burn::nn::conv::Conv3d, 5>(&dev);
    // Spec §5.3: YNet3D total 33,277,613 = U-Net + PyTorch head; Keras head 7,649,836.
    assert_eq!(trainable_params(&pytorch) + 19_073_665, 33_277_613);
    assert_eq!(trainable_params(&keras), 7_649_836);
}

#[test]
fn unet3d_takes_any_size_divisible_by_8_and_outputs_probabilities() {
    let dev = device(5);
    let model = UNet3dConfig::new().with_base(2).init(&dev);
    let x = random([2, 1, 8, 16, 24], &dev).abs();
    assert!(model.check_input(&x.dims()).is_ok());
    let y = model.forward(x);
    assert_eq!(y.dims(), [2, 1, 8, 16, 24]);
    assert!(values(&y).iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(matches!(
        model.check_input(&[1, 1, 12, 16, 8]),
        Err(InputError::NotDivisible { divisor: 8, .. })
    ));
    assert!(matches!(model.check_input(&[1, 2, 8, 8, 8]), Err(InputError::Channels { .. })));
}

#[test]
fn bn_modes_differ_and_batch_mode_depends_on_the_batch() {
    let dev = device(6);
    let mut model = UNet3dConfig::new().with_base(2).init(&dev);
    let x = random([2, 1, 8, 8, 8], &dev);
    let first = x.clone().narrow(0, 0, 1);
    let batch_pair = values(&model.forward(x.clone()));
    let batch_single = values(&model.forward(first.clone()));
    let half = batch_single.len();
    assert!(
        max_abs_diff(&batch_pair[..half], &batch_single) > 1e-4,
        "batch stats should depend on the batch"
    );
    model.set_bn_mode(BnMode::Running);
    let running_pair = values(&model.forward(x));
    let running_single = values(&model.forward(first));
    assert!(
        max_abs_diff(&running_pair[..half], &running_single) < 1e-5,
        "running stats are per-sample"
    );
    assert!(max_abs_diff(&running_pair, &batch_pair) > 1e-4);
}

#[test]
fn unet2d_and_autoencoder_shapes() {
    let dev = device(7);
    let unet = UNet2dConfig::new().with_base(4).with_depth(3).init(&dev);
    let x = random([2, 1, 16, 24], &dev);
    assert_eq!(unet.forward(x.clone()).dims(), [2, 1, 16, 24]);
    assert_eq!(unet.features(x.clone()).dims(), [2, 32, 4, 6]);
    assert_eq!(unet.embed(x).dims(), [2, 32]);
    assert_eq!(unet.poolings(), 2);

    let ae = AutoencoderConfig::new().with_base(2).init3d(&dev);
    let v = random([1, 1, 8, 8, 16], &dev);
    assert_eq!(ae.forward(v.clone()).dims(), [1, 1, 8, 8, 16]);
    assert_eq!(ae.embed(v).dims(), [1, 32]);
    // No skips: the first decoder block reads only the up-sampled bottleneck (512 → 256 at base 32).
    assert_eq!(ae.up[2].ops[0].conv1.weight.dims(), [16, 32, 3, 3, 3]);
}

#[test]
fn semantic_genesis_restores_and_classifies() {
    let dev = device(8);
    let model =
        SemanticGenesis3d::new3d(&UNet3dConfig::new().with_base(2), &HeadConfig::new(0, 5), &dev);
    let x = random([2, 1, 8, 8, 8], &dev);
    let out = model.forward_all(x.clone());
    assert_eq!(out.restoration.dims(), [2, 1, 8, 8, 8]);
    assert_eq!(out.logits.dims(), [2, 5]);
    assert_eq!(model.classify(x.clone()).map(|l| l.dims()), Some([2, 5]));
    assert_eq!(model.embed(x).dims(), [2, 32]);

    let keras = HeadConfig::new(0, 3).with_kind(HeadKind::Keras).with_hidden(16);
    let model2d =
        SemanticGenesis2d::new2d(&UNet2dConfig::new().with_base(4).with_depth(3), &keras, &dev);
    assert_eq!(model2d.classify(random([2, 1, 8, 8], &dev)).map(|l| l.dims()), Some([2, 3]));
}

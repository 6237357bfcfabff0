//! Losses and the training step.

use burn::optim::AdamConfig;
use burn::tensor::{Int, Tensor};
use genesis_nn::UNet2dConfig;
use genesis_nn::loss::{cross_entropy, dice, mse};
use genesis_nn::step::restoration_step;

use super::common::{device, random, tensor, values};

#[test]
fn losses_match_hand_computed_values() {
    let dev = device(0);
    let p = tensor(vec![0.0, 1.0, 0.5, 0.5], [2, 2], &dev);
    let t = tensor(vec![0.0, 0.0, 1.0, 0.5], [2, 2], &dev);
    assert!((values(&mse(p.clone(), t.clone()))[0] - 0.3125).abs() < 1e-6);
    // dice: intersection 0.75, sums 2 and 1.5 → 1 − (2·0.75 + 1)/(2 + 1.5 + 1)
    assert!((values(&dice(p, t))[0] - (1.0 - 2.5 / 4.5)).abs() < 1e-6);
    let logits = tensor(vec![2.0, 0.0, 0.0, 1.0], [2, 2], &dev);
    let labels = Tensor::<1, Int>::from_ints([0, 0], &dev);
    let want = ((1.0 + (-2f32).exp()).ln() + (1.0 + 1f32.exp()).ln()) / 2.0;
    assert!((values(&cross_entropy(logits, labels))[0] - want).abs() < 1e-5);
}

#[test]
fn small_unet2d_learns_a_fixed_batch() {
    let dev = device(9).autodiff();
    let mut model = UNet2dConfig::new().with_base(4).with_depth(3).init(&dev);
    let mut optim = AdamConfig::new().init();
    let x = random([4, 1, 32, 32], &dev).abs();
    let y = x.clone().mul_scalar(0.5);
    let mut losses = Vec::new();
    for _ in 0..8 {
        let (next, loss) = restoration_step(model, &mut optim, 1e-2, x.clone(), y.clone());
        model = next;
        losses.push(values(&loss)[0]);
    }
    assert!(losses[7] < 0.7 * losses[0], "loss did not fall: {losses:?}");
}

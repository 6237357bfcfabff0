//! Model timings for `genesis bench model` (native only): forward and training-step
//! milliseconds of the 3-D and 2-D U-Nets.

use std::time::Instant;

use burn::module::Module;
use burn::optim::SgdConfig;
use burn::tensor::{Device, Distribution, Tensor};

use crate::model::GenesisModel;
use crate::step::restoration_step;
use crate::{UNet2dConfig, UNet3dConfig};

/// One measured configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTiming {
    /// `unet3d` or `unet2d`.
    pub name: &'static str,
    /// Input shape `[N, C, spatial…]`.
    pub input: Vec<usize>,
    /// The device the timings ran on, as [`describe`] names it.
    pub device: String,
    /// Mean inference forward time.
    pub forward_ms: f64,
    /// Mean training step (forward, MSE, backward, SGD) time.
    pub train_step_ms: f64,
    /// CPU threads available to the backend.
    pub threads: usize,
}

/// Mean milliseconds of `reps` calls after one warm-up call.
fn time_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed().as_secs_f64() * 1e3 / reps.max(1) as f64
}

/// Times the model `build` makes (on `device`, and on its autodiff twin for training) on a
/// random input of `shape`.
fn measure<M: Module + GenesisModel<D>, const D: usize>(
    name: &'static str,
    build: impl Fn(&Device) -> M,
    shape: [usize; D],
    device: &Device,
    reps: usize,
) -> ModelTiming {
    let x = Tensor::<D>::random(shape, Distribution::Uniform(0.0, 1.0), device);
    let model = build(device);
    let forward_ms = time_ms(reps, || {
        let _ = model.forward(x.clone()).sum().into_scalar::<f32>();
    });
    let train_device = device.clone().autodiff();
    let mut model = Some(build(&train_device));
    let (xa, ya) = (x.clone().to_device(&train_device), x.to_device(&train_device).mul_scalar(0.5));
    let mut optim = SgdConfig::new().init();
    let train_step_ms = time_ms(reps, || {
        if let Some(m) = model.take() {
            let (next, loss) = restoration_step(m, &mut optim, 0.1, xa.clone(), ya.clone());
            let _ = loss.into_scalar::<f32>();
            model = Some(next);
        }
    });
    ModelTiming {
        name,
        input: shape.to_vec(),
        device: describe(device),
        forward_ms,
        train_step_ms,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// What `device` really is: burn's backend (e.g. `dispatch<cubecl<wgpu<vulkan>>>`) and, for a
/// GPU backend, the adapter as it names itself (e.g. `NVIDIA H100 PCIe`, `llvmpipe …`).
pub fn describe(device: &Device) -> String {
    use burn::backend::{Backend, Dispatch};
    let backend = <Dispatch as Backend>::name(device.as_dispatch());
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if let Some(identity) = device.identity() {
        return format!("{backend} · {}", identity.name);
    }
    backend
}

/// The standard set: UNet3d (base 32) at batch 1, 2 and 6 on 1×64×64×32, UNet2d (base 32,
/// depth 4) at batch 8 on 1×224×224; `reps` timed repetitions each.
pub fn standard_benches(device: &Device, reps: usize) -> Vec<ModelTiming> {
    let mut out: Vec<ModelTiming> = [1, 2, 6]
        .into_iter()
        .map(|n| {
            measure("unet3d", |d| UNet3dConfig::new().init(d), [n, 1, 64, 64, 32], device, reps)
        })
        .collect();
    out.push(measure("unet2d", |d| UNet2dConfig::new().init(d), [8, 1, 224, 224], device, reps));
    out
}

//! Fine-tuning: a classifier or a segmenter trained from scratch or from pretrained Genesis
//! weights on a few labelled images, scored on a held-out test split (see
//! docs/finetuning.md).

pub(crate) mod data;
pub(crate) mod model;
mod train;

use std::path::Path;

use anyhow::{Context, bail};
use genesis_nn::burn::tensor::Device;

pub use data::{Dataset, Sample, Splits, open as open_splits};
pub use model::{Arch, Weights};
pub use train::Report;

use crate::device;
use crate::metrics::FinetuneRecord;
use crate::observer::Observer;
use crate::recipe::{Dim, FinetuneConfig, write};
use train::Trainer;

/// Fine-tunes as `cfg` says into the run folder `dir`; returns the report also written there
/// as `metrics.json`, and every epoch's record.
pub fn run(
    cfg: &FinetuneConfig,
    dir: &Path,
    obs: &mut dyn Observer,
) -> anyhow::Result<(Report, Vec<FinetuneRecord>)> {
    run_on(cfg, None, dir, obs)
}

/// [`run`] on `data` when given (loaded once by [`Dataset::open`] for several runs that differ
/// only in what a run draws: seed, labels, initialisation, optimisation), else on `cfg`'s data.
pub fn run_on(
    cfg: &FinetuneConfig,
    data: Option<&Dataset>,
    dir: &Path,
    obs: &mut dyn Observer,
) -> anyhow::Result<(Report, Vec<FinetuneRecord>)> {
    let devices = device::parse_list(&cfg.device)?;
    let device = devices[0].clone();
    let weights = if cfg.pretrained() { Some(Weights::read(&cfg.init)?) } else { None };
    let mut cfg = cfg.clone();
    let arch = match &weights {
        Some(w) => {
            if (cfg.base, cfg.levels, cfg.dim) != (w.arch.base, w.arch.depth, w.arch.dim) {
                obs.note(&format!(
                    "{}: a {:?} U-Net of base {} and {} levels; using that architecture",
                    w.path.display(),
                    w.arch.dim,
                    w.arch.base,
                    w.arch.depth
                ));
            }
            (cfg.base, cfg.levels, cfg.dim) = (w.arch.base, w.arch.depth, w.arch.dim);
            w.arch
        }
        None => {
            let depth = if cfg.dim == Dim::D3 { 4 } else { cfg.levels };
            Arch { dim: cfg.dim, base: cfg.base, depth }
        }
    };
    let divisor = 1usize << (arch.depth - 1);
    let spatial = match arch.dim {
        Dim::D2 => vec![cfg.size],
        Dim::D3 => vec![cfg.size, cfg.depth],
    };
    if spatial.iter().any(|s| s % divisor != 0) {
        bail!(
            "size (and depth in 3d) must be multiples of {divisor} for this U-Net, got {spatial:?}"
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write(&cfg, &dir.join("run.toml"))?;
    let splits = match data {
        Some(data) => data.split(&cfg)?,
        None => data::open(&cfg, obs)?,
    };
    obs.note(&format!(
        "── genesis finetune: {} from {} on {} · {} train / {} val / {} test images ──",
        cfg.task.name(),
        cfg.init,
        cfg.data,
        splits.train.len(),
        splits.val.len(),
        splits.test.len()
    ));
    genesis_nn::seed(&device, cfg.seed);
    let train_device = device.clone().autodiff();
    let trainer = Trainer {
        cfg: &cfg,
        dir,
        device,
        train_device: train_device.clone(),
        replicas: devices.into_iter().map(Device::autodiff).collect(),
        splits,
        weights: weights.as_ref(),
        bottleneck: arch.bottleneck(),
        obs,
    };
    let (report, records) = arch.spec(cfg.bn).with_model(&train_device, trainer)?;
    obs.finetune_done(dir, &records, cfg.task.metric())?;
    let json = serde_json::to_vec_pretty(&report)?;
    genesis_io::fsutil::write_atomic(&dir.join("metrics.json"), &json)?;
    Ok((report, records))
}

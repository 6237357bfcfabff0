//! Pretraining: Models Genesis / Semantic Genesis runs with checkpoints, resume, metrics and a
//! built-in phantom default (see docs/pretraining.md). For `data = "phantom"` with a head, the
//! pseudo-classes come from a real self-discovery on the phantoms, written to
//! `RUN_DIR/discovery/` before training starts and reused on resume.

mod epochs;
mod summary;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use genesis_core::phantom::PhantomConfig;
use genesis_core::{Pipeline, Quirks};
use genesis_nn::burn::tensor::Device;

use crate::batch::Generator;
use crate::checkpoint::TrainState;
use crate::device;
use crate::discover::{self, EmbedSettings, Settings};
use crate::manifest::COORDINATES;
use crate::metrics::Record;
use crate::observer::Observer;
use crate::phantoms::render_phantoms;
use crate::recipe::{RunConfig, write};
use crate::source::Source;

use epochs::Trainer;

/// What a finished (or early-stopped) run returns.
pub struct Outcome {
    /// The state of the last completed epoch.
    pub state: TrainState,
    /// Every metrics record of the run.
    pub records: Vec<Record>,
    /// Seconds spent in this invocation.
    pub seconds: f64,
    /// The one-screen summary (also saved as `summary.txt`).
    pub summary: String,
}

/// Runs (`resume = false`: starts, refusing a folder that holds a run) or resumes the run of
/// `cfg` in `dir`.
pub fn run(
    cfg: &RunConfig,
    dir: &Path,
    resume: bool,
    obs: &mut dyn Observer,
) -> anyhow::Result<Outcome> {
    if !resume && dir.join("run.toml").exists() {
        bail!(
            "{} already holds a run; continue it with --resume {0} or pick another --out",
            dir.display()
        );
    }
    let devices = device::parse_list(&cfg.device)?;
    let device = devices[0].clone();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write(cfg, &dir.join("run.toml"))?;
    let source = open_source(cfg, dir, obs)?;
    let classes = source.classes();
    if let Source::Labelled(crops) = &source {
        obs.note(&format!("{} labelled crops of {classes} pseudo-classes", crops.len()));
    }
    if cfg.method.has_head() && classes < 2 {
        bail!("{:?} needs at least two pseudo-classes, the data has {classes}", cfg.method);
    }
    let generator = Arc::new(Generator {
        source,
        pipeline: Pipeline::preset(cfg.pipeline, &Quirks::default()),
        seed: cfg.seed,
        batch: cfg.batch,
        accumulate: cfg.accumulate,
        shape: cfg.sample_shape(),
    });
    genesis_nn::seed(&device, cfg.seed);
    let train_device = device.clone().autodiff();
    let replicas = devices.into_iter().map(Device::autodiff).collect();
    let trainer = Trainer { cfg, dir, device, replicas, generator, resume, obs };
    let (state, records, seconds) = cfg.arch(classes).with_model(&train_device, trainer)?;
    let summary = summary::render(cfg, dir, (&state, &records, seconds));
    genesis_io::fsutil::write_atomic(&dir.join("summary.txt"), summary.as_bytes())?;
    Ok(Outcome { state, records, seconds, summary })
}

/// The crops of `cfg`: rendered phantoms, phantoms' discovered classes, or a folder.
fn open_source(cfg: &RunConfig, run: &Path, obs: &mut dyn Observer) -> anyhow::Result<Source> {
    let shape = cfg.sample_shape();
    if cfg.data != "phantom" {
        let needs_labels = cfg.method.has_head();
        let warn = &mut |line: &str| obs.warn(line);
        return Source::open(Path::new(&cfg.data), shape, needs_labels, &cfg.preprocess, warn);
    }
    if !cfg.method.has_head() {
        return Source::random(phantoms(cfg)?, shape);
    }
    let dir = run.join("discovery");
    discover_phantoms(cfg, &dir, obs)?;
    Source::open(&dir, shape, true, &cfg.preprocess, &mut |line: &str| obs.warn(line))
}

/// Renders `cfg.patients` phantoms (radiographs in 2-D, normalized CT in 3-D) with room for
/// random crops.
fn phantoms(cfg: &RunConfig) -> anyhow::Result<Vec<genesis_core::Volume>> {
    let [sx, _, sz] = cfg.sample_shape();
    let pc = PhantomConfig {
        size_2d: (2 * sx).max(128),
        shape_3d: [(2 * sx).max(96), (2 * sx).max(96), (2 * sz).max(48)],
        ..PhantomConfig::default()
    };
    let rendered = render_phantoms(cfg.seed, cfg.patients, cfg.dim, pc, cfg.workers)?;
    Ok(rendered.into_iter().map(|(_, v)| v).collect())
}

/// Runs (or, on resume, completes) self-discovery on the run's phantoms into `dir`: the
/// run's classes, K = an eighth of the patients, a small quickly trained autoencoder.
fn discover_phantoms(cfg: &RunConfig, dir: &Path, obs: &mut dyn Observer) -> anyhow::Result<()> {
    let [size, _, depth] = cfg.sample_shape();
    let mut settings = Settings::new(cfg.dim, "phantom", size, depth);
    settings.patients = cfg.patients;
    settings.seed = cfg.seed;
    settings.device = cfg.device.clone();
    settings.workers = cfg.workers;
    settings.discovery.classes = cfg.classes;
    settings.discovery.neighbours = (cfg.patients / 8).max(2);
    settings.embed = EmbedSettings { size: 32, steps: 60, ..EmbedSettings::default() };
    let log: PathBuf = dir.join(COORDINATES);
    discover::run(&settings, dir, log.exists().then_some(log.as_path()), obs)?;
    Ok(())
}

//! Self-discovery of recurring anatomy (spec §4, §4.6). Embeds every patient with a no-skip
//! autoencoder, then for each pseudo-class picks a fresh reference, its K nearest patients and
//! one fixed informative coordinate, and streams their crops at three resolutions to shards
//! with a manifest that Semantic Genesis pretraining trains on (see docs/discovery.md).

mod embed;
mod patients;
mod writer;

use std::path::Path;

use anyhow::{Context, bail};
use genesis_core::discovery::{DiscoveryConfig, Informative, discover};
use genesis_core::knn::Points;
use genesis_core::phantom::PhantomConfig;
use genesis_io::datasets::luna16::Partition;
use genesis_io::fsutil::write_atomic;
use serde::{Deserialize, Serialize};

pub use embed::{EmbedArch, EmbedSettings};
use patients::Patients;

use crate::device;
use crate::manifest::{COORDINATES, MANIFEST, SETTINGS};
use crate::observer::Observer;
use crate::recipe::Dim;
use writer::{Writer, read_coordinates};

/// Everything a discovery folder depends on; written as `discovery.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Settings {
    /// 2-D or 3-D.
    pub dim: Dim,
    /// `phantom` or a folder.
    pub data: String,
    /// Phantom patients (with `data = "phantom"`).
    pub patients: usize,
    /// Seed.
    pub seed: u64,
    /// Pattern generation.
    pub discovery: DiscoveryConfig,
    /// Embedding.
    pub embed: EmbedSettings,
    /// Crops per shard.
    pub shard_size: usize,
    /// Autoencoder device.
    pub device: String,
    /// Phantom rendering threads.
    pub workers: usize,
    /// The partition of the classes this folder holds crops of.
    #[serde(default)]
    pub shard: Partition,
}

impl Settings {
    /// The defaults of `dim` on `data` with crops of `size` (× `depth` in 3-D); 3-D phantoms get
    /// borders of a quarter crop instead of the CT defaults (they are rendered small).
    pub fn new(dim: Dim, data: &str, size: usize, depth: usize) -> Self {
        let mut discovery = match dim {
            Dim::D2 => DiscoveryConfig::radiograph(),
            Dim::D3 => DiscoveryConfig::ct(),
        };
        discovery.crop = match dim {
            Dim::D2 => [size, size, 1],
            Dim::D3 => [size, size, depth],
        };
        if let Informative::LungAir { border, border_z, .. } = &mut discovery.test
            && data == "phantom"
        {
            (*border, *border_z) = (size / 4, depth / 4);
        }
        Self {
            dim,
            data: data.into(),
            patients: 64,
            seed: 0,
            discovery,
            embed: EmbedSettings::default(),
            shard_size: 256,
            device: "cpu".into(),
            workers: 2,
            shard: Partition::default(),
        }
    }

    /// Phantoms large enough for the crop, its jitter and the border.
    pub fn phantom_config(&self) -> PhantomConfig {
        let c = &self.discovery;
        let border = match c.test {
            Informative::LungAir { border, .. } | Informative::Radiograph { border, .. } => border,
        };
        let side = (c.crop[0] as f64 * c.size_jitter[1]).ceil() as usize + 2 * border;
        match self.dim {
            Dim::D2 => {
                PhantomConfig { size_2d: (side * 3 / 2).max(128), ..PhantomConfig::default() }
            }
            Dim::D3 => {
                let depth = c.crop[2] * 3;
                PhantomConfig { shape_3d: [side * 2, side * 2, depth], ..PhantomConfig::default() }
            }
        }
    }
}

/// What a finished discovery reports.
pub struct Report {
    /// Classes in the folder.
    pub classes: usize,
    /// Crops written by this invocation.
    pub crops: usize,
}

/// Runs a discovery with `settings` into `out`, keeping the classes of `prev` (a coordinate
/// log) when given.
pub fn run(
    settings: &Settings,
    out: &Path,
    prev: Option<&Path>,
    obs: &mut dyn Observer,
) -> anyhow::Result<Report> {
    let own_log = out.join(COORDINATES);
    if own_log.exists() && prev.is_none_or(|p| !same_file(p, &own_log)) {
        bail!(
            "{} already holds a discovery; resume it with --prev-coordinates {} or pick another --out",
            out.display(),
            own_log.display()
        );
    }
    let patients = if settings.data == "phantom" {
        Patients::phantoms(
            settings.seed,
            settings.patients,
            settings.dim,
            settings.phantom_config(),
            settings.workers,
        )?
    } else {
        Patients::folder(Path::new(&settings.data), settings.dim)?
    };
    let mut cfg = settings.discovery;
    cap(&mut cfg, patients.len(), obs);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    check_settings(out, settings)?;
    let previous = match prev {
        Some(log) => read_coordinates(log, &patients)?,
        None => Vec::new(),
    };
    if previous.len() >= cfg.classes {
        obs.note(&format!("all {} classes are already discovered", cfg.classes));
        return Ok(Report { classes: previous.len(), crops: 0 });
    }
    if prev.is_some_and(|p| !same_file(p, &own_log)) {
        let lines: String = std::fs::read_to_string(prev.unwrap_or(&own_log))?;
        write_atomic(&own_log, lines.as_bytes())?;
    }
    obs.note(&format!("embedding {} patients …", patients.len()));
    // With a device list (a data-parallel pretraining run), the autoencoder uses the first.
    let device = device::parse_list(&settings.device)?.remove(0);
    let thumbs = embed::thumbnails(&patients, settings.embed.shape(settings.dim))?;
    let embedded = embed::embed(
        &thumbs,
        settings.dim,
        &settings.embed,
        (settings.seed, &device),
        &out.join("autoencoder.bpk"),
        obs,
    )?;
    drop(thumbs);
    obs.note(&format!(
        "autoencoder mse {:.5} → {:.5}; {}-d embeddings",
        embedded.loss.0, embedded.loss.1, embedded.dim
    ));
    write_atomic(
        &out.join("embeddings.npy"),
        &genesis_io::npy::encode(&[patients.len(), embedded.dim], &embedded.vectors),
    )?;
    write_atomic(&out.join("patients.json"), &serde_json::to_vec_pretty(patients.names())?)?;
    let points = Points::new(&embedded.vectors, embedded.dim)?;
    obs.begin("classes", cfg.classes as u64, previous.len() as u64);
    let before = count_lines(&out.join(MANIFEST));
    let mut writer =
        Writer::open(out, &patients, settings.shard_size, (previous.len(), settings.shard), obs)?;
    discover(&cfg, &points, settings.seed, &previous, &mut writer)?;
    drop(writer);
    obs.end();
    let title = format!("Self-discovery: {} classes × {} neighbours", cfg.classes, cfg.neighbours);
    obs.discovery_done(out, &title)?;
    Ok(Report { classes: cfg.classes, crops: count_lines(&out.join(MANIFEST)) - before })
}

/// Caps classes and neighbours to the patients available, with a warning.
fn cap(cfg: &mut DiscoveryConfig, patients: usize, obs: &mut dyn Observer) {
    if cfg.classes > patients {
        obs.warn(&format!(
            "{} classes asked but only {patients} patients (each class needs its own reference); using {patients}",
            cfg.classes
        ));
        cfg.classes = patients;
    }
    if cfg.neighbours > patients {
        obs.warn(&format!(
            "{} neighbours asked but only {patients} patients; using {patients}",
            cfg.neighbours
        ));
        cfg.neighbours = patients;
    }
}

/// Writes `discovery.json`, or checks that a resumed folder was made with the same settings
/// (the number of classes may grow).
fn check_settings(out: &Path, settings: &Settings) -> anyhow::Result<()> {
    let path = out.join(SETTINGS);
    let comparable = |s: &Settings| {
        let mut s = s.clone();
        s.discovery.classes = 0;
        s
    };
    if path.exists() {
        let old: Settings = serde_json::from_slice(&std::fs::read(&path)?)
            .with_context(|| format!("{} is not a discovery settings file", path.display()))?;
        if comparable(&old) != comparable(settings) {
            bail!(
                "{} was made with other settings ({}); resume with the same options or pick another --out",
                out.display(),
                path.display()
            );
        }
    }
    Ok(write_atomic(&path, &serde_json::to_vec_pretty(settings)?)?)
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().filter(|l| !l.trim().is_empty()).count())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

//! `genesis discover`: self-discovery of recurring anatomy (spec §4, §4.6). Embeds every
//! patient with a no-skip autoencoder, then for each pseudo-class picks a fresh reference,
//! its K nearest patients and one fixed informative coordinate, and streams their crops at
//! three resolutions to shards with a manifest that `genesis pretrain --method
//! semantic-genesis --data DIR` trains on (see docs/discovery.md).

mod embed;
mod patients;
mod sheet;
mod writer;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_core::discovery::{DiscoveryConfig, Informative, discover};
use genesis_core::knn::Points;
use genesis_core::phantom::PhantomConfig;
use genesis_io::datasets::luna16::Partition;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

pub use embed::{EmbedArch, EmbedSettings};
pub use patients::render_phantoms;
pub use writer::{COORDINATES, MANIFEST};

use crate::pretrain::checkpoint::write_atomic;
use crate::pretrain::config::Dim;
use patients::Patients;
use sheet::Sheet;
use writer::{Writer, read_coordinates};

/// Classes and crops per class drawn on the contact sheet.
const SHEET: (usize, usize) = (24, 10);
/// Settings file of a discovery folder.
const SETTINGS: &str = "discovery.json";

/// Arguments of `genesis discover`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 2d (radiographs, 224×224 crops) or 3d (CT, 64×64×32 crops).
    #[arg(long, value_enum, default_value = "2d")]
    pub dim: Dim,
    /// `phantom` (built-in synthetic chests) or a folder of images (2d) or volumes (3d).
    #[arg(long, default_value = "phantom")]
    pub data: String,
    /// Pseudo-classes C (default 100 in 2d, 44 in 3d; capped to the patients available).
    #[arg(long)]
    pub classes: Option<usize>,
    /// Nearest patients K cropped per class, the reference included (default 1000 in 2d, 200
    /// in 3d; capped to the patients available).
    #[arg(long)]
    pub neighbours: Option<usize>,
    /// Output folder (default runs/discover).
    #[arg(long, default_value = "runs/discover")]
    pub out: PathBuf,
    /// A coordinates.jsonl of an earlier run: keep its classes (references and corners) and
    /// add classes after them. Pointing at the --out folder's own log resumes a stopped run.
    #[arg(long)]
    pub prev_coordinates: Option<PathBuf>,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Phantom patients to render with --data phantom.
    #[arg(long, default_value_t = 64)]
    pub patients: usize,
    /// Crop side in pixels / in-plane voxels (default 224 in 2d, 64 in 3d).
    #[arg(long)]
    pub size: Option<usize>,
    /// Crop depth in slices, 3d only.
    #[arg(long, default_value_t = 32)]
    pub depth: usize,
    /// Crops per neighbour: 1 (fixed window) to 3 (plus two jittered, resized windows).
    #[arg(long, default_value_t = 3)]
    pub resolutions: usize,
    /// Border kept free of crops, in pixels / in-plane voxels (default 0 in 2d, 100 in 3d; 3d
    /// phantoms use a border of a quarter crop).
    #[arg(long)]
    pub border: Option<usize>,
    /// Network embedding the patients: the no-skip autoencoder or the U-Net.
    #[arg(long, value_enum, default_value = "autoencoder")]
    pub ae_arch: EmbedArch,
    /// Autoencoder training steps.
    #[arg(long, default_value_t = EmbedSettings::default().steps)]
    pub ae_steps: usize,
    /// Autoencoder thumbnail side (3d: side × side × side/2).
    #[arg(long, default_value_t = EmbedSettings::default().size)]
    pub ae_size: usize,
    /// Autoencoder width of the first block.
    #[arg(long, default_value_t = EmbedSettings::default().base)]
    pub ae_base: usize,
    /// Crops per shard file.
    #[arg(long, default_value_t = 256)]
    pub shard_size: usize,
    /// `cpu`, `wgpu[:N]` or `cuda[:N]` for the autoencoder.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Threads rendering phantoms.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// This process's partition `I/N`: cut the crops of classes c with c mod N = I only (every
    /// partition embeds all patients and picks every class, so they agree). Give each
    /// partition its own --out under one parent folder; `genesis pretrain --data PARENT`
    /// reads them all.
    #[arg(long, default_value = "0/1")]
    pub shard: Partition,
}

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

    /// Resolves the command line.
    fn from_args(a: &Args) -> Self {
        let size = a.size.unwrap_or(match a.dim {
            Dim::D2 => 224,
            Dim::D3 => 64,
        });
        let mut s = Self::new(a.dim, &a.data, size, a.depth);
        let d = &mut s.discovery;
        d.classes = a.classes.unwrap_or(d.classes);
        d.neighbours = a.neighbours.unwrap_or(d.neighbours);
        d.resolutions = a.resolutions;
        if let Some(b) = a.border {
            match &mut d.test {
                Informative::LungAir { border, .. } | Informative::Radiograph { border, .. } => {
                    *border = b
                }
            }
        }
        s.embed = EmbedSettings {
            arch: a.ae_arch,
            size: a.ae_size,
            steps: a.ae_steps,
            base: a.ae_base,
            ..s.embed
        };
        Self {
            patients: a.patients,
            seed: a.seed,
            shard_size: a.shard_size,
            device: a.device.clone(),
            workers: a.workers,
            shard: a.shard,
            ..s
        }
    }

    /// Phantoms large enough for the crop, its jitter and the border.
    fn phantom_config(&self) -> PhantomConfig {
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

/// Runs `genesis discover`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let settings = Settings::from_args(&args);
    let report = run_settings(&settings, &args.out, args.prev_coordinates.as_deref())?;
    println!(
        "{} classes in {} ({} new crops); train on them with\n  genesis pretrain --method semantic-genesis --dim {} --data {}",
        report.classes,
        args.out.display(),
        report.crops,
        match settings.dim {
            Dim::D2 => "2d",
            Dim::D3 => "3d",
        },
        args.out.display()
    );
    Ok(())
}

/// Runs a discovery with `settings` into `out`, keeping the classes of `prev` (a coordinate
/// log) when given.
pub fn run_settings(
    settings: &Settings,
    out: &Path,
    prev: Option<&Path>,
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
    cap(&mut cfg, patients.len());
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    check_settings(out, settings)?;
    let previous = match prev {
        Some(log) => read_coordinates(log, &patients)?,
        None => Vec::new(),
    };
    if previous.len() >= cfg.classes {
        println!("all {} classes are already discovered", cfg.classes);
        return Ok(Report { classes: previous.len(), crops: 0 });
    }
    if prev.is_some_and(|p| !same_file(p, &own_log)) {
        let lines: String = std::fs::read_to_string(prev.unwrap_or(&own_log))?;
        write_atomic(&own_log, lines.as_bytes())?;
    }
    println!("embedding {} patients …", patients.len());
    let device = crate::pretrain::device::parse(&settings.device)?;
    let thumbs = embed::thumbnails(&patients, settings.embed.shape(settings.dim))?;
    let embedded = embed::embed(
        &thumbs,
        settings.dim,
        &settings.embed,
        settings.seed,
        &device,
        &out.join("autoencoder.bpk"),
    )?;
    drop(thumbs);
    println!(
        "autoencoder mse {:.5} → {:.5}; {}-d embeddings",
        embedded.loss.0, embedded.loss.1, embedded.dim
    );
    write_atomic(
        &out.join("embeddings.npy"),
        &genesis_io::npy::encode(&[patients.len(), embedded.dim], &embedded.vectors),
    )?;
    write_atomic(&out.join("patients.json"), &serde_json::to_vec_pretty(patients.names())?)?;
    let points = Points::new(&embedded.vectors, embedded.dim)?;
    let bar = ProgressBar::new(cfg.classes as u64).with_prefix("classes");
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed}")?
            .progress_chars("=> "),
    );
    bar.set_position(previous.len() as u64);
    let sheet = Sheet::new(SHEET.0, SHEET.1, 64);
    let mut writer = Writer::open(
        out,
        &patients,
        settings.shard_size,
        (previous.len(), settings.shard),
        sheet,
        bar.clone(),
    )?;
    let before = count_lines(&out.join(MANIFEST));
    discover(&cfg, &points, settings.seed, &previous, &mut writer)?;
    bar.finish();
    let title = format!("Self-discovery: {} classes × {} neighbours", cfg.classes, cfg.neighbours);
    writer.sheet.save(&title, &out.join("contact-sheet.png"))?;
    Ok(Report { classes: cfg.classes, crops: count_lines(&out.join(MANIFEST)) - before })
}

/// The manifests of a discovery folder: its own `manifest.jsonl`, or those of the partition
/// folders (`genesis discover --shard I/N`) directly inside it, checked to be all the
/// partitions of one discovery. Empty when there is none.
pub fn manifests(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if dir.join(MANIFEST).is_file() {
        return Ok(vec![dir.join(MANIFEST)]);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut parts: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.join(MANIFEST).is_file() && p.join(SETTINGS).is_file())
        .collect();
    parts.sort();
    let mut settings: Vec<Settings> = Vec::with_capacity(parts.len());
    for part in &parts {
        let path = part.join(SETTINGS);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        settings.push(
            serde_json::from_str(&text)
                .with_context(|| format!("cannot read {}", path.display()))?,
        );
    }
    let Some(first) = settings.first() else {
        return Ok(Vec::new());
    };
    let count = first.shard.count;
    let same = |s: &Settings| Settings { shard: first.shard, ..s.clone() } == *first;
    if let Some(odd) = settings.iter().position(|s| !same(s) || s.shard.count != count) {
        bail!(
            "{} and {} are not partitions of one discovery (their {SETTINGS} differ beyond --shard)",
            parts[0].display(),
            parts[odd].display()
        );
    }
    let mut found: Vec<usize> = settings.iter().map(|s| s.shard.index).collect();
    found.sort_unstable();
    if found != (0..count).collect::<Vec<_>>() {
        bail!(
            "{} holds partitions {found:?} of {count}; run the missing ones (genesis discover --shard I/{count}) or train on one partition folder",
            dir.display()
        );
    }
    Ok(parts.into_iter().map(|p| p.join(MANIFEST)).collect())
}

/// Caps classes and neighbours to the patients available, with a warning.
fn cap(cfg: &mut DiscoveryConfig, patients: usize) {
    if cfg.classes > patients {
        eprintln!(
            "warning: {} classes asked but only {patients} patients (each class needs its own reference); using {patients}",
            cfg.classes
        );
        cfg.classes = patients;
    }
    if cfg.neighbours > patients {
        eprintln!(
            "warning: {} neighbours asked but only {patients} patients; using {patients}",
            cfg.neighbours
        );
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
    write_atomic(&path, &serde_json::to_vec_pretty(settings)?)
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

//! Where training crops come from: built-in phantoms, a folder of images or volumes, or a
//! folder of labelled crops described by `manifest.jsonl`.
//!
//! For `data = "phantom"` with a classification head, the pseudo-classes are a **stand-in for
//! self-discovery**: `classes` fixed random coordinates drawn once from the seed; the label of a
//! crop is its coordinate's index; each crop comes from a random phantom patient with a small
//! multi-resolution jitter (×0.8–1.25 of the crop size, resized back). Real self-discovery
//! (spec §4) also picks the patients as nearest neighbours of a reference in an autoencoder's
//! latent space; this stand-in does not.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use genesis_core::phantom::{PhantomConfig, chest_ct, chest_xray};
use genesis_core::resize::{Filter, resize};
use genesis_core::rng::{GenesisRng, RngExt, stream};
use genesis_core::{Volume, patches};
use genesis_io::Conventions;
use serde::Deserialize;

use super::config::{Dim, RunConfig};

/// Jitter range of the multi-resolution crops around the configured size.
const JITTER: (f64, f64) = (0.8, 1.25);

/// The crops a run trains on.
pub enum Source {
    /// Random crops of whole images or volumes (restoration only).
    Random(Vec<Volume>),
    /// Crops around fixed coordinates of whole images; the label is the coordinate's index.
    Coordinates {
        /// The images or volumes.
        images: Vec<Volume>,
        /// Crop centres, one per class.
        centres: Vec<[usize; 3]>,
    },
    /// Pre-cut crops with their class (resized to the sample shape).
    Labelled(Vec<(Volume, usize)>),
}

/// One line of `manifest.jsonl`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestLine {
    /// Crop file, relative to the manifest's folder.
    file: PathBuf,
    /// Pseudo-class index.
    class: usize,
}

impl Source {
    /// Loads or renders the data of `cfg` (phantoms are rendered on `cfg.workers` threads).
    pub fn open(cfg: &RunConfig) -> anyhow::Result<Self> {
        let shape = cfg.sample_shape();
        if cfg.data == "phantom" {
            let images = phantoms(cfg)?;
            if !cfg.method.has_head() {
                return Ok(Source::Random(images));
            }
            let centres = centres(cfg.seed, cfg.classes, images[0].shape(), shape)?;
            return Ok(Source::Coordinates { images, centres });
        }
        let dir = Path::new(&cfg.data);
        let manifest = dir.join("manifest.jsonl");
        if manifest.is_file() {
            return Ok(Source::Labelled(labelled(&manifest, shape)?));
        }
        if cfg.method.has_head() {
            bail!(
                "{}: {:?} needs pseudo-class labels: a manifest.jsonl of {{\"file\": ..., \"class\": k}} lines (see docs/pretraining.md)",
                dir.display(),
                cfg.method
            );
        }
        let dataset =
            genesis_io::datasets::folder::FolderDataset::open(dir, Conventions::default())?;
        let volumes = (0..dataset.len())
            .map(|i| at_least(dataset.get(i)?, shape))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Source::Random(volumes))
    }

    /// Number of classes (0 without labels).
    pub fn classes(&self) -> usize {
        match self {
            Source::Random(_) => 0,
            Source::Coordinates { centres, .. } => centres.len(),
            Source::Labelled(items) => items.iter().map(|(_, c)| c + 1).max().unwrap_or(0),
        }
    }

    /// Draws one original crop of `shape` and its label.
    pub fn draw(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> anyhow::Result<(Volume, usize)> {
        match self {
            Source::Random(images) => {
                let image = &images[rng.random_range(0..images.len())];
                let corner =
                    std::array::from_fn(|a| rng.random_range(0..=image.shape()[a] - shape[a]));
                Ok((patches::crop(image, corner, shape).context("crop outside the image")?, 0))
            }
            Source::Coordinates { images, centres } => {
                let image = &images[rng.random_range(0..images.len())];
                let class = rng.random_range(0..centres.len());
                let scale = rng.random_range(JITTER.0..=JITTER.1);
                let full = image.shape();
                let side: [usize; 3] = std::array::from_fn(|a| {
                    ((shape[a] as f64 * scale).round() as usize).clamp(1, full[a])
                });
                let corner = std::array::from_fn(|a| {
                    centres[class][a].saturating_sub(side[a] / 2).min(full[a] - side[a])
                });
                let crop = patches::crop(image, corner, side).context("crop outside the image")?;
                Ok((resize(&crop, shape, Filter::Linear)?, class))
            }
            Source::Labelled(items) => {
                let (crop, class) = &items[rng.random_range(0..items.len())];
                Ok((crop.clone(), *class))
            }
        }
    }
}

/// Renders `cfg.patients` phantoms (radiographs in 2-D, normalized CT in 3-D) in parallel.
fn phantoms(cfg: &RunConfig) -> anyhow::Result<Vec<Volume>> {
    let margin = |s: usize| ((s as f64 * JITTER.1).ceil() as usize) * 2;
    let [sx, _, sz] = cfg.sample_shape();
    let pc = PhantomConfig {
        size_2d: margin(sx).max(128),
        shape_3d: [margin(sx).max(96), margin(sx).max(96), margin(sz).max(48)],
        ..PhantomConfig::default()
    };
    let (seed, dim) = (cfg.seed, cfg.dim);
    let render = move |i: usize| -> anyhow::Result<Volume> {
        let index = i as u64;
        match dim {
            Dim::D2 => Ok(chest_xray(seed, index, &pc)?.volume),
            Dim::D3 => {
                let mut v = chest_ct(seed, index, &pc)?.volume;
                Conventions::default().normalize(&mut v);
                Ok(v)
            }
        }
    };
    let render = Arc::new(render);
    let workers = cfg.workers.min(cfg.patients);
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (render, n) = (Arc::clone(&render), cfg.patients);
            std::thread::spawn(move || {
                (w..n)
                    .step_by(workers)
                    .map(|i| render(i).map(|v| (i, v)))
                    .collect::<anyhow::Result<Vec<_>>>()
            })
        })
        .collect();
    let mut all = Vec::with_capacity(cfg.patients);
    for h in handles {
        all.extend(h.join().map_err(|_| anyhow::anyhow!("a phantom renderer panicked"))??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, v)| v).collect())
}

/// `classes` crop centres drawn once from the seed, far enough from the edges of an image of
/// `full` shape for the largest jittered crop of `shape`.
fn centres(
    seed: u64,
    classes: usize,
    full: [usize; 3],
    shape: [usize; 3],
) -> anyhow::Result<Vec<[usize; 3]>> {
    let mut rng = stream(seed, "class-coordinates", &[]);
    // Half the largest jittered crop per axis; an axis of size 1 (2-D depth) stays at 0.
    let half: [usize; 3] = std::array::from_fn(|a| match shape[a] {
        1 => 0,
        s => ((s as f64 * JITTER.1).ceil() as usize).div_ceil(2),
    });
    if (0..3).any(|a| full[a] < 2 * half[a]) {
        bail!("phantom of shape {full:?} is too small for crops of {shape:?}");
    }
    Ok((0..classes)
        .map(|_| std::array::from_fn(|a| rng.random_range(half[a]..=full[a] - half[a])))
        .collect())
}

/// Resizes `v` up where it is smaller than `shape` (random crops need room).
fn at_least(v: Volume, shape: [usize; 3]) -> anyhow::Result<Volume> {
    let s = v.shape();
    if (0..3).all(|a| s[a] >= shape[a]) {
        return Ok(v);
    }
    Ok(resize(&v, std::array::from_fn(|a| s[a].max(shape[a])), Filter::Linear)?)
}

/// Reads a manifest and its crops, each normalized and resized to `shape`.
fn labelled(manifest: &Path, shape: [usize; 3]) -> anyhow::Result<Vec<(Volume, usize)>> {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let entry: ManifestLine = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: expected {{\"file\": \"...\", \"class\": k}}",
                manifest.display(),
                n + 1
            )
        })?;
        let crop = genesis_io::load_normalized(&dir.join(&entry.file))?;
        items.push((resize(&crop, shape, Filter::Linear)?, entry.class));
    }
    if items.len() < 2 {
        bail!("{}: needs at least two crops", manifest.display());
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pretrain::config::Method;

    #[test]
    fn coordinate_classes_are_fixed_by_the_seed_and_crops_have_the_sample_shape() {
        let cfg = RunConfig {
            patients: 2,
            classes: 3,
            ..RunConfig::preset(Method::SemanticGenesis, Dim::D2)
        };
        let source = Source::open(&cfg).unwrap();
        assert_eq!(source.classes(), 3);
        let a = source.draw(&mut stream(1, "t", &[]), cfg.sample_shape()).unwrap();
        let b = source.draw(&mut stream(1, "t", &[]), cfg.sample_shape()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.0.shape(), cfg.sample_shape());
        assert!(a.1 < 3);
    }

    #[test]
    fn manifest_crops_carry_their_class() {
        let dir = std::env::temp_dir().join(format!("genesis-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, name) in ["a.npy", "b.npy"].iter().enumerate() {
            let v =
                Volume::new([8, 8, 1], (0..64).map(|p| (p * (i + 1)) as f32).collect()).unwrap();
            genesis_io::npy::write(&dir.join(name), &v).unwrap();
        }
        std::fs::write(
            dir.join("manifest.jsonl"),
            "{\"file\":\"a.npy\",\"class\":0}\n{\"file\":\"b.npy\",\"class\":4}\n",
        )
        .unwrap();
        let cfg = RunConfig {
            data: dir.display().to_string(),
            size: 16,
            ..RunConfig::preset(Method::SemanticGenesis, Dim::D2)
        };
        let source = Source::open(&cfg).unwrap();
        assert_eq!(source.classes(), 5);
        let (crop, class) = source.draw(&mut stream(0, "t", &[]), cfg.sample_shape()).unwrap();
        assert_eq!(crop.shape(), [16, 16, 1]);
        assert!(class == 0 || class == 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

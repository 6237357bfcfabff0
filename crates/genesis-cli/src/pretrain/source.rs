//! Where training crops come from: built-in phantoms, a folder of images or volumes, or a
//! folder of labelled crops described by `manifest.jsonl` (what `genesis discover` writes).
//!
//! For `data = "phantom"` with a classification head, the pseudo-classes come from a real
//! self-discovery on the phantoms (autoencoder embeddings, nearest neighbours, fixed
//! coordinates; spec §4), written to `RUN_DIR/discovery/` before training starts and reused
//! on resume.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_core::phantom::PhantomConfig;
use genesis_core::resize::{Filter, resize};
use genesis_core::rng::{GenesisRng, RngExt};
use genesis_core::{Volume, patches};
use genesis_io::Conventions;
use genesis_io::datasets::luna16::CubeCache;
use genesis_io::npy::Array;
use serde::Deserialize;

use super::config::RunConfig;
use crate::discover::{self, EmbedSettings, Settings};

/// The crops a run trains on.
pub enum Source {
    /// Random crops of whole images or volumes (restoration only).
    Random(Vec<Volume>),
    /// Pre-cut crops with their class (resized to the sample shape).
    Labelled(Vec<(Volume, usize)>),
}

/// The fields of a `manifest.jsonl` line pretraining reads (discovery writes more).
#[derive(Debug, Deserialize)]
struct ManifestLine {
    /// Crop file, relative to the manifest's folder: an image/volume, or an NPY shard
    /// `[n, X, Y, Z]` when `index` is given.
    file: PathBuf,
    /// Position of the crop in a shard.
    #[serde(default)]
    index: Option<usize>,
    /// Pseudo-class index.
    class: usize,
}

impl Source {
    /// Loads or renders the data of `cfg` (phantoms are rendered on `cfg.workers` threads; a
    /// phantom run with a head first runs self-discovery into `run/discovery`).
    pub fn open(cfg: &RunConfig, run: &Path) -> anyhow::Result<Self> {
        let shape = cfg.sample_shape();
        let dir = if cfg.data == "phantom" {
            if !cfg.method.has_head() {
                return Ok(Source::Random(phantoms(cfg)?));
            }
            let dir = run.join("discovery");
            discover_phantoms(cfg, &dir)?;
            dir
        } else {
            PathBuf::from(&cfg.data)
        };
        let manifests = discover::manifests(&dir)?;
        if !manifests.is_empty() {
            let mut items = Vec::new();
            for manifest in &manifests {
                items.extend(labelled(manifest, shape)?);
            }
            if items.len() < 2 {
                bail!("{}: needs at least two crops", dir.display());
            }
            return Ok(Source::Labelled(items));
        }
        if cfg.method.has_head() {
            bail!(
                "{}: {:?} needs pseudo-class labels: run `genesis discover --data {0} --out DIR` and train on DIR, or write a manifest.jsonl of {{\"file\": ..., \"class\": k}} lines (see docs/pretraining.md)",
                dir.display(),
                cfg.method
            );
        }
        if is_cube_cache(&dir) {
            let cache = CubeCache::open(&dir)?;
            let volumes =
                cache.cubes().map(|c| at_least(c?, shape)).collect::<anyhow::Result<_>>()?;
            return Ok(Source::Random(volumes));
        }
        let dataset =
            genesis_io::datasets::folder::FolderDataset::open(&dir, Conventions::default())?;
        let volumes = (0..dataset.len())
            .map(|i| at_least(dataset.get(i)?, shape))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Source::Random(volumes))
    }

    /// Number of classes (0 without labels).
    pub fn classes(&self) -> usize {
        match self {
            Source::Random(_) => 0,
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
            Source::Labelled(items) => {
                let (crop, class) = &items[rng.random_range(0..items.len())];
                Ok((crop.clone(), *class))
            }
        }
    }
}

/// Renders `cfg.patients` phantoms (radiographs in 2-D, normalized CT in 3-D) with room for
/// random crops.
fn phantoms(cfg: &RunConfig) -> anyhow::Result<Vec<Volume>> {
    let [sx, _, sz] = cfg.sample_shape();
    let pc = PhantomConfig {
        size_2d: (2 * sx).max(128),
        shape_3d: [(2 * sx).max(96), (2 * sx).max(96), (2 * sz).max(48)],
        ..PhantomConfig::default()
    };
    let rendered = discover::render_phantoms(cfg.seed, cfg.patients, cfg.dim, pc, cfg.workers)?;
    Ok(rendered.into_iter().map(|(_, v)| v).collect())
}

/// Runs (or, on resume, completes) self-discovery on the run's phantoms into `dir`: the
/// run's classes, K = an eighth of the patients, a small quickly trained autoencoder.
fn discover_phantoms(cfg: &RunConfig, dir: &Path) -> anyhow::Result<()> {
    let [size, _, depth] = cfg.sample_shape();
    let mut settings = Settings::new(cfg.dim, "phantom", size, depth);
    settings.patients = cfg.patients;
    settings.seed = cfg.seed;
    settings.device = cfg.device.clone();
    settings.workers = cfg.workers;
    settings.discovery.classes = cfg.classes;
    settings.discovery.neighbours = (cfg.patients / 8).max(2);
    settings.embed = EmbedSettings { size: 32, steps: 60, ..EmbedSettings::default() };
    let log = dir.join(discover::COORDINATES);
    discover::run_settings(&settings, dir, log.exists().then_some(log.as_path()))?;
    Ok(())
}

/// Whether `dir` holds `manifest-*.json` files of a `genesis cubes` cache.
fn is_cube_cache(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("manifest-") && name.ends_with(".json")
        })
    })
}

/// Resizes `v` up where it is smaller than `shape` (random crops need room).
fn at_least(v: Volume, shape: [usize; 3]) -> anyhow::Result<Volume> {
    let s = v.shape();
    if (0..3).all(|a| s[a] >= shape[a]) {
        return Ok(v);
    }
    Ok(resize(&v, std::array::from_fn(|a| s[a].max(shape[a])), Filter::Linear)?)
}

/// Reads a manifest and its crops, each normalized and resized to `shape`. Shard files are
/// read once while consecutive lines name them.
fn labelled(manifest: &Path, shape: [usize; 3]) -> anyhow::Result<Vec<(Volume, usize)>> {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut items = Vec::new();
    let mut shard: Option<(PathBuf, Array)> = None;
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = || format!("{}:{}", manifest.display(), n + 1);
        let entry: ManifestLine = serde_json::from_str(line)
            .with_context(|| format!("{}: expected {{\"file\": \"...\", \"class\": k}}", at()))?;
        let path = dir.join(&entry.file);
        let crop = match entry.index {
            None => genesis_io::load_normalized(&path)?,
            Some(index) => {
                if shard.as_ref().is_none_or(|(p, _)| *p != path) {
                    let bytes = genesis_io::limits::read_file(&path)?;
                    shard = Some((path.clone(), genesis_io::npy::parse(&path, &bytes)?));
                }
                let (_, array) = shard.as_ref().context("shard just loaded")?;
                shard_item(array, index).with_context(at)?
            }
        };
        crop.check_finite().with_context(at)?;
        items.push((resize(&crop, shape, Filter::Linear)?, entry.class));
    }
    Ok(items)
}

/// Crop `index` of a shard `[n, X, Y, Z]`.
fn shard_item(array: &Array, index: usize) -> anyhow::Result<Volume> {
    let &[n, x, y, z] = array.shape.as_slice() else {
        bail!("a shard must have shape [n, X, Y, Z], this one has {:?}", array.shape);
    };
    if index >= n {
        bail!("crop {index} asked from a shard of {n}");
    }
    let size = x * y * z;
    Ok(Volume::new([x, y, z], array.data[index * size..(index + 1) * size].to_vec())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pretrain::config::{Dim, Method};
    use genesis_core::rng::stream;

    #[test]
    fn manifest_crops_carry_their_class() {
        let dir = std::env::temp_dir().join(format!("genesis-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, name) in ["a.npy", "b.npy"].iter().enumerate() {
            let v =
                Volume::new([8, 8, 1], (0..64).map(|p| (p * (i + 1)) as f32).collect()).unwrap();
            genesis_io::npy::write(&dir.join(name), &v).unwrap();
        }
        let shard: Vec<f32> = (0..128).map(|p| p as f32).collect();
        std::fs::write(dir.join("s.npy"), genesis_io::npy::encode(&[2, 8, 8, 1], &shard)).unwrap();
        std::fs::write(
            dir.join("manifest.jsonl"),
            "{\"file\":\"a.npy\",\"class\":0}\n{\"file\":\"b.npy\",\"class\":4}\n\
             {\"file\":\"s.npy\",\"index\":1,\"class\":2,\"patient\":\"p\"}\n",
        )
        .unwrap();
        let cfg = RunConfig {
            data: dir.display().to_string(),
            size: 16,
            ..RunConfig::preset(Method::SemanticGenesis, Dim::D2)
        };
        let source = Source::open(&cfg, &dir).unwrap();
        assert_eq!(source.classes(), 5);
        let (crop, class) = source.draw(&mut stream(0, "t", &[]), cfg.sample_shape()).unwrap();
        assert_eq!(crop.shape(), [16, 16, 1]);
        assert!([0, 2, 4].contains(&class));
        let Source::Labelled(items) = &source else { panic!("labelled") };
        assert_eq!(items[2].1, 2);
        // Crop 1 of the shard holds 64..128, resized 8 → 16 keeps the range.
        assert!(items[2].0.min_max().0 >= 64.0);
        std::fs::write(
            dir.join("manifest.jsonl"),
            "{\"file\":\"s.npy\",\"index\":2,\"class\":0}\n",
        )
        .unwrap();
        let err = Source::open(&cfg, &dir).err().unwrap();
        assert!(format!("{err:#}").contains("crop 2 asked from a shard of 2"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

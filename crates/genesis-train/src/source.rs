//! Where training crops come from: whole images or volumes to crop at random (phantoms, a
//! folder, a `genesis cubes` cache, or the images a visitor dropped into the page), or
//! labelled crops listed by `manifest.jsonl` files (what self-discovery writes).

use anyhow::Context;
use genesis_core::resize::{Filter, resize};
use genesis_core::rng::{GenesisRng, RngExt};
use genesis_core::{Volume, patches};
use genesis_io::Loaded;

/// The line telling what `loaded` (the file or series `name`) held beyond what was read (a 4-D
/// file cut to one volume), if anything.
pub fn notice(name: &str, loaded: &Loaded) -> Option<String> {
    loaded.notice().map(|n| format!("{name}: {n} (choose another with --volume K)"))
}

/// The crops a run trains on.
pub enum Source {
    /// Random crops of whole images or volumes (restoration only).
    Random(Vec<Volume>),
    /// Pre-cut crops with their class (resized to the sample shape).
    Labelled(Vec<(Volume, usize)>),
    /// Random crops of the cubes of a `genesis cubes` cache, each cube read from its shard
    /// when drawn: only the shards' headers stay in memory, so the cache may exceed it.
    #[cfg(not(target_family = "wasm"))]
    Cubes(genesis_io::datasets::luna16::LazyCubes),
}

impl Source {
    /// Random crops of `volumes`, each first enlarged where it is smaller than `shape`.
    pub fn random(volumes: Vec<Volume>, shape: [usize; 3]) -> anyhow::Result<Self> {
        anyhow::ensure!(!volumes.is_empty(), "no images to train on");
        let volumes = volumes.into_iter().map(|v| at_least(v, shape));
        Ok(Source::Random(volumes.collect::<anyhow::Result<_>>()?))
    }

    /// Number of classes (0 without labels).
    pub fn classes(&self) -> usize {
        match self {
            Source::Random(_) => 0,
            #[cfg(not(target_family = "wasm"))]
            Source::Cubes(_) => 0,
            Source::Labelled(items) => items.iter().map(|(_, c)| c + 1).max().unwrap_or(0),
        }
    }

    /// Draws one original crop of `shape` and its label. A cube cache draws exactly what its
    /// cubes loaded into [`Source::Random`] would: the image index, then the corner.
    pub fn draw(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> anyhow::Result<(Volume, usize)> {
        match self {
            Source::Random(images) => {
                let image = &images[rng.random_range(0..images.len())];
                Ok((random_crop(rng, image, shape)?, 0))
            }
            #[cfg(not(target_family = "wasm"))]
            Source::Cubes(cubes) => {
                let cube = at_least(cubes.get(rng.random_range(0..cubes.len()))?, shape)?;
                Ok((random_crop(rng, &cube, shape)?, 0))
            }
            Source::Labelled(items) => {
                let (crop, class) = &items[rng.random_range(0..items.len())];
                Ok((crop.clone(), *class))
            }
        }
    }
}

/// A crop of `shape` at a random corner of `image` (at least `shape` along every axis).
fn random_crop(rng: &mut GenesisRng, image: &Volume, shape: [usize; 3]) -> anyhow::Result<Volume> {
    let corner = std::array::from_fn(|a| rng.random_range(0..=image.shape()[a] - shape[a]));
    patches::crop(image, corner, shape).context("crop outside the image")
}

/// Resizes `v` up where it is smaller than `shape` (random crops need room).
fn at_least(v: Volume, shape: [usize; 3]) -> anyhow::Result<Volume> {
    let s = v.shape();
    if (0..3).all(|a| s[a] >= shape[a]) {
        return Ok(v);
    }
    Ok(resize(&v, std::array::from_fn(|a| s[a].max(shape[a])), Filter::Linear)?)
}

#[cfg(not(target_family = "wasm"))]
mod files {
    use std::path::{Path, PathBuf};

    use anyhow::{Context, bail};
    use genesis_core::Volume;
    use genesis_core::resize::{Filter, resize};
    use genesis_io::Preprocess;
    use genesis_io::datasets::folder::FolderDataset;
    use genesis_io::datasets::luna16::CubeCache;
    use genesis_io::npy::Array;

    use super::{Source, notice};
    use crate::manifest::{ManifestLine, manifests};

    impl Source {
        /// The crops of a folder: labelled crops when it holds manifests (its own or its
        /// partitions'), else random crops of its images, volumes or cached cubes.
        /// `needs_labels` refuses a folder without manifests, saying how to make one. Images
        /// and volumes are read with `pre` (a folder of DICOM slices gives one volume per
        /// series); notices (a 4-D file cut to one volume) go to `warn`.
        pub fn open(
            dir: &Path,
            shape: [usize; 3],
            needs_labels: bool,
            pre: &Preprocess,
            warn: &mut dyn FnMut(&str),
        ) -> anyhow::Result<Self> {
            let manifests = manifests(dir)?;
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
            if needs_labels {
                bail!(
                    "{}: this method needs pseudo-class labels: run `genesis discover --data {0} --out DIR` and train on DIR, or write a manifest.jsonl of {{\"file\": ..., \"class\": k}} lines (see docs/pretraining.md)",
                    dir.display()
                );
            }
            if is_cube_cache(dir) {
                return Ok(Source::Cubes(CubeCache::open(dir)?.lazy()?));
            }
            let dataset = FolderDataset::open(dir, pre.clone())?;
            let mut volumes = Vec::with_capacity(dataset.len());
            for (i, item) in dataset.items().iter().enumerate() {
                let loaded = dataset.load(i)?;
                if let Some(line) = notice(&item.name(dir), &loaded) {
                    warn(&line);
                }
                volumes.push(loaded.volume);
            }
            Source::random(volumes, shape)
        }
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
            let entry: ManifestLine = serde_json::from_str(line).with_context(|| {
                format!("{}: expected {{\"file\": \"...\", \"class\": k}}", at())
            })?;
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
        use genesis_core::rng::stream;

        #[test]
        fn manifest_crops_carry_their_class() {
            let dir = std::env::temp_dir().join(format!("genesis-manifest-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for (i, name) in ["a.npy", "b.npy"].iter().enumerate() {
                let data = (0..64).map(|p| (p * (i + 1)) as f32).collect();
                genesis_io::npy::write(&dir.join(name), &Volume::new([8, 8, 1], data).unwrap())
                    .unwrap();
            }
            let shard: Vec<f32> = (0..128).map(|p| p as f32).collect();
            std::fs::write(dir.join("s.npy"), genesis_io::npy::encode(&[2, 8, 8, 1], &shard))
                .unwrap();
            std::fs::write(
                dir.join("manifest.jsonl"),
                "{\"file\":\"a.npy\",\"class\":0}\n{\"file\":\"b.npy\",\"class\":4}\n\
                 {\"file\":\"s.npy\",\"index\":1,\"class\":2,\"patient\":\"p\"}\n",
            )
            .unwrap();
            let shape = [16, 16, 1];
            let source =
                Source::open(&dir, shape, true, &Preprocess::default(), &mut |_| {}).unwrap();
            assert_eq!(source.classes(), 5);
            let (crop, class) = source.draw(&mut stream(0, "t", &[]), shape).unwrap();
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
            let err =
                Source::open(&dir, shape, true, &Preprocess::default(), &mut |_| {}).err().unwrap();
            assert!(format!("{err:#}").contains("crop 2 asked from a shard of 2"), "{err:#}");
            std::fs::remove_dir_all(&dir).unwrap();
            let err =
                Source::open(&dir, shape, true, &Preprocess::default(), &mut |_| {}).err().unwrap();
            assert!(format!("{err:#}").contains("needs pseudo-class labels"), "{err:#}");
        }

        #[test]
        fn a_cube_cache_is_read_lazily_and_draws_what_the_loaded_cubes_would() {
            use genesis_io::datasets::luna16::{Manifest, Partition, ShardRecord};
            let dir = std::env::temp_dir().join(format!("genesis-lazy-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let mut shards = Vec::new();
            for (k, cubes) in [3, 2].into_iter().enumerate() {
                let file = format!("shard-0of1-{k:05}.npy");
                let data: Vec<f32> = (0..cubes * 256).map(|v| (v * (k + 3)) as f32).collect();
                let bytes = genesis_io::npy::encode(&[cubes, 8, 8, 4], &data);
                std::fs::write(dir.join(&file), bytes).unwrap();
                shards.push(ShardRecord { file, cubes });
            }
            let manifest = Manifest {
                config: Default::default(),
                partition: Partition::default(),
                shards,
                scans: Vec::new(),
            };
            let text = serde_json::to_string(&manifest).unwrap();
            std::fs::write(dir.join("manifest-0of1.json"), text).unwrap();
            let cubes = CubeCache::open(&dir).unwrap().cubes().collect::<Result<Vec<_>, _>>();
            // [6, 6, 3] crops the cubes as they are, [10, 10, 4] enlarges them first.
            for shape in [[6, 6, 3], [10, 10, 4]] {
                let eager = Source::random(cubes.as_ref().unwrap().clone(), shape).unwrap();
                let lazy =
                    Source::open(&dir, shape, false, &Preprocess::default(), &mut |_| {}).unwrap();
                assert!(matches!(lazy, Source::Cubes(_)));
                for i in 0..20 {
                    let draw = |s: &Source| s.draw(&mut stream(7, "t", &[i]), shape).unwrap();
                    assert_eq!(draw(&lazy), draw(&eager), "draw {i} of {shape:?}");
                }
            }
            let shard = dir.join(&manifest.shards[1].file);
            let file = std::fs::OpenOptions::new().write(true).open(&shard).unwrap();
            file.set_len(100).unwrap();
            let err = format!(
                "{:#}",
                Source::open(&dir, [6, 6, 3], false, &Preprocess::default(), &mut |_| {})
                    .err()
                    .unwrap()
            );
            assert!(err.contains("shard-0of1-00001.npy") && err.contains("truncated"), "{err}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

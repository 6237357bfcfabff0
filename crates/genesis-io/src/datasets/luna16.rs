//! LUNA16 (or any folder of CT scans) → a cache of 64×64×32 Models Genesis cubes (spec §3.1),
//! written as NPY shards with a JSON manifest.
//!
//! Scans are `subset*/**/*.mhd` under a LUNA16 root; under any other folder, its items as
//! [`super::folder::FolderDataset`] lists them (files, and one volume per series of a folder
//! of DICOM slices), sorted. Each scan is read and preprocessed ([`ExtractConfig::preprocess`]:
//! by default treated as CT, HU [-1000, 1000] → [0, 1]; optionally resampled) and passed to
//! [`genesis_core::patches::extract_cubes`] with a generator seeded by the run seed and the
//! scan's relative path, so a scan gives the same cubes whatever the partition or the order.
//! Cubes are buffered only until a shard holds `shard_size` (whole scans are never split),
//! then written as `shard-<I>of<N>-<k>.npy` (`f32`, shape `[n, 64, 64, 32]`) followed by the
//! manifest `manifest-<I>of<N>.json`; a rerun skips the scans the manifest lists. `--shard
//! I/N` partitions (scan `k` goes to partition `k mod N`) can run in parallel in one folder.

use std::path::{Path, PathBuf};

use genesis_core::patches::{CubeConfig, extract_cubes};
use genesis_core::{Modality, Units, Volume};
use serde::{Deserialize, Serialize};

use super::folder::{FolderDataset, Item};
use crate::{Intensity, IoError, Preprocess};

/// Partition `index` of `count` (`"I/N"` on command lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// This partition, `0..count`.
    pub index: usize,
    /// Number of partitions.
    pub count: usize,
}

impl Default for Partition {
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

impl std::str::FromStr for Partition {
    type Err = String;

    /// Parses `"I/N"` with `I < N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = s
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index < count => Ok(Self { index, count }),
            _ => Err(format!("partition {s:?} must be I/N with 0 <= I < N, e.g. 0/4")),
        }
    }
}

impl Partition {
    /// Tag used in file names, e.g. `0of4`.
    fn tag(&self) -> String {
        format!("{}of{}", self.index, self.count)
    }
}

/// Options of an extraction run; recorded in the manifest and checked on resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractConfig {
    /// Cube sampler (spec §3.1 defaults).
    pub cubes: CubeConfig,
    /// Cubes per shard (at least; whole scans are kept together).
    pub shard_size: usize,
    /// Run seed.
    pub seed: u64,
    /// How each scan is read and normalized (default: CT in HU, window [-1000, 1000]; a
    /// manifest written before this key existed reads as that default).
    pub preprocess: Preprocess,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        let preprocess = Preprocess { intensity: Intensity::Hu, ..Preprocess::default() };
        Self { cubes: CubeConfig::default(), shard_size: 256, seed: 0, preprocess }
    }
}

/// What happened to one scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRecord {
    /// Path relative to the LUNA16 root.
    pub name: String,
    /// Cubes kept.
    pub cubes: usize,
    /// Shard holding them (`None` when no cube was kept).
    pub shard: Option<String>,
    /// Why the scan gave no cubes, if it failed to load.
    pub error: Option<String>,
}

/// One shard file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// File name inside the cache folder.
    pub file: String,
    /// Cubes in the file.
    pub cubes: usize,
}

/// The manifest of one partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Options the cubes were made with.
    pub config: ExtractConfig,
    /// The partition.
    pub partition: Partition,
    /// Shards written so far.
    pub shards: Vec<ShardRecord>,
    /// Scans done so far.
    pub scans: Vec<ScanRecord>,
}

/// The `.mhd` scans under `subset*` folders of `root`, sorted.
pub fn scans(root: &Path) -> Result<Vec<PathBuf>, IoError> {
    let subsets = std::fs::read_dir(root)
        .map_err(|e| IoError::os(root, "listing", e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("subset"))
        });
    let mut out = Vec::new();
    for subset in subsets {
        out.extend(super::walk(&subset, &|p| {
            p.extension().is_some_and(|e| e.eq_ignore_ascii_case("mhd"))
        })?);
    }
    out.sort();
    Ok(out)
}

/// The scans of `root`: its LUNA16 `subset*` scans, else every item of the folder (files, and
/// the series of folders of DICOM slices).
pub fn items(root: &Path, pre: &Preprocess) -> Result<Vec<Item>, IoError> {
    let luna = scans(root)?;
    if !luna.is_empty() {
        return Ok(luna
            .into_iter()
            .map(|path| Item { path, series: None, mixed: false })
            .collect());
    }
    Ok(FolderDataset::open(root, pre.clone())?.items().to_vec())
}

/// Extracts the cubes of this partition's scans under `root` into `out`, resuming from its
/// manifest; returns the manifest.
pub fn extract(
    root: &Path,
    out: &Path,
    config: &ExtractConfig,
    partition: Partition,
) -> Result<Manifest, IoError> {
    if partition.count == 0 || partition.index >= partition.count || config.shard_size == 0 {
        return Err(IoError::Dataset {
            file: out.to_path_buf(),
            detail: "invalid partition or shard size".into(),
        });
    }
    std::fs::create_dir_all(out).map_err(|e| IoError::os(out, "creating", e))?;
    let manifest_path = out.join(format!("manifest-{}.json", partition.tag()));
    let mut manifest = if manifest_path.exists() {
        let m = read_manifest(&manifest_path)?;
        if m.config != *config || m.partition != partition {
            return Err(IoError::Dataset {
                file: manifest_path,
                detail: "made with other options; use a fresh folder or the same options".into(),
            });
        }
        m
    } else {
        Manifest { config: config.clone(), partition, shards: Vec::new(), scans: Vec::new() }
    };
    let all = items(root, &config.preprocess)?;
    let mut buffer: Vec<Volume> = Vec::new();
    let mut pending: Vec<ScanRecord> = Vec::new();
    for (k, item) in all.iter().enumerate() {
        let name = item.name(root);
        if k % partition.count != partition.index || manifest.scans.iter().any(|s| s.name == name) {
            continue;
        }
        let mut rng = genesis_core::rng::stream(config.seed, &format!("luna16-cubes:{name}"), &[]);
        let record = match item.load(&config.preprocess) {
            Ok(loaded) => {
                let mut volume = loaded.volume;
                volume.meta.modality = Modality::Ct;
                let cubes = extract_cubes(&volume, &config.cubes, &mut rng);
                let count = cubes.len();
                buffer.extend(cubes);
                ScanRecord { name, cubes: count, shard: None, error: None }
            }
            Err(e) => ScanRecord { name, cubes: 0, shard: None, error: Some(e.to_string()) },
        };
        pending.push(record);
        if buffer.len() >= config.shard_size {
            flush(out, &manifest_path, &mut manifest, &mut buffer, &mut pending)?;
        }
    }
    flush(out, &manifest_path, &mut manifest, &mut buffer, &mut pending)?;
    Ok(manifest)
}

/// Writes the buffered cubes as the next shard, then the manifest with the pending scans.
fn flush(
    out: &Path,
    manifest_path: &Path,
    manifest: &mut Manifest,
    buffer: &mut Vec<Volume>,
    pending: &mut Vec<ScanRecord>,
) -> Result<(), IoError> {
    if pending.is_empty() {
        return Ok(());
    }
    if !buffer.is_empty() {
        let file = format!("shard-{}-{:05}.npy", manifest.partition.tag(), manifest.shards.len());
        let [x, y, z] = buffer[0].shape();
        let data: Vec<f32> = buffer.iter().flat_map(|c| c.data().iter().copied()).collect();
        crate::fsutil::write_atomic(
            &out.join(&file),
            &crate::npy::encode(&[buffer.len(), x, y, z], &data),
        )?;
        manifest.shards.push(ShardRecord { file: file.clone(), cubes: buffer.len() });
        for record in pending.iter_mut().filter(|r| r.cubes > 0) {
            record.shard = Some(file.clone());
        }
        buffer.clear();
    }
    manifest.scans.append(pending);
    let text = serde_json::to_string_pretty(manifest)
        .map_err(|e| IoError::corrupt(manifest_path, "manifest", e.to_string()))?;
    crate::fsutil::write_atomic(manifest_path, text.as_bytes())
}

/// Reads one manifest file.
fn read_manifest(path: &Path) -> Result<Manifest, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::os(path, "reading", e))?;
    serde_json::from_str(&text).map_err(|e| IoError::corrupt(path, "manifest", e.to_string()))
}

/// A cube cache folder: every partition's manifest, read back one shard at a time.
#[derive(Debug, Clone)]
pub struct CubeCache {
    dir: PathBuf,
    shards: Vec<ShardRecord>,
}

impl CubeCache {
    /// Opens the `manifest-*.json` files of `dir`.
    pub fn open(dir: &Path) -> Result<Self, IoError> {
        let manifests = super::walk(dir, &|p| {
            p.parent() == Some(dir)
                && p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.starts_with("manifest-") && n.ends_with(".json")
                })
        })?;
        let mut shards = Vec::new();
        for m in &manifests {
            shards.extend(read_manifest(m)?.shards);
        }
        if shards.is_empty() {
            return Err(IoError::Dataset {
                file: dir.to_path_buf(),
                detail: "no cube shards (run the extraction first)".into(),
            });
        }
        Ok(Self { dir: dir.to_path_buf(), shards })
    }

    /// Total number of cubes.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.cubes).sum()
    }

    /// True when the cache holds no cube (never, for an opened cache).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shards, in manifest order.
    pub fn shards(&self) -> &[ShardRecord] {
        &self.shards
    }

    /// Loads shard `index` as its cubes.
    pub fn load_shard(&self, index: usize) -> Result<Vec<Volume>, IoError> {
        let record = self.shards.get(index).ok_or_else(|| IoError::Dataset {
            file: self.dir.clone(),
            detail: format!("shard {index} out of range ({} shards)", self.shards.len()),
        })?;
        let path = self.dir.join(&record.file);
        let array = crate::npy::parse(&path, &crate::limits::read_file(&path)?)?;
        let shape = cube_shape(&path, &array.shape, record.cubes)?;
        let size = shape.iter().product();
        array.data.chunks_exact(size).map(|c| cube(&path, shape, c.to_vec())).collect()
    }

    /// The cubes, read from their shards one at a time when asked for ([`LazyCubes`]). Every
    /// shard's header and size are checked here.
    pub fn lazy(&self) -> Result<LazyCubes, IoError> {
        let mut shards = Vec::with_capacity(self.shards.len());
        let mut ends = Vec::with_capacity(self.shards.len());
        for record in &self.shards {
            let path = self.dir.join(&record.file);
            let items = crate::npy::Items::open(&path)?;
            let shape = cube_shape(&path, items.shape(), record.cubes)?;
            ends.push(ends.last().copied().unwrap_or(0) + record.cubes);
            shards.push((items, shape));
        }
        Ok(LazyCubes { dir: self.dir.clone(), shards, ends })
    }

    /// Streams every cube, holding one shard in memory at a time.
    pub fn cubes(&self) -> impl Iterator<Item = Result<Volume, IoError>> + '_ {
        (0..self.shards.len()).flat_map(move |i| match self.load_shard(i) {
            Ok(cubes) => cubes.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        })
    }
}

/// Checks that a shard's array is `[n, x, y, z]` with the `n` its manifest records; returns
/// the cube shape.
fn cube_shape(path: &Path, shape: &[usize], cubes: usize) -> Result<[usize; 3], IoError> {
    let &[n, x, y, z] = shape else {
        let detail = format!("shape {shape:?} is not [n, x, y, z]");
        return Err(IoError::corrupt(path, "cube shard", detail));
    };
    if n != cubes {
        let detail = format!("{n} cubes, manifest says {cubes}");
        return Err(IoError::corrupt(path, "cube shard", detail));
    }
    Ok([x, y, z])
}

/// A cached cube as a volume: normalized CT, values in [0, 1].
fn cube(path: &Path, shape: [usize; 3], data: Vec<f32>) -> Result<Volume, IoError> {
    let mut v = Volume::new(shape, data).map_err(|e| IoError::volume(path, e))?;
    v.meta.modality = Modality::Ct;
    v.meta.units = Units::Unit;
    Ok(v)
}

/// The cubes of a cache, indexed like [`CubeCache::cubes`] (shards in manifest order) but
/// holding only each shard's header: [`LazyCubes::get`] reads one cube from its shard file
/// (see [`crate::npy::Items`]), so a cache larger than memory can be trained on.
#[derive(Debug, Clone)]
pub struct LazyCubes {
    /// The cache folder.
    dir: PathBuf,
    /// Each shard's items and cube shape.
    shards: Vec<(crate::npy::Items, [usize; 3])>,
    /// One past the index of each shard's last cube.
    ends: Vec<usize>,
}

impl LazyCubes {
    /// Total number of cubes.
    pub fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// True when the cache holds no cube.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cube `index`, read from its shard.
    pub fn get(&self, index: usize) -> Result<Volume, IoError> {
        let shard = self.ends.partition_point(|&end| end <= index);
        let Some((items, shape)) = self.shards.get(shard) else {
            return Err(IoError::Dataset {
                file: self.dir.clone(),
                detail: format!("cube {index} asked from a cache of {}", self.len()),
            });
        };
        let first = if shard == 0 { 0 } else { self.ends[shard - 1] };
        cube(items.path(), *shape, items.read(index - first)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse() {
        assert_eq!("1/4".parse::<Partition>(), Ok(Partition { index: 1, count: 4 }));
        assert!("4/4".parse::<Partition>().is_err());
        assert!("x".parse::<Partition>().is_err());
        assert_eq!(Partition::default().tag(), "0of1");
    }
}

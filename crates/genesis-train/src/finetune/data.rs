//! Downstream data: labelled folders (docs/finetuning.md) or the synthetic lung-nodule
//! benchmark on phantom radiographs, split into train / validation / test, and batches.
//!
//! **Phantom benchmark.** Each phantom patient is rendered at `2.5 × size` pixels (the scale
//! `genesis pretrain` crops its phantoms at) and gives two `size × size` windows, one over each
//! lung, where the generator places nodules. Classification: does the window hold any nodule
//! pixel? Segmentation: the nodule mask of the window. Patients are drawn from indices far
//! above those pretraining renders, so no test patient was seen in pretraining.
//!
//! In 3-D the same patients are rendered as chest CT at `2 × [size, size, depth]` voxels (the
//! shape `genesis pretrain --dim 3d` crops its phantoms from), HU-windowed into [0, 1] as
//! there, and give two `size × size × depth` cubes, one over each lung, with the nodule masks
//! of the CT renderer.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_core::Volume;
use genesis_core::patches::crop;
use genesis_core::phantom::{
    PhantomConfig, chest_ct_with_nodule_mask, chest_xray, xray_nodule_mask,
};
use genesis_core::resize::{Filter, resize};
use genesis_core::rng::{GenesisRng, RngExt, stream};
use genesis_core::transforms::draw::Shuffler;
use genesis_core::transforms::{Apply, FlipAxis, FlipParams};

use genesis_io::datasets::folder::FolderDataset;

use crate::observer::{Observer, tell};
use crate::recipe::{Dim, FinetuneConfig, Task};
use crate::step::{Shard, sample_rows, shard_ranges};

/// First phantom patient index of the benchmark (pretraining renders indices from 0).
pub(crate) const PHANTOM_FIRST_PATIENT: u64 = 1 << 20;
/// Window centres as fractions of the rendered radiograph `[row, column, 0]` over each lung.
const LUNG_WINDOWS: [[f64; 3]; 2] = [[0.40, 0.36, 0.0], [0.40, 0.64, 0.0]];
/// Cube centres as fractions of the rendered CT `[X, Y, Z]` over each lung: X runs from the
/// patient's right to left, Y front to back, Z from the lung bases up (where nodules lie).
const LUNG_CUBES: [[f64; 3]; 2] = [[0.34, 0.5, 0.5], [0.66, 0.5, 0.5]];

/// One labelled image.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The image, resized to the configured shape, intensities in [0, 1].
    pub image: Volume,
    /// Class (classification; 0 for segmentation).
    pub label: usize,
    /// Binary mask, same shape (segmentation).
    pub mask: Option<Volume>,
    /// Images of one group (a phantom patient) always land in the same split.
    pub group: u64,
}

/// The data of a run, split.
#[derive(Debug)]
pub struct Splits {
    /// The labelled training subset.
    pub train: Vec<Sample>,
    /// Validation images: early stopping and the best epoch.
    pub val: Vec<Sample>,
    /// Held-out test images: the reported metrics.
    pub test: Vec<Sample>,
    /// Number of classes (1 for segmentation).
    pub classes: usize,
}

/// Every labelled image of a run, before the split.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The images.
    pub samples: Vec<Sample>,
    /// Number of classes (1 for segmentation).
    pub classes: usize,
}

impl Dataset {
    /// Loads or renders the data of `cfg` (rescaled per image with `normalize`); notices about
    /// the files (a 4-D file cut to one volume) go to `obs`.
    pub fn open(cfg: &FinetuneConfig, obs: &mut dyn Observer) -> anyhow::Result<Self> {
        let mut samples = if cfg.data == "phantom" {
            match cfg.dim {
                Dim::D2 => phantom(cfg)?,
                Dim::D3 => phantom_ct(cfg)?,
            }
        } else {
            let dir = Path::new(&cfg.data);
            if !dir.is_dir() {
                bail!("--data {}: no such folder (or use --data phantom)", dir.display());
            }
            match cfg.task {
                Task::Classify => classification_folder(dir, cfg, obs)?,
                Task::Segment => segmentation_folder(dir, cfg, obs)?,
            }
        };
        if cfg.normalize {
            samples.iter_mut().for_each(|s| genesis_io::intensity::min_max(&mut s.image));
        }
        let classes = match cfg.task {
            Task::Segment => 1,
            Task::Classify => {
                let classes = samples.iter().map(|s| s.label + 1).max().unwrap_or(0);
                let present =
                    (0..classes).filter(|k| samples.iter().any(|s| s.label == *k)).count();
                if present < 2 {
                    bail!(
                        "{}: every image has the same label; classification needs at least two classes",
                        cfg.data
                    );
                }
                classes
            }
        };
        Ok(Self { samples, classes })
    }

    /// Splits the images by group into test, validation and training, stratified by each
    /// group's strongest label (its class, or whether it holds any foreground) and fixed by
    /// `split_seed`; then draws the labelled training subset (by `seed`).
    pub fn split(&self, cfg: &FinetuneConfig) -> anyhow::Result<Splits> {
        let strata = group_strata(&self.samples);
        if strata.values().map(Vec::len).sum::<usize>() < 3 {
            bail!(
                "{}: {} image(s) (groups); a train / validation / test split needs at least 3 (better dozens)",
                cfg.data,
                self.samples.len()
            );
        }
        let mut part = std::collections::HashMap::new();
        let (mut n_test, mut n_val, mut n_all) = (0, 0, 0);
        for (stratum, groups) in &strata {
            let mut groups = groups.clone();
            let mut rng = stream(cfg.split_seed, "finetune-split", &[*stratum as u64]);
            Shuffler::new(groups.len()).shuffle(&mut rng, &mut groups);
            let count = |f: f64| (groups.len() as f64 * f).round() as usize;
            let (test, val) = (count(cfg.test_fraction), count(cfg.val_fraction));
            for (i, g) in groups.iter().enumerate() {
                part.insert(*g, usize::from(i >= test) + usize::from(i >= test + val));
            }
            (n_test, n_val, n_all) = (n_test + test, n_val + val, n_all + groups.len());
        }
        if n_test == 0 || n_val == 0 || n_test + n_val >= n_all {
            bail!("{}: too few images to hold out a test and a validation split", cfg.data);
        }
        let (mut test, mut val, mut pool) = (Vec::new(), Vec::new(), Vec::new());
        for s in &self.samples {
            match part[&s.group] {
                0 => test.push(s.clone()),
                1 => val.push(s.clone()),
                _ => pool.push(s.clone()),
            }
        }
        let train = budget(pool, cfg, self.classes);
        Ok(Splits { train, val, test, classes: self.classes })
    }
}

/// Loads `cfg`'s data and splits it (see [`Dataset`]).
pub fn open(cfg: &FinetuneConfig, obs: &mut dyn Observer) -> anyhow::Result<Splits> {
    Dataset::open(cfg, obs)?.split(cfg)
}

/// The groups of each stratum, in order of first appearance: a group's stratum is the largest
/// class of its samples (1 for any foreground in segmentation).
fn group_strata(samples: &[Sample]) -> std::collections::BTreeMap<usize, Vec<u64>> {
    let mut strongest: Vec<(u64, usize)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for s in samples {
        let foreground = s.mask.as_ref().is_some_and(|m| m.data().iter().any(|&v| v > 0.5));
        let stratum = s.label.max(usize::from(foreground));
        let i = *index.entry(s.group).or_insert_with(|| {
            strongest.push((s.group, 0));
            strongest.len() - 1
        });
        strongest[i].1 = strongest[i].1.max(stratum);
    }
    let mut strata = std::collections::BTreeMap::<usize, Vec<u64>>::new();
    for (group, stratum) in strongest {
        strata.entry(stratum).or_default().push(group);
    }
    strata
}

/// The labelled subset: `cfg.labels` samples of the training split in a seeded order, one of
/// each class first so that a small budget still sees every class (all when `labels` is 0).
fn budget(mut pool: Vec<Sample>, cfg: &FinetuneConfig, classes: usize) -> Vec<Sample> {
    Shuffler::new(pool.len()).shuffle(&mut stream(cfg.seed, "finetune-labels", &[]), &mut pool);
    if cfg.labels == 0 || cfg.labels >= pool.len() {
        return pool;
    }
    if cfg.task == Task::Classify {
        let firsts: Vec<usize> =
            (0..classes).filter_map(|k| pool.iter().position(|s| s.label == k)).collect();
        let mut order: Vec<usize> = firsts.clone();
        order.extend((0..pool.len()).filter(|i| !firsts.contains(i)));
        let mut slots: Vec<Option<Sample>> = pool.into_iter().map(Some).collect();
        return order.into_iter().take(cfg.labels).filter_map(|i| slots[i].take()).collect();
    }
    pool.truncate(cfg.labels);
    pool
}

/// The phantom benchmark: two lung windows per patient, with nodule masks.
fn phantom(cfg: &FinetuneConfig) -> anyhow::Result<Vec<Sample>> {
    let render = cfg.size * 5 / 2;
    let pc = PhantomConfig { size_2d: render, ..PhantomConfig::default() };
    let mut samples = Vec::with_capacity(2 * cfg.patients);
    for p in 0..cfg.patients as u64 {
        let phantom = chest_xray(cfg.split_seed, PHANTOM_FIRST_PATIENT + p, &pc)?;
        let mask = xray_nodule_mask(&phantom.anatomy, render)?;
        samples.extend(lung_samples(&phantom.volume, &mask, &LUNG_WINDOWS, cfg, p)?);
    }
    Ok(samples)
}

/// The 3-D phantom benchmark: two lung cubes per patient's CT, with nodule masks.
fn phantom_ct(cfg: &FinetuneConfig) -> anyhow::Result<Vec<Sample>> {
    let render = cfg.sample_shape().map(|n| 2 * n);
    let pc = PhantomConfig { shape_3d: render, ..PhantomConfig::default() };
    let mut samples = Vec::with_capacity(2 * cfg.patients);
    for p in 0..cfg.patients as u64 {
        let (mut ct, mask) =
            chest_ct_with_nodule_mask(cfg.split_seed, PHANTOM_FIRST_PATIENT + p, &pc)?;
        genesis_io::Conventions::default().normalize(&mut ct.volume);
        samples.extend(lung_samples(&ct.volume, &mask, &LUNG_CUBES, cfg, p)?);
    }
    Ok(samples)
}

/// The corner of the `shape` window centred at `centre` (fractions of the axes of `full`).
fn window_corner(centre: [f64; 3], full: [usize; 3], shape: [usize; 3]) -> [usize; 3] {
    [0, 1, 2].map(|i| ((centre[i] * full[i] as f64) as usize).saturating_sub(shape[i] / 2))
}

/// One labelled sample of patient `group` per window centre: the window of `image` and of its
/// nodule `mask` (kept for segmentation), labelled by whether it holds any nodule.
fn lung_samples(
    image: &Volume,
    mask: &Volume,
    centres: &[[f64; 3]],
    cfg: &FinetuneConfig,
    group: u64,
) -> anyhow::Result<Vec<Sample>> {
    let shape = cfg.sample_shape();
    let mut samples = Vec::with_capacity(centres.len());
    for &centre in centres {
        let corner = window_corner(centre, image.shape(), shape);
        let cut = |v: &Volume| crop(v, corner, shape).context("lung window outside the phantom");
        let (image, mask) = (cut(image)?, cut(mask)?);
        let label = usize::from(mask.data().iter().any(|&m| m > 0.5));
        let mask = (cfg.task == Task::Segment).then_some(mask);
        samples.push(Sample { image, label, mask, group });
    }
    Ok(samples)
}

/// Reads an image (a file or a folder of DICOM slices) preprocessed by `cfg` and resizes it to
/// the configured shape, refusing a 2-D/3-D mismatch.
fn image(path: &Path, cfg: &FinetuneConfig, obs: &mut dyn Observer) -> anyhow::Result<Volume> {
    let loaded = genesis_io::load_preprocessed(path, &cfg.preprocess)?;
    tell(obs, &path.display().to_string(), &loaded);
    let v = loaded.volume;
    check_dim(path, &v, cfg)?;
    Ok(resize(&v, cfg.sample_shape(), Filter::Linear)?)
}

fn check_dim(path: &Path, v: &Volume, cfg: &FinetuneConfig) -> anyhow::Result<()> {
    match (cfg.dim, v.is_2d()) {
        (Dim::D2, false) => bail!(
            "{}: a volume {:?}, but this run is 2-D; pass --dim 3d with --init scratch or 3-D weights",
            path.display(),
            v.shape()
        ),
        (Dim::D3, true) => {
            bail!("{}: a 2-D image, but this run is 3-D (the weights are 3-D)", path.display())
        }
        _ => Ok(()),
    }
}

/// A classification folder: `labels.csv` with a `file,label` header.
fn classification_folder(
    dir: &Path,
    cfg: &FinetuneConfig,
    obs: &mut dyn Observer,
) -> anyhow::Result<Vec<Sample>> {
    let csv = dir.join("labels.csv");
    if !csv.is_file() {
        bail!(
            "{}: no labels.csv; classification needs a `file,label` table there (segmentation: --task segment with images/ and masks/; see docs/finetuning.md)",
            dir.display()
        );
    }
    let text =
        std::fs::read_to_string(&csv).with_context(|| format!("cannot read {}", csv.display()))?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header = lines.next().map(|(_, l)| l.replace(' ', "").to_ascii_lowercase());
    if header.as_deref() != Some("file,label") {
        bail!("{}: the first line must be the header `file,label`", csv.display());
    }
    let mut samples = Vec::new();
    for (n, line) in lines {
        let at = || format!("{}:{}", csv.display(), n + 1);
        let (file, label) = line
            .rsplit_once(',')
            .with_context(|| format!("{}: expected `file,label`, got `{line}`", at()))?;
        let label: usize = label.trim().parse().with_context(|| {
            format!("{}: the label `{}` is not a class number 0, 1, …", at(), label.trim())
        })?;
        let path = dir.join(file.trim());
        if !path.exists() {
            bail!("{}: {} does not exist (paths are relative to {})", at(), file, dir.display());
        }
        let image = image(&path, cfg, obs).with_context(at)?;
        let group = samples.len() as u64;
        samples.push(Sample { image, label, mask: None, group });
    }
    if samples.is_empty() {
        bail!("{}: lists no images", csv.display());
    }
    Ok(samples)
}

/// A segmentation folder: `images/` and `masks/` with the same relative names (a folder of
/// DICOM slices under `images/` may have its mask as a file of that name plus an extension,
/// e.g. `masks/case1.nii.gz` for `images/case1/`).
fn segmentation_folder(
    dir: &Path,
    cfg: &FinetuneConfig,
    obs: &mut dyn Observer,
) -> anyhow::Result<Vec<Sample>> {
    let (images, masks) = (dir.join("images"), dir.join("masks"));
    if !images.is_dir() || !masks.is_dir() {
        bail!(
            "{}: segmentation needs images/ and masks/ folders with equal file names (see docs/finetuning.md)",
            dir.display()
        );
    }
    let listing = FolderDataset::open(&images, cfg.preprocess.clone())?;
    let mut samples = Vec::new();
    for (i, item) in listing.items().iter().enumerate() {
        let file = &item.path;
        let relative: PathBuf = file.strip_prefix(&images).unwrap_or(file).to_path_buf();
        let Some(mask_path) = mask_of(&masks, &relative) else {
            bail!("{}: no mask {} for this image", file.display(), masks.join(&relative).display());
        };
        let loaded = listing.load(i)?;
        tell(obs, &item.name(&images), &loaded);
        let raw = loaded.volume;
        check_dim(file, &raw, cfg)?;
        let mask = cfg.preprocess.resample(&mask_path, genesis_io::load(&mask_path)?)?;
        if mask.shape() != raw.shape() {
            bail!(
                "{}: mask shape {:?} differs from the image's {:?}",
                mask_path.display(),
                mask.shape(),
                raw.shape()
            );
        }
        let shape = cfg.sample_shape();
        let binary = |v: Vec<f32>| v.into_iter().map(|m| f32::from(u8::from(m > 0.5))).collect();
        let mask = Volume::new(mask.shape(), binary(mask.into_data()))?;
        let mask = Volume::new(shape, binary(resize(&mask, shape, Filter::Linear)?.into_data()))?;
        let image = resize(&raw, shape, Filter::Linear)?;
        let group = samples.len() as u64;
        samples.push(Sample { image, label: 0, mask: Some(mask), group });
    }
    Ok(samples)
}

/// The mask of the image at `relative` under `masks/`: the same name, else (for a folder of
/// DICOM slices) that name with a volume extension.
fn mask_of(masks: &Path, relative: &Path) -> Option<PathBuf> {
    let same = masks.join(relative);
    if same.exists() {
        return Some(same);
    }
    [".nii.gz", ".nii", ".npy", ".mha", ".mhd", ".dcm"]
        .iter()
        .map(|ext| PathBuf::from(format!("{}{ext}", same.display())))
        .find(|p| p.is_file())
}

/// One batch on the host, `[n, 1, spatial…]` in x-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Samples.
    pub n: usize,
    /// Spatial shape of one sample.
    pub shape: [usize; 3],
    /// Images.
    pub images: Vec<f32>,
    /// Class labels.
    pub labels: Vec<i64>,
    /// Masks (empty for classification).
    pub masks: Vec<f32>,
}

impl Batch {
    /// Stacks `samples`; with `flips`, each is mirrored left–right (image and mask alike) with
    /// probability ½.
    pub fn new(samples: &[&Sample], mut flips: Option<&mut GenesisRng>) -> anyhow::Result<Self> {
        let shape = samples.first().map_or([1, 1, 1], |s| s.image.shape());
        let mut batch = Batch {
            n: samples.len(),
            shape,
            images: Vec::new(),
            labels: Vec::new(),
            masks: Vec::new(),
        };
        for s in samples {
            let flip = flips.as_deref_mut().is_some_and(|rng| rng.random_bool(0.5));
            let params = FlipParams { flips: if flip { vec![FlipAxis::Y] } else { vec![] } };
            let mut image = s.image.clone();
            params.apply(&mut image)?;
            batch.images.extend_from_slice(image.data());
            batch.labels.push(s.label as i64);
            if let Some(mask) = &s.mask {
                let mut mask = mask.clone();
                params.apply(&mut mask)?;
                batch.masks.extend_from_slice(mask.data());
            }
        }
        Ok(batch)
    }
}

impl Shard for Batch {
    fn samples(&self) -> usize {
        self.n
    }
    fn split(self, pieces: usize) -> Vec<Self> {
        let voxels = self.shape.iter().product();
        let shard = |range: (usize, usize)| Batch {
            n: range.1,
            shape: self.shape,
            images: sample_rows(&self.images, range, voxels),
            labels: sample_rows(&self.labels, range, 1),
            masks: sample_rows(&self.masks, range, voxels),
        };
        shard_ranges(self.n, pieces).into_iter().map(shard).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(task: Task) -> FinetuneConfig {
        FinetuneConfig { patients: 24, size: 32, ..FinetuneConfig::preset(task) }
    }

    #[test]
    fn lung_windows_hold_the_nodules() {
        let (size, render) = (64, 160);
        let pc = PhantomConfig { size_2d: render, ..PhantomConfig::default() };
        let (mut inside, mut total) = (0, 0);
        for p in 0..48 {
            let phantom = chest_xray(0, PHANTOM_FIRST_PATIENT + p, &pc).unwrap();
            let mask = xray_nodule_mask(&phantom.anatomy, render).unwrap();
            for (i, _) in mask.data().iter().enumerate().filter(|(_, m)| **m > 0.5) {
                let (r, c) = (i / render, i % render);
                total += 1;
                inside += usize::from(LUNG_WINDOWS.iter().any(|&centre| {
                    let [r0, c0, _] = window_corner(centre, [render, render, 1], [size, size, 1]);
                    (r0..r0 + size).contains(&r) && (c0..c0 + size).contains(&c)
                }));
            }
        }
        assert!(total > 100 && inside as f64 >= 0.97 * total as f64, "{inside} of {total}");
    }

    #[test]
    fn lung_cubes_hold_the_ct_nodules() {
        let shape = [32, 32, 16];
        let pc = PhantomConfig { shape_3d: shape.map(|n| 2 * n), ..PhantomConfig::default() };
        let (mut inside, mut total) = (0, 0);
        for p in 0..24 {
            let (_, mask) = chest_ct_with_nodule_mask(0, PHANTOM_FIRST_PATIENT + p, &pc).unwrap();
            let [_, ny, nz] = pc.shape_3d;
            for (i, _) in mask.data().iter().enumerate().filter(|(_, m)| **m > 0.5) {
                let at = [i / (ny * nz), i / nz % ny, i % nz];
                total += 1;
                inside += usize::from(LUNG_CUBES.iter().any(|&centre| {
                    let lo = window_corner(centre, pc.shape_3d, shape);
                    (0..3).all(|k| (lo[k]..lo[k] + shape[k]).contains(&at[k]))
                }));
            }
        }
        assert!(total > 100 && inside as f64 >= 0.9 * total as f64, "{inside} of {total}");
    }

    #[test]
    fn phantom_splits_are_disjoint_by_patient_and_fixed_by_the_split_seed() {
        let c = cfg(Task::Classify);
        let a = open(&c, &mut crate::Silent).unwrap();
        assert_eq!(a.classes, 2);
        assert_eq!(a.train.len(), c.labels.min(2 * 24 - a.val.len() - a.test.len()));
        let groups = |s: &[Sample]| s.iter().map(|x| x.group).collect::<Vec<_>>();
        let test = groups(&a.test);
        assert!(groups(&a.train).iter().chain(&groups(&a.val)).all(|g| !test.contains(g)));
        assert!(a.train.iter().any(|s| s.label == 0) && a.train.iter().any(|s| s.label == 1));
        let b = open(&FinetuneConfig { seed: 1, ..c.clone() }, &mut crate::Silent).unwrap();
        assert_eq!(test, groups(&b.test));
        let seg = open(&cfg(Task::Segment), &mut crate::Silent).unwrap();
        assert!(seg.test.iter().all(|s| s.mask.as_ref().unwrap().shape() == [32, 32, 1]));
    }

    #[test]
    fn bad_folders_explain_themselves() {
        let dir = std::env::temp_dir().join(format!("genesis-ft-data-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let folder = FinetuneConfig { data: dir.display().to_string(), ..cfg(Task::Classify) };
        let message =
            |c: &FinetuneConfig| format!("{:#}", open(c, &mut crate::Silent).unwrap_err());
        assert!(message(&folder).contains("no labels.csv"));
        let img = Volume::image(8, 8, vec![0.5; 64]).unwrap();
        genesis_io::raster::write_png(&dir.join("a.png"), &img, false).unwrap();
        std::fs::write(dir.join("labels.csv"), "file,label\na.png,1\nmissing.png,0\n").unwrap();
        assert!(message(&folder).contains("missing.png does not exist"));
        std::fs::write(dir.join("labels.csv"), "file,label\na.png,1\na.png,1\n").unwrap();
        assert!(message(&folder).contains("same label"));
        std::fs::write(dir.join("labels.csv"), "file,label\na.png,x\n").unwrap();
        assert!(message(&folder).contains("not a class number"));
        let seg = FinetuneConfig { task: Task::Segment, ..folder };
        assert!(message(&seg).contains("images/ and masks/"));
        std::fs::create_dir_all(dir.join("images")).unwrap();
        std::fs::create_dir_all(dir.join("masks")).unwrap();
        assert!(message(&seg).contains("no readable image"));
        genesis_io::raster::write_png(&dir.join("images/a.png"), &img, false).unwrap();
        assert!(message(&seg).contains("no mask"));
        let small = Volume::image(4, 8, vec![1.0; 32]).unwrap();
        genesis_io::raster::write_png(&dir.join("masks/a.png"), &small, false).unwrap();
        assert!(message(&seg).contains("mask shape"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

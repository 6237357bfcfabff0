//! Self-discovery geometry (spec §4.3, §4.6): for each pseudo-class a fresh reference patient,
//! its nearest neighbours in an embedding space, one fixed informative coordinate on the
//! reference, and crops at that coordinate from every neighbour at several resolutions.
//!
//! Differences from the released code, all deliberate (spec §12.7):
//! - a coordinate trial that clashes with an earlier coordinate fails alone (the original's
//!   `repeated` flag is never reset, so one clash failed every later trial);
//! - every crop is kept (the original's save slices drop the last sample of each 50-class
//!   block);
//! - crops come from the same normalized volumes the informativeness test sees (the original
//!   normalized only for the test unless `--is_normalized` was given);
//! - a jittered window that would leave the image is shifted inside it instead of redrawn.
//!
//! Every draw comes from named streams: the reference of class `c` from
//! `("discovery-reference", [c, attempt])`, its coordinate from `("discovery-coordinate",
//! [c, attempt])`, the jitter of neighbour rank `r` from `("discovery-crop", [c, r])`, so a run
//! is reproducible from its seed; a resumed run keeps the earlier classes' references and
//! corners and continues with the same draws whenever no earlier reference was rejected.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::knn::{KnnError, Points};
use crate::patches::{self, CubeConfig};
use crate::resize::{Filter, resize};
use crate::rng::{GenesisRng, stream};
use crate::volume::{Volume, VolumeError};

/// Which crops count as informative enough to define a class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum Informative {
    /// CT (spec §3.1): corners `border` voxels from the x/y edges and `border_z` slices from
    /// the z edges; the crop passes when its dense (≥ `dense_threshold`) fraction, looked at
    /// over `len_depth` slices, is at most `lung_max`: mostly lung or air.
    LungAir {
        /// x/y border in voxels (100 in the original).
        border: usize,
        /// z border in slices (30).
        border_z: usize,
        /// Normalized density threshold (0.425, i.e. −150 HU).
        dense_threshold: f32,
        /// Largest accepted dense fraction (0.15).
        lung_max: f32,
        /// Slices looked ahead by the test (3).
        len_depth: usize,
    },
    /// Radiograph (this project's 2-D analogue): corners `border` pixels from the edges; the
    /// crop passes when at most `max_background` of its pixels are at or below
    /// `background_level` (outside the patient or collimated) and its standard deviation is at
    /// least `min_std` (not a flat region).
    Radiograph {
        /// Border in pixels.
        border: usize,
        /// Grey level at or below which a pixel counts as background.
        background_level: f32,
        /// Largest accepted background fraction.
        max_background: f32,
        /// Smallest accepted standard deviation of the crop.
        min_std: f32,
    },
}

/// Parameters of pattern generation; [`DiscoveryConfig::ct`] and
/// [`DiscoveryConfig::radiograph`] give the defaults of spec §4.3 / §4.5.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// Pseudo-classes C.
    pub classes: usize,
    /// Neighbours K per class, the reference included.
    pub neighbours: usize,
    /// Crop shape `[X, Y, Z]` (Z = 1 in 2-D); x and y must be equal.
    pub crop: [usize; 3],
    /// Resolutions per neighbour: 1 (the fixed crop) to 3 (plus two jittered ones).
    pub resolutions: usize,
    /// In-plane size of a jittered window as a fraction of the crop side, `[lo, hi)`
    /// (50/64 and 80/64 in the original).
    pub size_jitter: [f64; 2],
    /// Largest in-plane offset of a jittered window as a fraction of the crop side (10/64).
    pub offset: f64,
    /// Smallest Euclidean distance between two classes' corners, in voxels (5).
    pub min_distance: f64,
    /// Coordinate trials on one reference before another reference is tried (200).
    pub tries: usize,
    /// The informativeness test and corner borders.
    pub test: Informative,
}

impl DiscoveryConfig {
    /// 3-D defaults: C = 44, K = 200, 64×64×32 crops, the §3.1 lung/air test.
    pub fn ct() -> Self {
        Self {
            classes: 44,
            neighbours: 200,
            crop: [64, 64, 32],
            resolutions: 3,
            size_jitter: [50.0 / 64.0, 80.0 / 64.0],
            offset: 10.0 / 64.0,
            min_distance: 5.0,
            tries: 200,
            test: Informative::LungAir {
                border: 100,
                border_z: 30,
                dense_threshold: 0.425,
                lung_max: 0.15,
                len_depth: 3,
            },
        }
    }

    /// 2-D defaults: C = 100, K = 1000, 224×224 crops, the radiograph test.
    pub fn radiograph() -> Self {
        Self {
            classes: 100,
            neighbours: 1000,
            crop: [224, 224, 1],
            test: Informative::Radiograph {
                border: 0,
                background_level: 0.05,
                max_background: 0.25,
                min_std: 0.03,
            },
            ..Self::ct()
        }
    }

    /// Checks the parameters make sense.
    pub fn validate(&self) -> Result<(), DiscoveryError> {
        let bad = |why: &str| Err(DiscoveryError::Config(why.into()));
        if self.classes == 0 || self.neighbours == 0 {
            return bad("classes and neighbours must be at least 1");
        }
        if self.crop.contains(&0) || self.crop[0] != self.crop[1] {
            return bad("the crop must be square in-plane with no zero side");
        }
        if !(1..=3).contains(&self.resolutions) {
            return bad("resolutions must be 1, 2 or 3");
        }
        let [lo, hi] = self.size_jitter;
        if !(lo > 0.0 && lo < hi && hi.is_finite() && (0.0..1.0).contains(&self.offset)) {
            return bad("size jitter must be 0 < lo < hi and the offset in [0, 1)");
        }
        if self.tries == 0 || !self.min_distance.is_finite() {
            return bad("tries must be at least 1 and the minimum distance finite");
        }
        Ok(())
    }

    /// The lung/air sampler of the CT test, sized to this crop.
    fn cube_sampler(&self) -> Option<CubeConfig> {
        match self.test {
            Informative::LungAir { border, border_z, dense_threshold, lung_max, len_depth } => {
                Some(CubeConfig {
                    rows: self.crop[0],
                    deps: self.crop[2],
                    len_depth,
                    border,
                    border_z,
                    dense_threshold,
                    lung_max,
                    ..CubeConfig::default()
                })
            }
            Informative::Radiograph { .. } => None,
        }
    }

    /// Inclusive corner ranges on a volume of `shape`, `None` when it is too small.
    pub fn corner_ranges(&self, shape: [usize; 3]) -> Option<[(usize, usize); 3]> {
        match (self.cube_sampler(), self.test) {
            (Some(cubes), _) => cubes.corner_ranges(shape),
            (None, Informative::Radiograph { border, .. }) => {
                let range = |a: usize| {
                    let b = if self.crop[a] == 1 && shape[a] == 1 { 0 } else { border };
                    let hi = shape[a].checked_sub(self.crop[a] + b)?;
                    (b <= hi).then_some((b, hi))
                };
                Some([range(0)?, range(1)?, range(2)?])
            }
            (None, Informative::LungAir { .. }) => None,
        }
    }

    /// Whether the crop at `corner` of `volume` is informative.
    pub fn informative(&self, volume: &Volume, corner: [usize; 3]) -> bool {
        match (self.cube_sampler(), self.test) {
            (Some(cubes), _) => cubes.accepts(volume, corner),
            (None, Informative::Radiograph { background_level, max_background, min_std, .. }) => {
                let Some(crop) = patches::crop(volume, corner, self.crop) else {
                    return false;
                };
                let v = crop.data();
                let n = v.len() as f64;
                let background = v.iter().filter(|&&p| p <= background_level).count() as f64;
                let mean = v.iter().map(|&p| f64::from(p)).sum::<f64>() / n;
                let var = v.iter().map(|&p| (f64::from(p) - mean).powi(2)).sum::<f64>() / n;
                background <= f64::from(max_background) * n && var.sqrt() >= f64::from(min_std)
            }
            (None, Informative::LungAir { .. }) => false,
        }
    }

    /// Draws an informative corner on `reference` at least `min_distance` from every corner in
    /// `previous`; `Ok(None)` after `tries` failed trials, an error when the volume is too
    /// small for the crop and borders.
    pub fn sample_coordinate(
        &self,
        reference: &Volume,
        previous: &[[usize; 3]],
        rng: &mut GenesisRng,
    ) -> Result<Option<[usize; 3]>, DiscoveryError> {
        let ranges = self
            .corner_ranges(reference.shape())
            .ok_or(DiscoveryError::TooSmall { shape: reference.shape(), crop: self.crop })?;
        for _ in 0..self.tries {
            let corner = ranges.map(|(lo, hi)| rng.random_range(lo..=hi));
            let clashes = previous.iter().any(|p| distance(*p, corner) < self.min_distance);
            if !clashes && self.informative(reference, corner) {
                return Ok(Some(corner));
            }
        }
        Ok(None)
    }

    /// The window of `resolution` around the class corner on a volume of `shape`: resolution 0
    /// is the crop itself; others have a jittered in-plane size and offset (z unchanged),
    /// shifted inside the volume when they would leave it.
    pub fn window(
        &self,
        corner: [usize; 3],
        resolution: usize,
        shape: [usize; 3],
        rng: &mut GenesisRng,
    ) -> Window {
        let mut size = self.crop;
        let mut start = corner.map(|c| c as i64);
        if resolution > 0 {
            let side = self.crop[0] as f64;
            let s = (side * rng.random_range(self.size_jitter[0]..self.size_jitter[1])) as usize;
            let reach = (side * self.offset).round() as i64;
            for a in 0..2 {
                size[a] = s.max(1);
                start[a] += if reach > 0 { rng.random_range(-reach..reach) } else { 0 };
            }
        }
        let size: [usize; 3] = std::array::from_fn(|a| size[a].min(shape[a]));
        let corner =
            std::array::from_fn(|a| start[a].clamp(0, (shape[a] - size[a]) as i64) as usize);
        Window { corner, size }
    }

    /// Cuts `window` out of `volume` and resizes it to the crop shape.
    pub fn cut(&self, volume: &Volume, window: Window) -> Result<Volume, DiscoveryError> {
        let crop = patches::crop(volume, window.corner, window.size)
            .ok_or(DiscoveryError::TooSmall { shape: volume.shape(), crop: window.size })?;
        if window.size == self.crop {
            return Ok(crop);
        }
        Ok(resize(&crop, self.crop, Filter::Linear)?)
    }
}

/// Euclidean distance between two corners.
fn distance(a: [usize; 3], b: [usize; 3]) -> f64 {
    (0..3).map(|i| (a[i] as f64 - b[i] as f64).powi(2)).sum::<f64>().sqrt()
}

/// A box in a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// First voxel.
    pub corner: [usize; 3],
    /// Extent.
    pub size: [usize; 3],
}

/// One discovered class: its reference patient and fixed corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassRecord {
    /// Class index.
    pub class: usize,
    /// Index of the reference patient.
    pub reference: usize,
    /// The fixed corner of the class's crops.
    pub corner: [usize; 3],
}

/// One crop of one neighbour for one class.
#[derive(Debug, Clone, PartialEq)]
pub struct Crop {
    /// Class index (the pseudo-label).
    pub class: usize,
    /// Patient the crop comes from.
    pub patient: usize,
    /// Neighbour rank of that patient (0 = the reference).
    pub rank: usize,
    /// Distance of the patient to the reference in the embedding space.
    pub distance: f64,
    /// 0 = the fixed crop, 1.. = jittered resolutions.
    pub resolution: usize,
    /// Where the crop was cut before resizing.
    pub window: Window,
    /// The crop, resized to the crop shape.
    pub volume: Volume,
}

/// Where discovery reads patients and writes its results.
pub trait Collector {
    /// Error of the collector; discovery errors convert into it.
    type Error: From<DiscoveryError>;
    /// Loads patient `index` (normalized to [0, 1]).
    fn load(&mut self, index: usize) -> Result<Volume, Self::Error>;
    /// Takes one crop.
    fn crop(&mut self, crop: Crop) -> Result<(), Self::Error>;
    /// Called once a class has all its crops.
    fn class_done(&mut self, record: &ClassRecord) -> Result<(), Self::Error>;
    /// Whether to cut the crops of `class` (false for the other partitions' classes of a
    /// sharded run: every class is still chosen, so all partitions agree on the references
    /// and coordinates, and [`Collector::class_done`] is still called).
    fn wants(&self, _class: usize) -> bool {
        true
    }
}

/// Runs pattern generation for classes `previous.len()..cfg.classes` over the patients whose
/// embeddings are `embeddings`, keeping the corners of `previous` (a resumed run) at a
/// distance; returns the new classes' records.
pub fn discover<C: Collector>(
    cfg: &DiscoveryConfig,
    embeddings: &Points<'_>,
    seed: u64,
    previous: &[ClassRecord],
    collector: &mut C,
) -> Result<Vec<ClassRecord>, C::Error> {
    cfg.validate()?;
    let patients = embeddings.len();
    let mut used = vec![false; patients];
    for r in previous {
        *used.get_mut(r.reference).ok_or(DiscoveryError::UnknownReference(r.reference))? = true;
    }
    let mut corners: Vec<[usize; 3]> = previous.iter().map(|r| r.corner).collect();
    let mut records = Vec::new();
    for class in previous.len()..cfg.classes {
        let (reference, corner) = choose_class(cfg, class, seed, &mut used, &corners, collector)?;
        let record = ClassRecord { class, reference, corner };
        let neighbours = if collector.wants(class) { cfg.neighbours } else { 0 };
        for (rank, n) in embeddings
            .nearest(reference, neighbours)
            .map_err(DiscoveryError::from)?
            .into_iter()
            .enumerate()
        {
            let volume = collector.load(n.index)?;
            let mut rng = stream(seed, "discovery-crop", &[class as u64, rank as u64]);
            for resolution in 0..cfg.resolutions {
                let window = cfg.window(corner, resolution, volume.shape(), &mut rng);
                let crop = cfg.cut(&volume, window)?;
                collector.crop(Crop {
                    class,
                    patient: n.index,
                    rank,
                    distance: n.distance,
                    resolution,
                    window,
                    volume: crop,
                })?;
            }
        }
        collector.class_done(&record)?;
        corners.push(corner);
        records.push(record);
    }
    Ok(records)
}

/// Picks unused references for `class` until one yields a coordinate; marks each tried one
/// as used.
fn choose_class<C: Collector>(
    cfg: &DiscoveryConfig,
    class: usize,
    seed: u64,
    used: &mut [bool],
    corners: &[[usize; 3]],
    collector: &mut C,
) -> Result<(usize, [usize; 3]), C::Error> {
    let mut attempt = 0u64;
    loop {
        let unused: Vec<usize> = (0..used.len()).filter(|&i| !used[i]).collect();
        if unused.is_empty() {
            return Err(DiscoveryError::OutOfReferences { class }.into());
        }
        let mut rng = stream(seed, "discovery-reference", &[class as u64, attempt]);
        let reference = unused[rng.random_range(0..unused.len())];
        used[reference] = true;
        let volume = collector.load(reference)?;
        let mut rng = stream(seed, "discovery-coordinate", &[class as u64, attempt]);
        if let Some(corner) = cfg.sample_coordinate(&volume, corners, &mut rng)? {
            return Ok((reference, corner));
        }
        attempt += 1;
    }
}

/// Why discovery cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// Inconsistent parameters.
    #[error("discovery settings: {0}")]
    Config(String),
    /// A volume smaller than the crop plus borders.
    #[error(
        "a volume of shape {shape:?} is too small for crops of {crop:?} with the configured borders; use larger images or a smaller crop/border"
    )]
    TooSmall {
        /// The volume shape.
        shape: [usize; 3],
        /// The crop asked for.
        crop: [usize; 3],
    },
    /// Every patient was tried as a reference.
    #[error(
        "class {class}: every patient has been a reference or had no informative coordinate; ask for fewer classes or add patients"
    )]
    OutOfReferences {
        /// The class being made.
        class: usize,
    },
    /// A previous coordinate log names a patient that is not in the data.
    #[error("the previous coordinates name reference patient {0}, which is not in the data")]
    UnknownReference(usize),
    /// Bad embeddings.
    #[error(transparent)]
    Knn(#[from] KnnError),
    /// A crop could not be resized.
    #[error(transparent)]
    Volume(#[from] VolumeError),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Patients are flat images of value `i / n` with a bright square on a textured field, so
    /// every corner is informative; the collector keeps what it is given.
    struct Memory {
        patients: Vec<Volume>,
        crops: Vec<Crop>,
        done: Vec<ClassRecord>,
    }

    impl Collector for Memory {
        type Error = DiscoveryError;
        fn load(&mut self, index: usize) -> Result<Volume, DiscoveryError> {
            Ok(self.patients[index].clone())
        }
        fn crop(&mut self, crop: Crop) -> Result<(), DiscoveryError> {
            self.crops.push(crop);
            Ok(())
        }
        fn class_done(&mut self, record: &ClassRecord) -> Result<(), DiscoveryError> {
            self.done.push(*record);
            Ok(())
        }
    }

    fn patients(n: usize, side: usize) -> Vec<Volume> {
        (0..n)
            .map(|i| {
                let data = (0..side * side)
                    .map(|p| 0.3 + 0.4 * ((p * 7 + i) % 13) as f32 / 13.0)
                    .collect();
                Volume::image(side, side, data).unwrap()
            })
            .collect()
    }

    fn small_cfg() -> DiscoveryConfig {
        DiscoveryConfig {
            classes: 4,
            neighbours: 3,
            crop: [16, 16, 1],
            ..DiscoveryConfig::radiograph()
        }
    }

    #[test]
    fn each_class_crops_its_neighbours_at_one_fixed_corner() {
        let embeddings = [0.0, 0.1, 5.0, 5.2, 9.0, 0.05];
        let points = Points::new(&embeddings, 1).unwrap();
        let mut memory = Memory { patients: patients(6, 48), crops: Vec::new(), done: Vec::new() };
        let cfg = small_cfg();
        let records = discover(&cfg, &points, 7, &[], &mut memory).unwrap();
        assert_eq!(records.len(), 4);
        assert_eq!(memory.done, records);
        assert_eq!(memory.crops.len(), 4 * 3 * 3);
        for r in &records {
            let crops: Vec<_> = memory.crops.iter().filter(|c| c.class == r.class).collect();
            assert_eq!(crops[0].patient, r.reference);
            let nearest = points.nearest(r.reference, 3).unwrap();
            for c in &crops {
                assert_eq!(c.patient, nearest[c.rank].index);
                assert_eq!(c.volume.shape(), [16, 16, 1]);
                if c.resolution == 0 {
                    assert_eq!(c.window, Window { corner: r.corner, size: [16, 16, 1] });
                } else {
                    // Jittered windows stay near the corner.
                    assert!((12..20).contains(&c.window.size[0]));
                    assert!(c.window.corner[0].abs_diff(r.corner[0]) <= 3 + 4);
                }
            }
        }
        // References are distinct, corners far enough apart.
        for (i, a) in records.iter().enumerate() {
            for b in &records[i + 1..] {
                assert_ne!(a.reference, b.reference);
                assert!(distance(a.corner, b.corner) >= 5.0);
            }
        }
    }

    #[test]
    fn a_run_is_reproducible_and_resumes_exactly() {
        let embeddings: Vec<f32> = (0..8).map(|i| i as f32).collect();
        let points = Points::new(&embeddings, 1).unwrap();
        let run = |previous: &[ClassRecord]| {
            let mut memory =
                Memory { patients: patients(8, 40), crops: Vec::new(), done: Vec::new() };
            let records = discover(&small_cfg(), &points, 3, previous, &mut memory).unwrap();
            (records, memory.crops)
        };
        let (all, crops) = run(&[]);
        assert_eq!(run(&[]).1, crops);
        let (rest, rest_crops) = run(&all[..2]);
        assert_eq!(rest, all[2..]);
        assert_eq!(rest_crops[..], crops[crops.len() - rest_crops.len()..]);
    }

    #[test]
    fn clashes_only_fail_their_own_trial() {
        // A 20×20 image with 16×16 crops has 25 corners; with one earlier corner at (2, 2)
        // most trials clash, yet a later trial still succeeds (the original's sticky flag
        // would fail all of them).
        let cfg = DiscoveryConfig { crop: [16, 16, 1], min_distance: 2.5, ..small_cfg() };
        let image = &patients(1, 20)[0];
        let mut found = 0;
        for s in 0..20 {
            let mut rng = stream(s, "t", &[]);
            if cfg.sample_coordinate(image, &[[2, 2, 0]], &mut rng).unwrap().is_some() {
                found += 1;
            }
        }
        assert_eq!(found, 20);
    }

    #[test]
    fn radiograph_test_rejects_background_and_flat_crops() {
        let cfg = small_cfg();
        let mut v = patients(1, 32).remove(0);
        assert!(cfg.informative(&v, [0, 0, 0]));
        v.data_mut().iter_mut().for_each(|p| *p = 0.5);
        assert!(!cfg.informative(&v, [0, 0, 0]), "flat");
        v.data_mut()
            .iter_mut()
            .enumerate()
            .for_each(|(i, p)| *p = if i % 2 == 0 { 0.0 } else { 1.0 });
        assert!(!cfg.informative(&v, [0, 0, 0]), "half background");
    }

    #[test]
    fn too_many_classes_or_tiny_volumes_are_errors() {
        let points = Points::new(&[0.0, 1.0], 1).unwrap();
        let mut memory = Memory { patients: patients(2, 32), crops: Vec::new(), done: Vec::new() };
        let err = discover(&small_cfg(), &points, 0, &[], &mut memory).unwrap_err();
        assert!(matches!(err, DiscoveryError::OutOfReferences { class: 2 }), "{err}");
        let mut tiny = Memory { patients: patients(2, 8), crops: Vec::new(), done: Vec::new() };
        let err = discover(&small_cfg(), &points, 0, &[], &mut tiny).unwrap_err();
        assert!(matches!(err, DiscoveryError::TooSmall { .. }), "{err}");
        let bad = DiscoveryConfig { crop: [16, 8, 1], ..small_cfg() };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn ct_test_matches_the_cube_sampler() {
        let cfg = DiscoveryConfig::ct();
        assert_eq!(cfg.corner_ranges([384, 384, 112]), Some([(100, 219), (100, 219), (30, 46)]));
        assert_eq!(cfg.corner_ranges([384, 384, 95]), None);
    }
}

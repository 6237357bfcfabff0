//! Whole-volume inference: a fine-tuned segmenter run over a scan of any size with overlapping
//! windows, like nnU-Net's sliding window. Windows start on a grid with the given overlap
//! (default ½), the last one flush with the far edge; each window's probabilities are weighted
//! by a Gaussian importance map (σ = window / 8 per axis, largest in the centre, so window
//! borders — where a convolution sees zero padding — count least), summed with the weights,
//! and divided by the summed weights. Memory holds the scan, the output, the weight sums and
//! one batch of windows, whatever the scan's size. A 2-D model runs slice by slice (windows of
//! depth 1); a scan smaller than the window is padded with zeros.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_core::resize::{Filter, resize};
use genesis_core::{Units, Volume};
use genesis_io::Preprocess;
use genesis_nn::burn::tensor::{Device, Tensor};
use genesis_nn::host::{read, upload};
use genesis_nn::{BnMode, ModelTask, Network};

use crate::finetune::{Arch, Weights};
use crate::observer::{Observer, tell};
use crate::recipe::{Dim, FinetuneConfig, Task};

/// Overlap of neighbouring windows when none is given (nnU-Net's).
pub const DEFAULT_OVERLAP: f64 = 0.5;

/// How windows tile a scan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tiling {
    /// Window shape `[X, Y, Z]` (Z = 1 for a 2-D model).
    pub window: [usize; 3],
    /// Fraction of a window shared with its neighbour along each axis, in [0, 1).
    pub overlap: f64,
    /// Windows per forward pass.
    pub batch: usize,
}

impl Tiling {
    /// Fails naming what is wrong: an empty window, an overlap outside [0, 1), a zero batch.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.window.contains(&0) {
            bail!("window {:?}: every side must be at least 1 voxel", self.window);
        }
        if !(0.0..1.0).contains(&self.overlap) {
            bail!("overlap {} must be at least 0 and below 1 (0.5 is usual)", self.overlap);
        }
        if self.batch == 0 {
            bail!("batch must be at least 1 window");
        }
        Ok(())
    }

    /// The corners of the windows covering a scan of `shape`, x-major.
    pub fn corners(&self, shape: [usize; 3]) -> Vec<[usize; 3]> {
        let axes: [Vec<usize>; 3] =
            std::array::from_fn(|a| starts(shape[a], self.window[a], self.overlap));
        let mut out = Vec::with_capacity(axes.iter().map(Vec::len).product());
        for &x in &axes[0] {
            for &y in &axes[1] {
                for &z in &axes[2] {
                    out.push([x, y, z]);
                }
            }
        }
        out
    }
}

/// Window starts along one axis of `size` voxels: evenly spread from 0 to `size - window` with
/// steps of at most `window × (1 - overlap)`; one start at 0 when the window is not smaller.
pub fn starts(size: usize, window: usize, overlap: f64) -> Vec<usize> {
    if size <= window {
        return vec![0];
    }
    let step = ((window as f64 * (1.0 - overlap)).floor() as usize).max(1);
    let span = size - window;
    let steps = span.div_ceil(step);
    (0..=steps).map(|i| (i * span + steps / 2) / steps).collect()
}

/// The Gaussian importance map of a window (x-major), σ = side / 8 per axis, 1 at the centre;
/// the smallest weights are raised to the smallest positive one so that no voxel weighs 0.
pub fn importance(window: [usize; 3]) -> Vec<f32> {
    let axis = |n: usize| -> Vec<f64> {
        let (centre, sigma) = ((n as f64 - 1.0) / 2.0, n as f64 / 8.0);
        (0..n).map(|i| (-((i as f64 - centre) / sigma).powi(2) / 2.0).exp()).collect()
    };
    let [gx, gy, gz] = window.map(axis);
    let mut map = Vec::with_capacity(window.iter().product());
    for x in &gx {
        for y in &gy {
            map.extend(gz.iter().map(|z| (x * y * z) as f32));
        }
    }
    let floor = map.iter().copied().filter(|w| *w > 0.0).fold(f32::INFINITY, f32::min);
    map.iter_mut().for_each(|w| *w = w.max(floor));
    map
}

/// Predicts every voxel of `volume` by windows of `tiling`: `predict(values, n)` gets `n`
/// windows (x-major, one after the other) and returns as many single-channel outputs. The
/// result has the volume's shape and metadata.
pub fn sliding_window(
    volume: &Volume,
    tiling: &Tiling,
    predict: &mut dyn FnMut(Vec<f32>, usize) -> anyhow::Result<Vec<f32>>,
    obs: &mut dyn Observer,
) -> anyhow::Result<Volume> {
    tiling.check()?;
    let shape = volume.shape();
    let corners = tiling.corners(shape);
    let weights = importance(tiling.window);
    let size = weights.len();
    let mut sum = vec![0f32; volume.data().len()];
    let mut norm = vec![0f32; volume.data().len()];
    obs.begin("windows", corners.len() as u64, 0);
    for chunk in corners.chunks(tiling.batch) {
        let mut values = Vec::with_capacity(chunk.len() * size);
        for &corner in chunk {
            visit(shape, tiling.window, corner, |_, v| {
                values.push(v.map_or(0.0, |v| volume.data()[v]))
            });
        }
        let out = predict(values, chunk.len())?;
        if out.len() != chunk.len() * size {
            bail!(
                "the model gave {} values for {} windows of {:?}; a one-channel segmenter is needed",
                out.len(),
                chunk.len(),
                tiling.window
            );
        }
        for (k, &corner) in chunk.iter().enumerate() {
            let out = &out[k * size..(k + 1) * size];
            visit(shape, tiling.window, corner, |w, v| {
                if let Some(v) = v {
                    sum[v] += out[w] * weights[w];
                    norm[v] += weights[w];
                }
            });
            obs.advance("");
        }
    }
    obs.end();
    let data = sum.iter().zip(&norm).map(|(s, n)| s / n).collect();
    Ok(Volume::new(shape, data)?.with_meta(volume.meta.clone()))
}

/// Calls `f(window offset, volume offset)` for every voxel of the window at `corner`, x-major;
/// the volume offset is `None` where the window overhangs the scan.
fn visit(
    shape: [usize; 3],
    window: [usize; 3],
    corner: [usize; 3],
    mut f: impl FnMut(usize, Option<usize>),
) {
    let mut w = 0;
    for x in corner[0]..corner[0] + window[0] {
        for y in corner[1]..corner[1] + window[1] {
            for z in corner[2]..corner[2] + window[2] {
                let inside = x < shape[0] && y < shape[1] && z < shape[2];
                f(w, inside.then(|| (x * shape[1] + y) * shape[2] + z));
                w += 1;
            }
        }
    }
}

/// A whole-scan segmentation to run.
#[derive(Debug, Clone)]
pub struct SegmentJob {
    /// A `genesis finetune --task segment` run folder (its `model.bpk` and `run.toml`), or a
    /// `.bpk` file.
    pub model: PathBuf,
    /// The scan: a file or a folder of DICOM slices.
    pub input: PathBuf,
    /// `[preprocess]` keys over the run's own (or the defaults without a `run.toml`).
    pub preprocess: toml::Table,
    /// Window shape (default: the run's image shape).
    pub window: Option<[usize; 3]>,
    /// Overlap of neighbouring windows.
    pub overlap: f64,
    /// Windows per forward pass.
    pub batch: usize,
    /// Batch-norm statistics: those of each batch (as fine-tuning validated) or the running ones.
    pub bn: BnMode,
    /// `cpu`, `wgpu[:N]` or `cuda[:N]`.
    pub device: String,
    /// Write a 0/1 mask (probability above this) instead of probabilities.
    pub threshold: Option<f32>,
}

/// A segmented scan.
#[derive(Debug, Clone)]
pub struct Segmented {
    /// Foreground probabilities (or the mask), with the input's shape and geometry.
    pub volume: Volume,
    /// The window used.
    pub window: [usize; 3],
    /// Windows evaluated.
    pub windows: usize,
}

/// Segments `job.input` with the model of `job.model`; progress goes to `obs`.
pub fn run(job: &SegmentJob, obs: &mut dyn Observer) -> anyhow::Result<Segmented> {
    let (weights, recipe) = model_files(&job.model)?;
    let pre = preprocess(recipe.as_ref(), &job.preprocess)?;
    let loaded = genesis_io::load_with(&job.input, &pre.load_options())?;
    tell(obs, &job.input.display().to_string(), &loaded);
    let original = loaded.volume.clone();
    let volume = pre.apply(&job.input, loaded.volume)?;
    let arch = weights.arch;
    let window = window(job, recipe.as_ref(), arch, &volume)?;
    let tiling = Tiling { window, overlap: job.overlap, batch: job.batch };
    tiling.check()?;
    let windows = tiling.corners(volume.shape()).len();
    obs.note(&format!(
        "── genesis segment: {} {:?} with a {} U-Net, {windows} windows of {window:?} ──",
        job.input.display(),
        volume.shape(),
        arch.dim.name()
    ));
    let device = crate::device::parse(&job.device)?;
    let spec = arch.spec(job.bn);
    let task = Predict { weights: &weights, volume: &volume, tiling, device: device.clone(), obs };
    let probabilities = spec.with_model(&device, task)?;
    let mut out = if probabilities.shape() == original.shape() {
        probabilities
    } else {
        resize(&probabilities, original.shape(), Filter::Linear)?
    };
    out.meta = original.meta.clone();
    out.meta.units = Units::Unit;
    if let Some(t) = job.threshold {
        out.data_mut().iter_mut().for_each(|v| *v = f32::from(u8::from(*v > t)));
    }
    Ok(Segmented { volume: out, window, windows })
}

/// The weights of `model` (a run folder's `model.bpk`, or a `.bpk`) and the fine-tuning recipe
/// beside them, if any.
fn model_files(model: &Path) -> anyhow::Result<(Weights, Option<FinetuneConfig>)> {
    let (bpk, dir) = if model.is_dir() {
        (model.join("model.bpk"), model.to_path_buf())
    } else {
        (model.to_path_buf(), model.parent().unwrap_or(Path::new(".")).to_path_buf())
    };
    if !bpk.is_file() {
        bail!(
            "{}: no model.bpk; pass a `genesis finetune --task segment` run folder or its model.bpk",
            model.display()
        );
    }
    let weights = Weights::read(&bpk.display().to_string())?;
    let toml = dir.join("run.toml");
    let recipe = if toml.is_file() {
        let table = crate::recipe::read_table(&toml)?;
        let cfg: FinetuneConfig = toml::Value::Table(table)
            .try_into()
            .with_context(|| format!("{}: not a genesis finetune run.toml", toml.display()))?;
        if cfg.task != Task::Segment {
            bail!(
                "{}: a {} run; genesis segment needs a segmentation model",
                dir.display(),
                cfg.task.name()
            );
        }
        Some(cfg)
    } else {
        None
    };
    Ok((weights, recipe))
}

/// The run's preprocessing (defaults without a run) with the `over` keys over it.
fn preprocess(recipe: Option<&FinetuneConfig>, over: &toml::Table) -> anyhow::Result<Preprocess> {
    let base = recipe.map(|r| r.preprocess.clone()).unwrap_or_default();
    let mut table = toml::Table::try_from(base).context("encoding the preprocessing")?;
    table.extend(over.clone());
    let pre: Preprocess =
        toml::Value::Table(table).try_into().context("a preprocessing value is out of range")?;
    crate::recipe::require_preprocess(&pre)?;
    Ok(pre)
}

/// The window of `job`: given, else the run's image shape; checked against the model and scan.
fn window(
    job: &SegmentJob,
    recipe: Option<&FinetuneConfig>,
    arch: Arch,
    volume: &Volume,
) -> anyhow::Result<[usize; 3]> {
    let window = match (job.window, recipe) {
        (Some(w), _) => w,
        (None, Some(cfg)) => arch.dim.shape(cfg.size, cfg.depth),
        (None, None) => bail!(
            "{}: no run.toml beside the weights to take the window from; pass --window X,Y,Z",
            job.model.display()
        ),
    };
    match arch.dim {
        Dim::D2 if window[2] != 1 => {
            bail!("window {window:?}: a 2-D model runs slice by slice, so the window's Z must be 1")
        }
        Dim::D3 if volume.is_2d() => bail!(
            "{}: a 2-D image, but the model is 3-D; segment it with a 2-D model",
            job.input.display()
        ),
        _ => {}
    }
    let divisor = 1usize << (arch.depth - 1);
    let spatial = if arch.dim == Dim::D3 { &window[..] } else { &window[..2] };
    if spatial.iter().any(|s| *s == 0 || s % divisor != 0) {
        bail!(
            "window {window:?}: every side must be a positive multiple of {divisor} for this U-Net (it pools {} times)",
            divisor.trailing_zeros()
        );
    }
    Ok(window)
}

/// The model dispatch's work: load the weights, then tile the scan.
struct Predict<'a> {
    weights: &'a Weights,
    volume: &'a Volume,
    tiling: Tiling,
    device: Device,
    obs: &'a mut dyn Observer,
}

impl ModelTask for Predict<'_> {
    type Output = anyhow::Result<Volume>;

    fn run<M: Network<D>, const D: usize>(self, model: M) -> Self::Output {
        let model = self.weights.load(model)?;
        let (device, window) = (self.device, self.tiling.window);
        let mut predict = |values: Vec<f32>, n: usize| -> anyhow::Result<Vec<f32>> {
            let x: Tensor<D> = upload(values, n, window, &device);
            model.check_input(&x.dims()).with_context(|| format!("window {window:?}"))?;
            Ok(read(model.forward(x))?)
        };
        sliding_window(self.volume, &self.tiling, &mut predict, self.obs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Silent;

    #[test]
    fn window_grid_covers_every_voxel_and_ends_flush() {
        assert_eq!(starts(10, 4, 0.5), [0, 2, 4, 6]);
        assert_eq!(starts(4, 4, 0.5), [0]);
        assert_eq!(starts(3, 8, 0.5), [0]);
        assert_eq!(starts(11, 4, 0.0), [0, 4, 7]);
        for (size, window, overlap) in [(300, 64, 0.5), (512, 96, 0.25), (17, 16, 0.9), (9, 1, 0.5)]
        {
            let s = starts(size, window, overlap);
            assert_eq!((s[0], *s.last().unwrap()), (0, size - window));
            let step = ((window as f64 * (1.0 - overlap)).floor() as usize).max(1);
            assert!(s.windows(2).all(|p| p[1] > p[0] && p[1] - p[0] <= step), "{s:?}");
        }
        let tiling = Tiling { window: [4, 3, 1], overlap: 0.5, batch: 2 };
        let mut hits = [0usize; 10 * 7 * 3];
        for corner in tiling.corners([10, 7, 3]) {
            visit([10, 7, 3], tiling.window, corner, |_, v| hits[v.unwrap()] += 1);
        }
        assert!(hits.iter().all(|&h| h > 0));
    }

    #[test]
    fn importance_is_a_centred_positive_gaussian() {
        let map = importance([8, 8, 1]);
        assert!(map.iter().all(|&w| w > 0.0 && w <= 1.0));
        let at = |x: usize, y: usize| map[x * 8 + y];
        assert!(at(3, 3) > at(0, 3) && at(0, 3) > at(0, 0));
        assert_eq!(at(3, 4), at(4, 3));
        assert_eq!(importance([1, 1, 1]), [1.0]);
    }

    #[test]
    fn constant_input_gives_constant_output_and_shapes_hold() {
        let volume = Volume::new([13, 9, 7], vec![0.3; 13 * 9 * 7]).unwrap();
        let tiling = Tiling { window: [4, 4, 4], overlap: 0.5, batch: 3 };
        let mut square = |v: Vec<f32>, _n: usize| Ok(v.into_iter().map(|x| x * x).collect());
        let out = sliding_window(&volume, &tiling, &mut square, &mut Silent).unwrap();
        assert_eq!(out.shape(), [13, 9, 7]);
        assert!(out.data().iter().all(|v| v.is_finite() && (v - 0.09).abs() < 1e-6));
        // A position-dependent input comes back exactly under a pointwise model.
        let ramp = Volume::new([13, 9, 7], (0..819).map(|i| i as f32 / 819.0).collect()).unwrap();
        let mut identity = |v: Vec<f32>, _n: usize| Ok(v);
        let back = sliding_window(&ramp, &tiling, &mut identity, &mut Silent).unwrap();
        assert!(back.data().iter().zip(ramp.data()).all(|(a, b)| (a - b).abs() < 1e-5));
    }

    /// Compares sliding windows with one direct forward pass of the same fresh model.
    struct Direct(Volume);

    impl ModelTask for Direct {
        type Output = (Vec<f32>, Vec<f32>);

        fn run<M: Network<D>, const D: usize>(self, model: M) -> Self::Output {
            let device = Device::flex();
            let shape = self.0.shape();
            let direct = model.forward(upload(self.0.data().to_vec(), 1, shape, &device));
            let tiling = Tiling { window: shape, overlap: 0.5, batch: 1 };
            let mut predict = |values: Vec<f32>, n: usize| -> anyhow::Result<Vec<f32>> {
                Ok(read(model.forward(upload::<D>(values, n, shape, &device)))?)
            };
            let tiled = sliding_window(&self.0, &tiling, &mut predict, &mut Silent).unwrap();
            (read(direct).unwrap(), tiled.into_data())
        }
    }

    #[test]
    fn one_window_equals_a_direct_forward_pass() {
        let data = (0..16 * 16 * 8).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let volume = Volume::new([16, 16, 8], data).unwrap();
        let arch = Arch { dim: Dim::D3, base: 4, depth: 4 };
        let (direct, tiled) = arch.spec(BnMode::Batch).with_model(&Device::flex(), Direct(volume));
        assert_eq!(direct.len(), tiled.len());
        // Σ w·p / Σ w over one window: p up to rounding (tolerance 1e-6).
        let worst = direct.iter().zip(&tiled).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-6, "largest difference {worst}");
        let image = Volume::new([16, 16, 1], (0..256).map(|i| (i % 7) as f32 / 7.0).collect());
        let arch = Arch { dim: Dim::D2, base: 4, depth: 3 };
        let (direct, tiled) =
            arch.spec(BnMode::Batch).with_model(&Device::flex(), Direct(image.unwrap()));
        let worst = direct.iter().zip(&tiled).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-6, "2-D: largest difference {worst}");
    }

    #[test]
    fn bad_windows_and_outputs_are_clear_errors() {
        let volume = Volume::new([4, 4, 1], vec![0.0; 16]).unwrap();
        let mut identity = |v: Vec<f32>, _n: usize| Ok(v);
        for (tiling, text) in [
            (Tiling { window: [0, 4, 1], overlap: 0.5, batch: 1 }, "at least 1 voxel"),
            (Tiling { window: [4, 4, 1], overlap: 1.0, batch: 1 }, "overlap 1"),
            (Tiling { window: [4, 4, 1], overlap: 0.5, batch: 0 }, "batch"),
        ] {
            let e = sliding_window(&volume, &tiling, &mut identity, &mut Silent).unwrap_err();
            assert!(e.to_string().contains(text), "{e}");
        }
        let tiling = Tiling { window: [2, 2, 1], overlap: 0.5, batch: 1 };
        let mut two = |v: Vec<f32>, _n: usize| Ok([v.clone(), v].concat());
        let e = sliding_window(&volume, &tiling, &mut two, &mut Silent).unwrap_err();
        assert!(e.to_string().contains("one-channel segmenter"), "{e}");
    }
}

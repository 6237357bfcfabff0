//! Timing harness behind `genesis bench transforms` and the criterion bench: microseconds
//! per sample for each transform and pipeline, single-threaded, and batch throughput on all
//! cores. Native only (wasm has no monotonic clock in std).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::pipeline::{Pipeline, Preset, Quirks, test_pattern};
use crate::rng::{GenesisRng, stream};
use crate::transforms::{
    Apply, Bezier, Elastic, Flip, InPaint, LocalShuffle, OutPaint, Transform, TransformError,
};
use crate::volume::Volume;

/// One measurement, as printed by `genesis bench transforms --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// What was timed: `pipeline/<preset>` or a transform name.
    pub name: String,
    /// Sample shape: `[1, X, Y, Z]` for volumes, `[H, W]` for images.
    pub shape: Vec<usize>,
    /// Threads generating samples.
    pub threads: usize,
    /// Median microseconds per sample.
    pub median_us: f64,
    /// Mean microseconds per sample.
    pub mean_us: f64,
    /// Samples timed.
    pub samples: usize,
    /// Samples per second over all threads (batch rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_second: Option<f64>,
}

/// The shape as reported: `[1, X, Y, Z]` for 3D, `[H, W]` for 2D.
pub fn display_shape(shape: [usize; 3]) -> Vec<usize> {
    if shape[2] == 1 { vec![shape[0], shape[1]] } else { vec![1, shape[0], shape[1], shape[2]] }
}

/// Median and mean of microsecond timings (sorts them).
fn summarize(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    let n = times.len().max(1);
    let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
    (median, times.iter().sum::<f64>() / n as f64)
}

/// Times `step(i)` for i = 0, 1, … until `budget` is spent (at least `min_samples` times).
pub fn time(
    name: &str,
    shape: [usize; 3],
    budget: Duration,
    min_samples: usize,
    mut step: impl FnMut(u64) -> Result<(), TransformError>,
) -> Result<Measurement, TransformError> {
    let start = Instant::now();
    let mut times = Vec::new();
    let mut i = 0;
    while times.len() < min_samples || start.elapsed() < budget {
        let t = Instant::now();
        step(i)?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
        i += 1;
    }
    let (median_us, mean_us) = summarize(&mut times);
    Ok(Measurement {
        name: name.to_owned(),
        shape: display_shape(shape),
        threads: 1,
        median_us,
        mean_us,
        samples: times.len(),
        per_second: None,
    })
}

/// Times one transform: draw its parameters and apply them to a fresh copy of `original`
/// (the copy is not timed).
pub fn time_transform<T: Transform>(
    name: &str,
    transform: &T,
    original: &Volume,
    budget: Duration,
) -> Result<Measurement, TransformError> {
    let mut work = original.clone();
    let mut rng: GenesisRng = stream(1, "bench", &[]);
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || start.elapsed() < budget {
        work.data_mut().copy_from_slice(original.data());
        let t = Instant::now();
        transform.sample(&mut rng, original.shape()).apply(&mut work)?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (median_us, mean_us) = summarize(&mut times);
    Ok(Measurement {
        name: name.to_owned(),
        shape: display_shape(original.shape()),
        threads: 1,
        median_us,
        mean_us,
        samples: times.len(),
        per_second: None,
    })
}

/// Batch throughput of `pipeline` on `threads` threads for about `budget`.
pub fn throughput(
    pipeline: &Pipeline,
    preset: Preset,
    original: &Volume,
    threads: usize,
    budget: Duration,
) -> Result<Measurement, TransformError> {
    let threads = threads.max(1);
    let start = Instant::now();
    let per_thread: Vec<Result<Vec<f64>, TransformError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut times = Vec::new();
                    let mut i = t as u64;
                    while times.len() < 2 || start.elapsed() < budget {
                        let s = Instant::now();
                        pipeline.generate_seeded(1, 0, i, original)?;
                        times.push(s.elapsed().as_secs_f64() * 1e6);
                        i += threads as u64;
                    }
                    Ok(times)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(TransformError::Config("a benchmark thread panicked".into()))
                })
            })
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut times = Vec::new();
    for t in per_thread {
        times.extend(t?);
    }
    let (median_us, mean_us) = summarize(&mut times);
    Ok(Measurement {
        name: format!("pipeline/{preset}"),
        shape: display_shape(original.shape()),
        threads,
        median_us,
        mean_us,
        samples: times.len(),
        per_second: Some(times.len() as f64 / elapsed),
    })
}

/// The shapes the suite measures: a 64×64×32 cube and a 224×224 image.
pub const SUITE_SHAPES: [[usize; 3]; 2] = [[64, 64, 32], [224, 224, 1]];

/// Every transform and both pipelines at each of [`SUITE_SHAPES`], single-threaded, then
/// both pipelines on `threads` threads; each row takes about `budget`.
pub fn transform_suite(
    budget: Duration,
    threads: usize,
) -> Result<Vec<Measurement>, TransformError> {
    let mut rows = Vec::new();
    for shape in SUITE_SHAPES {
        let original = test_pattern(shape)?;
        for preset in Preset::ALL {
            let pipeline = Pipeline::preset(preset, &Quirks::default());
            rows.push(time(&format!("pipeline/{preset}"), shape, budget, 5, |i| {
                pipeline.generate_seeded(1, 0, i, &original).map(drop)
            })?);
        }
        rows.push(time_transform("bezier", &Bezier::default(), &original, budget)?);
        rows.push(time_transform("shuffle", &LocalShuffle::default(), &original, budget)?);
        rows.push(time_transform("inpaint", &InPaint::default(), &original, budget)?);
        rows.push(time_transform("outpaint", &OutPaint::default(), &original, budget)?);
        rows.push(time_transform(
            "flip",
            &Flip { prob: 1.0, ..Flip::default() },
            &original,
            budget,
        )?);
        rows.push(time_transform("elastic", &Elastic::default(), &original, budget)?);
        for preset in Preset::ALL {
            let pipeline = Pipeline::preset(preset, &Quirks::default());
            rows.push(throughput(&pipeline, preset, &original, threads, budget)?);
        }
    }
    Ok(rows)
}

//! Batches generated ahead of the model by worker threads.
//!
//! Batch `step` of `epoch` depends only on `(seed, epoch, step)`: sample `i` draws its crop and
//! its transforms from `stream(seed, "train", [epoch, step, i])`. Worker `w` of `W` makes steps
//! `w, w + W, …` into its own bounded queue and the consumer reads the queues round-robin, so
//! batches arrive in order and are identical whatever the thread timing.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use anyhow::anyhow;
use genesis_core::Pipeline;
use genesis_core::rng::stream;

use super::source::Source;

/// One batch on the host, `[n, 1, spatial…]` in x-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Samples.
    pub n: usize,
    /// Spatial shape of one sample (`[X, Y, Z]`, Z = 1 in 2-D).
    pub shape: [usize; 3],
    /// Transformed inputs.
    pub input: Vec<f32>,
    /// Restoration targets.
    pub target: Vec<f32>,
    /// Pseudo-class labels (0 without a head).
    pub labels: Vec<i64>,
}

/// Makes batches from a source and a pipeline.
pub struct Generator {
    /// The crops.
    pub source: Source,
    /// The transforms.
    pub pipeline: Pipeline,
    /// Run seed.
    pub seed: u64,
    /// Samples per batch.
    pub batch: usize,
    /// Spatial shape of a sample.
    pub shape: [usize; 3],
}

impl Generator {
    /// Batch `step` of training epoch `epoch`.
    pub fn train(&self, epoch: usize, step: usize) -> anyhow::Result<Batch> {
        self.make("train", epoch as u64, step as u64)
    }

    /// Validation batch `index`: the same in every epoch.
    pub fn validation(&self, index: usize) -> anyhow::Result<Batch> {
        self.make("validation", 0, index as u64)
    }

    fn make(&self, name: &str, a: u64, b: u64) -> anyhow::Result<Batch> {
        let n = self.batch;
        let voxels: usize = self.shape.iter().product();
        let mut out = Batch {
            n,
            shape: self.shape,
            input: Vec::with_capacity(n * voxels),
            target: Vec::with_capacity(n * voxels),
            labels: Vec::with_capacity(n),
        };
        for i in 0..n as u64 {
            let mut rng = stream(self.seed, name, &[a, b, i]);
            let (original, label) = self.source.draw(&mut rng, self.shape)?;
            let sample = self.pipeline.generate(&mut rng, &original)?;
            out.input.extend_from_slice(sample.input.data());
            out.target.extend_from_slice(sample.target.data());
            out.labels.push(label as i64);
        }
        Ok(out)
    }
}

/// The batches of one epoch, made by worker threads and handed out in step order.
pub struct Prefetch {
    queues: Vec<Receiver<anyhow::Result<Batch>>>,
    workers: Vec<JoinHandle<()>>,
    next: usize,
}

impl Prefetch {
    /// Starts `workers` threads making steps `first..steps` of `epoch`, each holding up to
    /// `depth` finished batches.
    pub fn start(
        generator: &Arc<Generator>,
        epoch: usize,
        first: usize,
        steps: usize,
        workers: usize,
        depth: usize,
    ) -> Self {
        let workers = workers.max(1);
        let (queues, handles): (Vec<_>, Vec<_>) = (0..workers)
            .map(|w| {
                let (tx, rx) = sync_channel(depth.max(1));
                let generator = Arc::clone(generator);
                let handle = std::thread::spawn(move || {
                    for step in (first + w..steps).step_by(workers) {
                        if tx.send(generator.train(epoch, step)).is_err() {
                            return;
                        }
                    }
                });
                (rx, handle)
            })
            .unzip();
        Self { queues, workers: handles, next: 0 }
    }

    /// The next batch in step order.
    pub fn next_batch(&mut self) -> anyhow::Result<Batch> {
        let queue = &self.queues[self.next % self.queues.len()];
        self.next += 1;
        queue.recv().map_err(|_| anyhow!("a data worker stopped early"))?
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Closing the queues makes blocked workers' sends fail, so they exit.
        self.queues.clear();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pretrain::config::{Dim, Method, RunConfig};
    use genesis_core::Quirks;

    #[test]
    fn batches_are_identical_whatever_the_number_of_workers() {
        let cfg = RunConfig {
            patients: 2,
            batch: 2,
            size: 16,
            ..RunConfig::preset(Method::Restoration, Dim::D2)
        };
        let generator = Arc::new(Generator {
            source: Source::open(&cfg, &std::env::temp_dir()).unwrap(),
            pipeline: Pipeline::preset(cfg.pipeline, &Quirks::default()),
            seed: 3,
            batch: cfg.batch,
            shape: cfg.sample_shape(),
        });
        let take = |workers| {
            let mut p = Prefetch::start(&generator, 2, 1, 6, workers, 1);
            (1..6).map(|_| p.next_batch().unwrap()).collect::<Vec<_>>()
        };
        let one = take(1);
        assert_eq!(one, take(3));
        assert_eq!(one[0], generator.train(2, 1).unwrap());
        assert_ne!(one[0], one[1]);
        // Dropping a half-consumed prefetch stops its workers.
        let mut p = Prefetch::start(&generator, 1, 0, 100, 2, 1);
        p.next_batch().unwrap();
        drop(p);
    }
}

//! Seeded batch streams: batch `step` of `epoch` depends only on `(seed, epoch, step)`. Sample
//! `i` draws its crop and its transforms from `stream(seed, "train", [epoch, micro, i])`,
//! where `micro = step × accumulate + k` numbers the micro-batches. Natively, [`Prefetch`]
//! makes them on worker threads: worker `w` of `W` makes steps `w, w + W, …` into its own
//! bounded queue and the consumer reads the queues round-robin, so batches arrive in order and
//! are identical whatever the thread timing. The page makes the same batches on its thread.

use genesis_core::Pipeline;
use genesis_core::pipeline::Sample;
use genesis_core::rng::stream;

use crate::source::Source;
use crate::step::{Shard, sample_rows, shard_ranges};

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

impl Shard for Batch {
    fn samples(&self) -> usize {
        self.n
    }
    fn split(self, pieces: usize) -> Vec<Self> {
        let voxels = self.shape.iter().product();
        let shard = |range: (usize, usize)| Batch {
            n: range.1,
            shape: self.shape,
            input: sample_rows(&self.input, range, voxels),
            target: sample_rows(&self.target, range, voxels),
            labels: sample_rows(&self.labels, range, 1),
        };
        shard_ranges(self.n, pieces).into_iter().map(shard).collect()
    }
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
    /// Batches per optimiser step.
    pub accumulate: usize,
    /// Spatial shape of a sample.
    pub shape: [usize; 3],
}

impl Generator {
    /// The micro-batches of optimiser step `step` of training epoch `epoch`.
    pub fn train(&self, epoch: usize, step: usize) -> anyhow::Result<Vec<Batch>> {
        let first = step * self.accumulate;
        (first..first + self.accumulate).map(|micro| self.make("train", epoch, micro)).collect()
    }

    /// Validation batch `index`: the same in every epoch.
    pub fn validation(&self, index: usize) -> anyhow::Result<Batch> {
        self.make("validation", 0, index)
    }

    fn make(&self, name: &str, a: usize, b: usize) -> anyhow::Result<Batch> {
        let n = self.batch;
        let voxels: usize = self.shape.iter().product();
        let mut out = Batch {
            n,
            shape: self.shape,
            input: Vec::with_capacity(n * voxels),
            target: Vec::with_capacity(n * voxels),
            labels: Vec::with_capacity(n),
        };
        for i in 0..n {
            let (sample, label) = self.sample(name, [a, b, i])?;
            out.input.extend_from_slice(sample.input.data());
            out.target.extend_from_slice(sample.target.data());
            out.labels.push(label as i64);
        }
        Ok(out)
    }

    /// Sample `i` of batch `b` of epoch `a` of the stream `name`, with its label.
    fn sample(&self, name: &str, [a, b, i]: [usize; 3]) -> anyhow::Result<(Sample, usize)> {
        let mut rng = stream(self.seed, name, &[a as u64, b as u64, i as u64]);
        let (original, label) = self.source.draw(&mut rng, self.shape)?;
        Ok((self.pipeline.generate(&mut rng, &original)?, label))
    }

    /// The first sample of validation batch `index`, with the transforms that damaged it (what
    /// the page shows).
    pub fn validation_sample(&self, index: usize) -> anyhow::Result<Sample> {
        Ok(self.sample("validation", [0, index, 0])?.0)
    }
}

#[cfg(not(target_family = "wasm"))]
pub use prefetch::Prefetch;

#[cfg(not(target_family = "wasm"))]
mod prefetch {
    use std::sync::Arc;
    use std::sync::mpsc::{Receiver, sync_channel};
    use std::thread::JoinHandle;

    use anyhow::anyhow;

    use super::{Batch, Generator};

    /// The steps of one epoch, made by worker threads and handed out in step order.
    pub struct Prefetch {
        queues: Vec<Receiver<anyhow::Result<Vec<Batch>>>>,
        workers: Vec<JoinHandle<()>>,
        next: usize,
    }

    impl Prefetch {
        /// Starts `workers` threads making steps `first..steps` of `epoch`, each holding up to
        /// `depth` finished steps.
        pub fn start(
            generator: &Arc<Generator>,
            epoch: usize,
            (first, steps): (usize, usize),
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

        /// The micro-batches of the next step, in step order.
        pub fn next_step(&mut self) -> anyhow::Result<Vec<Batch>> {
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
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use genesis_core::{Quirks, Volume};

    fn generator(accumulate: usize) -> Generator {
        let image = |k: usize| {
            Volume::image(40, 40, (0..1600).map(|p| ((p * (k + 3)) % 97) as f32 / 97.0).collect())
                .unwrap()
        };
        Generator {
            source: Source::Random(vec![image(0), image(1)]),
            pipeline: Pipeline::preset(genesis_core::Preset::SemanticGenesis, &Quirks::default()),
            seed: 3,
            batch: 2,
            accumulate,
            shape: [16, 16, 1],
        }
    }

    #[test]
    fn batches_are_identical_whatever_the_number_of_workers() {
        let generator = Arc::new(generator(1));
        let take = |workers| {
            let mut p = Prefetch::start(&generator, 2, (1, 6), workers, 1);
            (1..6).map(|_| p.next_step().unwrap()).collect::<Vec<_>>()
        };
        let one = take(1);
        assert_eq!(one, take(3));
        assert_eq!(one[0], generator.train(2, 1).unwrap());
        assert_ne!(one[0], one[1]);
        // Dropping a half-consumed prefetch stops its workers.
        let mut p = Prefetch::start(&generator, 1, (0, 100), 2, 1);
        p.next_step().unwrap();
        drop(p);
    }

    #[test]
    fn accumulated_steps_take_consecutive_micro_batches() {
        let (single, double) = (generator(1), generator(2));
        let step = double.train(1, 3).unwrap();
        assert_eq!(step.len(), 2);
        assert_eq!(step[0], single.train(1, 6).unwrap()[0]);
        assert_eq!(step[1], single.train(1, 7).unwrap()[0]);
    }
}

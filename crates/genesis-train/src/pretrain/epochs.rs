//! The pretraining epochs: prefetched batches through the engine's step, validation on fixed
//! batches, early stopping, checkpoints and metrics after every epoch.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use genesis_nn::burn::tensor::Device;
use genesis_nn::host::{read, scalar};
use genesis_nn::{ModelTask, Network};

use crate::batch::{Batch, Generator, Prefetch};
use crate::checkpoint::{self, TrainState};
use crate::fit::{EarlyStopping, Epochs, Validation, fit};
use crate::metrics::{Losses, MetricsLog, Record};
use crate::objective::{Tensors, Weights, loss_terms, pretrain_step};
use crate::observer::{Observer, PretrainEpoch};
use crate::recipe::RunConfig;
use crate::schedule::Schedule;
use crate::step::Stepper;

/// A run ready to train: configuration, folder, devices, data, observer.
pub struct Trainer<'a> {
    /// The resolved configuration.
    pub cfg: &'a RunConfig,
    /// The run folder.
    pub dir: &'a Path,
    /// The device (without autodiff), for validation.
    pub device: Device,
    /// Every device a step splits its batches across, with autodiff (the first is the one the
    /// model lives on).
    pub replicas: Vec<Device>,
    /// The batch maker.
    pub generator: Arc<Generator>,
    /// Continue from the `last` checkpoint.
    pub resume: bool,
    /// Where progress goes.
    pub obs: &'a mut dyn Observer,
}

/// The end state, every record and the seconds this invocation took.
type Finished = (TrainState, Vec<Record>, f64);

impl ModelTask for Trainer<'_> {
    type Output = anyhow::Result<Finished>;

    fn run<M: Network<D>, const D: usize>(self, model: M) -> Self::Output {
        let started = Instant::now();
        let cfg = self.cfg;
        let optim = cfg.optimizer.build(cfg.momentum);
        let schedule = cfg.schedule();
        let (model, optim, state) = if self.resume {
            checkpoint::load(self.dir, "last", model, optim)?
        } else {
            (model, optim, TrainState::fresh(schedule.lr(0)))
        };
        let mut stopping = state.stopping(cfg.patience)?;
        let log = MetricsLog::open(self.dir, state.epoch)?;
        let validation = (0..cfg.val_batches)
            .map(|i| self.generator.validation(i))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut epochs = PretrainEpochs {
            stepper: Stepper::new(model, optim, cfg.clip_grad_norm)
                .on_devices(self.replicas.clone()),
            schedule,
            log,
            state,
            validation,
            last: None,
            run: self,
        };
        if epochs.state.epoch == 0 {
            epochs.report_untrained()?;
        }
        let done = epochs.state.epoch;
        fit(&mut epochs, &mut stopping, done, cfg.epochs)?;
        epochs.state.stopped_early = stopping.stopped();
        Ok((epochs.state, epochs.log.records().to_vec(), started.elapsed().as_secs_f64()))
    }
}

/// Validation results.
struct Evaluation {
    losses: Losses,
    accuracy: Option<f64>,
    /// Restoration output of the first validation batch.
    first_output: Vec<f32>,
}

/// What an epoch leaves for [`Epochs::after`].
struct Trained {
    eval: Evaluation,
    train: Losses,
    lr: f64,
    started: Instant,
    train_seconds: f64,
}

/// The epochs of one run.
struct PretrainEpochs<'a, M, const D: usize> {
    run: Trainer<'a>,
    stepper: Stepper<M>,
    schedule: Schedule,
    log: MetricsLog,
    state: TrainState,
    validation: Vec<Batch>,
    last: Option<Trained>,
}

impl<M: Network<D>, const D: usize> PretrainEpochs<'_, M, D> {
    fn weights(&self) -> Weights {
        (self.run.cfg.lambda_rec, self.run.cfg.lambda_cls)
    }

    /// Mean losses and accuracy of the current model over the validation batches.
    fn evaluate(&self) -> anyhow::Result<Evaluation> {
        let model = self.stepper.model().valid();
        let (mut all, mut correct, mut total, mut first_output) =
            (Vec::new(), 0usize, 0usize, Vec::new());
        let mut has_head = false;
        for (i, batch) in self.validation.iter().enumerate() {
            let tensors = Tensors::<D>::new(batch, &self.run.device);
            let terms = loss_terms(&model, tensors, self.weights());
            all.push(Losses {
                loss: scalar(terms.total),
                rec: scalar(terms.rec),
                cls: terms.cls.map_or(0.0, scalar),
            });
            if let Some(logits) = terms.logits {
                has_head = true;
                let classes = logits.dims()[1];
                let scores = read(logits)?;
                for (row, &label) in scores.chunks_exact(classes.max(1)).zip(&batch.labels) {
                    let best = row
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map_or(0, |(k, _)| k);
                    correct += usize::from(best as i64 == label);
                    total += 1;
                }
            }
            if i == 0 {
                first_output = read(terms.output)?;
            }
        }
        let accuracy = has_head.then(|| correct as f64 / total.max(1) as f64);
        Ok(Evaluation { losses: Losses::mean(&all), accuracy, first_output })
    }

    /// Logs an epoch record and hands it to the observer.
    fn publish(&mut self, record: Record, eval: &Evaluation) -> anyhow::Result<()> {
        self.log.push(record)?;
        let records = self.log.records();
        let view = PretrainEpoch {
            dir: self.run.dir,
            record: records.last().expect("just pushed"),
            records,
            validation: &self.validation[0],
            restored: &eval.first_output,
            grid_samples: self.run.cfg.grid_samples,
        };
        self.run.obs.pretrain_epoch(&view)
    }

    /// Records the untrained model's validation as epoch 0.
    fn report_untrained(&mut self) -> anyhow::Result<()> {
        let eval = self.evaluate()?;
        let record = Record::Epoch {
            epoch: 0,
            train: None,
            val: eval.losses,
            val_acc: eval.accuracy,
            lr: self.state.lr,
            samples_per_s: 0.0,
            seconds: 0.0,
            improved: false,
        };
        self.publish(record, &eval)
    }

    /// Trains the steps of `epoch`; returns their mean losses and the last learning rate.
    fn train_steps(&mut self, epoch: usize) -> anyhow::Result<(Losses, f64)> {
        let cfg = self.run.cfg;
        let steps = cfg.steps_per_epoch;
        self.run.obs.begin(&format!("epoch {epoch}/{}", cfg.epochs), steps as u64, 0);
        let range = (0, steps);
        let mut prefetch =
            Prefetch::start(&self.run.generator, epoch, range, cfg.workers, cfg.prefetch);
        let (mut losses, mut lr, mut last) =
            (Vec::with_capacity(steps), self.state.lr, Instant::now());
        for step in 0..steps {
            let parts = prefetch.next_step()?;
            let samples: usize = parts.iter().map(|b| b.n).sum();
            lr = self.schedule.lr(self.state.global_step as usize);
            let weights = self.weights();
            let parts_losses = pretrain_step(&mut self.stepper, lr, parts, weights);
            let step_losses = Losses::mean(
                &parts_losses
                    .into_iter()
                    .map(|l| Losses {
                        loss: scalar(l.total),
                        rec: scalar(l.rec),
                        cls: l.cls.map_or(0.0, scalar),
                    })
                    .collect::<Vec<_>>(),
            );
            if !step_losses.loss.is_finite() {
                bail!(
                    "the loss diverged (epoch {epoch}, step {step}); lower --lr (now {lr}) and resume from {} or start again",
                    checkpoint::dir(self.run.dir, "last").display()
                );
            }
            self.state.global_step += 1;
            let now = Instant::now();
            let samples_per_s = samples as f64 / now.duration_since(last).as_secs_f64().max(1e-9);
            last = now;
            self.log.push(Record::Step {
                epoch,
                step,
                global_step: self.state.global_step,
                losses: step_losses,
                lr,
                samples_per_s,
            })?;
            losses.push(step_losses);
            let status = format!("loss {:.5} · {samples_per_s:.1} samples/s", step_losses.loss);
            self.run.obs.advance(&status);
        }
        self.run.obs.end();
        Ok((Losses::mean(&losses), lr))
    }
}

impl<M: Network<D>, const D: usize> Epochs for PretrainEpochs<'_, M, D> {
    fn epoch(&mut self, epoch: usize) -> anyhow::Result<Validation> {
        let started = Instant::now();
        let (train, lr) = self.train_steps(epoch)?;
        let train_seconds = started.elapsed().as_secs_f64();
        let eval = self.evaluate()?;
        let validation = Validation { value: eval.losses.loss, tie_break: 0.0 };
        self.last = Some(Trained { eval, train, lr, started, train_seconds });
        Ok(validation)
    }

    fn after(
        &mut self,
        epoch: usize,
        improved: bool,
        stopping: &EarlyStopping,
    ) -> anyhow::Result<()> {
        let Some(t) = self.last.take() else { bail!("epoch {epoch} was not trained") };
        let cfg = self.run.cfg;
        self.state.epoch = epoch;
        self.state.lr = t.lr;
        self.state.record(stopping);
        let samples = cfg.steps_per_epoch * cfg.batch * cfg.accumulate;
        let record = Record::Epoch {
            epoch,
            train: Some(t.train),
            val: t.eval.losses,
            val_acc: t.eval.accuracy,
            lr: t.lr,
            samples_per_s: samples as f64 / t.train_seconds.max(1e-9),
            seconds: t.started.elapsed().as_secs_f64(),
            improved,
        };
        self.publish(record, &t.eval)?;
        let (model, optim) = (self.stepper.model(), self.stepper.optim());
        checkpoint::save(self.run.dir, "last", model, optim, &self.state)?;
        if improved {
            checkpoint::save(self.run.dir, "best", model, optim, &self.state)?;
        }
        Ok(())
    }
}

//! The training loop: epochs of prefetched batches, validation on fixed batches, early
//! stopping, checkpoints, metrics and plots after every epoch.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use genesis_nn::burn::tensor::{Device, Tensor};
use genesis_nn::step::train_step;
use indicatif::{ProgressBar, ProgressStyle};

use super::checkpoint::{self, TrainState};
use super::config::RunConfig;
use super::data::{Batch, Generator, Prefetch};
use super::metrics::{Losses, MetricsLog, Record};
use super::model::{Pretrainable, Task, Tensors, loss_terms};
use super::plot;

/// What a finished (or early-stopped) run hands to the summary.
pub struct Outcome {
    /// The state of the last completed epoch.
    pub state: TrainState,
    /// Every metrics record of the run.
    pub records: Vec<Record>,
    /// Seconds spent in this invocation.
    pub seconds: f64,
}

/// A run ready to train: configuration, folder, device, data.
pub struct Trainer {
    /// The resolved configuration.
    pub cfg: RunConfig,
    /// The run folder.
    pub dir: PathBuf,
    /// The device (without autodiff).
    pub device: Device,
    /// The batch maker.
    pub generator: Arc<Generator>,
    /// Continue from the `last` checkpoint.
    pub resume: bool,
}

/// Validation results.
struct Evaluation {
    losses: Losses,
    accuracy: Option<f64>,
    /// Restoration output of the first validation batch.
    first_output: Vec<f32>,
}

fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.into_scalar::<f32>())
}

fn values<const D: usize>(t: Tensor<D>) -> anyhow::Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading a tensor: {e:?}"))
}

/// Mean losses and accuracy of `model` over the validation batches.
fn evaluate<M: Pretrainable<D>, const D: usize>(
    model: &M,
    batches: &[Batch],
    device: &Device,
    weights: (f64, f64),
) -> anyhow::Result<Evaluation> {
    let (mut all, mut correct, mut total, mut first_output) =
        (Vec::new(), 0usize, 0usize, Vec::new());
    let mut has_head = false;
    for (i, batch) in batches.iter().enumerate() {
        let terms = loss_terms(model, Tensors::<D>::new(batch, device), weights);
        all.push(Losses {
            loss: scalar(terms.total),
            rec: scalar(terms.rec),
            cls: terms.cls.map_or(0.0, scalar),
        });
        if let Some(logits) = terms.logits {
            has_head = true;
            let classes = logits.dims()[1];
            let scores = values(logits)?;
            for (row, &label) in scores.chunks_exact(classes.max(1)).zip(&batch.labels) {
                let best =
                    row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(k, _)| k);
                correct += usize::from(best as i64 == label);
                total += 1;
            }
        }
        if i == 0 {
            first_output = values(terms.output)?;
        }
    }
    let accuracy = has_head.then(|| correct as f64 / total.max(1) as f64);
    Ok(Evaluation { losses: Losses::mean(&all), accuracy, first_output })
}

impl Trainer {
    fn bar(&self, epoch: usize) -> anyhow::Result<ProgressBar> {
        let bar = ProgressBar::new(self.cfg.steps_per_epoch as u64)
            .with_prefix(format!("epoch {epoch}/{}", self.cfg.epochs));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")?
                .progress_chars("=> "),
        );
        Ok(bar)
    }

    fn epoch_line(&self, record: &Record) {
        if let Record::Epoch { epoch, train, val, val_acc, lr, samples_per_s, seconds, improved } =
            record
        {
            let train = train.map_or("-".into(), |t| format!("{:.5}", t.loss));
            let acc = val_acc.map_or(String::new(), |a| format!(" acc {:.1}%", 100.0 * a));
            let mark = if *improved { " *" } else { "" };
            println!(
                "epoch {epoch:>3}: train {train} · val {:.5} (mse {:.5}{acc}) · lr {lr:.2e} · {samples_per_s:.1} samples/s · {seconds:.1}s{mark}",
                val.loss, val.rec
            );
        }
    }

    fn train<M: Pretrainable<D>, const D: usize>(
        self,
        build: impl Fn(&Device) -> M,
    ) -> anyhow::Result<Outcome> {
        let started = Instant::now();
        let cfg = &self.cfg;
        let weights = (cfg.lambda_rec, cfg.lambda_cls);
        self.device.seed(cfg.seed);
        let train_device = self.device.clone().autodiff();
        let (model, optim) = (build(&train_device), cfg.optimizer.build(cfg.momentum));
        let (mut model, mut optim, mut state) = if self.resume {
            checkpoint::load(&self.dir, "last", model, optim)?
        } else {
            (model, optim, TrainState::fresh(cfg.lr_at(1)))
        };
        // A larger --patience on resume revives a run that stopped early.
        state.stopped_early = state.bad_epochs >= cfg.patience;
        let mut log = MetricsLog::open(&self.dir, state.epoch)?;
        let validation = (0..cfg.val_batches)
            .map(|i| self.generator.validation(i))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let grid = |epoch: usize, eval: &Evaluation| {
            let path = self.dir.join("grids").join(format!("epoch-{epoch:04}.png"));
            plot::restoration_grid(
                epoch,
                &validation[0],
                &eval.first_output,
                cfg.grid_samples,
                &path,
            )
        };
        if state.epoch == 0 {
            let eval = evaluate(&model.valid(), &validation, &self.device, weights)?;
            let record = Record::Epoch {
                epoch: 0,
                train: None,
                val: eval.losses,
                val_acc: eval.accuracy,
                lr: state.lr,
                samples_per_s: 0.0,
                seconds: 0.0,
                improved: false,
            };
            self.epoch_line(&record);
            log.push(record)?;
            grid(0, &eval)?;
        }
        while state.epoch < cfg.epochs && !state.stopped_early {
            let epoch = state.epoch + 1;
            let lr = cfg.lr_at(epoch);
            let epoch_start = Instant::now();
            let bar = self.bar(epoch)?;
            let mut prefetch = Prefetch::start(
                &self.generator,
                epoch,
                0,
                cfg.steps_per_epoch,
                cfg.workers,
                cfg.prefetch,
            );
            let mut losses = Vec::with_capacity(cfg.steps_per_epoch);
            let mut last = Instant::now();
            for step in 0..cfg.steps_per_epoch {
                let batch = prefetch.next_batch()?;
                let tensors = Tensors::<D>::new(&batch, &train_device);
                let mut parts = None;
                let (next, total) = train_step(model, &mut optim, lr, |m| {
                    let terms = loss_terms(m, tensors, weights);
                    parts = Some((terms.rec.detach(), terms.cls.map(Tensor::detach)));
                    terms.total
                });
                model = next;
                let (rec, cls) =
                    parts.ok_or_else(|| anyhow::anyhow!("the loss was not computed"))?;
                let step_losses =
                    Losses { loss: scalar(total), rec: scalar(rec), cls: cls.map_or(0.0, scalar) };
                if !step_losses.loss.is_finite() {
                    bail!(
                        "the loss diverged (epoch {epoch}, step {step}); lower --lr (now {lr}) and resume from {} or start again",
                        checkpoint::dir(&self.dir, "last").display()
                    );
                }
                state.global_step += 1;
                let now = Instant::now();
                let samples_per_s =
                    batch.n as f64 / now.duration_since(last).as_secs_f64().max(1e-9);
                last = now;
                log.push(Record::Step {
                    epoch,
                    step,
                    global_step: state.global_step,
                    losses: step_losses,
                    lr,
                    samples_per_s,
                })?;
                losses.push(step_losses);
                bar.set_message(format!(
                    "loss {:.5} · {samples_per_s:.1} samples/s",
                    step_losses.loss
                ));
                bar.inc(1);
            }
            drop(prefetch);
            let train_seconds = epoch_start.elapsed().as_secs_f64();
            bar.finish_and_clear();
            let eval = evaluate(&model.valid(), &validation, &self.device, weights)?;
            let improved = state.best_loss.is_none_or(|b| eval.losses.loss < b);
            if improved {
                (state.best_loss, state.best_epoch, state.bad_epochs) =
                    (Some(eval.losses.loss), epoch, 0);
            } else {
                state.bad_epochs += 1;
            }
            state.epoch = epoch;
            state.lr = lr;
            state.stopped_early = state.bad_epochs >= cfg.patience;
            let record = Record::Epoch {
                epoch,
                train: Some(Losses::mean(&losses)),
                val: eval.losses,
                val_acc: eval.accuracy,
                lr,
                samples_per_s: (cfg.steps_per_epoch * cfg.batch) as f64 / train_seconds.max(1e-9),
                seconds: epoch_start.elapsed().as_secs_f64(),
                improved,
            };
            self.epoch_line(&record);
            log.push(record)?;
            grid(epoch, &eval)?;
            plot::loss_curve(log.records(), &self.dir.join("loss.png"))?;
            checkpoint::save(&self.dir, "last", &model, &optim, &state)?;
            if improved {
                checkpoint::save(&self.dir, "best", &model, &optim, &state)?;
            }
        }
        plot::loss_curve(log.records(), &self.dir.join("loss.png"))?;
        Ok(Outcome {
            state,
            records: log.records().to_vec(),
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

impl Task for Trainer {
    type Output = anyhow::Result<Outcome>;
    fn run<M: Pretrainable<D>, const D: usize>(self, build: impl Fn(&Device) -> M) -> Self::Output {
        self.train(build)
    }
}

//! The fine-tuning loop: epochs over the labelled images, validation after each, early
//! stopping on the validation metric, the best epoch scored on the test split.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use genesis_core::metrics::{Overlap, accuracy, argmax_rows, macro_auc};
use genesis_core::rng::stream;
use genesis_core::transforms::draw::Shuffler;
use genesis_nn::burn::tensor::Device;
use genesis_nn::step::train_step;
use genesis_nn::weights::to_burnpack;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::config::{FinetuneConfig, Task};
use super::data::{Batch, Sample, Splits};
use super::model::{Downstream, Tensors, Work};
use crate::pretrain::checkpoint::write_atomic;

/// Foreground threshold of the segmentation metrics.
const THRESHOLD: f32 = 0.5;

/// Loss and metrics of a model on one split.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Scores {
    /// Mean cross-entropy, or the soft Dice loss pooled over the split.
    pub loss: f64,
    /// ROC AUC (binary; mean one-vs-rest otherwise), when the split has two classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
    /// Fraction of images whose most probable class is right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Dice of the masks thresholded at 0.5, pooled over the split (1 when both are empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dice: Option<f64>,
    /// IoU likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iou: Option<f64>,
}

impl Scores {
    /// The metric that picks the best epoch: AUC (accuracy without one), or Dice.
    pub fn primary(&self) -> f64 {
        self.auc.or(self.accuracy).or(self.dice).unwrap_or(0.0)
    }
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Epoch (0 = before training).
    pub epoch: usize,
    /// Mean training loss (absent for epoch 0).
    pub train_loss: Option<f64>,
    /// Validation loss and metrics.
    pub val: Scores,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
    /// Whether this epoch set a new best validation metric.
    pub improved: bool,
}

/// The result of a run (`metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `classify` or `segment`.
    pub task: Task,
    /// `scratch` or the weights file.
    pub init: String,
    /// The data.
    pub data: String,
    /// The run seed.
    pub seed: u64,
    /// Whether the encoder was frozen.
    pub freeze_encoder: bool,
    /// Labelled training images used.
    pub train_images: usize,
    /// Validation images.
    pub val_images: usize,
    /// Test images.
    pub test_images: usize,
    /// Classes (1 for segmentation).
    pub classes: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The epoch whose model is kept and tested.
    pub best_epoch: usize,
    /// Validation scores of the initial model (epoch 0).
    pub initial_val: Scores,
    /// Validation scores of the best epoch.
    pub val: Scores,
    /// Test scores of the best epoch's model: the numbers to report.
    pub test: Scores,
    /// Wall time of the run.
    pub seconds: f64,
}

/// A run ready to train.
pub struct Trainer {
    /// The resolved configuration.
    pub cfg: FinetuneConfig,
    /// The run folder.
    pub dir: PathBuf,
    /// The device (without autodiff).
    pub device: Device,
    /// The data.
    pub splits: Splits,
}

/// Scores of `model` on `samples`, in batches of `batch`.
fn evaluate<M: Downstream<D>, const D: usize>(
    model: &M,
    samples: &[Sample],
    batch: usize,
    task: Task,
    classes: usize,
    device: &Device,
) -> anyhow::Result<Scores> {
    let mut probabilities: Vec<f64> = Vec::new();
    let mut overlap = Overlap::default();
    let (mut soft_intersection, mut soft_total) = (0.0f64, 0.0f64);
    for chunk in samples.chunks(batch.max(1)) {
        let refs: Vec<&Sample> = chunk.iter().collect();
        let host = Batch::new(&refs, None)?;
        let scores = model.scores(Tensors::<D>::new(&host, device).images);
        let values = scores
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading the predictions: {e:?}"))?;
        match task {
            Task::Classify => probabilities.extend(values.iter().map(|&p| f64::from(p))),
            Task::Segment => {
                overlap.add(&values, &host.masks, THRESHOLD);
                for (&p, &m) in values.iter().zip(&host.masks) {
                    soft_intersection += f64::from(p * m);
                    soft_total += f64::from(p + m);
                }
            }
        }
    }
    Ok(match task {
        Task::Classify => {
            let labels: Vec<usize> = samples.iter().map(|s| s.label).collect();
            let loss = probabilities
                .chunks_exact(classes)
                .zip(&labels)
                .map(|(row, &l)| -row[l].max(1e-12).ln())
                .sum::<f64>()
                / labels.len().max(1) as f64;
            Scores {
                loss,
                auc: macro_auc(&probabilities, &labels, classes),
                accuracy: Some(accuracy(&argmax_rows(&probabilities, classes), &labels)),
                ..Scores::default()
            }
        }
        Task::Segment => Scores {
            loss: 1.0 - (2.0 * soft_intersection + 1.0) / (soft_total + 1.0),
            dice: Some(overlap.dice()),
            iou: Some(overlap.iou()),
            ..Scores::default()
        },
    })
}

/// `metric 0.812` style text of the scores.
pub fn describe(scores: &Scores) -> String {
    let parts =
        [("AUC", scores.auc), ("acc", scores.accuracy), ("Dice", scores.dice), ("IoU", scores.iou)];
    parts
        .iter()
        .filter_map(|(name, v)| v.map(|v| format!("{name} {v:.3}")))
        .collect::<Vec<_>>()
        .join(" · ")
}

impl Trainer {
    fn bar(&self, epoch: usize, steps: usize) -> anyhow::Result<ProgressBar> {
        let bar = ProgressBar::new(steps as u64)
            .with_prefix(format!("epoch {epoch}/{}", self.cfg.epochs));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")?
                .progress_chars("=> "),
        );
        Ok(bar)
    }

    fn log(&self, record: &Record, lines: &mut String) -> anyhow::Result<()> {
        let train = record.train_loss.map_or("-".into(), |l| format!("{l:.4}"));
        let mark = if record.improved { " *" } else { "" };
        println!(
            "epoch {:>3}: train {train} · val loss {:.4} · {} · {:.1}s{mark}",
            record.epoch,
            record.val.loss,
            describe(&record.val),
            record.seconds
        );
        lines.push_str(&serde_json::to_string(record)?);
        lines.push('\n');
        write_atomic(&self.dir.join("metrics.jsonl"), lines.as_bytes())
    }

    fn train<M: Downstream<D>, const D: usize>(
        self,
        build: impl Fn(&Device) -> anyhow::Result<M>,
    ) -> anyhow::Result<(Report, Vec<Record>)> {
        let started = Instant::now();
        let cfg = &self.cfg;
        let Splits { train, val, test, classes } = &self.splits;
        let (task, classes) = (cfg.task, *classes);
        self.device.seed(cfg.seed);
        let train_device = self.device.clone().autodiff();
        let mut model = build(&train_device)?;
        let mut optim = cfg.optimizer.build(cfg.momentum);
        // Batch norm normalises with the statistics of each evaluation batch, like the released
        // models' ContBatchNorm (running statistics of a few dozen steps are too noisy).
        let eval = |m: &M, samples: &[Sample]| {
            let valid = m.valid();
            let scores = evaluate(&valid, samples, cfg.batch, task, classes, &self.device)?;
            anyhow::Ok((scores, valid))
        };
        let (initial, mut best) = eval(&model, val)?;
        let (mut records, mut lines) = (Vec::new(), String::new());
        let first =
            Record { epoch: 0, train_loss: None, val: initial, seconds: 0.0, improved: false };
        self.log(&first, &mut lines)?;
        records.push(first);
        let (mut best_scores, mut best_epoch, mut bad_epochs) = (initial, 0, 0);
        let mut epochs = 0;
        let steps = train.len().div_ceil(cfg.batch);
        let shuffler = Shuffler::new(train.len());
        while epochs < cfg.epochs && bad_epochs < cfg.patience.max(1) {
            let epoch = epochs + 1;
            let epoch_start = Instant::now();
            let bar = self.bar(epoch, steps)?;
            let mut order: Vec<usize> = (0..train.len()).collect();
            shuffler.shuffle(&mut stream(cfg.seed, "finetune-order", &[epoch as u64]), &mut order);
            let mut flips = stream(cfg.seed, "finetune-flips", &[epoch as u64]);
            let mut losses = Vec::with_capacity(steps);
            for chunk in order.chunks(cfg.batch) {
                let refs: Vec<&Sample> = chunk.iter().map(|&i| &train[i]).collect();
                let host = Batch::new(&refs, cfg.flip.then_some(&mut flips))?;
                let tensors = Tensors::<D>::new(&host, &train_device);
                let (next, loss) = train_step(model, &mut optim, cfg.lr, |m| m.loss(tensors));
                model = next;
                let loss = f64::from(loss.into_scalar::<f32>());
                if !loss.is_finite() {
                    bail!("the loss diverged in epoch {epoch}; lower --lr (now {})", cfg.lr);
                }
                losses.push(loss);
                bar.set_message(format!("loss {loss:.4}"));
                bar.inc(1);
            }
            bar.finish_and_clear();
            let (scores, valid) = eval(&model, val)?;
            // The untrained model is never "best": every run reports a trained model.
            let (now, then) = (scores.primary(), best_scores.primary());
            let improved =
                best_epoch == 0 || now > then || (now == then && scores.loss < best_scores.loss);
            if improved {
                (best_scores, best_epoch, bad_epochs, best) = (scores, epoch, 0, valid);
            } else {
                bad_epochs += 1;
            }
            epochs = epoch;
            let record = Record {
                epoch,
                train_loss: Some(losses.iter().sum::<f64>() / losses.len().max(1) as f64),
                val: scores,
                seconds: epoch_start.elapsed().as_secs_f64(),
                improved,
            };
            self.log(&record, &mut lines)?;
            records.push(record);
        }
        write_atomic(&self.dir.join("model.bpk"), &to_burnpack(&best)?)?;
        let test_scores = evaluate(&best, test, cfg.batch, task, classes, &self.device)?;
        let report = Report {
            task,
            init: cfg.init.clone(),
            data: cfg.data.clone(),
            seed: cfg.seed,
            freeze_encoder: cfg.freeze_encoder,
            train_images: train.len(),
            val_images: val.len(),
            test_images: test.len(),
            classes,
            epochs,
            stopped_early: epochs < cfg.epochs,
            best_epoch,
            initial_val: initial,
            val: best_scores,
            test: test_scores,
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok((report, records))
    }
}

impl Work for Trainer {
    type Output = anyhow::Result<(Report, Vec<Record>)>;
    fn run<M: Downstream<D>, const D: usize>(
        self,
        build: impl Fn(&Device) -> anyhow::Result<M>,
    ) -> Self::Output {
        self.train(build)
    }
}

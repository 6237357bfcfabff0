//! The fine-tuning epochs: the labelled images through the engine's step, validation after
//! each epoch, early stopping on the validation metric, the best epoch scored on the test
//! split.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use genesis_core::metrics::{Overlap, accuracy, argmax_rows, macro_auc};
use genesis_core::rng::stream;
use genesis_core::transforms::draw::Shuffler;
use genesis_io::fsutil::write_atomic;
use genesis_nn::burn::module::ParamGroup;
use genesis_nn::burn::optim::lr_scheduler::module_lr_scheduler::{
    ModuleLearningRate, ModuleLrScheduler,
};
use genesis_nn::burn::tensor::Device;
use genesis_nn::host::{read, scalar};
use genesis_nn::weights::to_burnpack;
use genesis_nn::{ModelTask, Network};
use serde::{Deserialize, Serialize};

use super::data::{Batch, Sample, Splits};
use super::model::{Downstream, Segmenter, Tensors, Weights, backbone, classifier};
use crate::fit::{EarlyStopping, Epochs, Goal, Validation, fit};
use crate::metrics::{FinetuneRecord, Scores};
use crate::observer::Observer;
use crate::recipe::{FinetuneConfig, Task};
use crate::schedule::Schedule;
use crate::step::Stepper;

/// Foreground threshold of the segmentation metrics.
const THRESHOLD: f32 = 0.5;

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

/// A run ready to train (handed to the model dispatch, which builds the U-Net).
pub struct Trainer<'a> {
    /// The resolved configuration.
    pub cfg: &'a FinetuneConfig,
    /// The run folder.
    pub dir: &'a Path,
    /// The device (without autodiff).
    pub device: Device,
    /// The same device with autodiff, where the model is built.
    pub train_device: Device,
    /// Every device a step splits its batches across (with autodiff; the first is
    /// `train_device`).
    pub replicas: Vec<Device>,
    /// The data.
    pub splits: Splits,
    /// Pretrained weights, if any.
    pub weights: Option<&'a Weights>,
    /// Bottleneck channels of the U-Net.
    pub bottleneck: usize,
    /// Where progress goes.
    pub obs: &'a mut dyn Observer,
}

impl ModelTask for Trainer<'_> {
    type Output = anyhow::Result<(Report, Vec<FinetuneRecord>)>;

    fn run<M: Network<D>, const D: usize>(self, fresh: M) -> Self::Output {
        let unet = backbone(fresh, self.weights, self.cfg.freeze_encoder)?;
        match self.cfg.task {
            Task::Classify => {
                let dims = (self.bottleneck, self.splits.classes, self.cfg.pool);
                let model = classifier(unet, dims, &self.train_device);
                self.train(model)
            }
            Task::Segment => {
                let loss = self.cfg.seg_loss;
                self.train(Segmenter { unet, loss })
            }
        }
    }
}

/// Scores of `model` on `samples`, in batches of `batch`.
fn evaluate<M: Downstream<D>, const D: usize>(
    model: &M,
    samples: &[Sample],
    (batch, task, classes): (usize, Task, usize),
    device: &Device,
) -> anyhow::Result<Scores> {
    let mut probabilities: Vec<f64> = Vec::new();
    let mut overlap = Overlap::default();
    let (mut soft_intersection, mut soft_total) = (0.0f64, 0.0f64);
    for chunk in samples.chunks(batch.max(1)) {
        let refs: Vec<&Sample> = chunk.iter().collect();
        let host = Batch::new(&refs, None)?;
        let values = read(model.scores(Tensors::<D>::new(&host, device).images))?;
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

/// The epochs of one run.
struct FinetuneEpochs<'a, M, const D: usize> {
    run: Trainer<'a>,
    stepper: Stepper<M>,
    schedule: Schedule,
    /// The layers every run starts afresh (they train at the full learning rate).
    new_layers: ParamGroup,
    steps_taken: usize,
    records: Vec<FinetuneRecord>,
    lines: String,
    best: M,
    best_scores: Scores,
    /// What the last epoch left: its mean training loss, scores, model and start time.
    last: Option<(f64, Scores, M, Instant)>,
}

impl<M: Downstream<D>, const D: usize> FinetuneEpochs<'_, M, D> {
    fn scores(&self, model: &M, samples: &[Sample]) -> anyhow::Result<Scores> {
        let c = self.run.cfg;
        let how = (c.batch, c.task, self.run.splits.classes);
        evaluate(model, samples, how, &self.run.device)
    }

    /// Appends `record` to `metrics.jsonl` (rewritten whole: the file is small).
    fn log(&mut self, record: FinetuneRecord) -> anyhow::Result<()> {
        self.run.obs.finetune_epoch(&record);
        self.lines.push_str(&serde_json::to_string(&record)?);
        self.lines.push('\n');
        write_atomic(&self.run.dir.join("metrics.jsonl"), self.lines.as_bytes())?;
        self.records.push(record);
        Ok(())
    }

    /// The learning rates of a step at `lr` in `epoch`: pretrained layers at
    /// `lr × pretrained_lr_scale` (0 during the head warm-up), new layers at `lr`.
    fn learning_rates(&self, lr: f64, epoch: usize) -> ModuleLearningRate {
        let cfg = self.run.cfg;
        let scale = match cfg.pretrained() {
            false => 1.0,
            true if epoch <= cfg.head_warmup_epochs => 0.0,
            true => cfg.pretrained_lr_scale,
        };
        if scale == 1.0 {
            return lr.into();
        }
        ModuleLrScheduler::new(lr * scale).with_group(self.new_layers.clone(), lr).step()
    }

    /// Mean training loss of `epoch`.
    fn train_steps(&mut self, epoch: usize) -> anyhow::Result<f64> {
        let cfg = self.run.cfg;
        let train = &self.run.splits.train;
        let micro: Vec<Vec<usize>> =
            epoch_order(train.len(), cfg, epoch).chunks(cfg.batch).map(<[usize]>::to_vec).collect();
        let steps = micro.len().div_ceil(cfg.accumulate);
        self.run.obs.begin(&format!("epoch {epoch}/{}", cfg.epochs), steps as u64, 0);
        let mut flips = stream(cfg.seed, "finetune-flips", &[epoch as u64]);
        let mut losses = Vec::with_capacity(micro.len());
        for group in micro.chunks(cfg.accumulate) {
            let mut parts = Vec::with_capacity(group.len());
            for chunk in group {
                let refs: Vec<&Sample> = chunk.iter().map(|&i| &train[i]).collect();
                parts.push(Batch::new(&refs, cfg.flip.then_some(&mut flips))?);
            }
            let lr = self.schedule.lr(self.steps_taken);
            let rates = self.learning_rates(lr, epoch);
            let step = self
                .stepper
                .step(rates, parts, |m, host, device| vec![m.loss(Tensors::new(&host, device))]);
            self.steps_taken += 1;
            for loss in step.into_iter().flatten().map(scalar) {
                if !loss.is_finite() {
                    bail!("the loss diverged in epoch {epoch}; lower --lr (now {lr})");
                }
                losses.push(loss);
                self.run.obs.advance(&format!("loss {loss:.4}"));
            }
        }
        self.run.obs.end();
        Ok(losses.iter().sum::<f64>() / losses.len().max(1) as f64)
    }
}

/// The training images of `epoch` in a seeded order: whole shuffled passes over the `n`
/// images until `epoch_samples` are reached (one pass at least).
fn epoch_order(n: usize, cfg: &FinetuneConfig, epoch: usize) -> Vec<usize> {
    let mut order = Vec::with_capacity(n.max(cfg.epoch_samples));
    let mut pass = 0u64;
    while n > 0 && (pass == 0 || order.len() < cfg.epoch_samples) {
        let mut ids: Vec<usize> = (0..n).collect();
        let key: &[u64] = if pass == 0 { &[epoch as u64] } else { &[epoch as u64, pass] };
        Shuffler::new(n).shuffle(&mut stream(cfg.seed, "finetune-order", key), &mut ids);
        order.extend(ids);
        pass += 1;
    }
    order
}

impl<M: Downstream<D>, const D: usize> Epochs for FinetuneEpochs<'_, M, D> {
    fn epoch(&mut self, epoch: usize) -> anyhow::Result<Validation> {
        let started = Instant::now();
        let train_loss = self.train_steps(epoch)?;
        // Batch norm normalises with the statistics of each evaluation batch, like the released
        // models' ContBatchNorm (running statistics of a few dozen steps are too noisy).
        let valid = self.stepper.model().valid();
        let scores = self.scores(&valid, &self.run.splits.val)?;
        self.last = Some((train_loss, scores, valid, started));
        Ok(Validation { value: scores.primary(), tie_break: scores.loss })
    }

    fn after(&mut self, epoch: usize, improved: bool, _: &EarlyStopping) -> anyhow::Result<()> {
        let Some((train_loss, scores, valid, started)) = self.last.take() else {
            bail!("epoch {epoch} was not trained")
        };
        if improved {
            (self.best, self.best_scores) = (valid, scores);
        }
        let seconds = started.elapsed().as_secs_f64();
        self.log(FinetuneRecord {
            epoch,
            train_loss: Some(train_loss),
            val: scores,
            seconds,
            improved,
        })
    }
}

impl Trainer<'_> {
    fn train<M: Downstream<D>, const D: usize>(
        self,
        model: M,
    ) -> anyhow::Result<(Report, Vec<FinetuneRecord>)> {
        let started = Instant::now();
        let cfg = self.cfg;
        let samples = self.splits.train.len().max(cfg.epoch_samples);
        let steps_per_epoch = samples.div_ceil(cfg.batch).div_ceil(cfg.accumulate);
        let new_layers = ParamGroup::from_ids(model.new_layers());
        let schedule = Schedule::over(cfg.optimization(), steps_per_epoch, cfg.epochs);
        let initial_model = model.valid();
        let stepper = Stepper::new(model, cfg.optimizer.build(cfg.momentum), cfg.clip_grad_norm)
            .on_devices(self.replicas.clone());
        let mut epochs = FinetuneEpochs {
            run: self,
            stepper,
            schedule,
            new_layers,
            steps_taken: 0,
            records: Vec::new(),
            lines: String::new(),
            best_scores: Scores::default(),
            best: initial_model,
            last: None,
        };
        let initial = epochs.scores(&epochs.best, &epochs.run.splits.val)?;
        epochs.best_scores = initial;
        let first = FinetuneRecord {
            epoch: 0,
            train_loss: None,
            val: initial,
            seconds: 0.0,
            improved: false,
        };
        epochs.log(first)?;
        let mut stopping = EarlyStopping::new(Goal::Maximize, cfg.patience)?;
        let trained = fit(&mut epochs, &mut stopping, 0, cfg.epochs)?;
        let FinetuneEpochs { run, best, best_scores, records, .. } = epochs;
        write_atomic(&run.dir.join("model.bpk"), &to_burnpack(&best)?)?;
        let splits = &run.splits;
        let how = (cfg.batch, cfg.task, splits.classes);
        let test = evaluate(&best, &splits.test, how, &run.device)?;
        let report = Report {
            task: cfg.task,
            init: cfg.init.clone(),
            data: cfg.data.clone(),
            seed: cfg.seed,
            freeze_encoder: cfg.freeze_encoder,
            train_images: splits.train.len(),
            val_images: splits.val.len(),
            test_images: splits.test.len(),
            classes: splits.classes,
            epochs: trained,
            stopped_early: trained < cfg.epochs,
            best_epoch: stopping.best_epoch,
            initial_val: initial,
            val: best_scores,
            test,
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok((report, records))
    }
}

//! `results.md` of the transfer experiment: the setup, the label-efficiency table (mean ± std
//! and 95% interval per budget and initialisation, paired differences to scratch with their
//! p-values) and every run's numbers.

use std::fmt::Write;

use super::results::{Cell, INITS, Results, Transfer, metrics};
use crate::stats::Interval;

/// The markdown report of `results`.
pub fn markdown(results: &Results, plan: &Transfer) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Transfer experiment: label efficiency of pretraining\n");
    setup(&mut out, results, plan);
    sanity(&mut out, results);
    for cfg in &results.configs {
        let task = cfg.task;
        let name = task.metric();
        let _ = writeln!(out, "\n## {} — test {name}\n", task.name());
        let _ = writeln!(
            out,
            "Mean ± std over seeds [95% interval of the mean]; Δ = paired difference to scratch \
             (same seed = same labelled images) [95% interval], p = paired t-test.\n"
        );
        let _ = writeln!(
            out,
            "| Labels | Scratch | Models Genesis | Δ MG | p | Semantic Genesis | Δ SG | p |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for &labels in &plan.labels {
            let cell = |init: usize| {
                results.cells.iter().find(|c| (c.task, c.labels, c.init) == (task, labels, init))
            };
            let mut row = format!("| {labels} |");
            for init in 0..INITS.len() {
                let Some(c) = cell(init) else { continue };
                let _ = write!(row, " {} |", spread(&c.metric));
                if let Some(vs) = &c.vs_scratch {
                    let _ = write!(row, " {} | {} |", signed(&vs.difference), p_value(vs.p_value));
                }
            }
            let _ = writeln!(out, "{row}");
        }
        initial_rows(&mut out, results, plan, task);
    }
    every_run(&mut out, results);
    out
}

/// The pretraining and fine-tuning setup.
fn setup(out: &mut String, results: &Results, plan: &Transfer) {
    let _ = writeln!(
        out,
        "Label budgets {:?}, {} seeds each, split seed {}; every run of a task is scored on the \
         same test images.\n",
        plan.labels, plan.seeds, plan.split_seed
    );
    for summary in &results.pretraining {
        let _ = writeln!(out, "Pretraining:\n\n```text\n{}\n```\n", summary.trim_end());
    }
    for cfg in &results.configs {
        let _ = writeln!(
            out,
            "- {}: `{}` data, {} images (split seed {}; test fraction {}, validation {}), \
             {:?} U-Net base {} with {} levels; {:?} lr {} ({:?}), pretrained layers at {}× \
             after {} head-only epoch(s); batch {}, ≥ {} samples per epoch, at most {} epochs \
             (patience {}); {}; per-image rescaling {}; batch norm `{:?}` at evaluation; \
             encoder {}.",
            cfg.task.name(),
            cfg.data,
            shape_text(cfg.sample_shape()),
            cfg.split_seed,
            cfg.test_fraction,
            cfg.val_fraction,
            cfg.dim,
            cfg.base,
            cfg.levels,
            cfg.optimizer,
            cfg.lr,
            cfg.lr_schedule,
            cfg.pretrained_lr_scale,
            cfg.head_warmup_epochs,
            cfg.batch,
            cfg.epoch_samples,
            cfg.epochs,
            cfg.patience,
            match cfg.task {
                crate::recipe::Task::Classify => format!("{:?} pooling", cfg.pool),
                crate::recipe::Task::Segment => format!("loss {:?}", cfg.seg_loss),
            },
            if cfg.normalize { "on" } else { "off" },
            cfg.bn,
            if cfg.freeze_encoder { "frozen" } else { "fine-tuned" }
        );
    }
}

/// The sanity checks: restoration against pretraining time, and the encoders' body-type k-NN
/// accuracy.
fn sanity(out: &mut String, results: &Results) {
    let _ = writeln!(out, "\n## Sanity checks\n");
    for (method, curve) in &results.restoration {
        let points: Vec<String> = curve.iter().map(|(e, l)| format!("{e}: {l:.4}")).collect();
        let _ = writeln!(
            out,
            "- {method} validation restoration loss by pretraining epoch: {}",
            points.join(" · ")
        );
    }
    for p in &results.probes {
        let _ = writeln!(
            out,
            "- {} encoder: body-type 5-NN accuracy {:.3} over {} radiographs (chance 0.25)",
            INITS[p.init].0, p.accuracy, p.images
        );
    }
}

/// The validation metric before fine-tuning, per budget and initialisation (a pretrained start
/// should differ from a random one).
fn initial_rows(out: &mut String, results: &Results, plan: &Transfer, task: crate::recipe::Task) {
    let _ = writeln!(out, "\nValidation {} before fine-tuning (epoch 0):\n", task.metric());
    let _ = writeln!(out, "| Labels | {} |", INITS.map(|(n, _)| n).join(" | "));
    let _ = writeln!(out, "|---|---|---|---|");
    for &labels in &plan.labels {
        let cells: Vec<&Cell> =
            results.cells.iter().filter(|c| (c.task, c.labels) == (task, labels)).collect();
        let values: Vec<String> = cells.iter().map(|c| spread(&c.initial_val)).collect();
        let _ = writeln!(out, "| {labels} | {} |", values.join(" | "));
    }
}

/// Every run's test metrics.
fn every_run(out: &mut String, results: &Results) {
    let _ = writeln!(out, "\n## Every run\n");
    let _ = writeln!(
        out,
        "| Task | Labels | Init | Seed | Test metrics | Best epoch | Train / val / test images | Seconds |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for run in &results.runs {
        let r = &run.report;
        let [(a, x), (b, y)] = metrics(run.task, &r.test);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {a} {x:.3} · {b} {y:.3} | {} of {} | {} / {} / {} | {:.0} |",
            run.task.name(),
            run.labels,
            INITS[run.init].0,
            r.seed,
            r.best_epoch,
            r.epochs,
            r.train_images,
            r.val_images,
            r.test_images,
            r.seconds
        );
    }
}

fn spread(i: &Interval) -> String {
    format!("{:.3} ± {:.3} [{:.3}, {:.3}]", i.mean, i.std, i.low, i.high)
}

fn signed(i: &Interval) -> String {
    format!("{:+.3} [{:+.3}, {:+.3}]", i.mean, i.low, i.high)
}

fn p_value(p: f64) -> String {
    if p < 0.001 { "< 0.001".into() } else { format!("{p:.3}") }
}

/// `64×64` for an image, `32×32×16` for a volume.
fn shape_text([x, y, z]: [usize; 3]) -> String {
    if z == 1 { format!("{x}×{y}") } else { format!("{x}×{y}×{z}") }
}

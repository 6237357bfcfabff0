//! The transfer experiment: does Genesis pretraining help a small labelled task? Pretrains (or
//! reuses) 2-D Models Genesis and Semantic Genesis weights on phantoms, fine-tunes scratch /
//! MG / SG over several seeds, and tabulates the test metrics (`results.md`, `results.json`;
//! a front end draws `results.png` from the returned results). See docs/finetuning.md.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_io::fsutil::write_atomic;

use crate::finetune::{self, Report, Weights};
use crate::observer::Observer;
use crate::pretrain;
use crate::recipe::{FinetuneConfig, Method, RunConfig, Task};

/// What `genesis experiment transfer` runs.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Output folder: the pretraining runs, one fine-tuning run per task, init and seed, and
    /// the results.
    pub out: PathBuf,
    /// Models Genesis weights to reuse instead of pretraining.
    pub models_genesis: Option<PathBuf>,
    /// Semantic Genesis weights to reuse instead of pretraining.
    pub semantic_genesis: Option<PathBuf>,
    /// Epochs of each pretraining run.
    pub pretrain_epochs: usize,
    /// Fine-tuning seeds per task and initialisation.
    pub seeds: u64,
    /// Tasks to run.
    pub tasks: Vec<Task>,
    /// A fine-tuning TOML configuration shared by every run.
    pub config: Option<PathBuf>,
    /// Fine-tuning keys over the configuration (kebab-case, as the flags).
    pub flags: toml::Table,
    /// Device for pretraining and fine-tuning (`None`: each recipe's default).
    pub device: Option<String>,
}

/// One fine-tuning result: the task, the initialisation (index into [`INITS`]) and its report.
pub type TransferResult = (Task, usize, Report);

/// The initialisations compared, as (table name, folder name).
pub const INITS: [(&str, &str); 3] = [
    ("Scratch", "scratch"),
    ("Models Genesis", "models-genesis"),
    ("Semantic Genesis", "semantic-genesis"),
];

/// Runs the experiment; writes `results.md` and `results.json` into `plan.out` and returns
/// every result (for plots) with the markdown table.
pub fn transfer(
    plan: &Transfer,
    obs: &mut dyn Observer,
) -> anyhow::Result<(Vec<TransferResult>, String)> {
    std::fs::create_dir_all(&plan.out)
        .with_context(|| format!("cannot create {}", plan.out.display()))?;
    let mg = pretrained(plan, Method::ModelsGenesis, plan.models_genesis.as_deref(), obs)?;
    let sg = pretrained(plan, Method::SemanticGenesis, plan.semantic_genesis.as_deref(), obs)?;
    let arch = Weights::read(&mg)?.arch;
    if Weights::read(&sg)?.arch != arch {
        bail!(
            "{mg} and {sg} hold U-Nets of different shapes; the comparison needs one architecture (pretrain both with the same base and levels)"
        );
    }
    let mut results: Vec<TransferResult> = Vec::new();
    let mut configs = Vec::new();
    for &task in &plan.tasks {
        let mut flags = plan.flags.clone();
        flags.insert("task".into(), task.name().into());
        if let Some(device) = &plan.device {
            flags.insert("device".into(), device.as_str().into());
        }
        let mut base = FinetuneConfig::resolve(plan.config.as_deref(), &flags)?;
        if base.data != "phantom" {
            obs.note(&format!(
                "note: fine-tuning on {} instead of the phantom benchmark",
                base.data
            ));
        }
        // Scratch gets the pretrained U-Net's architecture, so only the initialisation differs.
        (base.base, base.levels, base.dim) = (arch.base, arch.depth, arch.dim);
        configs.push(base.clone());
        for (i, (_, name)) in INITS.iter().enumerate() {
            let init = match i {
                0 => "scratch".to_string(),
                1 => mg.clone(),
                _ => sg.clone(),
            };
            for seed in 0..plan.seeds {
                let cfg = FinetuneConfig { task, init: init.clone(), seed, ..base.clone() };
                let dir =
                    plan.out.join("finetune").join(format!("{}-{name}-seed{seed}", task.name()));
                results.push((task, i, finetune_once(&cfg, &dir, obs)?));
            }
        }
    }
    let table = table(&results, plan, &configs);
    write_atomic(&plan.out.join("results.md"), table.as_bytes())?;
    let reports: Vec<&Report> = results.iter().map(|(_, _, r)| r).collect();
    write_atomic(&plan.out.join("results.json"), &serde_json::to_vec_pretty(&reports)?)?;
    Ok((results, table))
}

/// The weights of `method`: the given file, or the best checkpoint of a pretraining run in
/// `out/pretrain-METHOD` (started, resumed or reused as it stands).
fn pretrained(
    plan: &Transfer,
    method: Method,
    given: Option<&Path>,
    obs: &mut dyn Observer,
) -> anyhow::Result<String> {
    if let Some(path) = given {
        return Ok(path.display().to_string());
    }
    let name = method.name();
    let dir = plan.out.join(format!("pretrain-{name}"));
    let mut flags = toml::Table::new();
    flags.insert("epochs".into(), (plan.pretrain_epochs as i64).into());
    if let Some(device) = &plan.device {
        flags.insert("device".into(), device.as_str().into());
    }
    let resume = dir.join("run.toml").exists();
    let cfg = if resume {
        obs.note(&format!("── resuming or reusing the {name} pretraining in {} ──", dir.display()));
        RunConfig::resume(&dir, &flags)?
    } else {
        obs.note(&format!("── pretraining {name} into {} ──", dir.display()));
        flags.insert("method".into(), name.into());
        RunConfig::resolve(None, &flags)?
    };
    let outcome = pretrain::run(&cfg, &dir, resume, obs)?;
    obs.note(&outcome.summary);
    Ok(dir.join("checkpoints").join("best").join("model.bpk").display().to_string())
}

/// One fine-tuning run, reused when `dir` already holds a finished run of the same config.
fn finetune_once(
    cfg: &FinetuneConfig,
    dir: &Path,
    obs: &mut dyn Observer,
) -> anyhow::Result<Report> {
    let finished = || -> Option<Report> {
        let same: FinetuneConfig =
            toml::from_str(&std::fs::read_to_string(dir.join("run.toml")).ok()?).ok()?;
        let report = serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).ok()?).ok()?;
        (same == *cfg).then_some(report)
    };
    if let Some(report) = finished() {
        obs.note(&format!("── reusing {} ──", dir.display()));
        return Ok(report);
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    Ok(finetune::run(cfg, dir, obs)?.0)
}

/// The test metrics of a task: (name, value) pairs, the primary first.
pub fn metrics(task: Task, report: &Report) -> [(&'static str, f64); 2] {
    let t = &report.test;
    match task {
        Task::Classify => {
            [("AUC", t.auc.unwrap_or(f64::NAN)), ("accuracy", t.accuracy.unwrap_or(f64::NAN))]
        }
        Task::Segment => [("Dice", t.dice.unwrap_or(f64::NAN)), ("IoU", t.iou.unwrap_or(f64::NAN))],
    }
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// Values of metric `k` of `task` for initialisation `init`, one per seed.
pub fn values(results: &[TransferResult], task: Task, init: usize, k: usize) -> Vec<f64> {
    results
        .iter()
        .filter(|(t, i, _)| *t == task && *i == init)
        .map(|(t, _, r)| metrics(*t, r)[k].1)
        .collect()
}

/// The markdown results: the setup, the mean ± std table, and every run's test numbers.
fn table(results: &[TransferResult], plan: &Transfer, configs: &[FinetuneConfig]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Transfer experiment: pretraining vs scratch\n");
    let _ = writeln!(out, "Test metrics, mean ± std over {} seeds (sample std).\n", plan.seeds);
    for cfg in configs {
        let _ = writeln!(
            out,
            "- {}: {} labelled training images (`labels`) on `{}`, {}×{} images, {:?} U-Net base {} \
             with {} levels, {:?} lr {}, at most {} epochs (patience {}), encoder {}.",
            cfg.task.name(),
            cfg.labels,
            cfg.data,
            cfg.size,
            cfg.size,
            cfg.dim,
            cfg.base,
            cfg.levels,
            cfg.optimizer,
            cfg.lr,
            cfg.epochs,
            cfg.patience,
            if cfg.freeze_encoder { "frozen" } else { "fine-tuned" }
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| Task | Metric | {} |", INITS.map(|(n, _)| n).join(" | "));
    let _ = writeln!(out, "|---|---|---|---|---|");
    for &task in &plan.tasks {
        for k in 0..2 {
            let Some((_, _, sample)) = results.iter().find(|(t, _, _)| *t == task) else {
                continue;
            };
            let name = metrics(task, sample)[k].0;
            let cells: Vec<String> = (0..INITS.len())
                .map(|i| {
                    let (m, s) = mean_std(&values(results, task, i, k));
                    format!("{m:.3} ± {s:.3}")
                })
                .collect();
            let _ = writeln!(out, "| {} | {name} | {} |", task.name(), cells.join(" | "));
        }
    }
    let _ = writeln!(out, "\n## Every run\n");
    let _ = writeln!(
        out,
        "| Task | Init | Seed | Test metrics | Best epoch | Train / val / test images |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (task, i, r) in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} of {} | {} / {} / {} |",
            task.name(),
            INITS[*i].0,
            r.seed,
            r.test.describe(),
            r.best_epoch,
            r.epochs,
            r.train_images,
            r.val_images,
            r.test_images
        );
    }
    out
}

//! The transfer experiment: does Genesis pretraining help a small labelled task? Pretrains (or
//! reuses) Models Genesis and Semantic Genesis weights on phantoms (radiographs, or CT in 3-D), then fine-tunes scratch
//! / MG / SG at several label budgets over several seeds on one fixed split, and summarises the
//! test metrics with confidence intervals and paired differences to scratch (`results.md`,
//! `results.json`; a front end draws the label-efficiency plot from the returned results). See
//! docs/finetuning.md.

use std::path::Path;

use anyhow::{Context, bail};
use genesis_io::fsutil::write_atomic;

use crate::finetune::{self, Dataset, Report, Weights};
use crate::observer::Observer;
use crate::pretrain;
use crate::recipe::{Dim, FinetuneConfig, Method, RunConfig, Task, read_table};
use crate::stats::{mean_interval, paired_difference};

mod probe;
mod results;
mod table;

pub use probe::Probe;
pub use results::{Cell, INITS, Paired, Results, Run, Transfer, metrics};
pub use table::markdown;

/// The benchmark's fine-tuning settings of `task`, under any configuration file and flags
/// (fixed before the main results were seen): enough patients for a 160-window stratified
/// validation split and a 240-window test split, per-window intensity rescaling (no exposure
/// shortcut), a max-pooled classifier, the same optimiser steps per epoch at every budget,
/// and a fixed number of epochs whose best on validation is tested (no early stopping, which
/// would end slow starters): 20 of 64 samples for classification, 12 of 48 for the slower
/// segmentation. One learning rate for every layer, no head warm-up, soft Dice: the other
/// options are ablations (docs/finetuning.md). In 3-D the cubes are 32×32×16 voxels, the
/// crops `genesis pretrain --dim 3d` learns from.
pub fn benchmark_defaults(task: Task, dim: Dim) -> toml::Table {
    let (epochs, samples) = match task {
        Task::Classify => (20, 64),
        Task::Segment => (12, 48),
    };
    let mut t = toml::Table::new();
    t.insert("patients".into(), 320.into());
    t.insert("test-fraction".into(), 0.375.into());
    t.insert("val-fraction".into(), 0.25.into());
    t.insert("normalize".into(), true.into());
    t.insert("pool".into(), "max".into());
    t.insert("epoch-samples".into(), samples.into());
    t.insert("epochs".into(), epochs.into());
    t.insert("patience".into(), epochs.into());
    if dim == Dim::D3 {
        t.insert("dim".into(), "3d".into());
        t.insert("size".into(), 32.into());
        t.insert("depth".into(), 16.into());
    }
    t
}

/// Runs the experiment; writes `results.md` and `results.json` into `plan.out` and returns
/// the results.
pub fn transfer(plan: &Transfer, obs: &mut dyn Observer) -> anyhow::Result<Results> {
    if plan.labels.is_empty() || plan.labels.contains(&0) || plan.seeds == 0 {
        bail!("the experiment needs label budgets ≥ 1 (e.g. --labels 4,8,16) and --seeds ≥ 1");
    }
    std::fs::create_dir_all(&plan.out)
        .with_context(|| format!("cannot create {}", plan.out.display()))?;
    let mut pretraining = Vec::new();
    let mut restoration = Vec::new();
    let mg = pretrained(plan, Method::ModelsGenesis, plan.models_genesis.as_deref(), obs)?;
    let sg = pretrained(plan, Method::SemanticGenesis, plan.semantic_genesis.as_deref(), obs)?;
    for (method, (weights, summary)) in
        [(Method::ModelsGenesis, &mg), (Method::SemanticGenesis, &sg)]
    {
        pretraining.extend(summary.clone());
        // A pretraining run folder (made here or given) tells how restoration evolved.
        let dir = Path::new(weights);
        if dir.join("metrics.jsonl").is_file() {
            restoration.push((method.name().to_string(), restoration_curve(dir)?));
        }
    }
    let (mg, sg) = (mg.0, sg.0);
    let weights = [Weights::read(&mg)?, Weights::read(&sg)?];
    let arch = weights[0].arch;
    if weights[1].arch != arch {
        bail!(
            "{mg} and {sg} hold U-Nets of different shapes; the comparison needs one architecture (pretrain both with the same base and levels)"
        );
    }
    if arch.dim != plan.dim {
        let (given, asked) = (arch.dim.name(), plan.dim.name());
        bail!("{mg} holds a {given} U-Net but the experiment is {asked}; pass --dim {given}");
    }
    let mut runs = Vec::new();
    let mut configs = Vec::new();
    let mut probes = Vec::new();
    for &task in &plan.tasks {
        let mut base = task_config(plan, task, obs)?;
        if probes.is_empty() && arch.dim == crate::recipe::Dim::D2 {
            obs.note("── probing the encoders: body-type k-NN accuracy ──");
            for init in 0..INITS.len() {
                let given = init.checked_sub(1).map(|i| &weights[i]);
                let how = (base.size, plan.split_seed, base.seed);
                let accuracy = probe::knn_accuracy(arch, given, how)?;
                probes.push(Probe { init, accuracy, images: probe::PATIENTS as usize });
            }
        }
        // Scratch gets the pretrained U-Net's architecture, so only the initialisation differs.
        (base.base, base.levels, base.dim) = (arch.base, arch.depth, arch.dim);
        let data = Dataset::open(&base, obs)?;
        configs.push(base.clone());
        for &labels in &plan.labels {
            for (i, (_, name)) in INITS.iter().enumerate() {
                let init = [String::from("scratch"), mg.clone(), sg.clone()][i].clone();
                for seed in 0..plan.seeds {
                    let mut cfg =
                        FinetuneConfig { init: init.clone(), seed, labels, ..base.clone() };
                    if i == 0 {
                        // Options of pretrained layers do nothing from scratch: written neutral,
                        // so a scratch run is reused across experiments that vary only them.
                        (cfg.pretrained_lr_scale, cfg.head_warmup_epochs) = (1.0, 0);
                    }
                    let run = format!("{}-{labels}-{name}-seed{seed}", task.name());
                    let dir = plan.out.join("finetune").join(run);
                    let report = finetune_once(&cfg, &data, &dir, obs)?;
                    runs.push(Run { task, labels, init: i, report });
                }
            }
        }
    }
    let cells = summarise(&runs, plan);
    let results = Results { configs, pretraining, restoration, probes, runs, cells };
    write_atomic(&plan.out.join("results.md"), markdown(&results, plan).as_bytes())?;
    write_atomic(&plan.out.join("results.json"), &serde_json::to_vec_pretty(&results)?)?;
    Ok(results)
}

/// The fine-tuning configuration of `task`: the benchmark defaults, then the configuration
/// file, then the flags, the split seed and the device.
fn task_config(
    plan: &Transfer,
    task: Task,
    obs: &mut dyn Observer,
) -> anyhow::Result<FinetuneConfig> {
    let mut flags = benchmark_defaults(task, plan.dim);
    if let Some(file) = &plan.config {
        flags.extend(read_table(file)?);
    }
    flags.extend(plan.flags.clone());
    flags.insert("task".into(), task.name().into());
    flags.insert("split-seed".into(), (plan.split_seed as i64).into());
    if let Some(device) = &plan.device {
        flags.insert("device".into(), device.as_str().into());
    }
    let cfg = FinetuneConfig::resolve(None, &flags)?;
    if cfg.data != "phantom" {
        obs.note(&format!("note: fine-tuning on {} instead of the phantom benchmark", cfg.data));
    }
    Ok(cfg)
}

/// The weights of `method` and, when pretrained here, the run's summary: the given file or
/// folder, or the pretraining run folder `out/pretrain-METHOD` (started, resumed or reused as
/// it stands; its best checkpoint is what fine-tuning loads).
fn pretrained(
    plan: &Transfer,
    method: Method,
    given: Option<&Path>,
    obs: &mut dyn Observer,
) -> anyhow::Result<(String, Option<String>)> {
    if let Some(path) = given {
        return Ok((path.display().to_string(), None));
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
        flags.insert("dim".into(), plan.dim.name().into());
        RunConfig::resolve(plan.pretrain_config.as_deref(), &flags)?
    };
    if cfg.dim != plan.dim {
        bail!(
            "{} holds a {} pretraining run but the experiment is {}; choose another --out",
            dir.display(),
            cfg.dim.name(),
            plan.dim.name()
        );
    }
    let outcome = pretrain::run(&cfg, &dir, resume, obs)?;
    obs.note(&outcome.summary);
    // The run folder, as `--models-genesis DIR` would name it: a rerun that reuses these weights
    // through the flag writes the same `init` and so reuses the fine-tuning runs too.
    Ok((dir.display().to_string(), Some(format!("{name}: {}", outcome.summary))))
}

/// The validation restoration loss of the pretraining run in `dir` at epoch 0, 1 and every
/// tenth epoch (from its `metrics.jsonl`).
fn restoration_curve(dir: &Path) -> anyhow::Result<Vec<(usize, f64)>> {
    let path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut curve = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let epoch = v["epoch"].as_u64().unwrap_or(0) as usize;
        if v["kind"] == "epoch"
            && (epoch <= 1 || epoch.is_multiple_of(10))
            && let Some(loss) = v["val"]["rec"].as_f64()
        {
            curve.push((epoch, loss));
        }
    }
    Ok(curve)
}

/// One fine-tuning run on `data`, reused when `dir` already holds a finished run of the same
/// config.
fn finetune_once(
    cfg: &FinetuneConfig,
    data: &Dataset,
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
    Ok(finetune::run_on(cfg, Some(data), dir, obs)?.0)
}

/// One cell per task, budget and initialisation; differences pair the runs by seed.
fn summarise(runs: &[Run], plan: &Transfer) -> Vec<Cell> {
    let mut cells = Vec::new();
    for &task in &plan.tasks {
        for &labels in &plan.labels {
            let of = |init: usize| -> Vec<&Run> {
                let mut r: Vec<&Run> = runs
                    .iter()
                    .filter(|r| (r.task, r.labels, r.init) == (task, labels, init))
                    .collect();
                r.sort_by_key(|r| r.report.seed);
                r
            };
            let scratch: Vec<f64> = of(0).iter().map(|r| r.primary()).collect();
            for init in 0..INITS.len() {
                let these = of(init);
                let values: Vec<f64> = these.iter().map(|r| r.primary()).collect();
                let initial: Vec<f64> =
                    these.iter().map(|r| metrics(task, &r.report.initial_val)[0].1).collect();
                let vs_scratch = (init > 0).then(|| {
                    let (difference, p_value) = paired_difference(&values, &scratch);
                    Paired { difference, p_value }
                });
                cells.push(Cell {
                    task,
                    labels,
                    init,
                    metric: mean_interval(&values),
                    initial_val: mean_interval(&initial),
                    vs_scratch,
                });
            }
        }
    }
    cells
}

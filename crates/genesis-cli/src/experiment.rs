//! `genesis experiment transfer`: does Genesis pretraining help a small labelled task? Pretrains
//! (or reuses) 2-D Models Genesis and Semantic Genesis weights on phantoms, fine-tunes scratch /
//! MG / SG on the phantom nodule benchmark over several seeds, and tabulates the test metrics
//! (`results.md`, `results.json`, `results.png`). See docs/finetuning.md.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use image::{Rgb, RgbImage};

use crate::finetune::{self, FinetuneConfig, Overrides, Report, Task, Weights};
use crate::pretrain::config::{Method, Overrides as PretrainOverrides};
use crate::pretrain::plot::{AXIS, BACKGROUND, line, text};

/// The experiments.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Pretraining vs scratch: pretrain Models Genesis and Semantic Genesis on phantoms (or reuse
    /// weights), fine-tune scratch / MG / SG with a few labels over several seeds on the phantom
    /// nodule benchmark, write a mean ± std table and a bar plot. About 17 CPU-minutes with the
    /// defaults (21 minutes of wall time on 2 cores that a compile shared); rerunning reuses
    /// finished runs in --out.
    Transfer(TransferArgs),
}

/// Arguments of `genesis experiment transfer`.
#[derive(clap::Args, Debug)]
pub struct TransferArgs {
    /// Output folder: the pretraining runs, one fine-tuning run per task, init and seed, and
    /// results.md / results.json / results.png.
    #[arg(long, default_value = "runs/transfer")]
    pub out: PathBuf,
    /// Models Genesis weights to reuse (a .bpk or a pretrain run folder) instead of pretraining.
    #[arg(long)]
    pub models_genesis: Option<PathBuf>,
    /// Semantic Genesis weights to reuse (a .bpk or a pretrain run folder) instead of pretraining.
    #[arg(long)]
    pub semantic_genesis: Option<PathBuf>,
    /// Epochs of each pretraining run (40 steps each, on 2-D phantoms).
    #[arg(long, default_value_t = 10)]
    pub pretrain_epochs: usize,
    /// Fine-tuning seeds per task and initialisation (each draws its own labelled subset).
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Tasks to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "classify,segment")]
    pub tasks: Vec<Task>,
    /// A fine-tuning TOML configuration shared by every run (see genesis finetune).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Labelled training images per run (default 32).
    #[arg(long)]
    pub labels: Option<usize>,
    /// Fine-tuning epochs (at most).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// cpu, wgpu[:N] or cuda[:N], for pretraining and fine-tuning.
    #[arg(long)]
    pub device: Option<String>,
}

/// Runs an experiment.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Transfer(args) => transfer(args),
    }
}

/// The initialisations compared, as (table name, folder name).
const INITS: [(&str, &str); 3] = [
    ("Scratch", "scratch"),
    ("Models Genesis", "models-genesis"),
    ("Semantic Genesis", "semantic-genesis"),
];

fn transfer(args: TransferArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mg = pretrained(&args, Method::ModelsGenesis, args.models_genesis.as_deref())?;
    let sg = pretrained(&args, Method::SemanticGenesis, args.semantic_genesis.as_deref())?;
    let arch = Weights::read(&mg)?.arch;
    if Weights::read(&sg)?.arch != arch {
        bail!(
            "{mg} and {sg} hold U-Nets of different shapes; the comparison needs one architecture (pretrain both with the same base and levels)"
        );
    }
    let mut results: Vec<(Task, usize, Report)> = Vec::new();
    let mut configs = Vec::new();
    for &task in &args.tasks {
        let overrides = Overrides {
            task: Some(task),
            labels: args.labels,
            epochs: args.epochs,
            device: args.device.clone(),
            ..Overrides::default()
        };
        let mut base = finetune::config::resolve(args.config.as_deref(), &overrides)?;
        if base.data != "phantom" {
            println!("note: fine-tuning on {} instead of the phantom benchmark", base.data);
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
            for seed in 0..args.seeds {
                let cfg = FinetuneConfig { task, init: init.clone(), seed, ..base.clone() };
                let dir =
                    args.out.join("finetune").join(format!("{}-{name}-seed{seed}", task.name()));
                results.push((task, i, finetune_once(&cfg, &dir)?));
            }
        }
    }
    let table = table(&results, &args, &configs);
    print!("{table}");
    let write = crate::pretrain::checkpoint::write_atomic;
    write(&args.out.join("results.md"), table.as_bytes())?;
    let reports: Vec<&Report> = results.iter().map(|(_, _, r)| r).collect();
    write(&args.out.join("results.json"), &serde_json::to_vec_pretty(&reports)?)?;
    finetune::save_png(&bars(&results, &args.tasks), &args.out.join("results.png"))?;
    println!("results in {}/results.md, results.json, results.png", args.out.display());
    Ok(())
}

/// The weights of `method`: the given file, or the best checkpoint of a pretraining run in
/// `out/pretrain-METHOD` (started, resumed or reused as it stands).
fn pretrained(args: &TransferArgs, method: Method, given: Option<&Path>) -> anyhow::Result<String> {
    if let Some(path) = given {
        return Ok(path.display().to_string());
    }
    let name = match method {
        Method::ModelsGenesis => "models-genesis",
        _ => "semantic-genesis",
    };
    let dir = args.out.join(format!("pretrain-{name}"));
    let overrides = PretrainOverrides {
        epochs: Some(args.pretrain_epochs),
        device: args.device.clone(),
        ..PretrainOverrides::default()
    };
    let run = if dir.join("run.toml").exists() {
        println!("── resuming or reusing the {name} pretraining in {} ──", dir.display());
        crate::pretrain::Args { config: None, out: None, resume: Some(dir.clone()), overrides }
    } else {
        println!("── pretraining {name} into {} ──", dir.display());
        let overrides = PretrainOverrides { method: Some(method), ..overrides };
        crate::pretrain::Args { config: None, out: Some(dir.clone()), resume: None, overrides }
    };
    crate::pretrain::run(run)?;
    Ok(dir.join("checkpoints").join("best").join("model.bpk").display().to_string())
}

/// One fine-tuning run, reused when `dir` already holds a finished run of the same config.
fn finetune_once(cfg: &FinetuneConfig, dir: &Path) -> anyhow::Result<Report> {
    let finished = || -> Option<Report> {
        let same: FinetuneConfig =
            toml::from_str(&std::fs::read_to_string(dir.join("run.toml")).ok()?).ok()?;
        let report = serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).ok()?).ok()?;
        (same == *cfg).then_some(report)
    };
    if let Some(report) = finished() {
        println!("── reusing {} ──", dir.display());
        return Ok(report);
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    finetune::run_config(cfg, dir)
}

/// The test metrics of a task: (name, value) pairs, the primary first.
fn metrics(task: Task, report: &Report) -> [(&'static str, f64); 2] {
    let t = &report.test;
    match task {
        Task::Classify => {
            [("AUC", t.auc.unwrap_or(f64::NAN)), ("accuracy", t.accuracy.unwrap_or(f64::NAN))]
        }
        Task::Segment => [("Dice", t.dice.unwrap_or(f64::NAN)), ("IoU", t.iou.unwrap_or(f64::NAN))],
    }
}

/// Mean and sample standard deviation (0 for one value).
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// Values of metric `k` of `task` for initialisation `init`, one per seed.
fn values(results: &[(Task, usize, Report)], task: Task, init: usize, k: usize) -> Vec<f64> {
    results
        .iter()
        .filter(|(t, i, _)| *t == task && *i == init)
        .map(|(t, _, r)| metrics(*t, r)[k].1)
        .collect()
}

/// The markdown results: the setup, the mean ± std table, and every run's test numbers.
fn table(
    results: &[(Task, usize, Report)],
    args: &TransferArgs,
    configs: &[FinetuneConfig],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Transfer experiment: pretraining vs scratch\n");
    let _ = writeln!(out, "Test metrics, mean ± std over {} seeds (sample std).\n", args.seeds);
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
    for &task in &args.tasks {
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
            finetune::describe(&r.test),
            r.best_epoch,
            r.epochs,
            r.train_images,
            r.val_images,
            r.test_images
        );
    }
    out
}

/// A bar chart of the primary metric: one group per task, one bar per initialisation, with
/// ±1 std whiskers and the seeds' values as dots.
fn bars(results: &[(Task, usize, Report)], tasks: &[Task]) -> RgbImage {
    const W: usize = 720;
    const H: usize = 420;
    const LEFT: usize = 60;
    const TOP: usize = 40;
    const BOTTOM: usize = 60;
    const COLORS: [Rgb<u8>; 3] = [Rgb([150, 156, 170]), Rgb([92, 170, 250]), Rgb([250, 170, 60])];
    let mut img = RgbImage::from_pixel(W as u32, H as u32, BACKGROUND);
    let ph = (H - TOP - BOTTOM) as f64;
    let y_of = |v: f64| (H - BOTTOM) as f64 - v.clamp(0.0, 1.0) * ph;
    line(&mut img, (LEFT as f64, TOP as f64), (LEFT as f64, (H - BOTTOM) as f64), AXIS);
    line(&mut img, (LEFT as f64, y_of(0.0)), ((W - 10) as f64, y_of(0.0)), AXIS);
    for k in 0..=4 {
        let v = k as f64 / 4.0;
        text(&mut img, &format!("{v:.2}"), 10, y_of(v) as usize - 4, AXIS);
    }
    for (i, ((name, _), &color)) in INITS.iter().zip(&COLORS).enumerate() {
        text(&mut img, name, LEFT + 10 + i * 170, 12, color);
    }
    let group = (W - LEFT - 20) / tasks.len().max(1);
    for (g, &task) in tasks.iter().enumerate() {
        let x0 = LEFT + 20 + g * group;
        let bar = group / 4;
        let label = match task {
            Task::Classify => "classify (AUC)",
            Task::Segment => "segment (Dice)",
        };
        text(&mut img, label, x0 + bar / 2, H - BOTTOM + 14, AXIS);
        for (i, &color) in COLORS.iter().enumerate() {
            let vals = values(results, task, i, 0);
            let (mean, std) = mean_std(&vals);
            let left = x0 + i * bar;
            for x in left + 2..left + bar - 2 {
                line(&mut img, (x as f64, y_of(0.0)), (x as f64, y_of(mean)), color);
            }
            let centre = (left + bar / 2) as f64;
            line(&mut img, (centre, y_of(mean - std)), (centre, y_of(mean + std)), AXIS);
            for v in [mean - std, mean + std] {
                line(&mut img, (centre - 6.0, y_of(v)), (centre + 6.0, y_of(v)), AXIS);
            }
            for v in vals {
                let (x, y) = (centre + 10.0, y_of(v));
                line(&mut img, (x - 2.0, y), (x + 2.0, y), Rgb([255, 255, 255]));
                line(&mut img, (x, y - 2.0), (x, y + 2.0), Rgb([255, 255, 255]));
            }
            text(&mut img, &format!("{mean:.2}"), left + 4, y_of(mean) as usize - 14, AXIS);
        }
    }
    img
}

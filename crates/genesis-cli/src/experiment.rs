//! `genesis experiment transfer`: arguments, the engine's experiment, the bar chart.

use std::path::PathBuf;

use genesis_train::experiment::{self, Transfer};
use genesis_train::recipe::Task;

use crate::flags::Flags;
use crate::observer::Console;
use crate::render::{bars::bars, save_png};

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
    let Command::Transfer(args) = command;
    let flags = Flags::default()
        .set("labels", args.labels.as_ref())?
        .set("epochs", args.epochs.as_ref())?;
    let plan = Transfer {
        out: args.out.clone(),
        models_genesis: args.models_genesis,
        semantic_genesis: args.semantic_genesis,
        pretrain_epochs: args.pretrain_epochs,
        seeds: args.seeds,
        tasks: args.tasks.clone(),
        config: args.config,
        flags: flags.0,
        device: args.device,
    };
    let (results, table) = experiment::transfer(&plan, &mut Console::default())?;
    print!("{table}");
    save_png(&bars(&results, &args.tasks), &args.out.join("results.png"))?;
    println!("results in {}/results.md, results.json, results.png", args.out.display());
    Ok(())
}

//! `genesis experiment transfer`: arguments, the engine's experiment, the bar chart.

use std::path::PathBuf;

use genesis_train::experiment::{self, Transfer};
use genesis_train::recipe::{Dim, Task};

use crate::flags::Flags;
use crate::observer::Console;
use crate::render::{efficiency::efficiency, save_png};

/// The experiments.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Label efficiency of pretraining: pretrain Models Genesis and Semantic Genesis on
    /// phantoms (or reuse weights), fine-tune scratch / MG / SG at each label budget over
    /// several seeds on one fixed split of the phantom nodule benchmark, and write a table
    /// (mean ± std, 95% intervals, paired differences to scratch with p-values), results.json
    /// and a label-efficiency plot. Rerunning reuses finished runs in --out, so an interrupted
    /// experiment continues; see docs/finetuning.md for the time it takes.
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
    /// 2d: nodules in lung windows of phantom radiographs. 3d: nodules in lung cubes of phantom
    /// chest CT (32×32×16 voxels; pretraining and fine-tuning 3-D U-Nets, GPU-sized work: pass
    /// --device wgpu or cuda, or a smaller budget on the CPU).
    #[arg(long, value_enum, default_value = "2d")]
    pub dim: Dim,
    /// A pretraining TOML configuration for both methods (e.g. base, size, steps-per-epoch;
    /// see genesis pretrain); --pretrain-epochs still sets the epochs.
    #[arg(long)]
    pub pretrain_config: Option<PathBuf>,
    /// Epochs of each pretraining run (40 steps each; in 2-D, 50 take about 6 CPU-minutes for
    /// Models Genesis and 9 for Semantic Genesis).
    #[arg(long, default_value_t = 50)]
    pub pretrain_epochs: usize,
    /// Fine-tuning seeds per task, budget and initialisation (seed k draws the same labelled
    /// images for every initialisation, so differences pair by seed).
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Label budgets (labelled training images per run), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4,8,16,32,64")]
    pub labels: Vec<usize>,
    /// Seed of the train / validation / test split (the phantom patients too); the same for
    /// every run. Change it to check a result on another split.
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Tasks to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "classify,segment")]
    pub tasks: Vec<Task>,
    /// A fine-tuning TOML configuration shared by every run (see genesis finetune).
    #[arg(long)]
    pub config: Option<PathBuf>,
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
    let flags = Flags::default().set("epochs", args.epochs.as_ref())?;
    let plan = Transfer {
        out: args.out.clone(),
        models_genesis: args.models_genesis,
        semantic_genesis: args.semantic_genesis,
        dim: args.dim,
        pretrain_config: args.pretrain_config,
        pretrain_epochs: args.pretrain_epochs,
        seeds: args.seeds,
        labels: args.labels,
        split_seed: args.split_seed,
        tasks: args.tasks.clone(),
        config: args.config,
        flags: flags.0,
        device: args.device,
    };
    let results = experiment::transfer(&plan, &mut Console::default())?;
    print!("{}", experiment::markdown(&results, &plan));
    save_png(&efficiency(&results), &args.out.join("results.png"))?;
    println!("results in {}/results.md, results.json, results.png", args.out.display());
    Ok(())
}

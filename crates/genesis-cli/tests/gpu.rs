//! `genesis pretrain` and `genesis finetune` on burn's wgpu backend (binaries built with
//! `--features wgpu`; in CI on Mesa's software Vulkan driver, lavapipe): training lowers the
//! loss, and a run starts from the same model as on the CPU.
#![cfg(feature = "wgpu")]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{datasets, folder, ok};

fn genesis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genesis")).args(args).output().unwrap()
}

/// The validation losses of a pretraining run's epochs (epoch 0: the untrained model).
fn validation_losses(run: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "epoch")
        .map(|r| r["val"]["loss"].as_f64().unwrap())
        .collect()
}

/// Writes `text` as the configuration `dir/name.toml`; returns its path as text.
fn config(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Pretrains a tiny 2-D restoration model on phantoms on `device` into `dir/name`.
fn pretrain(dir: &Path, name: &str, device: &str, epochs: usize) -> Vec<f64> {
    let cfg = config(
        dir,
        "pretrain",
        "method = \"models-genesis\"\ndim = \"2d\"\npatients = 4\nsize = 32\nbase = 8\n\
         levels = 3\nbatch = 4\nsteps-per-epoch = 15\nval-batches = 2\nseed = 5\n",
    );
    let run = dir.join(name);
    let epochs = epochs.to_string();
    let args = ["pretrain", "--config", &cfg, "--epochs", &epochs, "--device", device];
    ok(genesis(&[&args[..], &["--out", run.to_str().unwrap()]].concat()));
    validation_losses(&run)
}

#[test]
fn pretraining_on_wgpu_starts_like_the_cpu_and_lowers_the_loss() {
    let dir = folder("gpu-pretrain");
    let gpu = pretrain(&dir, "wgpu", "wgpu", 3);
    assert!(gpu[3] < gpu[0], "validation loss on wgpu {gpu:?}");
    let cpu = pretrain(&dir, "cpu", "cpu", 1);
    let (a, b) = (cpu[0], gpu[0]);
    assert!((a - b).abs() <= 1e-4 * a, "untrained validation loss: cpu {a}, wgpu {b}");
}

#[test]
fn data_parallel_pretraining_over_one_gpu_listed_twice_lowers_the_loss() {
    let dir = folder("gpu-pretrain-list");
    let losses = pretrain(&dir, "twice", "wgpu:0,wgpu:0", 2);
    assert!(losses[2] < losses[0], "validation loss {losses:?}");
}

#[test]
fn finetuning_on_wgpu_beats_the_initial_model() {
    let dir = folder("gpu-finetune");
    let run = dir.join("run");
    let (_, seg) = datasets(&dir, 32);
    let cfg = config(
        &dir,
        "finetune",
        "size = 32\nlevels = 3\nbase = 4\nbatch = 8\nlabels = 0\ntest-fraction = 0.25\n\
         val-fraction = 0.25\nepochs = 12\npatience = 12\nlr = 0.01\nseed = 3\n",
    );
    let data = seg.to_str().unwrap();
    let args =
        ["finetune", "--task", "segment", "--config", &cfg, "--data", data, "--device", "wgpu"];
    ok(genesis(&[&args[..], &["--out", run.to_str().unwrap()]].concat()));
    let report: Value =
        serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap();
    let (initial, test) =
        (report["initial_val"]["dice"].as_f64().unwrap(), report["test"]["dice"].as_f64().unwrap());
    assert!(test > initial + 0.2, "segmentation Dice on wgpu {initial} → test {test}");
}

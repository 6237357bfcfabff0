//! `genesis pretrain` end to end: kill and resume, determinism, and that training restores.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{folder, ok};

/// The smallest model and data of the tests.
const TINY: &str = "size = 16\nbase = 4\nbatch = 2\nval-batches = 1\n";

/// A 2-D Semantic Genesis configuration on a few phantoms written into `dir`, with `extra`
/// TOML lines (sizes, steps).
fn tiny_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("tiny.toml");
    let text = format!(
        "method = \"semantic-genesis\"\ndim = \"2d\"\nlevels = 3\nclasses = 3\npatients = 4\n\
         grid-samples = 2\nseed = 5\n{extra}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn genesis(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genesis"));
    cmd.arg("pretrain").args(args);
    cmd
}

fn records(run: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn of_kind<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["kind"] == kind).collect()
}

/// The deterministic part of the metrics: losses and learning rates, no timings.
fn losses(run: &Path) -> Vec<String> {
    records(run)
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {} {}",
                r["kind"], r["epoch"], r["step"], r["loss"], r["val"], r["train"], r["lr"]
            )
        })
        .collect()
}

#[test]
fn killed_mid_epoch_resumes_from_the_last_checkpoint() {
    let dir = folder("pretrain-resume");
    let run = dir.join("run");
    let cfg = tiny_config(&dir, &format!("{TINY}epochs = 3\nsteps-per-epoch = 400\nworkers = 1\n"));
    let mut child = genesis(&["--config", cfg.to_str().unwrap(), "--out", run.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let in_epoch_two = || {
        run.join("checkpoints/last/state.json").is_file()
            && std::fs::read_to_string(run.join("metrics.jsonl"))
                .is_ok_and(|t| t.contains("\"kind\":\"step\",\"epoch\":2"))
    };
    while !in_epoch_two() {
        assert!(Instant::now() < deadline, "no checkpoint within two minutes");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("checkpoints/last/state.json")).unwrap(),
    )
    .unwrap();
    let saved = state["epoch"].as_u64().unwrap();
    assert!((1..3).contains(&saved), "checkpoint of epoch {saved}");

    ok(genesis(&["--resume", run.to_str().unwrap()]).output().unwrap());
    let all = records(&run);
    let epochs: Vec<u64> =
        of_kind(&all, "epoch").iter().map(|r| r["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, [0, 1, 2, 3], "each epoch logged once, in order");
    let steps: Vec<(u64, u64)> = of_kind(&all, "step")
        .iter()
        .map(|r| (r["epoch"].as_u64().unwrap(), r["step"].as_u64().unwrap()))
        .collect();
    let expected: Vec<(u64, u64)> = (1..=3).flat_map(|e| (0..400).map(move |s| (e, s))).collect();
    assert_eq!(steps, expected, "steps continue exactly after the saved epoch");
    let global: Vec<u64> =
        of_kind(&all, "step").iter().map(|r| r["global_step"].as_u64().unwrap()).collect();
    assert!(global.windows(2).all(|w| w[1] == w[0] + 1));

    // The checkpoints load: the last one by extending the run, the best one in `genesis infer`.
    ok(genesis(&["--resume", run.to_str().unwrap(), "--epochs", "4", "--patience", "9"])
        .output()
        .unwrap());
    assert_eq!(of_kind(&records(&run), "epoch").len(), 5);
    let x = dir.join("x.npy");
    std::fs::write(&x, genesis_io::npy::encode(&[2, 1, 16, 16], &vec![0.5; 512])).unwrap();
    let y = dir.join("y.npy");
    let best = run.join("checkpoints/best/model.bpk");
    let infer = Command::new(env!("CARGO_BIN_EXE_genesis"))
        .args(["infer", "--arch", "semantic2d", "--base", "4", "--depth", "3", "--classes", "3"])
        .args([
            "--weights",
            best.to_str().unwrap(),
            "--input",
            x.to_str().unwrap(),
            "--out",
            y.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    ok(infer);
    for file in [
        "run.toml",
        "loss.png",
        "summary.txt",
        "grids/epoch-0003.png",
        "checkpoints/last/optim.bpk",
    ] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
}

#[test]
fn same_seed_and_config_give_the_same_metrics() {
    let dir = folder("pretrain-determinism");
    let cfg = tiny_config(&dir, &format!("{TINY}epochs = 2\nsteps-per-epoch = 6\n"));
    let (a, b) = (dir.join("a"), dir.join("b"));
    ok(genesis(&[
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        a.to_str().unwrap(),
        "--workers",
        "2",
    ])
    .output()
    .unwrap());
    ok(genesis(&[
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
        "--workers",
        "1",
    ])
    .output()
    .unwrap());
    let (la, lb) = (losses(&a), losses(&b));
    assert_eq!(la.len(), 2 * 6 + 3);
    assert_eq!(la, lb);
    let c = dir.join("c");
    ok(genesis(&["--config", cfg.to_str().unwrap(), "--out", c.to_str().unwrap(), "--seed", "6"])
        .output()
        .unwrap());
    assert_ne!(la, losses(&c), "another seed gives other losses");
}

#[test]
fn training_halves_the_held_out_restoration_error() {
    let dir = folder("pretrain-learns");
    let run = dir.join("run");
    let cfg = tiny_config(
        &dir,
        "size = 32\nbase = 8\nbatch = 8\nepochs = 3\nsteps-per-epoch = 40\nval-batches = 2\n",
    );
    ok(genesis(&["--config", cfg.to_str().unwrap(), "--out", run.to_str().unwrap()])
        .output()
        .unwrap());
    let all = records(&run);
    let epochs = of_kind(&all, "epoch");
    let mse = |r: &Value| r["val"]["rec"].as_f64().unwrap();
    let (untrained, trained) = (mse(epochs[0]), mse(epochs[epochs.len() - 1]));
    assert!(trained <= 0.5 * untrained, "validation MSE {untrained} → {trained}");
}

#[test]
fn data_parallel_training_over_the_cpu_listed_twice_restores() {
    let dir = folder("pretrain-two-devices");
    let run = dir.join("run");
    let cfg = tiny_config(
        &dir,
        "size = 32\nbase = 8\nbatch = 8\nepochs = 2\nsteps-per-epoch = 30\nval-batches = 2\n",
    );
    let args = ["--config", cfg.to_str().unwrap(), "--device", "cpu,cpu"];
    ok(genesis(&[&args[..], &["--out", run.to_str().unwrap()]].concat()).output().unwrap());
    let epochs = of_kind(&records(&run), "epoch")
        .iter()
        .map(|r| r["val"]["rec"].as_f64().unwrap())
        .collect::<Vec<_>>();
    assert!(epochs[2] < 0.7 * epochs[0], "validation MSE {epochs:?}");
}

#[test]
fn bad_requests_fail_with_a_clear_message() {
    let dir = folder("pretrain-errors");
    let out = genesis(&["--device", "cpu,wgpu:0", "--out", dir.join("a").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mixes cpu and wgpu"));
    #[cfg(not(feature = "wgpu"))]
    {
        let a = dir.join("a");
        let out = genesis(&["--device", "wgpu", "--out", a.to_str().unwrap()]).output().unwrap();
        assert!(String::from_utf8_lossy(&out.stderr).contains("--features wgpu"));
    }
    let out = genesis(&[
        "--method",
        "semantic-genesis",
        "--data",
        dir.to_str().unwrap(),
        "--out",
        dir.join("b").to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("manifest.jsonl"));
}

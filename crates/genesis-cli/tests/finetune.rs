//! `genesis finetune` end to end on small hand-made folders: training beats the initial model,
//! pretrained weights load (U-Net part of a Semantic Genesis file), bad input is explained.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use genesis_core::Volume;
use serde_json::Value;

mod common;
use common::{datasets, folder, ok, text};

fn genesis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genesis")).args(args).output().unwrap()
}

fn fails_with(output: Output, needle: &str) {
    let text = text(&output);
    assert!(!output.status.success(), "genesis should have failed:\n{text}");
    assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
}

/// A small configuration: 32-pixel images, 3 levels, every image labelled, plus `extra`.
fn tiny_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("tiny.toml");
    let text = format!(
        "size = 32\nlevels = 3\nbatch = 8\nlabels = 0\ntest-fraction = 0.25\n\
         val-fraction = 0.25\nseed = 3\n{extra}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn report(run: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap()
}

#[test]
fn classification_and_segmentation_beat_the_initial_model() {
    let dir = folder("finetune-learn");
    let (cls, seg) = datasets(&dir, 48);
    let cfg = tiny_config(&dir, "base = 4\nepochs = 12\npatience = 12\nlr = 0.003\n");
    let cfg = cfg.to_str().unwrap();
    let run = dir.join("cls-run");
    let args = ["finetune", "--config", cfg, "--data", cls.to_str().unwrap()];
    let out =
        ok(genesis(&[&args[..], &["--task", "classify", "--out", run.to_str().unwrap()]].concat()));
    assert!(out.contains("test        AUC"), "{out}");
    let r = report(&run);
    let (initial, test) =
        (r["initial_val"]["auc"].as_f64().unwrap(), r["test"]["auc"].as_f64().unwrap());
    assert!(test >= 0.9 && test > initial, "classification AUC {initial} → test {test}");
    for file in ["run.toml", "metrics.jsonl", "curves.png", "model.bpk"] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    let epochs = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap().lines().count();
    assert_eq!(epochs as u64, r["epochs"].as_u64().unwrap() + 1, "one line per epoch and epoch 0");

    let run = dir.join("seg-run");
    let args = ["finetune", "--config", cfg, "--data", seg.to_str().unwrap(), "--task", "segment"];
    ok(genesis(&[&args[..], &["--out", run.to_str().unwrap(), "--lr", "0.01"]].concat()));
    let r = report(&run);
    let (initial, test) =
        (r["initial_val"]["dice"].as_f64().unwrap(), r["test"]["dice"].as_f64().unwrap());
    assert!(test > initial + 0.2, "segmentation Dice {initial} → test {test}");
    assert!(r["test"]["iou"].as_f64().unwrap() <= test, "IoU ≤ Dice");
}

#[test]
fn pretrained_semantic_genesis_weights_load_and_bad_input_is_explained() {
    let dir = folder("finetune-init");
    let (cls, seg) = datasets(&dir, 16);
    let pre = dir.join("pre");
    let pretrain = std::fs::write(
        dir.join("pre.toml"),
        "method = \"semantic-genesis\"\nsize = 16\nbase = 4\nlevels = 3\nbatch = 2\nclasses = 3\n\
         patients = 4\nepochs = 1\nsteps-per-epoch = 2\nval-batches = 1\ngrid-samples = 1\n",
    );
    pretrain.unwrap();
    let pre_cfg = dir.join("pre.toml");
    ok(genesis(&[
        "pretrain",
        "--config",
        pre_cfg.to_str().unwrap(),
        "--out",
        pre.to_str().unwrap(),
    ]));
    let cfg = tiny_config(&dir, "epochs = 1\nbase = 8\n");
    let (cfg, cls) = (cfg.to_str().unwrap(), cls.to_str().unwrap());
    let run = dir.join("from-sg");
    let init = ["finetune", "--config", cfg, "--data", cls, "--freeze-encoder"];
    let out = ok(genesis(
        &[&init[..], &["--init", pre.to_str().unwrap(), "--out", run.to_str().unwrap()]].concat(),
    ));
    assert!(
        out.contains("base 4"),
        "the file's architecture wins over the config's base 8:\n{out}"
    );
    assert_eq!(report(&run)["freeze_encoder"], Value::Bool(true));
    head_warmup_keeps_the_pretrained_layers(&dir, &pre, cfg, cls);
    experiment_summarises_label_budgets(&dir, &pre);

    // 3-D from scratch through the same code: NPY volumes, the 3-D U-Net.
    let vol = dir.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    let mut csv = String::from("file,label\n");
    for i in 0..8 {
        let v = Volume::new([12, 12, 10], (0..1440).map(|p| ((p * (i + 3)) % 17) as f32).collect());
        genesis_io::npy::write(&vol.join(format!("v{i}.npy")), &v.unwrap()).unwrap();
        csv.push_str(&format!("v{i}.npy,{}\n", i % 2));
    }
    std::fs::write(vol.join("labels.csv"), csv).unwrap();
    let run3d = dir.join("run3d");
    let args = ["finetune", "--config", cfg, "--data", vol.to_str().unwrap(), "--dim", "3d"];
    ok(genesis(&[&args[..], &["--size", "16", "--out", run3d.to_str().unwrap()]].concat()));
    assert_eq!(report(&run3d)["test_images"], Value::from(2));

    let base = ["finetune", "--config", cfg];
    let bogus = dir.join("bogus.bpk");
    std::fs::write(&bogus, b"not weights").unwrap();
    let out_dir = dir.join("bad");
    let out = out_dir.to_str().unwrap();
    fails_with(
        genesis(
            &[&base[..], &["--data", cls, "--init", bogus.to_str().unwrap(), "--out", out]]
                .concat(),
        ),
        "not a Burnpack",
    );
    fails_with(
        genesis(&[&base[..], &["--data", cls, "--init", "nowhere.bpk", "--out", out]].concat()),
        "no such weights",
    );
    fails_with(
        genesis(&[&base[..], &["--data", "no/such/dir", "--out", out]].concat()),
        "no such folder",
    );
    let seg = seg.to_str().unwrap();
    fails_with(genesis(&[&base[..], &["--data", seg, "--out", out]].concat()), "no labels.csv");
    std::fs::write(dir.join("seg/masks/img03.png"), b"broken").unwrap();
    fails_with(
        genesis(&[&base[..], &["--data", seg, "--task", "segment", "--out", out]].concat()),
        "img03.png",
    );
}

/// The tensors of a Burnpack file by name, as raw bytes.
fn tensors(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    use genesis_nn::burn::store::{BurnpackStore, ModuleStore};
    use genesis_nn::burn::tensor::Bytes;
    let bytes = Bytes::from_bytes_vec(std::fs::read(path).unwrap());
    let mut store = BurnpackStore::from_bytes(Some(bytes));
    let all = store.get_all_tensors().unwrap();
    all.iter().map(|(k, t)| (k.clone(), t.to_bytes().unwrap().to_vec())).collect()
}

/// One epoch of head-only warm-up (with the benchmark's other options on): the pretrained
/// layers keep their weights, the new output and classifier layers move.
fn head_warmup_keeps_the_pretrained_layers(dir: &Path, pre: &Path, cfg: &str, cls: &str) {
    let run = dir.join("warmup");
    let options = [
        "--pool",
        "max",
        "--normalize",
        "--bn",
        "running",
        "--epoch-samples",
        "16",
        "--head-warmup-epochs",
        "1",
        "--pretrained-lr-scale",
        "0.1",
    ];
    let args = ["finetune", "--config", cfg, "--data", cls, "--init", pre.to_str().unwrap()];
    ok(genesis(&[&args[..], &options[..], &["--out", run.to_str().unwrap()]].concat()));
    let toml = std::fs::read_to_string(run.join("run.toml")).unwrap();
    assert!(toml.contains("pool = \"max\"") && toml.contains("bn = \"running\""), "{toml}");
    let (before, after) =
        (tensors(&pre.join("checkpoints/best/model.bpk")), tensors(&run.join("model.bpk")));
    let moved: Vec<&String> = after
        .iter()
        .filter(|(k, v)| before.get(*k).is_none_or(|b| b != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(moved.iter().any(|k| k.starts_with("fc.")), "the classifier trains: {moved:?}");
    let pretrained =
        |k: &str| k.starts_with("unet.") && k.contains(".conv") && !k.contains("out_tr");
    assert!(after.keys().filter(|k| pretrained(k)).count() > 10, "{:?}", after.keys());
    let pretrained_moved: Vec<&&String> = moved.iter().filter(|k| pretrained(k)).collect();
    assert!(pretrained_moved.is_empty(), "frozen by the warm-up: {pretrained_moved:?}");
}

/// `genesis experiment transfer` on tiny budgets: one run per task, budget, init and seed,
/// summaries with intervals and paired tests, the plot, and a rerun that reuses every run.
fn experiment_summarises_label_budgets(dir: &Path, pre: &Path) {
    let out = dir.join("transfer");
    let config = dir.join("experiment.toml");
    std::fs::write(&config, "size = 32\npatients = 24\nepochs = 1\nepoch-samples = 8\nbatch = 4\n")
        .unwrap();
    let pre = pre.to_str().unwrap();
    let args = [
        "experiment",
        "transfer",
        "--models-genesis",
        pre,
        "--semantic-genesis",
        pre,
        "--tasks",
        "classify",
        "--labels",
        "2,4",
        "--seeds",
        "2",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let first = ok(genesis(&args));
    assert!(first.contains("Δ MG"), "{first}");
    let results: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["runs"].as_array().unwrap().len(), 2 * 3 * 2);
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2 * 3);
    for cell in cells {
        let m = &cell["metric"];
        assert!(m["low"].as_f64().unwrap() <= m["mean"].as_f64().unwrap(), "{cell}");
        assert_eq!(cell["vs_scratch"].is_null(), cell["init"] == 0, "{cell}");
    }
    assert!(out.join("results.png").is_file() && out.join("results.md").is_file());
    let again = ok(genesis(&args));
    assert_eq!(again.matches("reusing").count(), 12, "{again}");
    let rerun: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(rerun["cells"], results["cells"]);
}

/// `genesis experiment transfer --dim 3d`: both methods pretrained in 3-D from a pretraining
/// configuration, then fine-tuned on lung cubes of the phantom CT; a 2-D rerun into the same
/// folder is refused.
#[test]
fn experiment_runs_the_3d_benchmark() {
    let dir = folder("experiment-3d");
    let (pretrain, finetune) = (dir.join("pretrain.toml"), dir.join("finetune.toml"));
    std::fs::write(
        &pretrain,
        "size = 16\ndepth = 8\nbase = 2\nbatch = 2\nsteps-per-epoch = 2\nval-batches = 1\n\
         grid-samples = 1\npatients = 6\nclasses = 3\n",
    )
    .unwrap();
    std::fs::write(
        &finetune,
        "size = 16\ndepth = 8\npatients = 12\nepochs = 1\nepoch-samples = 4\nbatch = 2\n",
    )
    .unwrap();
    let out = dir.join("transfer");
    let [p, f, o] = [&pretrain, &finetune, &out].map(|p| p.to_str().unwrap());
    let args = |dim| {
        let mut a = vec!["experiment", "transfer", "--dim", dim, "--pretrain-epochs", "1"];
        a.extend(["--tasks", "segment", "--labels", "2", "--seeds", "1", "--out", o]);
        a.extend(["--pretrain-config", p, "--config", f]);
        genesis(&a)
    };
    let first = ok(args("3d"));
    assert!(first.contains("16×16×8 images") && first.contains("D3 U-Net"), "{first}");
    let results: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let runs = results["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "scratch, MG and SG");
    assert!(runs.iter().all(|r| r["report"]["test"]["dice"].as_f64().is_some()), "{results}");
    let run_toml = std::fs::read_to_string(out.join("pretrain-semantic-genesis/run.toml")).unwrap();
    assert!(run_toml.contains("dim = \"3d\"") && run_toml.contains("base = 2"), "{run_toml}");
    fails_with(args("2d"), "holds a 3d pretraining run");
}

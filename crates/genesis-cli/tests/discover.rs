//! `genesis discover` end to end on phantoms: neighbours share the body type, each class is
//! cut at one fixed coordinate, runs are reproducible and resume, bad input fails clearly.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{failure, folder, ok};

/// 64 phantoms (16 of each body type), 48-pixel crops, a quickly trained autoencoder.
fn discover(out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genesis"))
        .args(["discover", "--patients", "64", "--neighbours", "8", "--size", "48"])
        .args(["--ae-size", "32", "--ae-steps", "60", "--seed", "3", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn body(patient: &Value) -> &str {
    patient.as_str().unwrap().rsplit('-').next().unwrap()
}

/// Every file of a discovery folder except the timing-free logs, by name.
fn shards(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.join("shards"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn discovery_finds_look_alikes_at_fixed_coordinates_and_resumes_exactly() {
    let root = folder("discover-e2e");
    let a = root.join("a");
    ok(discover(&a, &["--classes", "6"]));
    let coordinates = lines(&a.join("coordinates.jsonl"));
    let manifest = lines(&a.join("manifest.jsonl"));
    assert_eq!(coordinates.len(), 6);
    assert_eq!(manifest.len(), 6 * 8 * 3);
    assert!(a.join("contact-sheet.png").is_file() && a.join("autoencoder.bpk").is_file());

    // Neighbours look alike: ≥ 90% share the reference's body type.
    let fixed: Vec<&Value> = manifest.iter().filter(|m| m["resolution"] == 0).collect();
    let same = fixed
        .iter()
        .filter(|m| {
            let class = m["class"].as_u64().unwrap() as usize;
            body(&m["patient"]) == body(&coordinates[class]["patient"])
        })
        .count();
    assert!(same * 10 >= fixed.len() * 9, "{same} of {} share the body type", fixed.len());

    // Every class is cut at its one coordinate; jittered windows stay close to it.
    for m in &manifest {
        let class = &coordinates[m["class"].as_u64().unwrap() as usize];
        let (corner, at) = (&m["corner"], &class["corner"]);
        if m["resolution"] == 0 {
            assert_eq!(corner, at);
            assert_eq!(m["size"], serde_json::json!([48, 48, 1]));
        } else {
            for axis in 0..2 {
                let d = corner[axis].as_i64().unwrap() - at[axis].as_i64().unwrap();
                assert!(d.abs() <= 8 + 12, "{m}");
            }
        }
        if m["rank"] == 0 {
            assert_eq!(m["patient"], class["patient"]);
        }
    }

    // The same seed gives the same bytes.
    let b = root.join("b");
    ok(discover(&b, &["--classes", "6"]));
    assert_eq!(lines(&b.join("manifest.jsonl")), manifest);
    assert_eq!(shards(&b), shards(&a));

    // Stopping after 3 classes and resuming from the coordinate log gives the same run.
    let c = root.join("c");
    ok(discover(&c, &["--classes", "3"]));
    let again = failure(discover(&c, &["--classes", "6"]));
    assert!(again.contains("--prev-coordinates"), "{again}");
    let log = c.join("coordinates.jsonl");
    ok(discover(&c, &["--classes", "6", "--prev-coordinates", log.to_str().unwrap()]));
    assert_eq!(lines(&log), coordinates);
    assert_eq!(lines(&c.join("manifest.jsonl")), manifest);
    assert_eq!(shards(&c), shards(&a));

    // Two partitions cut the same crops between them, and pretraining reads both.
    let parts = root.join("parts");
    let one = parts.join("1of2");
    ok(discover(&one, &["--classes", "6", "--shard", "1/2"]));
    let tiny = root.join("tiny.toml");
    std::fs::write(&tiny, "base = 4\nlevels = 3\nval-batches = 1\ngrid-samples = 2\n").unwrap();
    let pretrain = |data: &Path, out: &str| {
        Command::new(env!("CARGO_BIN_EXE_genesis"))
            .args(["pretrain", "--method", "semantic-genesis", "--size", "16", "--batch", "2"])
            .args(["--epochs", "1", "--steps-per-epoch", "2", "--config"])
            .arg(&tiny)
            .arg("--data")
            .arg(data)
            .arg("--out")
            .arg(root.join(out))
            .output()
            .unwrap()
    };
    let missing = failure(pretrain(&parts, "missing"));
    assert!(missing.contains("partitions [1] of 2"), "{missing}");
    let zero = parts.join("0of2");
    ok(discover(&zero, &["--classes", "6", "--shard", "0/2"]));
    let mut merged = [lines(&zero.join("manifest.jsonl")), lines(&one.join("manifest.jsonl"))];
    assert!(merged.iter().all(|m| !m.is_empty()));
    assert_eq!(lines(&zero.join("coordinates.jsonl")), coordinates);
    let mut merged = std::mem::take(&mut merged).concat();
    merged.sort_by_key(|m| m["class"].as_u64());
    assert_eq!(merged, manifest);
    let mut crops = shards(&zero);
    crops.extend(shards(&one));
    assert_eq!(crops, shards(&a));
    let trained = ok(pretrain(&parts, "merged"));
    assert!(trained.contains("144 labelled crops of 6 pseudo-classes"), "{trained}");
}

#[test]
fn bad_input_fails_with_a_message() {
    let root = folder("discover-errors");
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_genesis"))
        .args(["discover", "--data", empty.to_str().unwrap(), "--out"])
        .arg(root.join("o1"))
        .output()
        .unwrap();
    assert!(failure(out).contains("no readable image files"));

    let small = root.join("small");
    std::fs::create_dir_all(&small).unwrap();
    for i in 0..2u8 {
        let img =
            image::GrayImage::from_fn(32, 32, |x, y| image::Luma([(x * 7 + y * 3) as u8 + i]));
        img.save(small.join(format!("{i}.png"))).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_genesis"))
        .args(["discover", "--data", small.to_str().unwrap(), "--ae-steps", "1", "--out"])
        .arg(root.join("o2"))
        .output()
        .unwrap();
    let err = failure(out);
    assert!(err.contains("too small for crops"), "{err}");
}

#[test]
fn embed_uses_the_discovery_autoencoder_and_lists_neighbours() {
    let root = folder("discover-embed");
    let run = root.join("run");
    ok(Command::new(env!("CARGO_BIN_EXE_genesis"))
        .args(["discover", "--patients", "8", "--classes", "1", "--neighbours", "2"])
        .args(["--size", "48", "--ae-size", "32", "--ae-steps", "5", "--out"])
        .arg(&run)
        .output()
        .unwrap());
    let images = root.join("images");
    ok(Command::new(env!("CARGO_BIN_EXE_genesis"))
        .args(["phantom", "--dim", "2d", "--count", "5", "--out"])
        .arg(&images)
        .output()
        .unwrap());
    let embed = |arch: &str, out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_genesis"))
            .arg("embed")
            .arg(&images)
            .args(["--arch", arch, "--base", "16", "--depth", "4", "--size", "32", "--weights"])
            .arg(run.join("autoencoder.bpk"))
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let out = root.join("out");
    ok(embed("autoencoder2d", &out));
    let files = std::fs::read_to_string(out.join("files.txt")).unwrap();
    assert_eq!(files.lines().count(), 5);
    let npy = std::fs::read(out.join("embeddings.npy")).unwrap();
    assert!(String::from_utf8_lossy(&npy[..128]).contains("'shape': (5, 256)"));
    let csv = std::fs::read_to_string(out.join("neighbours.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 5 * 3);
    let err = failure(embed("unet2d", &root.join("bad")));
    assert!(err.contains("does not fit"), "{err}");
}

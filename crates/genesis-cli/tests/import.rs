//! `genesis import` of the released Semantic Genesis YNet3D layout (the parity fixture from
//! tests/parity/make_ynet3d_fixture.py): the head is remapped, the extra keys are reported and
//! dropped, the class count follows the file, and a disagreeing `--classes` fails clearly.

use std::path::PathBuf;
use std::process::{Command, Output};

mod common;
use common::{failure, folder, ok};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/parity").join(name)
}

fn import(out: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("import")
        .arg(fixture("ynet3d_base1.pt"))
        .args(["--arch", "semantic3d", "--base", "1", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn ynet3d_checkpoint_imports_as_semantic3d_without_partial() {
    let dir = folder("import-ynet3d");
    let out = dir.join("semantic.bpk");
    let text = ok(import(&out, &[]));
    assert!(text.contains("missing 0"), "{text}");
    assert!(text.contains("remapped: clc_out.fc.* -> head.fc.*"), "{text}");
    assert!(text.contains("remapped: down_tr64.* -> unet.down_tr64.*"), "{text}");
    for key in ["projection_head.0.weight", "projection_head.0.bias", "prototypes.weight"] {
        assert!(text.contains(&format!("unused:  {key}")), "{key} not reported:\n{text}");
    }
    assert!(out.is_file());

    // The written .bpk loads back with the class count it carries.
    let again = dir.join("again.safetensors");
    let back = Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("import")
        .arg(&out)
        .args(["--arch", "semantic3d", "--base", "1", "--out"])
        .arg(&again)
        .output()
        .unwrap();
    let text = ok(back);
    assert!(text.contains("missing 0, unused 0"), "{text}");
}

#[test]
fn disagreeing_class_count_names_the_file_and_the_fix() {
    let dir = folder("import-ynet3d-classes");
    let err = failure(import(&dir.join("x.bpk"), &["--classes", "44"]));
    assert!(err.contains("ynet3d_base1.pt"), "{err}");
    assert!(err.contains("5 classes") && err.contains("--classes 5"), "{err}");
}

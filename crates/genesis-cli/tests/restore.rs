//! `genesis restore` on a real NIH radiograph with the page's shipped restorer: one row per
//! transform plus the pipeline, the restorations measured against the original; a 3-D model
//! or an image size the U-Net cannot take is a clear error.

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::{failure, ok};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn restore(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("restore")
        .arg("--weights")
        .arg(repo("web/assets/model/restorer.bpk"))
        .arg(repo("web/assets/samples/00000001_000.png"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn restore_reports_psnr_per_transform_as_json_and_as_a_table() {
    let output = restore(&["--size", "64", "--draws", "2", "--json"]);
    ok(output.clone());
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> =
        rows.as_array().unwrap().iter().map(|r| r["transform"].as_str().unwrap()).collect();
    assert_eq!(names, ["shuffle", "bezier", "inpaint", "outpaint", "pipeline"]);
    for row in rows.as_array().unwrap() {
        assert_eq!(row["samples"], 2);
        for key in ["input_psnr", "restored_psnr"] {
            let v = row[key].as_f64().unwrap();
            assert!(v.is_finite() && v > 3.0 && v < 60.0, "{key} {v} in {row}");
        }
    }
    let table = ok(restore(&["--size", "64", "--draws", "1"]));
    assert!(table.contains("U-Net base 8 levels 3; 1 images × 1 draws"), "{table}");
    assert!(table.contains("| pipeline | 1 |"), "{table}");
    let e = failure(restore(&["--size", "66", "--draws", "1"]));
    assert!(e.contains("does not suit the U-Net (use --size)"), "{e}");
}

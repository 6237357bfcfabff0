//! Helpers shared by the `genesis` end-to-end tests (each test file uses a subset).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// A fresh, empty folder named `name` under cargo's test scratch directory.
pub fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a run printed: stdout, then stderr.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts the run succeeded; returns what it printed.
pub fn ok(output: Output) -> String {
    let text = text(&output);
    assert!(output.status.success(), "genesis failed:\n{text}");
    text
}

/// Asserts the run failed; returns its stderr.
pub fn failure(output: Output) -> String {
    assert!(!output.status.success(), "genesis should have failed:\n{}", text(&output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

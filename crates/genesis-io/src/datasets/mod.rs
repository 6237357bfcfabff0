//! Dataset folders: ChestX-ray14, LUNA16 (to a cube cache) and any folder of readable files.

pub mod chestxray14;
pub mod folder;
pub mod luna16;

use std::path::{Path, PathBuf};

use crate::IoError;

/// Every file under `dir` (recursively, hidden entries skipped) accepted by `keep`, sorted.
pub fn walk(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>, IoError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| IoError::os(&d, "listing", e))? {
            let path = entry.map_err(|e| IoError::os(&d, "listing", e))?.path();
            if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

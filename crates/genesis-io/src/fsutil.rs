//! File-system helpers shared by the writers.

use std::path::Path;

use crate::IoError;

/// Writes `bytes` to a temporary file beside `file`, then renames it into place, so readers
/// never see a half-written file.
pub fn write_atomic(file: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes).map_err(|e| IoError::os(file, "writing", e))?;
    std::fs::rename(&tmp, file).map_err(|e| IoError::os(file, "renaming into place", e))
}

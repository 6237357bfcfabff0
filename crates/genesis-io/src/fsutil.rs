//! File-system helpers shared by the writers.

use std::io::Write;
use std::path::Path;

use crate::IoError;

/// Writes `bytes` to a temporary file beside `file`, synced to disk, then renames it into
/// place, so readers (and a run resumed after a crash) never see a half-written file. The one
/// atomic writer of the project: checkpoints, caches, run files and plots all go through it.
pub fn write_atomic(file: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    let mut out = std::fs::File::create(&tmp).map_err(|e| IoError::os(file, "creating", e))?;
    out.write_all(bytes)
        .and_then(|()| out.sync_all())
        .map_err(|e| IoError::os(file, "writing", e))?;
    std::fs::rename(&tmp, file).map_err(|e| IoError::os(file, "renaming into place", e))
}

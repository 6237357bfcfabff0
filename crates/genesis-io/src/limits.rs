//! Allocation caps checked before any buffer sized from untrusted input is allocated.

use std::path::Path;

use genesis_core::volume::voxel_count;

use crate::IoError;

/// Largest file (or decompressed stream) any reader will load into memory: 4 GiB, or 1 GiB
/// where addresses are 32 bits (wasm32).
pub const MAX_BYTES: u64 = if usize::BITS >= 64 { 1 << 32 } else { 1 << 30 };

/// Checks that `bytes` fits [`MAX_BYTES`], naming `what` in the error.
pub fn check_bytes(file: &Path, what: &str, bytes: u64) -> Result<usize, IoError> {
    if bytes > MAX_BYTES {
        return Err(IoError::TooLarge {
            file: file.to_path_buf(),
            detail: format!("{what} of {bytes} bytes"),
            limit: MAX_BYTES,
        });
    }
    usize::try_from(bytes).map_err(|_| IoError::TooLarge {
        file: file.to_path_buf(),
        detail: format!("{what} of {bytes} bytes"),
        limit: usize::MAX as u64,
    })
}

/// Checks a shape read from a header and the byte size of its data (`element_bytes` per
/// voxel); returns `(voxels, bytes)`.
pub fn check_shape(
    file: &Path,
    shape: [usize; 3],
    element_bytes: usize,
) -> Result<(usize, usize), IoError> {
    let voxels = voxel_count(shape).map_err(|e| IoError::volume(file, e))?;
    let bytes = (voxels as u64).saturating_mul(element_bytes as u64);
    Ok((voxels, check_bytes(file, "voxel data", bytes)?))
}

/// Reads a whole file after checking its size against [`MAX_BYTES`].
#[cfg(not(target_family = "wasm"))]
pub fn read_file(file: &Path) -> Result<Vec<u8>, IoError> {
    let len = std::fs::metadata(file).map_err(|e| IoError::os(file, "reading", e))?.len();
    check_bytes(file, "file", len)?;
    std::fs::read(file).map_err(|e| IoError::os(file, "reading", e))
}

/// Reads at most [`MAX_BYTES`] from `reader` (e.g. a decompressor), failing if more remain.
pub fn read_capped(
    file: &Path,
    reader: impl std::io::Read,
    format: &'static str,
) -> Result<Vec<u8>, IoError> {
    use std::io::Read;
    let mut out = Vec::new();
    reader
        .take(MAX_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| IoError::corrupt(file, format, e.to_string()))?;
    check_bytes(file, "decompressed data", out.len() as u64)?;
    Ok(out)
}

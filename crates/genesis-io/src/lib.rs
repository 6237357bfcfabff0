//! genesis-io: medical image files into [`genesis_core::Volume`]s, intensity conventions and
//! dataset folders.
//!
//! [`load`] reads any supported file (or a folder of DICOM slices) with its metadata;
//! [`load_normalized`] also maps intensities into [0, 1] by the spec §1 convention for the
//! volume's modality. [`from_bytes`] decodes an in-memory file (the browser page's dropped
//! files). Every reader caps its allocations before reading and returns an [`IoError`] naming
//! the file, never panicking on bad input.

#[cfg(not(target_family = "wasm"))]
pub mod datasets;
pub mod dicom;
mod dicom_codecs;
mod dicom_scan;
pub mod elements;
pub mod error;
pub mod format;
#[cfg(not(target_family = "wasm"))]
mod fsutil;
pub mod intensity;
pub mod limits;
pub mod metaimage;
pub mod nifti;
pub mod npy;
pub mod raster;

use std::path::Path;

use genesis_core::Volume;

pub use error::IoError;
pub use format::Format;
pub use intensity::{Conventions, Normalization};

/// Decodes a file held in memory; `name` (e.g. the dropped file's name) is used to pick the
/// format when the bytes do not identify it, and in errors. MetaImage must be a single `.mha`
/// (`ElementDataFile = LOCAL`).
pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Volume, IoError> {
    decode(Path::new(name), bytes)
}

/// Decodes the bytes of `file` by their detected format.
fn decode(file: &Path, bytes: &[u8]) -> Result<Volume, IoError> {
    match format::detect(file, bytes) {
        Some(Format::Png | Format::Jpeg) => raster::from_bytes(file, bytes),
        Some(Format::Dicom) => dicom::from_bytes(file, bytes),
        Some(Format::Nifti) => nifti::from_bytes(file, bytes),
        Some(Format::MetaImage) => metaimage::from_bytes(file, bytes),
        Some(Format::Npy) => npy::from_bytes(file, bytes),
        None => Err(IoError::UnknownFormat { file: file.to_path_buf() }),
    }
}

/// Reads a file (format detected by magic bytes, then extension) or a folder of DICOM slices.
#[cfg(not(target_family = "wasm"))]
pub fn load(path: &Path) -> Result<Volume, IoError> {
    if path.is_dir() {
        return dicom::read_series(path);
    }
    let mut head = Vec::with_capacity(348);
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 348), &mut head))
        .map_err(|e| IoError::os(path, "reading", e))?;
    match format::detect(path, &head) {
        Some(Format::MetaImage) => metaimage::read(path),
        Some(Format::Nifti) => nifti::read(path),
        Some(_) => decode(path, &limits::read_file(path)?),
        None => Err(IoError::UnknownFormat { file: path.to_path_buf() }),
    }
}

/// Reads a file like [`load`] and maps its intensities into [0, 1] with the default
/// [`Conventions`] (spec §1).
#[cfg(not(target_family = "wasm"))]
pub fn load_normalized(path: &Path) -> Result<Volume, IoError> {
    load_normalized_with(path, &Conventions::default())
}

/// Reads a file like [`load`] and normalizes it with `conventions`.
#[cfg(not(target_family = "wasm"))]
pub fn load_normalized_with(path: &Path, conventions: &Conventions) -> Result<Volume, IoError> {
    let mut volume = load(path)?;
    conventions.normalize(&mut volume);
    Ok(volume)
}

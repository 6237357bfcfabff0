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
pub mod dicom_series;
pub mod dropped;
pub mod elements;
pub mod error;
pub mod format;
#[cfg(not(target_family = "wasm"))]
pub mod fsutil;
pub mod intensity;
pub mod limits;
pub mod metaimage;
pub mod nifti;
mod nifti_header;
pub mod npy;
pub mod options;
pub mod preprocess;
pub mod raster;
pub mod resample;

use std::path::Path;

use genesis_core::Volume;

pub use dropped::from_files;
pub use error::IoError;
pub use format::Format;
pub use intensity::{Conventions, Normalization};
pub use options::{LoadOptions, Loaded, SeriesChoice, SeriesInfo};
#[cfg(not(target_family = "wasm"))]
pub use preprocess::load_preprocessed;
pub use preprocess::{Intensity, Preprocess};

/// Decodes a file held in memory; `name` (e.g. the dropped file's name) is used to pick the
/// format when the bytes do not identify it, and in errors. MetaImage must be a single `.mha`
/// (`ElementDataFile = LOCAL`).
pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Volume, IoError> {
    decode(Path::new(name), bytes)
}

/// Decodes a file held in memory like [`from_bytes`], choosing the volume of a 4-D NIfTI file
/// by `options.volume`; the result says how many volumes the file holds.
pub fn from_bytes_with(name: &str, bytes: &[u8], options: &LoadOptions) -> Result<Loaded, IoError> {
    let file = Path::new(name);
    match (format::detect(file, bytes), options.volume) {
        (Some(Format::Nifti), index) => nifti::from_bytes_volume(file, bytes, index.unwrap_or(0)),
        (_, Some(k)) if k > 0 => Err(only_one_volume(file, k)),
        _ => decode(file, bytes).map(Loaded::single),
    }
}

/// The error for volume `k` > 0 of a format that holds one volume.
fn only_one_volume(file: &Path, k: usize) -> IoError {
    IoError::Selection {
        file: file.to_path_buf(),
        detail: format!(
            "volume {k} requested, but the file holds 1 volume (only 4-D NIfTI holds several)"
        ),
    }
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

/// Reads a file (format detected by magic bytes, then extension) or a folder of DICOM slices
/// (its one series). Of a 4-D NIfTI file, the first volume: use [`load_with`] to choose
/// another or to learn how many there are.
#[cfg(not(target_family = "wasm"))]
pub fn load(path: &Path) -> Result<Volume, IoError> {
    load_with(path, &LoadOptions::default()).map(|l| l.volume)
}

/// Reads a file or folder like [`load`], choosing the volume of a 4-D NIfTI file and the series
/// of a DICOM folder by `options`. [`Loaded::volumes`] and [`Loaded::series`] say what was
/// there; [`Loaded::notice`] is a line to show when a 4-D file was cut to one volume.
#[cfg(not(target_family = "wasm"))]
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Loaded, IoError> {
    if path.is_dir() {
        if let Some(k) = options.volume.filter(|&k| k > 0) {
            return Err(only_one_volume(path, k));
        }
        return dicom_series::read_series_with(path, options.series.as_ref());
    }
    let mut head = Vec::with_capacity(348);
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 348), &mut head))
        .map_err(|e| IoError::os(path, "reading", e))?;
    let format = format::detect(path, &head);
    match (format, options.volume) {
        (Some(Format::Nifti), index) => nifti::read_volume(path, index.unwrap_or(0)),
        (_, Some(k)) if k > 0 => Err(only_one_volume(path, k)),
        (Some(Format::MetaImage), _) => metaimage::read(path).map(Loaded::single),
        (Some(_), _) => decode(path, &limits::read_file(path)?).map(Loaded::single),
        (None, _) => Err(IoError::UnknownFormat { file: path.to_path_buf() }),
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

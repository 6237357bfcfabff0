//! Several files held in memory that form one volume, as a visitor drops them on the page: a
//! single file of any format, a MetaImage `.mhd` header with its data file, or the slices of a
//! DICOM series.

use std::path::Path;

use crate::dicom_series;
use crate::format::{Format, detect};
use crate::metaimage::{self, DataFile};
use crate::options::{LoadOptions, Loaded};
use crate::{IoError, from_bytes_with};

/// Decodes `files` (`(name, bytes)`, names without folders) as one volume: one file by its
/// format; a `.mhd` and the data file its header names; else every file must be a slice of
/// one DICOM series (chosen by `options.series` when there are several).
pub fn from_files(files: &[(String, &[u8])], options: &LoadOptions) -> Result<Loaded, IoError> {
    let label = Path::new("dropped files");
    let header = files.iter().find(|(name, _)| name.to_ascii_lowercase().ends_with(".mhd"));
    if let Some((name, bytes)) = header {
        return metaimage_pair(name, bytes, files);
    }
    match files {
        [] => Err(IoError::Dataset { file: label.into(), detail: "no files given".into() }),
        [(name, bytes)] => from_bytes_with(name, bytes, options),
        _ => {
            if let Some((name, _)) =
                files.iter().find(|(name, b)| detect(Path::new(name), b) != Some(Format::Dicom))
            {
                return Err(IoError::Dataset {
                    file: label.into(),
                    detail: format!(
                        "{} files given and {name} is not DICOM: give one volume file, a .mhd \
                         with its data file, or the slices of one DICOM series",
                        files.len()
                    ),
                });
            }
            dicom_series::from_memory("dropped files", files, options.series.as_ref())
        }
    }
}

/// A MetaImage header and, among `files`, the data file it names.
fn metaimage_pair(name: &str, bytes: &[u8], files: &[(String, &[u8])]) -> Result<Loaded, IoError> {
    let file = Path::new(name);
    let header = metaimage::parse_header(file, bytes)?;
    let volume = match &header.data_file {
        DataFile::Local => metaimage::decode(file, &header, &bytes[header.text_len..])?,
        DataFile::External(data) => {
            let wanted = Path::new(data).file_name().unwrap_or_default().to_string_lossy();
            let Some((_, raw)) = files.iter().find(|(n, _)| *n == wanted) else {
                return Err(IoError::Dataset {
                    file: file.into(),
                    detail: format!("its data are in {wanted}: give that file together with it"),
                });
            };
            metaimage::decode(file, &header, raw)?
        }
    };
    Ok(Loaded::single(volume))
}

//! The one error type of every reader and writer: each variant names the file and the problem.

use std::path::PathBuf;

use genesis_core::VolumeError;
use thiserror::Error;

/// Errors raised while reading or writing medical image files and datasets.
#[derive(Debug, Error)]
pub enum IoError {
    /// The operating system refused to read or write the file.
    #[error("{file}: {action} failed: {source}")]
    Os {
        /// The file concerned.
        file: PathBuf,
        /// What was attempted ("reading", "writing", "listing", ...).
        action: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Neither the extension nor the first bytes identify a supported format.
    #[error(
        "{file}: unknown file format (supported: PNG, JPEG, DICOM, NIfTI .nii/.nii.gz, MetaImage .mhd/.mha, NPY)"
    )]
    UnknownFormat {
        /// The file concerned.
        file: PathBuf,
    },
    /// The file ends before the data its header announces.
    #[error("{file}: truncated {format} file: {detail}")]
    Truncated {
        /// The file concerned.
        file: PathBuf,
        /// Format name.
        format: &'static str,
        /// What was missing.
        detail: String,
    },
    /// The file is not valid for its format.
    #[error("{file}: corrupt {format} file: {detail}")]
    Corrupt {
        /// The file concerned.
        file: PathBuf,
        /// Format name.
        format: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The data size differs from what the header announces.
    #[error(
        "{file}: {format} data size mismatch: the header needs {expected} bytes but {actual} were found"
    )]
    SizeMismatch {
        /// The file concerned.
        file: PathBuf,
        /// Format name.
        format: &'static str,
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The file or the volume it describes exceeds the allocation caps.
    #[error("{file}: {detail} exceeds the limit of {limit}; refusing to allocate it")]
    TooLarge {
        /// The file concerned.
        file: PathBuf,
        /// What is too large.
        detail: String,
        /// The cap that was exceeded.
        limit: u64,
    },
    /// A valid file using a feature this reader does not implement.
    #[error("{file}: unsupported {format} feature: {detail}")]
    Unsupported {
        /// The file concerned.
        file: PathBuf,
        /// Format name.
        format: &'static str,
        /// The feature.
        detail: String,
    },
    /// The decoded data do not form a valid volume.
    #[error("{file}: {source}")]
    Volume {
        /// The file concerned.
        file: PathBuf,
        /// The volume error.
        source: VolumeError,
    },
    /// The file or folder holds several volumes or series and the one asked for is not there,
    /// or several series and none was chosen; `detail` lists what there is and how to choose.
    #[error("{file}: {detail}")]
    Selection {
        /// The file or folder concerned.
        file: PathBuf,
        /// What was asked for and what there is.
        detail: String,
    },
    /// A dataset folder or list is unusable.
    #[error("{file}: {detail}")]
    Dataset {
        /// The folder or list file concerned.
        file: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl IoError {
    /// An [`IoError::Os`] for `file`.
    pub fn os(file: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Self::Os { file: file.into(), action, source }
    }

    /// An [`IoError::Corrupt`] for `file`.
    pub fn corrupt(
        file: impl Into<PathBuf>,
        format: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self::Corrupt { file: file.into(), format, detail: detail.into() }
    }

    /// An [`IoError::Truncated`] for `file`.
    pub fn truncated(
        file: impl Into<PathBuf>,
        format: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self::Truncated { file: file.into(), format, detail: detail.into() }
    }

    /// An [`IoError::Unsupported`] for `file`.
    pub fn unsupported(
        file: impl Into<PathBuf>,
        format: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self::Unsupported { file: file.into(), format, detail: detail.into() }
    }

    /// An [`IoError::Volume`] for `file`.
    pub fn volume(file: impl Into<PathBuf>, source: VolumeError) -> Self {
        match source {
            VolumeError::TooLarge(shape) => Self::TooLarge {
                file: file.into(),
                detail: format!("volume shape {shape:?}"),
                limit: genesis_core::volume::MAX_VOXELS as u64,
            },
            source => Self::Volume { file: file.into(), source },
        }
    }
}

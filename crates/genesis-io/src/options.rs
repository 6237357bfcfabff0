//! Choosing one 3-D volume from files and folders that hold several: a volume of a 4-D NIfTI
//! file, a series of a DICOM folder. [`LoadOptions`] says which; [`Loaded`] returns the volume
//! with what was found, so a front end can tell the user what it picked and how to pick another.

use genesis_core::Volume;

/// Which volume or series to read where a file or folder holds several.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Volume of a 4-D NIfTI file, 0-based (`None`: the first). Other formats have only
    /// volume 0.
    pub volume: Option<usize>,
    /// Series of a DICOM folder (`None`: the only one; a folder with several is an
    /// [`crate::IoError::Selection`] listing them).
    pub series: Option<SeriesChoice>,
}

/// One series of a DICOM folder, by its SeriesInstanceUID or by its position in
/// `dicom_series::list_series` (sorted by UID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesChoice {
    /// SeriesInstanceUID (0020,000E).
    Uid(String),
    /// 0-based index in the listing.
    Index(usize),
}

/// One series of a DICOM folder, as listed by `dicom_series::list_series`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesInfo {
    /// SeriesInstanceUID (0020,000E); empty when the files have none.
    pub uid: String,
    /// SeriesDescription (0008,103E), if present.
    pub description: Option<String>,
    /// Modality code (0008,0060), e.g. `CT`; empty when absent.
    pub modality: String,
    /// Number of files of the series.
    pub files: usize,
}

impl std::fmt::Display for SeriesInfo {
    /// `UID (description) MODALITY, N files`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let uid = if self.uid.is_empty() { "(no SeriesInstanceUID)" } else { &self.uid };
        write!(f, "{uid}")?;
        if let Some(d) = &self.description {
            write!(f, " \"{d}\"")?;
        }
        let modality = if self.modality.is_empty() { "?" } else { &self.modality };
        let s = if self.files == 1 { "" } else { "s" };
        write!(f, " {modality}, {} file{s}", self.files)
    }
}

/// A volume read with [`LoadOptions`], and what the source held.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The 3-D (or 2-D) volume read.
    pub volume: Volume,
    /// How many volumes the file holds (`dim[4]` of a 4-D NIfTI file; 1 otherwise).
    pub volumes: usize,
    /// Which of them `volume` is (0-based).
    pub index: usize,
    /// The series read, for a DICOM folder.
    pub series: Option<SeriesInfo>,
}

impl Loaded {
    /// A volume that is the only one of its source.
    pub fn single(volume: Volume) -> Self {
        Self { volume, volumes: 1, index: 0, series: None }
    }

    /// A line for the user when the source held more than what was read, e.g.
    /// `4-D file with 20 volumes; using volume 0`; `None` for an ordinary 3-D file. A front end
    /// appends how to choose (e.g. `(choose with --volume K)`).
    pub fn notice(&self) -> Option<String> {
        (self.volumes > 1)
            .then(|| format!("4-D file with {} volumes; using volume {}", self.volumes, self.index))
    }
}

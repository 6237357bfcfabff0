//! The preprocessing users choose for their scans, in one serde value: which volume of a 4-D
//! NIfTI file and which series of a DICOM folder, resampling to a target spacing, and how
//! intensities become [0, 1] (a CT window in Hounsfield units, per-volume min–max, or the
//! modality's convention). Recipes carry it as flat keys (`volume`, `series`, `intensity`,
//! `hu-min`, `hu-max`, `spacing`); [`load_preprocessed`] applies it to a file or folder.

use std::path::Path;

use genesis_core::{Units, Volume};
use serde::{Deserialize, Serialize};

use crate::intensity::{self, EmptyWindow, HU_MAX, HU_MIN, Normalization};
use crate::{Conventions, IoError, LoadOptions, SeriesChoice};

/// How raw intensities become [0, 1].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Intensity {
    /// By the volume's modality (spec §1): CT through the HU window `[hu-min, hu-max]`, MR and
    /// unknown modalities per-volume min–max, radiographs by bit depth.
    #[default]
    Auto,
    /// Every volume is CT in Hounsfield units: clipped to `[hu-min, hu-max]`, scaled to [0, 1].
    Hu,
    /// Every volume by its own minimum and maximum (MRI).
    #[serde(rename = "minmax")]
    MinMax,
}

impl Intensity {
    /// The name used in flags and recipes.
    pub fn name(self) -> &'static str {
        match self {
            Intensity::Auto => "auto",
            Intensity::Hu => "hu",
            Intensity::MinMax => "minmax",
        }
    }
}

impl std::str::FromStr for Intensity {
    type Err = String;

    /// Parses `auto`, `hu` or `minmax` (also `min-max`).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Intensity::Auto),
            "hu" | "ct" => Ok(Intensity::Hu),
            "minmax" | "min-max" => Ok(Intensity::MinMax),
            _ => Err(format!("unknown intensity mode '{s}'; use auto, hu or minmax")),
        }
    }
}

/// What a scan goes through between its file and the model. The default reads the first
/// volume and the only series, keeps the spacing, and normalizes by modality with the Models
/// Genesis CT window [-1000, 1000] HU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Preprocess {
    /// Volume of a 4-D NIfTI file, 0-based (absent: the first, and a notice says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<usize>,
    /// Series of a DICOM folder: a SeriesInstanceUID, or its index in the folder's listing
    /// (digits only). In a dataset folder, only that series is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// How intensities become [0, 1].
    pub intensity: Intensity,
    /// Lower end of the CT window in HU (maps to 0).
    pub hu_min: f32,
    /// Upper end of the CT window in HU (maps to 1).
    pub hu_max: f32,
    /// Resample every volume to this voxel spacing in mm (x, y, z) before normalizing
    /// (absent: keep the file's grid). 2-D images keep their single slice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spacing: Option<[f64; 3]>,
}

impl Default for Preprocess {
    fn default() -> Self {
        Self {
            volume: None,
            series: None,
            intensity: Intensity::Auto,
            hu_min: HU_MIN,
            hu_max: HU_MAX,
            spacing: None,
        }
    }
}

impl Preprocess {
    /// Checks the values, naming the key to change: a HU window that is empty, a spacing that
    /// is not positive.
    pub fn validate(&self) -> Result<(), String> {
        self.window().map_err(|e| format!("hu-min/hu-max: {e}"))?;
        if let Some(s) = self.spacing.filter(|s| s.iter().any(|v| !(v.is_finite() && *v > 0.0))) {
            return Err(format!("spacing {s:?}: every entry must be a positive number of mm"));
        }
        Ok(())
    }

    /// The CT window `[hu-min, hu-max]`.
    fn window(&self) -> Result<Normalization, EmptyWindow> {
        Normalization::hu_window(self.hu_min, self.hu_max)
    }

    /// Which volume and series to read.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions { volume: self.volume, series: self.series.as_deref().map(series_choice) }
    }

    /// Resamples `volume` (read from `file`) to [`Preprocess::spacing`], if set.
    pub fn resample(&self, file: &Path, volume: Volume) -> Result<Volume, IoError> {
        match self.spacing {
            Some(spacing) => crate::resample::to_spacing(file, &volume, spacing),
            None => Ok(volume),
        }
    }

    /// Maps `volume` (read from `file`) into [0, 1] by [`Preprocess::intensity`]; a volume
    /// already in unit range is only clamped, except under `minmax`.
    pub fn normalize(&self, file: &Path, volume: &mut Volume) -> Result<(), IoError> {
        let window =
            self.window().map_err(|e| IoError::unsupported(file, "windowing", e.to_string()))?;
        match self.intensity {
            Intensity::Auto => {
                Conventions { ct: window, ..Conventions::default() }.normalize(volume)
            }
            Intensity::Hu if volume.meta.units != Units::Unit => {
                intensity::apply(window, volume.data_mut());
                volume.meta.units = Units::Unit;
            }
            Intensity::Hu => Conventions::default().normalize(volume),
            Intensity::MinMax => intensity::min_max(volume),
        }
        Ok(())
    }

    /// Resamples, then normalizes `volume` read from `file`.
    pub fn apply(&self, file: &Path, volume: Volume) -> Result<Volume, IoError> {
        let mut volume = self.resample(file, volume)?;
        self.normalize(file, &mut volume)?;
        Ok(volume)
    }
}

/// `series` as a [`SeriesChoice`]: digits only are an index, anything else a UID.
pub fn series_choice(series: &str) -> SeriesChoice {
    match series.parse::<usize>() {
        Ok(index) if !series.contains('.') => SeriesChoice::Index(index),
        _ => SeriesChoice::Uid(series.to_string()),
    }
}

/// Reads a file or DICOM folder with the volume and series of `pre`, resamples and normalizes
/// it; [`crate::Loaded::notice`] says when a 4-D file was cut to one volume.
#[cfg(not(target_family = "wasm"))]
pub fn load_preprocessed(path: &Path, pre: &Preprocess) -> Result<crate::Loaded, IoError> {
    let mut loaded = crate::load_with(path, &pre.load_options())?;
    loaded.volume = pre.apply(path, loaded.volume)?;
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use genesis_core::{Metadata, Modality};

    use super::*;

    fn ct(data: Vec<f32>) -> Volume {
        let meta = Metadata {
            modality: Modality::Ct,
            units: Units::Hounsfield,
            spacing: [2.0, 1.0, 1.0],
            ..Metadata::default()
        };
        Volume::new([data.len(), 1, 1], data).unwrap().with_meta(meta)
    }

    #[test]
    fn hu_window_minmax_and_auto() {
        let file = Path::new("ct.nii");
        let pre = Preprocess { hu_min: -100.0, hu_max: 100.0, ..Preprocess::default() };
        let v = pre.apply(file, ct(vec![-1000.0, 0.0, 50.0, 1000.0])).unwrap();
        assert_eq!(v.data(), &[0.0, 0.5, 0.75, 1.0]);
        let mut mr = ct(vec![10.0, 20.0, 30.0]);
        mr.meta.modality = Modality::Mr;
        let auto = Preprocess::default().apply(file, mr.clone()).unwrap();
        assert_eq!(auto.data(), &[0.0, 0.5, 1.0]);
        let hu = Preprocess { intensity: Intensity::Hu, ..Preprocess::default() };
        assert_eq!(hu.apply(file, mr.clone()).unwrap().data(), &[0.505, 0.51, 0.515]);
        let minmax = Preprocess { intensity: Intensity::MinMax, ..Preprocess::default() };
        assert_eq!(minmax.apply(file, ct(vec![-50.0, 50.0])).unwrap().data(), &[0.0, 1.0]);
        assert_eq!(v.meta.units, Units::Unit);
    }

    #[test]
    fn spacing_resamples_before_normalizing_and_bad_values_are_named() {
        let pre = Preprocess { spacing: Some([1.0, 1.0, 1.0]), ..Preprocess::default() };
        let v = pre.apply(Path::new("ct.nii"), ct(vec![-1000.0, 1000.0])).unwrap();
        assert_eq!(v.shape(), [4, 1, 1]);
        assert_eq!(v.meta.spacing, [1.0, 1.0, 1.0]);
        let empty = Preprocess { hu_min: 10.0, hu_max: 10.0, ..Preprocess::default() };
        assert!(empty.validate().unwrap_err().contains("hu-min/hu-max"));
        let e = empty.apply(Path::new("ct.nii"), ct(vec![1.0])).unwrap_err().to_string();
        assert!(e.contains("ct.nii") && e.contains("[10, 10]"), "{e}");
        let flat = Preprocess { spacing: Some([1.0, 0.0, 1.0]), ..Preprocess::default() };
        assert!(flat.validate().unwrap_err().contains("spacing"));
        assert!("nope".parse::<Intensity>().is_err());
        assert_eq!("MinMax".parse::<Intensity>(), Ok(Intensity::MinMax));
    }

    #[test]
    fn series_by_index_or_uid_and_serde_defaults() {
        assert_eq!(series_choice("2"), SeriesChoice::Index(2));
        assert_eq!(series_choice("1.2.840.1"), SeriesChoice::Uid("1.2.840.1".into()));
        let pre: Preprocess = serde_json::from_str(r#"{"intensity":"minmax"}"#).unwrap();
        assert_eq!(pre, Preprocess { intensity: Intensity::MinMax, ..Preprocess::default() });
        let text = serde_json::to_string(&Preprocess::default()).unwrap();
        assert_eq!(serde_json::from_str::<Preprocess>(&text).unwrap(), Preprocess::default());
    }
}

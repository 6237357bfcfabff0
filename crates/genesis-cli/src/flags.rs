//! Flags given on the command line, as the TOML keys they override (the engine layers them
//! over the preset and the config file).

use genesis_io::{Intensity, Preprocess};
use genesis_train::schedule::LrSchedule;
use serde::Serialize;

/// A table of kebab-case keys, filled from `Option` flags that were given.
#[derive(Default)]
pub struct Flags(pub toml::Table);

impl Flags {
    /// Sets `key` when `value` was given.
    pub fn set<T: Serialize>(mut self, key: &str, value: Option<&T>) -> anyhow::Result<Self> {
        if let Some(v) = value {
            self.0.insert(key.into(), toml::Value::try_from(v)?);
        }
        Ok(self)
    }
}

/// The optimisation flags pretraining and fine-tuning share.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Knobs {
    /// Learning-rate schedule after warm-up: step (StepLR; pretraining's default), cosine (to 0
    /// at the last step) or constant (fine-tuning's default).
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrSchedule>,
    /// Linear learning-rate warm-up over this many optimiser steps.
    #[arg(long)]
    pub warmup_steps: Option<usize>,
    /// Clip the gradients' global L2 norm to this value (0 = off).
    #[arg(long)]
    pub clip_grad_norm: Option<f64>,
    /// Batches accumulated per optimiser step (effective batch = batch × accumulate).
    #[arg(long)]
    pub accumulate: Option<usize>,
}

impl Knobs {
    /// Adds the knobs given to `flags`.
    pub fn add(&self, flags: Flags) -> anyhow::Result<Flags> {
        flags
            .set("lr-schedule", self.lr_schedule.as_ref())?
            .set("warmup-steps", self.warmup_steps.as_ref())?
            .set("clip-grad-norm", self.clip_grad_norm.as_ref())?
            .set("accumulate", self.accumulate.as_ref())
    }
}

/// How scans are read: the preprocessing flags of every command that reads scans (the
/// `[preprocess]` table of a recipe; docs/io.md).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Scan {
    /// Volume K of a 4-D NIfTI file (0-based; default the first, and a warning says so).
    #[arg(long, value_name = "K")]
    pub volume: Option<usize>,
    /// DICOM series to read: its SeriesInstanceUID, or its index in the folder's listing.
    #[arg(long, value_name = "UID")]
    pub series: Option<String>,
    /// Intensities to [0, 1]: auto (CT by the HU window, MR min–max, X-ray by bit depth), hu
    /// (every scan is CT) or minmax (per volume, for MRI).
    #[arg(long, value_name = "MODE", value_parser = parse_intensity)]
    pub intensity: Option<Intensity>,
    /// Lower end of the CT window in HU (default -1000, as in Models Genesis).
    #[arg(long, value_name = "HU", allow_negative_numbers = true)]
    pub hu_min: Option<f32>,
    /// Upper end of the CT window in HU (default 1000).
    #[arg(long, value_name = "HU", allow_negative_numbers = true)]
    pub hu_max: Option<f32>,
    /// Resample every scan to this voxel spacing in mm, e.g. 1,1,1 (default: keep).
    #[arg(long, value_name = "X,Y,Z", value_parser = parse_triple::<f64>)]
    pub spacing: Option<[f64; 3]>,
}

impl Scan {
    /// The flags given, as the keys of a `[preprocess]` table.
    pub fn keys(&self) -> anyhow::Result<toml::Table> {
        let intensity = self.intensity.map(Intensity::name);
        Ok(Flags::default()
            .set("volume", self.volume.as_ref())?
            .set("series", self.series.as_ref())?
            .set("intensity", intensity.as_ref())?
            .set("hu-min", self.hu_min.as_ref())?
            .set("hu-max", self.hu_max.as_ref())?
            .set("spacing", self.spacing.as_ref())?
            .0)
    }

    /// Adds the flags given to `flags` as the recipe's `preprocess` table.
    pub fn add(&self, mut flags: Flags) -> anyhow::Result<Flags> {
        let keys = self.keys()?;
        if !keys.is_empty() {
            flags.0.insert("preprocess".into(), toml::Value::Table(keys));
        }
        Ok(flags)
    }

    /// `base` with the flags given over it (commands without a recipe), checked.
    pub fn over(&self, base: Preprocess) -> anyhow::Result<Preprocess> {
        let mut table = toml::Table::try_from(base)?;
        table.extend(self.keys()?);
        let pre: Preprocess = toml::Value::Table(table).try_into()?;
        pre.validate().map_err(anyhow::Error::msg)?;
        Ok(pre)
    }
}

/// Parses an intensity mode.
fn parse_intensity(s: &str) -> Result<Intensity, String> {
    s.parse()
}

/// Parses `A,B,C` (or one value for all three).
pub fn parse_triple<T: std::str::FromStr + Copy>(s: &str) -> Result<[T; 3], String> {
    let parts: Vec<T> = s
        .split(',')
        .map(|p| p.trim().parse::<T>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("'{s}': expected three numbers X,Y,Z (or one for all three)"))?;
    match parts.as_slice() {
        [v] => Ok([*v; 3]),
        [x, y, z] => Ok([*x, *y, *z]),
        _ => Err(format!("'{s}': expected three numbers X,Y,Z (or one for all three)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_flags_become_preprocess_keys() {
        let scan = Scan {
            intensity: Some(Intensity::MinMax),
            hu_min: Some(-500.0),
            spacing: Some([1.0, 1.0, 2.0]),
            ..Scan::default()
        };
        let flags = scan.add(Flags::default()).unwrap().0;
        let table = flags["preprocess"].as_table().unwrap();
        assert_eq!(table["intensity"].as_str(), Some("minmax"));
        assert_eq!(table["hu-min"].as_float(), Some(-500.0));
        let pre = scan.over(Preprocess::default()).unwrap();
        assert_eq!(
            (pre.intensity, pre.hu_max, pre.spacing),
            (Intensity::MinMax, 1000.0, Some([1.0, 1.0, 2.0]))
        );
        assert!(Scan::default().add(Flags::default()).unwrap().0.is_empty());
        let empty = Scan { hu_min: Some(100.0), hu_max: Some(0.0), ..Scan::default() };
        assert!(empty.over(Preprocess::default()).is_err());
        assert_eq!(parse_triple::<f64>("0.7, 0.7,2.5"), Ok([0.7, 0.7, 2.5]));
        assert_eq!(parse_triple::<usize>("64"), Ok([64; 3]));
        assert!(parse_triple::<usize>("1,2").is_err());
    }
}

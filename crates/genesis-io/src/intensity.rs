//! Intensity conventions (spec §1): every volume is mapped into [0, 1] before the transforms.
//!
//! - CT: clip Hounsfield units to [-1000, 1000], then `(v + 1000) / 2000`.
//! - X-ray: 8-bit values / 255, 16-bit values / 65535 (decoders of PNG/JPEG already do this).
//! - MR and anything else: a configurable window, or per-volume min–max (the default).
//!
//! The same mappings as plain functions for preprocessing: [`window`] (e.g. a CT HU window,
//! checked by [`Normalization::hu_window`]) and [`min_max`].

use genesis_core::{Modality, Units, Volume};
use serde::{Deserialize, Serialize};

/// How raw values of one modality become [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Normalization {
    /// Clip to `[lo, hi]` and scale linearly: `(clip(v) - lo) / (hi - lo)`.
    Window {
        /// Value mapped to 0.
        lo: f32,
        /// Value mapped to 1.
        hi: f32,
    },
    /// `(v - min) / (max - min)` over the volume (all zeros for a constant volume).
    MinMax,
    /// Divide by the largest value of the integer depth that holds the data: 255 when every
    /// value is in [0, 255], 65535 when in [0, 65535]; min–max otherwise.
    BitDepth,
}

/// Lower end of the default CT window (Models Genesis): −1000 HU (air) maps to 0.
pub const HU_MIN: f32 = -1000.0;
/// Upper end of the default CT window (Models Genesis): 1000 HU maps to 1.
pub const HU_MAX: f32 = 1000.0;

/// A window that maps nothing: its ends are not finite, or not in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("window [{lo}, {hi}] is empty: the lower end must be a number below the upper end")]
pub struct EmptyWindow {
    /// The lower end given.
    pub lo: f32,
    /// The upper end given.
    pub hi: f32,
}

impl Normalization {
    /// A CT window `[hu_min, hu_max]` in Hounsfield units (defaults [`HU_MIN`], [`HU_MAX`]),
    /// checked: both finite and `hu_min < hu_max`. Use it in [`Conventions::ct`] or with
    /// [`apply`].
    pub fn hu_window(hu_min: f32, hu_max: f32) -> Result<Self, EmptyWindow> {
        if hu_min.is_finite() && hu_max.is_finite() && hu_min < hu_max {
            Ok(Self::Window { lo: hu_min, hi: hu_max })
        } else {
            Err(EmptyWindow { lo: hu_min, hi: hu_max })
        }
    }
}

impl std::fmt::Display for Normalization {
    /// `window −1000…1000`, `min–max` or `bit depth`, for messages about how a volume was read.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Window { lo, hi } => write!(f, "window {lo}…{hi}"),
            Self::MinMax => f.write_str("min–max"),
            Self::BitDepth => f.write_str("bit depth"),
        }
    }
}

/// One [`Normalization`] per modality; serde-configurable, defaults per spec §1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Conventions {
    /// CT (Hounsfield units); default window [-1000, 1000].
    pub ct: Normalization,
    /// MR; default per-volume min–max (issue MG#36). The README alternative is
    /// `Window { lo: 0, hi: 4000 }`.
    pub mr: Normalization,
    /// Projection radiography; default bit depth.
    pub xray: Normalization,
    /// Anything else; default per-volume min–max.
    pub other: Normalization,
}

impl Default for Conventions {
    fn default() -> Self {
        Self {
            ct: Normalization::Window { lo: HU_MIN, hi: HU_MAX },
            mr: Normalization::MinMax,
            xray: Normalization::BitDepth,
            other: Normalization::MinMax,
        }
    }
}

impl Conventions {
    /// The normalization used for `modality`.
    pub fn for_modality(&self, modality: Modality) -> Normalization {
        match modality {
            Modality::Ct => self.ct,
            Modality::Mr => self.mr,
            Modality::Xray => self.xray,
            Modality::Other => self.other,
        }
    }

    /// Maps `volume` into [0, 1] by its modality's convention and marks it [`Units::Unit`].
    /// A volume already in unit range is only clamped. Non-finite voxels become 0.
    pub fn normalize(&self, volume: &mut Volume) {
        let norm = if volume.meta.units == Units::Unit {
            Normalization::Window { lo: 0.0, hi: 1.0 }
        } else {
            self.for_modality(volume.meta.modality)
        };
        apply(norm, volume.data_mut());
        volume.meta.units = Units::Unit;
    }
}

/// Clips `volume` to `[lo, hi]` and maps it linearly to [0, 1] (a CT HU window with
/// `(HU_MIN, HU_MAX)`: `(clip(v) + 1000) / 2000`); marks it [`Units::Unit`]. NaN/∞ become 0.
pub fn window(volume: &mut Volume, lo: f32, hi: f32) -> Result<(), EmptyWindow> {
    apply(Normalization::hu_window(lo, hi)?, volume.data_mut());
    volume.meta.units = Units::Unit;
    Ok(())
}

/// Maps `volume` to [0, 1] by its own finite minimum and maximum (the MR default); a constant
/// volume becomes 0, NaN/∞ become 0; marks it [`Units::Unit`].
pub fn min_max(volume: &mut Volume) {
    apply(Normalization::MinMax, volume.data_mut());
    volume.meta.units = Units::Unit;
}

/// Guesses the modality of a volume whose file does not say: values reaching below -500
/// (air at about -1000 HU, or CT padding at -2000/-3024) mark Hounsfield units, so CT;
/// anything else is [`Modality::Other`].
pub fn guess_modality(volume: &Volume) -> Modality {
    let (lo, hi) = finite_range(volume.data());
    if lo <= -500.0 && hi > -500.0 && hi <= 10_000.0 { Modality::Ct } else { Modality::Other }
}

/// Finite minimum and maximum of `data` (`(0, 0)` when none is finite).
fn finite_range(data: &[f32]) -> (f32, f32) {
    let (lo, hi) = data
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if lo > hi { (0.0, 0.0) } else { (lo, hi) }
}

/// Applies `norm` in place.
pub fn apply(norm: Normalization, data: &mut [f32]) {
    let (lo, hi) = match norm {
        Normalization::Window { lo, hi } => (lo, hi),
        Normalization::MinMax => finite_range(data),
        Normalization::BitDepth => match finite_range(data) {
            (min, max) if min >= 0.0 && max <= 255.0 => (0.0, 255.0),
            (min, max) if min >= 0.0 && max <= 65535.0 => (0.0, 65535.0),
            range => range,
        },
    };
    let span = hi - lo;
    for v in data.iter_mut() {
        *v = if !v.is_finite() || span <= 0.0 || !span.is_finite() {
            0.0
        } else {
            ((*v - lo) / span).clamp(0.0, 1.0)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(modality: Modality, units: Units, data: Vec<f32>) -> Volume {
        let mut v = Volume::new([data.len(), 1, 1], data).unwrap();
        v.meta.modality = modality;
        v.meta.units = units;
        v
    }

    #[test]
    fn ct_is_clipped_to_plus_minus_1000_hu() {
        let mut v = vol(
            Modality::Ct,
            Units::Hounsfield,
            vec![-3000.0, -1000.0, -150.0, 0.0, 1000.0, 3000.0],
        );
        Conventions::default().normalize(&mut v);
        assert_eq!(v.data(), &[0.0, 0.0, 0.425, 0.5, 1.0, 1.0]);
        assert_eq!(v.meta.units, Units::Unit);
    }

    #[test]
    fn mr_min_max_xray_bit_depth_and_nan() {
        let mut v = vol(Modality::Mr, Units::Raw, vec![10.0, 20.0, 30.0, f32::NAN]);
        Conventions::default().normalize(&mut v);
        assert_eq!(v.data(), &[0.0, 0.5, 1.0, 0.0]);
        let mut x = vol(Modality::Xray, Units::Raw, vec![0.0, 51.0, 255.0]);
        Conventions::default().normalize(&mut x);
        assert_eq!(x.data(), &[0.0, 0.2, 1.0]);
        let mut x16 = vol(Modality::Xray, Units::Raw, vec![0.0, 65535.0]);
        Conventions::default().normalize(&mut x16);
        assert_eq!(x16.data(), &[0.0, 1.0]);
        let mut flat = vol(Modality::Other, Units::Raw, vec![5.0, 5.0]);
        Conventions::default().normalize(&mut flat);
        assert_eq!(flat.data(), &[0.0, 0.0]);
    }

    #[test]
    fn window_and_min_max_functions() {
        let mut v = vol(Modality::Ct, Units::Hounsfield, vec![-2000.0, -1000.0, 0.0, 500.0, 1e4]);
        window(&mut v, HU_MIN, HU_MAX).unwrap();
        assert_eq!(v.data(), &[0.0, 0.0, 0.5, 0.75, 1.0]);
        assert_eq!(v.meta.units, Units::Unit);
        let mut w = vol(Modality::Ct, Units::Hounsfield, vec![-100.0, -50.0, 75.0, 200.0, 300.0]);
        window(&mut w, -50.0, 200.0).unwrap();
        assert_eq!(w.data(), &[0.0, 0.0, 0.5, 1.0, 1.0]);
        assert!(window(&mut w, 10.0, 10.0).is_err());
        assert!(Normalization::hu_window(f32::NAN, 1.0).is_err());
        let e = Normalization::hu_window(500.0, -500.0).unwrap_err();
        assert!(e.to_string().contains("[500, -500]"), "{e}");
        let mut m = vol(Modality::Mr, Units::Raw, vec![100.0, 300.0, 200.0, f32::INFINITY]);
        min_max(&mut m);
        assert_eq!(m.data(), &[0.0, 1.0, 0.5, 0.0]);
        assert_eq!(m.meta.units, Units::Unit);
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = Conventions {
            mr: Normalization::Window { lo: 0.0, hi: 4000.0 },
            ..Conventions::default()
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Conventions>(&text).unwrap(), c);
        let partial: Conventions =
            serde_json::from_str(r#"{"ct":{"kind":"window","lo":-50,"hi":200}}"#).unwrap();
        assert_eq!(partial.ct, Normalization::Window { lo: -50.0, hi: 200.0 });
        assert_eq!(partial.mr, Normalization::MinMax);
    }
}

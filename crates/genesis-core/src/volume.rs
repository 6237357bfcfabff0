//! The one array type shared by 2D images and 3D volumes.
//!
//! A volume is `f32` voxels in x-major order (`index = (x * Y + y) * Z + z`), matching the
//! original models' `[X, Y, Z]` arrays with Z (the slice axis) last. A 2D image of height H
//! and width W is a volume of shape `[H, W, 1]`, so its memory layout is plain row-major.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest voxel count any volume may hold (2^31 voxels = 8 GiB of f32): guards allocations
/// made from sizes read out of untrusted files.
pub const MAX_VOXELS: usize = 1 << 31;

/// Errors raised when building or checking a volume.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum VolumeError {
    /// A dimension is zero.
    #[error("volume shape {0:?} has a zero dimension")]
    EmptyShape([usize; 3]),
    /// The shape holds more voxels than [`MAX_VOXELS`].
    #[error("volume shape {0:?} is too large (more than {MAX_VOXELS} voxels)")]
    TooLarge([usize; 3]),
    /// The data length does not match the shape.
    #[error("volume shape {shape:?} needs {expected} voxels but {actual} were given")]
    LengthMismatch {
        /// The shape.
        shape: [usize; 3],
        /// Voxels the shape holds.
        expected: usize,
        /// Values given.
        actual: usize,
    },
    /// A voxel is NaN or infinite.
    #[error("voxel {index} is not finite ({value}); clean the input before transforming it")]
    NotFinite {
        /// Position of the voxel in the data.
        index: usize,
        /// Its value.
        value: f32,
    },
}

/// Imaging modality of a volume, which decides its intensity convention (spec §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Modality {
    /// Computed tomography, raw values in Hounsfield units.
    Ct,
    /// Magnetic resonance.
    Mr,
    /// Projection radiography (chest X-ray).
    Xray,
    /// Anything else or unknown.
    #[default]
    Other,
}

/// What the voxel values currently mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Units {
    /// Hounsfield units (CT before windowing).
    Hounsfield,
    /// Raw stored values of the file (after any rescale the format defines).
    #[default]
    Raw,
    /// Windowed and scaled into [0, 1]: what the transforms and networks expect.
    Unit,
}

/// Geometry and meaning of a volume's voxels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Voxel size along x, y, z (millimetres where the format says so).
    pub spacing: [f64; 3],
    /// World position of the first voxel.
    pub origin: [f64; 3],
    /// Imaging modality.
    pub modality: Modality,
    /// Intensity units.
    pub units: Units,
}

impl Default for Metadata {
    fn default() -> Self {
        Self { spacing: [1.0; 3], origin: [0.0; 3], modality: Modality::Other, units: Units::Raw }
    }
}

/// A 3D array of `f32` voxels (2D images have depth 1) with its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    shape: [usize; 3],
    data: Vec<f32>,
    /// Geometry and intensity meaning.
    pub meta: Metadata,
}

/// Checks a shape and returns its voxel count.
pub fn voxel_count(shape: [usize; 3]) -> Result<usize, VolumeError> {
    if shape.contains(&0) {
        return Err(VolumeError::EmptyShape(shape));
    }
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_VOXELS)
        .ok_or(VolumeError::TooLarge(shape))
}

impl Volume {
    /// Wraps `data` (x-major order) as a volume of `shape`.
    pub fn new(shape: [usize; 3], data: Vec<f32>) -> Result<Self, VolumeError> {
        let expected = voxel_count(shape)?;
        if data.len() != expected {
            return Err(VolumeError::LengthMismatch { shape, expected, actual: data.len() });
        }
        Ok(Self { shape, data, meta: Metadata::default() })
    }

    /// A volume of `shape` filled with `value`.
    pub fn filled(shape: [usize; 3], value: f32) -> Result<Self, VolumeError> {
        let n = voxel_count(shape)?;
        Ok(Self { shape, data: vec![value; n], meta: Metadata::default() })
    }

    /// A 2D image of `height × width` (depth 1) from row-major pixels.
    pub fn image(height: usize, width: usize, pixels: Vec<f32>) -> Result<Self, VolumeError> {
        Self::new([height, width, 1], pixels)
    }

    /// The same volume with `meta` attached.
    pub fn with_meta(mut self, meta: Metadata) -> Self {
        self.meta = meta;
        self
    }

    /// Shape as `[X, Y, Z]` (`[H, W, 1]` for 2D).
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// True for a 2D image (depth 1).
    pub fn is_2d(&self) -> bool {
        self.shape[2] == 1
    }

    /// Voxels in x-major order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Mutable voxels in x-major order.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Consumes the volume and returns its voxels.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Flat index of voxel `(x, y, z)`.
    #[inline]
    pub fn index(&self, x: usize, y: usize, z: usize) -> usize {
        (x * self.shape[1] + y) * self.shape[2] + z
    }

    /// Value at `(x, y, z)`; panics when out of bounds like slice indexing.
    #[inline]
    pub fn get(&self, x: usize, y: usize, z: usize) -> f32 {
        self.data[self.index(x, y, z)]
    }

    /// Sets the value at `(x, y, z)`.
    #[inline]
    pub fn set(&mut self, x: usize, y: usize, z: usize, value: f32) {
        let i = self.index(x, y, z);
        self.data[i] = value;
    }

    /// Fails on the first NaN or infinite voxel.
    pub fn check_finite(&self) -> Result<(), VolumeError> {
        // Fast pass over blocks (vectorises); locate the culprit only when one exists.
        let all_finite =
            self.data.chunks(256).all(|c| c.iter().fold(true, |ok, v| ok & v.is_finite()));
        if all_finite {
            return Ok(());
        }
        match self.data.iter().position(|v| !v.is_finite()) {
            Some(index) => Err(VolumeError::NotFinite { index, value: self.data[index] }),
            None => Ok(()),
        }
    }

    /// Smallest and largest voxel values.
    pub fn min_max(&self) -> (f32, f32) {
        // Eight running extremes instead of one: a single pair would chain every comparison
        // on the previous one (latency-bound, no SIMD).
        const LANES: usize = 8;
        let (mut lo, mut hi) = ([f32::INFINITY; LANES], [f32::NEG_INFINITY; LANES]);
        let mut chunks = self.data.chunks_exact(LANES);
        for chunk in &mut chunks {
            for k in 0..LANES {
                lo[k] = lo[k].min(chunk[k]);
                hi[k] = hi[k].max(chunk[k]);
            }
        }
        chunks
            .remainder()
            .iter()
            .chain(lo.iter().chain(&hi))
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_x_major_with_z_last() {
        let v = Volume::new([2, 3, 4], (0..24).map(|i| i as f32).collect()).unwrap();
        assert_eq!(v.get(1, 2, 3), 23.0);
        assert_eq!(v.get(0, 1, 0), 4.0);
        assert_eq!(v.get(1, 0, 0), 12.0);
    }

    #[test]
    fn rejects_bad_shapes_and_values() {
        assert!(matches!(Volume::new([0, 1, 1], vec![]), Err(VolumeError::EmptyShape(_))));
        assert!(matches!(
            Volume::new([2, 2, 1], vec![0.0; 3]),
            Err(VolumeError::LengthMismatch { .. })
        ));
        assert!(matches!(
            Volume::filled([1 << 20, 1 << 20, 4], 0.0),
            Err(VolumeError::TooLarge(_))
        ));
        let v = Volume::image(1, 2, vec![0.0, f32::NAN]).unwrap();
        assert!(matches!(v.check_finite(), Err(VolumeError::NotFinite { index: 1, .. })));
    }
}

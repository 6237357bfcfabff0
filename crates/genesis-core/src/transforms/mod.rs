//! The Genesis image transforms (spec §2.1–2.6): Bezier intensity mapping, local pixel
//! shuffling, in-/out-painting, flips and the elastic warp.
//!
//! Each transform is a struct that is its own serde config. [`Transform::sample`] draws every
//! random choice for one volume shape into a `Params` value (Debug + serde, so a draw can be
//! printed, logged and replayed); [`Apply::apply`] performs it. Params that would be large
//! (per-voxel noise, 10,000 shuffle blocks, elastic fields) hold a 64-bit sub-seed instead and
//! expand it deterministically when applied.
//!
//! Shapes: any non-empty shape works. Ranges that the original would leave empty on small
//! axes or on 2D images (depth 1) are clamped (see [`region::Span::clamped`] and
//! [`region::draw_corner`]). Inputs with NaN or ±∞ are rejected with an error; for inputs in
//! [0, 1] every output stays in [0, 1].

pub mod bezier;
pub mod draw;
pub mod elastic;
pub mod flip;
mod float;
pub mod paint;
pub mod region;
pub mod shuffle;
mod smooth;

use thiserror::Error;

use crate::rng::GenesisRng;
use crate::volume::{Volume, VolumeError};

pub use bezier::{Bezier, BezierParams};
pub use elastic::{Elastic, ElasticParams};
pub use flip::{Flip, FlipAxes, FlipAxis, FlipParams};
pub use paint::{BoxCount, Fill, FillParams, InPaint, OutPaint, PaintMode, PaintParams};
pub use region::{Extent, Region, Span};
pub use shuffle::{LocalShuffle, ShuffleParams};

/// Errors raised when applying a transform.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TransformError {
    /// The volume is malformed or holds NaN/∞ voxels.
    #[error(transparent)]
    Volume(#[from] VolumeError),
    /// The parameters were drawn for another shape.
    #[error(
        "transform parameters were drawn for shape {expected:?} but the volume has shape \
         {actual:?}; draw them again for this volume"
    )]
    ShapeMismatch {
        /// Shape the parameters were drawn for.
        expected: [usize; 3],
        /// Shape of the volume given.
        actual: [usize; 3],
    },
    /// A configuration value is out of its domain.
    #[error("invalid transform setting: {0}")]
    Config(String),
}

/// A transform: draws its parameters for a shape.
pub trait Transform {
    /// One draw of this transform's random choices.
    type Params: Apply;

    /// Draws the parameters for a volume of `shape`.
    fn sample(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> Self::Params;
}

/// Drawn parameters that can be applied to a volume.
pub trait Apply {
    /// Transforms `volume` in place; fails on NaN/∞ voxels or a shape the draw was not made for.
    fn apply(&self, volume: &mut Volume) -> Result<(), TransformError>;
}

/// Fails unless `volume` has `shape` (when given) and only finite voxels.
pub(crate) fn check(volume: &Volume, shape: Option<[usize; 3]>) -> Result<(), TransformError> {
    if let Some(expected) = shape
        && expected != volume.shape()
    {
        return Err(TransformError::ShapeMismatch { expected, actual: volume.shape() });
    }
    volume.check_finite()?;
    Ok(())
}

/// A probability from a config value: clamped into [0, 1], NaN read as 0.
pub(crate) fn probability(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

/// True with probability `p`: `U[0,1) < p`, the original's gate.
pub(crate) fn chance(rng: &mut GenesisRng, p: f64) -> bool {
    draw::unit_f64(rng) < probability(p)
}

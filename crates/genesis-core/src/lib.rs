//! Genesis core: the volume type, the Semantic/Models Genesis transforms and pipelines,
//! synthetic phantoms and self-discovery geometry. Pure Rust, no burn: fast to build, test,
//! fuzz and benchmark, and identical natively and in wasm.

#[cfg(not(target_family = "wasm"))]
pub mod bench;
pub mod discovery;
pub mod knn;
pub mod metrics;
pub mod patches;
pub mod phantom;
pub mod pipeline;
pub mod resize;
pub mod rng;
mod scratch;
pub mod showcase;
pub mod transforms;
pub mod volume;

pub use pipeline::{Applied, Pipeline, Preset, Quirks, Sample};
pub use volume::{Metadata, Modality, Units, Volume, VolumeError};

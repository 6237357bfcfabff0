//! Genesis core: the volume type, the Semantic/Models Genesis transforms and pipelines,
//! synthetic phantoms and self-discovery geometry. Pure Rust, no burn: fast to build, test,
//! fuzz and benchmark, and identical natively and in wasm.

pub mod rng;
pub mod volume;

pub use volume::{Metadata, Modality, Units, Volume, VolumeError};

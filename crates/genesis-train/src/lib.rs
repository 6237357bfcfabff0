//! genesis-train: the Genesis training engine as a library, native and wasm32.
//!
//! Base modules — [`recipe`] (configurations), [`device`], [`observer`], [`source`] and
//! [`batch`] (seeded batch streams), [`objective`] (the losses), [`step`] (one optimiser step
//! with schedules, clipping and accumulation), [`fit`] (the epoch driver and early stopping),
//! [`checkpoint`] and [`metrics`] (native) — import no workflow. The workflows build on them:
//! [`pretrain`], [`finetune`], [`discover`], [`embed`], [`experiment`], [`segment`] (native) and
//! [`session`], the step-at-a-time trainer the web page drives.
//!
//! Nothing here prints or parses arguments: progress leaves through an [`Observer`], results
//! as return values. Errors are `anyhow` chains of messages meant for people (the front ends
//! print them); see docs/architecture.md.

pub mod batch;
#[cfg(not(target_family = "wasm"))]
pub mod checkpoint;
pub mod device;
#[cfg(not(target_family = "wasm"))]
pub mod discover;
#[cfg(not(target_family = "wasm"))]
pub mod embed;
#[cfg(not(target_family = "wasm"))]
pub mod experiment;
#[cfg(not(target_family = "wasm"))]
pub mod finetune;
pub mod fit;
pub mod manifest;
pub mod metrics;
pub mod objective;
pub mod observer;
#[cfg(not(target_family = "wasm"))]
pub mod phantoms;
#[cfg(not(target_family = "wasm"))]
pub mod pretrain;
pub mod recipe;
#[cfg(not(target_family = "wasm"))]
pub mod restoration;
pub mod schedule;
#[cfg(not(target_family = "wasm"))]
pub mod segment;
pub mod session;
pub mod source;
#[cfg(not(target_family = "wasm"))]
pub mod stats;
pub mod step;

pub use observer::{Observer, Silent};
pub use recipe::{Dim, Method, Optimizer, RunConfig};

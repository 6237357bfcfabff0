//! genesis-nn: the Genesis networks in burn — 3-D and 2-D U-Nets, the classification head, the
//! no-skip autoencoder and Semantic Genesis (U-Net + head) — with losses, a train step that
//! needs no burn-train, and weight import/export. Builds natively and for wasm32.
//!
//! Every model implements [`GenesisModel`]: `forward` (restoration), `features` (bottleneck),
//! `embed` (pooled bottleneck), `classify` (head logits, when there is a head).

pub use burn;

pub mod arch;
pub mod autoencoder;
#[cfg(not(target_family = "wasm"))]
pub mod bench;
pub mod blocks;
pub mod encdec;
#[cfg(feature = "cpu")]
pub mod flex_kernels;
pub mod head;
pub mod host;
pub mod loss;
#[cfg(feature = "cpu")]
pub mod max_pool;
pub mod model;
pub mod norm;
pub mod ops;
#[cfg(feature = "cpu")]
mod parallel;
pub mod semantic;
#[cfg(feature = "cpu")]
pub mod shift_conv;
pub mod step;
pub mod unet2d;
pub mod unet3d;
pub mod weights;

pub use arch::{Arch, ArchSpec, ModelTask, init_device, seed};
pub use autoencoder::{Autoencoder2d, Autoencoder3d, AutoencoderConfig};
pub use head::{Head, HeadConfig, HeadKind};
pub use model::{GenesisModel, InputError, Network, materialize, param_ids, trainable_params};
pub use norm::BnMode;
pub use semantic::{SemanticGenesis, SemanticGenesis2d, SemanticGenesis3d, SemanticOutput};
pub use unet2d::{UNet2d, UNet2dConfig};
pub use unet3d::{UNet3d, UNet3dConfig};
pub use weights::{LoadReport, WeightsError};

//! Integration tests of genesis-nn (one binary to keep link time down).

mod nn {
    pub mod common;
    mod models;
    mod ops;
    mod train;
    mod weights;
    #[cfg(feature = "wgpu")]
    mod wgpu;
}

//! The wasm-bindgen API behind the browser demo.
//!
//! The page creates one [`Engine`] asynchronously: it picks a burn device (WebGPU on a
//! hardware adapter, else the pure-Rust Flex CPU backend) and then runs work on it. Every
//! tensor read is asynchronous so the same code runs on WebGPU, where synchronous reads are
//! not allowed.

use burn::tensor::{Device, Tensor, module::conv2d, ops::ConvOptions};
use genesis_nn::host::{ReadError, read_async, upload};
use wasm_bindgen::prelude::*;

mod backend;
mod gallery;
mod image;
mod model;
mod restorer;
mod scan;
mod trainer;

pub use backend::{Backend, BackendPreference};
pub use gallery::{Gallery, transform_gallery, transform_gallery_3d};
pub use image::GrayImage;
pub use model::Triptych;
pub use restorer::Restorer;
pub use scan::Scan;
pub use trainer::{Trainer, recipe};

/// Runs when the module is instantiated (wasm-bindgen calls it before any other export).
#[cfg(target_family = "wasm")]
#[wasm_bindgen(start)]
fn start() {
    run_static_constructors();
    console_error_panic_hook::set_once();
}

/// Runs the static constructors once (cubecl's IR registers its type interfaces with
/// `inventory`, which WebGPU kernels need). Calling them explicitly matters for speed: without
/// such a call, wasm-ld wraps every export in a call to all of them, which cost ≈ 0.3 ms per
/// call from JS. Test binaries do not run the start function, so `Backend::init` calls this too.
pub(crate) fn run_static_constructors() {
    #[cfg(target_family = "wasm")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        unsafe extern "C" {
            fn __wasm_call_ctors();
        }
        // SAFETY: wasm-ld's synthetic constructor function, guarded to run exactly once.
        ONCE.call_once(|| unsafe { __wasm_call_ctors() });
    }
}

/// A burn device chosen for this page, plus a description of how it was chosen.
#[wasm_bindgen]
pub struct Engine {
    backend: Backend,
}

#[wasm_bindgen]
impl Engine {
    /// Initialises burn. `preference` is `"auto"` (WebGPU on a hardware adapter, else Flex),
    /// `"webgpu"` (WebGPU even on a software adapter) or `"flex"` (CPU).
    pub async fn create(preference: &str) -> Result<Engine, JsError> {
        let preference = BackendPreference::parse(preference).map_err(|e| JsError::new(&e))?;
        let backend = Backend::init(preference).await;
        Ok(Engine { backend })
    }

    /// Short label of the backend in use: `"WebGPU: <adapter>"` or `"CPU (Flex)"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.label()
    }

    /// Why this backend was chosen (e.g. the software-adapter fallback), or an empty string.
    #[wasm_bindgen(getter)]
    pub fn notice(&self) -> String {
        self.backend.notice().unwrap_or_default().to_string()
    }

    /// Runs a small real convolution on the device and returns its 3×3 output, row-major.
    /// The input is 0..25 as a 5×5 image, the kernel a 3×3 box filter, so each output is the
    /// sum of a 3×3 window (known in closed form, which the page and tests check).
    #[wasm_bindgen(js_name = convDemo)]
    pub async fn conv_demo(&self) -> Result<Vec<f32>, JsError> {
        Ok(conv_demo(self.backend.device()).await?)
    }
}

/// The expected result of [`Engine::conv_demo`], computed without burn.
#[wasm_bindgen(js_name = convDemoExpected)]
pub fn conv_demo_expected() -> Vec<f32> {
    let mut out = Vec::with_capacity(9);
    for i in 0..3 {
        for j in 0..3 {
            let window = (i..i + 3).flat_map(|r| (j..j + 3).map(move |c| (r * 5 + c) as f32));
            out.push(window.sum());
        }
    }
    out
}

async fn conv_demo(device: &Device) -> Result<Vec<f32>, ReadError> {
    let x = upload::<4>((0..25).map(|v| v as f32).collect(), 1, [5, 5, 1], device);
    let w = Tensor::<4>::ones([1, 1, 3, 3], device);
    read_async(conv2d(x, w, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))).await
}

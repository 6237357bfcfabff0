//! Runs the JS-facing API in a real browser (headless Chromium via wasm-bindgen-test-runner).
#![cfg(target_family = "wasm")]

use genesis_web::{Engine, conv_demo_expected};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn flex_convolution_matches_closed_form() {
    let engine = Engine::create("flex").await.expect("flex always initialises");
    assert_eq!(engine.backend(), "CPU (Flex)");
    let got = engine.conv_demo().await.expect("conv runs");
    assert_eq!(got, conv_demo_expected());
}

#[wasm_bindgen_test]
async fn webgpu_when_forced_runs_the_same_convolution() {
    let engine = Engine::create("webgpu").await.expect("engine");
    // Headless Chromium with --enable-unsafe-webgpu exposes SwiftShader; without it we fall
    // back to Flex with a notice. Either way the maths must be right.
    if engine.backend().starts_with("WebGPU") {
        assert!(engine.notice().is_empty());
    } else {
        assert!(!engine.notice().is_empty());
    }
    let got = engine.conv_demo().await.expect("conv runs");
    assert_eq!(got, conv_demo_expected());
}

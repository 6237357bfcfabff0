//! Cross-platform determinism: the pipelines give the same bytes in the browser (wasm32) as
//! natively. The native twin of this check is `checksum_is_the_pinned_cross_platform_value`
//! in `tests/pipeline.rs`; both read the pinned value from `tests/checksum.txt`.
#![cfg(target_family = "wasm")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn pipelines_match_the_native_checksum() {
    let got = genesis_core::pipeline::checksum(2024).expect("test pattern is valid");
    assert_eq!(got, include!("checksum.txt"));
}

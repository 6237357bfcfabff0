//! Fuzzes the on-demand npy item reader behind cube caches (`npy::Items`): a file of any bytes
//! must open to an error or read each item (or an error), never panic, hang or allocate
//! without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("fuzz-items-{}.npy", std::process::id()));
    if std::fs::write(&path, data).is_ok() {
        if let Ok(items) = genesis_io::npy::Items::open(&path) {
            for i in 0..items.len().min(64) + 1 {
                let _ = items.read(i);
            }
        }
    }
});

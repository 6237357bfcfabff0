//! Fuzzes the dicom reader: any bytes must give Ok or a typed error, never a panic, hang or
//! runaway allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = genesis_io::dicom::from_bytes(std::path::Path::new("fuzz.dcm"), data);
});

//! Fuzzes the nifti reader (NIfTI-1 and NIfTI-2, one volume of 4-D files): any bytes must give
//! Ok or a typed error, never a panic, hang or runaway allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.nii");
    let _ = genesis_io::nifti::from_bytes(path, data);
    let _ = genesis_io::nifti::from_bytes_volume(path, data, 1);
});

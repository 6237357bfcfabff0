//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through each reader: every
//! file must give Ok or an error, never a panic; files named `valid*` must decode.

use std::path::{Path, PathBuf};

use genesis_core::Volume;
use genesis_io::IoError;

/// One fuzz target: corpus folder name and the reader it drives.
type Reader = fn(&Path, &[u8]) -> Result<Volume, IoError>;

const TARGETS: [(&str, Reader); 5] = [
    ("png", genesis_io::raster::from_bytes),
    ("dicom", genesis_io::dicom::from_bytes),
    ("nifti", genesis_io::nifti::from_bytes),
    ("metaimage", genesis_io::metaimage::from_bytes),
    ("npy", genesis_io::npy::from_bytes),
];

#[test]
fn every_corpus_file_is_ok_or_an_error_never_a_panic() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test"))
        .join("../../fuzz/corpus");
    for (target, read) in TARGETS {
        let mut files: Vec<_> = std::fs::read_dir(root.join(target))
            .unwrap_or_else(|e| panic!("corpus for {target}: {e}"))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 3, "{target}: corpus too small");
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let result = std::panic::catch_unwind(|| read(&file, &bytes));
            let result = result.unwrap_or_else(|_| panic!("{} panicked", file.display()));
            let name = file.file_name().unwrap().to_string_lossy();
            if name.starts_with("valid") {
                assert!(result.is_ok(), "{}: {:?}", file.display(), result.err());
            } else if let Err(e) = result {
                assert!(e.to_string().contains(name.as_ref()), "{e} does not name {name}");
            }
        }
    }
}

#[test]
fn the_on_demand_npy_reader_takes_every_npy_corpus_file_without_a_panic() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test"))
        .join("../../fuzz/corpus/npy");
    for entry in std::fs::read_dir(root).unwrap() {
        let file = entry.unwrap().path();
        let result = std::panic::catch_unwind(|| {
            let items = genesis_io::npy::Items::open(&file)?;
            (0..=items.len())
                .map(|i| items.read(i).map(|_| ()))
                .find(Result::is_err)
                .unwrap_or(Ok(()))
        });
        let result = result.unwrap_or_else(|_| panic!("{} panicked", file.display()));
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(e) = result {
            let e: IoError = e;
            assert!(e.to_string().contains(&name), "{e} does not name {name}");
        }
    }
}

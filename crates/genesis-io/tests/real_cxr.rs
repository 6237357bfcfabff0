//! The NIH ChestX-ray14 sample radiographs in `shared/data/cxr` through the readers.

use std::path::PathBuf;

use genesis_core::{Modality, Units};

/// The shared data folder (beside the repository).
fn cxr_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test"))
        .join("../../../shared/data/cxr")
}

#[test]
fn nih_pngs_load_as_1024_square_unit_range_xrays() {
    for name in ["00000001_000.png", "00000002_000.png", "00000013_003.png"] {
        let path = cxr_dir().join(name);
        let v = genesis_io::load_normalized(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.shape(), [1024, 1024, 1], "{name}");
        assert_eq!((v.meta.modality, v.meta.units), (Modality::Xray, Units::Unit));
        let (lo, hi) = v.min_max();
        assert!((0.0..0.2).contains(&lo) && (0.8..=1.0).contains(&hi), "{name}: range {lo}..{hi}");
        let mean = v.data().iter().sum::<f32>() / v.data().len() as f32;
        assert!((0.2..0.8).contains(&mean), "{name}: mean {mean}");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(genesis_io::from_bytes(name, &bytes).unwrap(), v);
    }
}

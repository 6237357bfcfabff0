//! Every reader on files written to disk: round trips through `load`, and hand-broken
//! variants (truncated, wrong size, huge dimensions, garbage) that must be errors naming the
//! file, never panics.

use std::path::{Path, PathBuf};

use genesis_core::{Metadata, Modality, Units, Volume};
use genesis_io::{IoError, load, load_normalized};

/// A fresh temporary folder for one test.
fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genesis-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small CT-like volume with distinct values and geometry.
fn ct() -> Volume {
    let data = (0..4 * 5 * 6).map(|i| i as f32 * 15.0 - 1000.0).collect();
    let meta = Metadata {
        spacing: [0.7, 0.8, 2.5],
        origin: [-100.0, 50.0, 10.0],
        modality: Modality::Ct,
        units: Units::Hounsfield,
    };
    Volume::new([4, 5, 6], data).unwrap().with_meta(meta)
}

/// Asserts `load(path)` fails with an error mentioning the file's name.
fn assert_error_names(path: &Path) -> IoError {
    let err = load(path).expect_err(&format!("{} should not load", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(err.to_string().contains(&name), "{err} does not name {name}");
    err
}

/// `bytes` with the first `from` replaced by `to`.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

/// Writes `bytes` to `dir/name` and returns the path.
fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn metaimage_round_trip_and_broken_variants() {
    let dir = tmp("mhd");
    let v = ct();
    for compress in [false, true] {
        let path = dir.join(format!("scan{compress}.mhd"));
        genesis_io::metaimage::write(&path, &v, compress).unwrap();
        assert_eq!(load(&path).unwrap(), v);
        let n = load_normalized(&path).unwrap();
        assert_eq!((n.get(0, 0, 0), n.meta.units), (0.0, Units::Unit));
    }
    let raw = std::fs::read(dir.join("scanfalse.raw")).unwrap();
    let header = std::fs::read_to_string(dir.join("scanfalse.mhd")).unwrap();
    put(&dir, "short.raw", &raw[..raw.len() - 5]);
    let e = assert_error_names(&put(
        &dir,
        "short.mhd",
        header.replace("scanfalse.raw", "short.raw").as_bytes(),
    ));
    assert!(matches!(e, IoError::Truncated { .. }), "{e}");
    put(&dir, "long.raw", &[raw.as_slice(), &[0; 4]].concat());
    let e = assert_error_names(&put(
        &dir,
        "long.mhd",
        header.replace("scanfalse.raw", "long.raw").as_bytes(),
    ));
    assert!(matches!(e, IoError::SizeMismatch { .. }), "{e}");
    let huge = header.replace("DimSize = 4 5 6", "DimSize = 90000 90000 90000");
    assert!(matches!(
        assert_error_names(&put(&dir, "huge.mhd", huge.as_bytes())),
        IoError::TooLarge { .. }
    ));
    let missing = header.replace("scanfalse.raw", "nowhere.raw");
    assert!(matches!(load(&put(&dir, "missing.mhd", missing.as_bytes())), Err(IoError::Os { .. })));
    assert_error_names(&put(&dir, "garbage.mhd", b"\x00\x01\x02garbage\xff"));
    let zraw = std::fs::read(dir.join("scantrue.zraw")).unwrap();
    put(&dir, "badz.zraw", &zraw[..zraw.len() / 2]);
    let zheader = std::fs::read_to_string(dir.join("scantrue.mhd")).unwrap();
    assert_error_names(&put(
        &dir,
        "badz.mhd",
        zheader.replace("scantrue.zraw", "badz.zraw").as_bytes(),
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nifti_round_trip_and_broken_variants() {
    let dir = tmp("nii");
    let v = ct();
    for name in ["a.nii", "a.nii.gz"] {
        genesis_io::nifti::write(&dir.join(name), &v).unwrap();
        assert_eq!(load(&dir.join(name)).unwrap(), v, "{name}");
    }
    let good = std::fs::read(dir.join("a.nii")).unwrap();
    assert!(matches!(
        assert_error_names(&put(&dir, "cut.nii", &good[..good.len() - 7])),
        IoError::Truncated { .. }
    ));
    assert!(matches!(
        assert_error_names(&put(&dir, "long.nii", &[good.as_slice(), &[1; 12]].concat())),
        IoError::SizeMismatch { .. }
    ));
    let mut huge = good.clone();
    for i in 0..3 {
        huge[42 + 2 * i..44 + 2 * i].copy_from_slice(&30000i16.to_le_bytes());
    }
    assert!(matches!(assert_error_names(&put(&dir, "huge.nii", &huge)), IoError::TooLarge { .. }));
    let gz = std::fs::read(dir.join("a.nii.gz")).unwrap();
    assert_error_names(&put(&dir, "cut.nii.gz", &gz[..gz.len() / 2]));
    assert_error_names(&put(&dir, "garbage.nii", &[7u8; 400]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn npy_and_png_round_trip_and_broken_variants() {
    let dir = tmp("npy");
    let v = ct();
    genesis_io::npy::write(&dir.join("v.npy"), &v).unwrap();
    assert_eq!(load(&dir.join("v.npy")).unwrap().data(), v.data());
    let good = std::fs::read(dir.join("v.npy")).unwrap();
    assert!(matches!(
        assert_error_names(&put(&dir, "cut.npy", &good[..good.len() - 1])),
        IoError::Truncated { .. }
    ));
    // Same header length: the longer shape eats 11 of the padding spaces.
    let huge = replace(&good, b"(4, 5, 6), }", b"(99999, 99999, 9999), }");
    let huge = replace(&huge, format!("}}{}", " ".repeat(11)).as_bytes(), b"}");
    let e = assert_error_names(&put(&dir, "huge.npy", &huge));
    assert!(matches!(e, IoError::TooLarge { .. }), "{e}");
    assert_error_names(&put(&dir, "garbage.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage"));

    let img = Volume::image(3, 4, (0..12).map(|i| i as f32 / 11.0).collect()).unwrap();
    genesis_io::raster::write_png(&dir.join("i.png"), &img, true).unwrap();
    let back = load(&dir.join("i.png")).unwrap();
    assert!(back.data().iter().zip(img.data()).all(|(a, b)| (a - b).abs() < 1e-4));
    let png = std::fs::read(dir.join("i.png")).unwrap();
    assert_error_names(&put(&dir, "cut.png", &png[..png.len() - 20]));
    assert!(matches!(
        assert_error_names(&put(&dir, "noise.bin", b"just some bytes")),
        IoError::UnknownFormat { .. }
    ));
    assert!(genesis_io::raster::write_png(&dir.join("v.png"), &v, false).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Encodes one 2×3 CT slice at height `z` with instance number `instance`.
fn ct_slice(z: f64, instance: i32, stored: &[i16]) -> Vec<u8> {
    genesis_io::dicom::encode_slice(&genesis_io::dicom::Slice {
        rows: 2,
        cols: 3,
        stored,
        modality: "CT",
        rescale: (1.0, -1024.0),
        window: Some((40.0, 400.0)),
        monochrome1: false,
        position: [-10.0, -20.0, z],
        instance,
        pixel_spacing: [0.6, 0.9],
        series: None,
    })
    .unwrap()
}

#[test]
fn dicom_series_is_sorted_by_position_and_broken_files_fail() {
    let dir = tmp("dcm");
    let series = dir.join("series");
    std::fs::create_dir_all(&series).unwrap();
    // Written in scrambled order and with misleading names: position decides.
    for (file, z, instance) in [("b.dcm", 5.0, 3), ("c", 0.0, 1), ("a.dcm", 2.5, 2)] {
        let base = (z * 100.0) as i16;
        let stored: Vec<i16> = (0..6).map(|i| base + i).collect();
        put(&series, file, &ct_slice(z, instance, &stored));
    }
    std::fs::write(series.join("README.txt"), "not dicom").unwrap();
    let v = load(&series).unwrap();
    assert_eq!(v.shape(), [3, 2, 3]); // [cols, rows, slices]
    assert_eq!((v.meta.modality, v.meta.units), (Modality::Ct, Units::Hounsfield));
    assert_eq!(v.meta.spacing, [0.9, 0.6, 2.5]);
    assert_eq!(v.meta.origin, [-10.0, -20.0, 0.0]);
    // Voxel (col 2, row 1, slice 1) is stored value 250 + (1·3 + 2) → HU − 1024.
    assert_eq!(v.get(2, 1, 1), 255.0 - 1024.0);
    assert_eq!(v.get(0, 0, 2), 500.0 - 1024.0);

    let one = ct_slice(0.0, 1, &[0; 6]);
    assert!(matches!(
        assert_error_names(&put(&dir, "cut.dcm", &one[..one.len() - 4])),
        IoError::Truncated { .. } | IoError::Corrupt { .. }
    ));
    assert_error_names(&put(&dir, "garbage.dcm", b"DICMgarbage garbage garbage"));
    let mut rows = one.clone();
    let at = rows.windows(4).position(|w| w == [0x28, 0x00, 0x10, 0x00]).unwrap();
    rows[at + 8..at + 10].copy_from_slice(&60000u16.to_le_bytes()); // Rows = 60000
    assert_error_names(&put(&dir, "rows.dcm", &rows));
    let mixed = dir.join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    put(&mixed, "1.dcm", &ct_slice(0.0, 1, &[0; 6]));
    let other = genesis_io::dicom::encode_slice(&genesis_io::dicom::Slice {
        rows: 3,
        cols: 2,
        ..slice_spec()
    })
    .unwrap();
    put(&mixed, "2.dcm", &other);
    assert!(load(&mixed).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A default 2×3 slice description.
fn slice_spec() -> genesis_io::dicom::Slice<'static> {
    genesis_io::dicom::Slice {
        rows: 2,
        cols: 3,
        stored: &[0; 6],
        modality: "CT",
        rescale: (1.0, 0.0),
        window: None,
        monochrome1: false,
        position: [0.0; 3],
        instance: 1,
        pixel_spacing: [1.0, 1.0],
        series: None,
    }
}
